"""acu_meta: re-derive the published evidence on acupuncture for chronic low back pain.

Layers (imports point down only): ``data`` (load and validate transcribed evidence) ->
``effects`` -> ``models`` -> results -> ``plots`` / ``simulate`` -> ``analyses`` -> ``cli``.
"""

__version__ = "0.1.0"

from .effects import escalc  # noqa: E402
from .results import bayes, gosh, metareg, pool, pool_many, subgroups  # noqa: E402

__all__ = ["__version__", "bayes", "escalc", "gosh", "metareg", "pool", "pool_many", "subgroups"]

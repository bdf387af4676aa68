"""acu_meta: re-derive the published evidence on acupuncture for chronic low back pain.

Layers (imports point down only): ``data`` (load and validate transcribed evidence) ->
``effects`` -> ``models`` -> results -> ``plots`` / ``simulate`` -> ``analyses`` -> ``cli``.
"""

__version__ = "0.1.0"

from .effects import escalc  # noqa: E402
from .results import (  # noqa: E402
    anova,
    bayes,
    gosh,
    metareg,
    network,
    permutest,
    pool,
    pool_many,
    predict,
    subgroups,
)

__all__ = ["__version__", "anova", "bayes", "escalc", "gosh", "metareg", "network", "permutest",
           "pool", "pool_many", "predict", "subgroups"]

"""acu_meta: re-derive the published evidence on acupuncture for chronic low back pain.

Layers (imports point down only): ``data`` (load and validate transcribed evidence) ->
``effects`` -> ``models`` -> results -> ``plots`` / ``simulate`` -> ``analyses`` -> ``cli``.
"""

__version__ = "0.1.0"

import importlib

#: The top-level functions and the module each lives in. They are imported on first use
#: (PEP 562), so that ``import acu_meta`` (and ``acu-meta --help``) stays light (issue #16).
_EXPORTS = {
    "escalc": "acu_meta.effects",
    **{name: "acu_meta.results" for name in (
        "anova", "bayes", "gosh", "metareg", "network", "permutest", "pool", "pool_many",
        "predict", "subgroups")},
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'acu_meta' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))

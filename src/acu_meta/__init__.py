"""acu_meta: re-derive the published evidence on acupuncture for chronic low back pain.

Layers (imports point down only): ``data`` (load and validate transcribed evidence) ->
``effects`` -> ``models`` -> results -> ``plots`` -> ``analyses`` -> ``cli``.
"""

__version__ = "0.1.0"

"""The project's own exception types: one home, importable by every layer.

The CLI turns an :class:`AcuMetaError` (bad input, or a model that cannot be fitted to the
input) into one line and exit status 2. Any other exception is a bug: the CLI says so in one
line and exits 1 (``--debug`` shows the traceback).

Domain-specific errors derive from these (``data.DataValidationError``,
``effects.EffectSizeError``, ``models.NetworkError``). Every class also derives from
:class:`ValueError`, so ``except ValueError`` in user code keeps working.
"""

from __future__ import annotations


class AcuMetaError(ValueError):
    """Base class: a problem with what the user gave, never a bug in acu_meta."""


class InputError(AcuMetaError):
    """A file or argument that cannot be read as what it should be (the message says where)."""


class ModelError(AcuMetaError):
    """Input a model cannot be fitted to (the message says why)."""


__all__ = ["AcuMetaError", "InputError", "ModelError"]

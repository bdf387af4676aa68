"""One result shape for everything that pools studies (issue #11).

``forest``, ``funnel`` and the analyses draw *anything of this shape* and never refit to
draw. A result has the shape when it has these five attributes (:class:`PooledResult`, a
runtime-checkable :class:`typing.Protocol`; ``isinstance(x, PooledResult)`` checks that they
exist):

``measure`` : str
    The effect measure ("RR", "SMD", "GEN", ...). Ratio measures (:data:`RATIO_MEASURES`) are
    stored on the log scale and drawn on a log axis.
``level`` : float
    Level of every interval, as a fraction (0.95).
``study_rows`` : :class:`StudyRows`
    One row per study: ``labels``, ``yi``, ``vi``, ``weight`` (percent, NaN when the rows
    are not pooled), optional arm-level data (a DataFrame with escalc's column names), an
    optional explicit interval per row (else ``yi +/- z sqrt(vi)``), and an optional
    *shrunken* estimate per study with its interval (``theta``, ``theta_low``,
    ``theta_high``).
``pooled_rows`` : tuple of :class:`PooledRow`
    The summary rows in drawing order: ``kind="pooled"`` (a diamond: estimate with its
    interval) and ``kind="prediction"`` (a bar: the interval for the effect in a new study).
    Each row names its ``interval`` ("95% CI"), its ``model`` ("fixed", "random", ...) and a
    short ``description`` of how it was computed ("REML, Hartung-Knapp t(12)"). May be empty:
    rows that are shown but not pooled.
``description`` : str
    The model in words, shown above the effect column ("Random-effects model (REML)").
``footer`` : tuple of (name, text)
    Lines printed under a forest plot, each drawn with the ``gid`` ``footer-<name>``
    (``heterogeneity``, ``overall``); may be empty.

Subgroups add three attributes (:class:`SubgroupedResult`): ``groups`` (label -> a result of
the shape, in display order), ``group_of`` (the group label of each study row) and
``subgroup_test`` (the text of the test for subgroup differences).

Who has the shape
-----------------
:class:`~acu_meta.results.MetaResult` (from ``pool``), :class:`~acu_meta.results.SubgroupResult`
(also a :class:`SubgroupedResult`), the sensitivity results that plots draw
(:class:`~acu_meta.results.LeaveOneOutResult`, :class:`~acu_meta.results.CumulativeResult`:
one row per refit; :class:`~acu_meta.results.TrimfillResult`: observed and filled studies), and
:class:`UnpooledRows`, made by :func:`rows` from effect sizes without fitting anything (for
rows that must not be pooled, such as several outcomes of one trial or the estimates of a
network model).

A Bayesian result fits the same shape without ``forest`` knowing about Bayes: its pooled row
is the posterior median with the credible interval (``interval="95% CrI"``,
``model="bayesian"``, ``description`` naming the priors), its prediction row the posterior
predictive interval, ``study_rows.theta`` / ``theta_low`` / ``theta_high`` the shrunken
study effects (``forest`` draws them beside the observed ones), and ``footer`` whatever lines
it wants under the plot (e.g. the posterior of tau).

Checked in ``tests/results/test_result_shape.py`` (who satisfies the protocol, what the rows
hold, :func:`rows` with every fitting function disabled) and ``tests/plots/test_forest_shape.py``
(a hand-made object is drawn by ``forest`` and ``funnel`` with every fitting function
disabled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .. import numeric
from ..effects.escalc import RATIO_MEASURES, EffectSizes, escalc

__all__ = [
    "PooledResult",
    "PooledRow",
    "StudyRows",
    "SubgroupedResult",
    "UnpooledRows",
    "is_ratio",
    "rows",
    "usable",
]

KINDS = ("pooled", "prediction")


def usable(yi, vi) -> np.ndarray:
    """Mask of the studies a model can use: finite yi and vi, and vi > 0."""
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    return np.isfinite(yi) & np.isfinite(vi) & (vi > 0)


def is_ratio(measure: str) -> bool:
    """True when *measure* is stored as the log of a ratio (RR, OR, ROM, ...)."""
    return measure in RATIO_MEASURES


def _array(x, n: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float).reshape(-1)
    if len(a) != n:
        raise ValueError(f"{name} has {len(a)} values for {n} study rows")
    return a


@dataclass(frozen=True, eq=False)
class StudyRows:
    """The study rows of a result: what a forest or funnel plot draws per study.

    Parameters
    ----------
    labels
        One label per row (duplicates allowed).
    yi, vi
        Observed effect (analysis scale) and its sampling variance.
    weight
        Weight in percent of the pooled estimate; NaN when the rows are not pooled.
    arms
        Arm-level data, one row per study (escalc's columns: ``ai, n1i, ci, n2i`` or
        ``m1i, sd1i, n1i, m2i, sd2i, n2i``), or None.
    ci_low, ci_high
        An explicit interval per row (e.g. a refit's t interval); None: ``yi +/- z sqrt(vi)``
        at the result's level.
    theta, theta_low, theta_high
        A shrunken estimate per study with its interval (a Bayesian result's theta_i), or None.
    """

    labels: tuple[str, ...]
    yi: np.ndarray
    vi: np.ndarray
    weight: np.ndarray
    arms: pd.DataFrame | None = field(default=None, repr=False)
    ci_low: np.ndarray | None = None
    ci_high: np.ndarray | None = None
    theta: np.ndarray | None = None
    theta_low: np.ndarray | None = None
    theta_high: np.ndarray | None = None

    def __post_init__(self):
        labels = tuple(str(s) for s in self.labels)
        n = len(labels)
        object.__setattr__(self, "labels", labels)
        for name in ("yi", "vi", "weight"):
            object.__setattr__(self, name, _array(getattr(self, name), n, name))
        for name in ("ci_low", "ci_high", "theta", "theta_low", "theta_high"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _array(getattr(self, name), n, name))
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError("give both ci_low and ci_high, or neither")
        if self.arms is not None and len(self.arms) != n:
            raise ValueError(f"arms has {len(self.arms)} rows for {n} study rows")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def pooled(self) -> bool:
        """True when the rows carry weights (they were pooled)."""
        return bool(np.isfinite(self.weight).any())

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Interval of each row: the explicit one, else ``yi +/- z sqrt(vi)`` (z at *level*)."""
        if self.ci_low is not None:
            return self.ci_low, self.ci_high
        z = numeric.z_crit(level)
        sei = np.sqrt(self.vi)
        return self.yi - z * sei, self.yi + z * sei

    @classmethod
    def from_effect_sizes(cls, es: EffectSizes) -> StudyRows:
        """Rows of the usable studies of *es* (finite yi and vi > 0, as ``pool`` uses), with
        their arm data and no weights. Nothing is fitted."""
        ok = usable(es.yi, es.vi)
        arms = es.arms[ok].reset_index(drop=True) if es.arms is not None else None
        return cls(labels=tuple(s for s, keep in zip(es.study, ok, strict=True) if keep),
                   yi=es.yi[ok], vi=es.vi[ok], weight=np.full(int(ok.sum()), np.nan), arms=arms)


@dataclass(frozen=True)
class PooledRow:
    """One summary row: a pooled estimate (``kind="pooled"``) or a prediction interval.

    ``estimate`` is NaN-free for a pooled row; a prediction row may leave ``estimate`` as the
    pooled estimate (it is not drawn). ``interval`` names the interval ("95% CI",
    "95% CrI"); ``model`` is "fixed", "random" or any other word (diamond colour and ``gid``
    ``diamond-<model>``); ``description`` says how it was computed.
    """

    kind: str
    label: str
    estimate: float
    ci_low: float
    ci_high: float
    interval: str = "95% CI"
    model: str = "random"
    description: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")


@runtime_checkable
class PooledResult(Protocol):
    """Anything that pools (or lists) studies and can be drawn: see the module docstring."""

    measure: str
    level: float

    @property
    def study_rows(self) -> StudyRows: ...

    @property
    def pooled_rows(self) -> tuple[PooledRow, ...]: ...

    @property
    def description(self) -> str: ...

    @property
    def footer(self) -> tuple[tuple[str, str], ...]: ...


@runtime_checkable
class SubgroupedResult(PooledResult, Protocol):
    """A :class:`PooledResult` whose studies fall into subgroups, each pooled on its own."""

    @property
    def groups(self) -> Mapping[str, PooledResult]: ...

    @property
    def group_of(self) -> tuple[str, ...]: ...

    @property
    def subgroup_test(self) -> str: ...


@dataclass(frozen=True, eq=False)
class UnpooledRows:
    """Study rows shown without pooling them: the shape with no pooled rows and no footer."""

    measure: str
    level: float
    study_rows: StudyRows
    description: str = ""
    pooled_rows: tuple[PooledRow, ...] = ()
    footer: tuple[tuple[str, str], ...] = ()

    @property
    def ratio(self) -> bool:
        return is_ratio(self.measure)

    def to_frame(self) -> pd.DataFrame:
        """One row per study: label, yi, vi and the interval at ``level``."""
        lo, hi = self.study_rows.interval(self.level)
        return pd.DataFrame({"study": list(self.study_rows.labels), "yi": self.study_rows.yi,
                             "vi": self.study_rows.vi, "ci_low": lo, "ci_high": hi})


def rows(
    es: EffectSizes | None = None,
    *,
    yi: Sequence[float] | None = None,
    vi: Sequence[float] | None = None,
    sei: Sequence[float] | None = None,
    study: Sequence | None = None,
    measure: str | None = None,
    level: float = 95,
) -> UnpooledRows:
    """Drawable rows from effect sizes, without fitting a model.

    Parameters
    ----------
    es
        Effect sizes from :func:`acu_meta.effects.escalc`; or leave it out and pass ``yi``
        with ``vi`` or ``sei`` (and ``study`` labels).
    measure
        The measure to label and scale the rows with (default: ``es.measure``, or "GEN");
        give e.g. "OR" for log odds ratios passed as ``yi`` so they are drawn on a log axis.
    level
        Level of the per-study intervals, in percent or as a fraction.

    Returns
    -------
    UnpooledRows
        Satisfies :class:`PooledResult` with no pooled rows: ``forest`` draws the rows only.
        Studies without a usable effect size (non-finite, or vi <= 0) are left out, as in
        ``pool``.
    """
    if es is None:
        if yi is None or (vi is None and sei is None):
            raise ValueError("pass EffectSizes, or yi with vi or sei")
        kw = {"vi": vi} if vi is not None else {"sei": sei}
        es = escalc("GEN", yi=yi, study=study, **kw)
    elif not isinstance(es, EffectSizes):
        raise TypeError("the first argument must be EffectSizes (from escalc) or None")
    level = numeric.level_fraction(level)
    return UnpooledRows(measure=measure or es.measure, level=level,
                        study_rows=StudyRows.from_effect_sizes(es))

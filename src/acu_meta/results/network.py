"""Network meta-analysis results: every treatment vs a reference, the league table, Q
decomposed into heterogeneity and inconsistency, direct vs indirect evidence, P-scores.

Validated against metafor 3.8.1 ``rma.mv`` (contrast-based, multi-arm V, ``random = ~ comp |
study, rho = 1/2``) on dat.hasselblad1998 (OR) and dat.senn2013 (MD): common effect to 1e-8,
REML to 1e-6 (``tests/results/test_network.py``); a two-treatment network equals the pairwise
meta-analysis, and in a triangle of two-arm trials the back-calculated indirect estimate equals
Bucher's indirect comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import numeric
from ..models import network as engine
from ..models import registry
from ..models.network import (
    Contrasts,
    NetworkError,
    chi2_p,
    contrasts_from_arms,
    contrasts_from_table,
    fit_network,
)
from ..numeric import json_number, level_fraction, p_two_sided, z_crit
from ._format import fmt, fmt_p, html_table, league_square, table


class Comparison(NamedTuple):
    """One treatment against another from :meth:`NetworkResult.compare`."""

    treatment1: str
    treatment2: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    level: float


@dataclass(frozen=True)
class NetworkResult:
    """A fitted network meta-analysis (analysis scale: log for OR and RR)."""

    measure: str
    method: str
    reference: str
    treatments: tuple[str, ...]
    estimate: np.ndarray  # every treatment vs the reference (reference = 0)
    se: np.ndarray
    cov: np.ndarray  # covariance of the estimates (reference row/column 0)
    tau2: float
    Q: float
    Q_df: int
    Q_p: float
    Q_within: float
    Q_within_df: int
    Q_within_p: float
    Q_between: float
    Q_between_df: int
    Q_between_p: float
    level: float
    contrasts: Contrasts = field(repr=False)
    n_studies: int = 0
    larger_is_better: bool = True

    @property
    def ci_low(self) -> np.ndarray:
        return self.estimate - z_crit(self.level) * self.se

    @property
    def ci_high(self) -> np.ndarray:
        return self.estimate + z_crit(self.level) * self.se

    @property
    def ratio(self) -> bool:
        return self.measure in ("OR", "RR")

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """CIs of every treatment vs the reference at ``level`` (95 or 0.95; default: the
        fit's), from the stored SEs and :func:`acu_meta.numeric.z_crit`."""
        c = z_crit(self.level if level is None else level_fraction(level))
        return pd.DataFrame({"ci_low": self.estimate - c * self.se,
                             "ci_high": self.estimate + c * self.se},
                            index=list(self.treatments))

    def compare(self, a: str, b: str, level: float | None = None) -> Comparison:
        """a vs b (a minus b on the analysis scale): estimate, SE, the interval at ``level``
        (default: the fit's; normal critical value from :func:`acu_meta.numeric.z_crit`), z and
        its two-sided p. Unknown names raise ``NetworkError`` listing the treatments."""
        for t in (a, b):
            if t not in self.treatments:
                raise NetworkError(f"unknown treatment {t!r}; the treatments are "
                                   f"{', '.join(self.treatments)}")
        d, se = engine.contrast(self.estimate, self.cov, self.treatments.index(a),
                                self.treatments.index(b))
        lv = self.level if level is None else level_fraction(level)
        c = z_crit(lv)
        z = d / se if se > 0 else math.nan
        return Comparison(a, b, float(d), float(se), float(d - c * se), float(d + c * se),
                          float(z), p_two_sided(z) if se > 0 else math.nan, lv)

    def to_frame(self) -> pd.DataFrame:
        """Every treatment vs the reference."""
        return pd.DataFrame({"treatment": list(self.treatments), "estimate": self.estimate,
                             "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
                             "p_score": [self.p_scores()[t] for t in self.treatments]})

    def league(self) -> pd.DataFrame:
        """All ordered pairs: row treatment vs column treatment, estimate and CI."""
        rows = []
        c = z_crit(self.level)
        for a in self.treatments:
            for b in self.treatments:
                if a == b:
                    continue
                cmp = self.compare(a, b)
                d, se = cmp.estimate, cmp.se
                rows.append({"treatment1": a, "treatment2": b, "estimate": d, "se": se,
                             "ci_low": d - c * se, "ci_high": d + c * se})
        return pd.DataFrame(rows)

    def league_table(self, digits: int = 2, exp: bool | None = None) -> pd.DataFrame:
        """Square league table: cell (row a, column b) = a vs b with CI, as text."""
        exp = self.ratio if exp is None else exp
        return league_square(self.treatments, self.league(), "estimate", digits, exp)

    def p_scores(self) -> dict[str, float]:
        """P-scores (Ruecker & Schwarzer 2015): the mean, over the other treatments, of the
        one-sided P that the treatment is better; ``larger_is_better`` sets the direction."""
        out = {}
        sign = 1.0 if self.larger_is_better else -1.0
        for a in self.treatments:
            ps = []
            for b in self.treatments:
                if a == b:
                    continue
                cmp = self.compare(a, b)
                d, se = cmp.estimate, cmp.se
                ps.append(float(numeric.norm_cdf(sign * d / se)) if se > 0 else 0.5)
            out[a] = float(np.mean(ps))
        return out

    def netsplit(self) -> pd.DataFrame:
        """Direct vs indirect evidence for every compared pair (back-calculation, Dias et al.
        2010; computed by :func:`acu_meta.models.network.netsplit`): direct = pooled
        within-trial contrasts (tau2 of the network model); indirect =
        ``(d_net/v_net - d_dir/v_dir) / (1/v_net - 1/v_dir)``; inconsistency z-test of
        direct minus indirect. As netmeta's back-calculation, a pair has an indirect estimate
        when a path joins its treatments without its own comparison (the other contrasts of a
        multi-arm trial count) and its direct share is below 1 - 0.0005; otherwise the
        indirect columns are NaN. Validated against netmeta 3.3
        (``tests/results/test_netsplit_netmeta.py``)."""
        crit = z_crit(self.level)
        rows = []
        for s in engine.netsplit(self.contrasts, self.treatments, self.estimate, self.cov,
                                 self.tau2):
            rows.append({"comparison": f"{s.treat1} vs {s.treat2}", "k_direct": s.k_direct,
                         "direct": s.direct, "direct_se": s.direct_se, "network": s.network,
                         "network_se": s.network_se, "direct_share": s.direct_share,
                         "indirect": s.indirect, "indirect_se": s.indirect_se,
                         "indirect_ci_low": s.indirect - crit * s.indirect_se,
                         "indirect_ci_high": s.indirect + crit * s.indirect_se,
                         "difference": s.difference, "z": s.z, "p": s.p})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """The numbers of ``acu-meta network --json`` (analysis scale)."""
        return {
            "reference": self.reference,
            "method": self.method,
            "measure": self.measure,
            "tau2": self.tau2,
            "Q": self.Q,
            "Q_df": self.Q_df,
            "Q_p": json_number(self.Q_p),
            "Q_within": self.Q_within,
            "Q_within_df": self.Q_within_df,
            "Q_between": self.Q_between,
            "Q_between_df": self.Q_between_df,
            "Q_between_p": json_number(self.Q_between_p),
            "effects": [{"treatment": t, "estimate": float(e), "se": float(s),
                         "ci_low": float(lo), "ci_high": float(hi)}
                        for t, e, s, lo, hi in zip(self.treatments, self.estimate, self.se,
                                                   self.ci_low, self.ci_high, strict=True)
                        if t != self.reference],
            "league": self.league().to_dict(orient="records"),
            "p_scores": self.p_scores(),
        }

    def summary(self, digits: int = 4) -> str:
        fixed = registry.get(self.method).kind == "fixed"
        model = "Common-effect" if fixed else f"Random-effects ({self.method})"
        lines = [f"{model} network meta-analysis (k = {self.n_studies} studies, "
                 f"{len(self.contrasts.yi)} contrasts, {len(self.treatments)} treatments; "
                 f"{self.measure}; reference: {self.reference})", ""]
        if not fixed:
            lines.append(f"tau^2 = {fmt(self.tau2, digits)} (common to all comparisons)")
        lines += [f"Q total:           Q({self.Q_df}) = {fmt(self.Q, digits)}, "
                  f"p = {fmt_p(self.Q_p)}",
                  f"  within designs:  Q({self.Q_within_df}) = {fmt(self.Q_within, digits)}, "
                  f"p = {fmt_p(self.Q_within_p)}",
                  f"  between designs: Q({self.Q_between_df}) = {fmt(self.Q_between, digits)}, "
                  f"p = {fmt_p(self.Q_between_p)}  (inconsistency)", ""]
        head = ["treatment", "estimate", "se", "ci.lb", "ci.ub", "P-score"]
        ps = self.p_scores()
        rows = [[t, fmt(e, digits), fmt(s, digits), fmt(lo, digits), fmt(hi, digits),
                 f"{ps[t]:.3f}"]
                for t, e, s, lo, hi in zip(self.treatments, self.estimate, self.se,
                                           self.ci_low, self.ci_high, strict=True)]
        lines.append(table(head, rows))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return (f"<p><b>{self.summary().splitlines()[0]}</b></p>" + html_table(self.to_frame())
                + html_table(self.league_table().reset_index()))


def network(
    data: pd.DataFrame,
    *,
    measure: str,
    method: str = "REML",
    reference: str | None = None,
    level: float = 95,
    larger_is_better: bool = True,
    study: str = "study",
    treatment: str = "treatment",
) -> NetworkResult:
    """Network meta-analysis from arm-level rows (one row per study arm).

    Parameters
    ----------
    data
        Columns ``study``, ``treatment`` and ``events, n`` (OR, RR, RD) or ``mean, sd, n``
        (MD, SMD).
    measure
        OR, RR, RD, MD or SMD (treatment vs its study's baseline arm, as escalc).
    method
        "FE" (common effect), "REML" (default) or "DL" (generalized DerSimonian-Laird).
    reference
        Treatment every effect is expressed against (default: the first in the data).
    larger_is_better
        Direction for the P-scores (e.g. False for log odds of an adverse outcome).
    """
    level = level_fraction(level)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"network() needs a DataFrame of arm rows (study, treatment, events/n "
                        f"or mean/sd/n), not {type(data).__name__}")
    df = data.reset_index(drop=True)
    for col in (study, treatment):
        if col not in df.columns:
            raise NetworkError(f"column {col!r} is missing")
    blank = df[treatment].astype(str).str.strip().eq("") | df[treatment].isna()
    if blank.any():
        raise NetworkError(f"row {int(np.flatnonzero(blank)[0]) + 1}: treatment name is blank")
    kw = {}
    for col in ("events", "n", "mean", "sd"):
        if col in df.columns:
            kw[col] = df[col].to_numpy(float)
    c, order = contrasts_from_arms(measure, df[study], df[treatment], reference=reference, **kw)
    return _fit(c, order, method, level, larger_is_better)


def network_contrasts(
    data: pd.DataFrame,
    *,
    measure: str = "GEN",
    method: str = "REML",
    reference: str | None = None,
    level: float = 95,
    larger_is_better: bool = True,
) -> NetworkResult:
    """Network meta-analysis from contrast-level rows: columns ``study, treat1, treat2, yi, vi``
    (``treat1`` vs ``treat2``), plus ``cov`` for multi-arm studies, whose contrasts share one
    ``treat2`` and have covariance ``cov`` (the baseline arm's variance term)."""
    level = level_fraction(level)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"network_contrasts() needs a DataFrame of contrast rows, not "
                        f"{type(data).__name__}")
    for col in ("study", "treat1", "treat2", "yi", "vi"):
        if col not in data.columns:
            raise NetworkError(f"column {col!r} is missing")
    c, order = contrasts_from_table(data["study"], data["treat1"], data["treat2"], data["yi"],
                                    data["vi"], data["cov"] if "cov" in data.columns else None,
                                    measure=measure, reference=reference)
    return _fit(c, order, method, level, larger_is_better)


def _fit(c: Contrasts, order: list[str], method: str, level: float, larger_is_better: bool
         ) -> NetworkResult:
    f = fit_network(c, order, method)
    T = len(order)
    est = np.zeros(T)
    est[1:] = f.beta
    cov = np.zeros((T, T))
    cov[1:, 1:] = f.vb
    se = np.sqrt(np.diag(cov))
    return NetworkResult(
        measure=c.measure, method=f.method, reference=order[0], treatments=tuple(order),
        estimate=est, se=se, cov=cov, tau2=f.tau2, Q=f.Q, Q_df=f.Q_df,
        Q_p=chi2_p(f.Q, f.Q_df), Q_within=f.Q_within, Q_within_df=f.Q_within_df,
        Q_within_p=chi2_p(f.Q_within, f.Q_within_df), Q_between=f.Q_between,
        Q_between_df=f.Q_between_df, Q_between_p=chi2_p(f.Q_between, f.Q_between_df),
        level=level, contrasts=c, n_studies=len(set(c.study)), larger_is_better=larger_is_better,
    )


# ------------------------------------------------------------------ net heat and rankogram
# (issue #15: additive, separate from NetworkResult's methods)


@dataclass(frozen=True)
class NetHeatResult:
    """The net heat plot's numbers (Krahn et al. 2013) for one network, from
    :func:`acu_meta.models.network.net_heat`: per design-level row its share of the
    inconsistency Q (``q_inc``), the change of every share when one design is detached
    (``diff``, NaN columns for designs without a loop) and the hat matrix ``H``."""

    model: str  # "common" or "random"
    tau2: float  # 0, or the within-design tau2 (random)
    rows: tuple[str, ...]  # "design | treat1 vs treat2"
    q_inc: np.ndarray
    diff: np.ndarray
    comparisons: tuple[str, ...]  # "treat1 vs treat2" rows of H
    H: np.ndarray

    @property
    def colours(self) -> np.ndarray:
        """The matrix a net heat plot colours: ``-diff`` (red: detaching the column's design
        lowers the row's inconsistency)."""
        return -self.diff

    def to_frame(self) -> pd.DataFrame:
        """``diff`` with row and column labels, plus the row's ``q_inc``."""
        out = pd.DataFrame(self.diff, index=list(self.rows), columns=list(self.rows))
        out.insert(0, "q_inc", self.q_inc)
        return out

    def conf_int(self) -> pd.DataFrame:
        """No intervals: the net heat values decompose Q and carry no sampling interval; an
        empty frame with the rows as index, for the result interface."""
        return pd.DataFrame(index=list(self.rows))

    def summary(self, digits: int = 3) -> str:
        lines = [f"Net heat ({self.model} effects, tau2 = {fmt(self.tau2, 4)}): shares of the "
                 f"inconsistency Q = {fmt(float(np.sum(self.q_inc)), digits)}"]
        lines.append(table(["row", "Q_inc"], [[r, fmt(float(q), digits)] for r, q in
                                              zip(self.rows, self.q_inc, strict=True)]))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<p><b>Net heat</b></p>" + html_table(self.to_frame().reset_index())


def net_heat(result: NetworkResult, random: bool | None = None) -> NetHeatResult:
    """The net heat plot's numbers for a fitted network (default: random effects unless the
    network was fitted FE), as netmeta's ``netheat``; a network with fewer than 3 designs
    raises :class:`~acu_meta.models.network.NetworkError`. Validated against netmeta 3.3
    (``tests/results/test_netheat_rankogram.py``)."""
    random = result.method != "FE" if random is None else bool(random)
    h = engine.net_heat(result.contrasts, list(result.treatments), random=random)
    return NetHeatResult("random" if random else "common", h.tau2,
                         tuple(f"{d} | {a} vs {b}" for d, a, b in h.rows), h.q_inc, h.diff,
                         tuple(f"{a} vs {b}" for a, b in h.comparisons), h.H)


@dataclass(frozen=True)
class RankogramResult:
    """Rank probabilities of every treatment (rank 1 = best), by simulation
    (:func:`acu_meta.models.network.rank_probabilities`), with SUCRA and the P-scores."""

    treatments: tuple[str, ...]
    probabilities: np.ndarray  # [treatment, rank - 1]
    n_sim: int
    seed: int
    larger_is_better: bool
    p_scores: dict = field(default_factory=dict)

    @property
    def sucra(self) -> dict[str, float]:
        return dict(zip(self.treatments, engine.sucra(self.probabilities).tolist(),
                        strict=True))

    @property
    def mc_se(self) -> np.ndarray:
        """Monte-Carlo standard error of each probability."""
        P = self.probabilities
        return np.sqrt(P * (1 - P) / self.n_sim)

    def to_frame(self) -> pd.DataFrame:
        T = len(self.treatments)
        out = pd.DataFrame(self.probabilities, index=list(self.treatments),
                           columns=[f"rank_{r}" for r in range(1, T + 1)])
        out["sucra"] = list(self.sucra.values())
        out["p_score"] = [self.p_scores.get(t, np.nan) for t in self.treatments]
        return out

    def conf_int(self, level: float = 95) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Monte-Carlo intervals of the rank probabilities (normal approximation)."""
        level = level / 100 if level > 1 else level
        h = z_crit(level) * self.mc_se
        cols = [f"rank_{r}" for r in range(1, len(self.treatments) + 1)]
        mk = lambda a: pd.DataFrame(a, index=list(self.treatments), columns=cols)  # noqa: E731
        return mk(np.clip(self.probabilities - h, 0, 1)), mk(np.clip(self.probabilities + h,
                                                                       0, 1))

    def summary(self, digits: int = 3) -> str:
        T = len(self.treatments)
        head = [f"Rankogram ({self.n_sim} draws, seed {self.seed}; rank 1 = "
                f"{'largest' if self.larger_is_better else 'smallest'} effect)"]
        rows_ = [[t, *[fmt(float(p), digits) for p in self.probabilities[i]],
                  fmt(self.sucra[t], digits)] for i, t in enumerate(self.treatments)]
        return "\n".join([*head, table(["treatment", *[str(r) for r in range(1, T + 1)],
                                        "SUCRA"], rows_)])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<p><b>Rankogram</b></p>" + html_table(self.to_frame().reset_index())


def rankogram(result: NetworkResult, *, n_sim: int = 100_000, seed: int = 1) -> RankogramResult:
    """Rank probabilities (netmeta's ``rankogram``) of a fitted network, in the direction of
    its ``larger_is_better``, by *n_sim* seeded draws; SUCRA equals the P-score in
    expectation (``tests/results/test_netheat_rankogram.py``)."""
    P = engine.rank_probabilities(result.estimate, result.cov,
                                  larger_is_better=result.larger_is_better, n_sim=n_sim,
                                  seed=seed)
    return RankogramResult(result.treatments, P, int(n_sim), int(seed),
                           result.larger_is_better, result.p_scores())

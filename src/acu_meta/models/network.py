"""Contrast-based network meta-analysis (numbers only; results in :mod:`acu_meta.results`).

Data. Each study contributes the contrasts of its arms against one baseline arm (the arm
whose treatment comes first in the treatment order, reference first). Within a study the
contrasts share the baseline arm, so they are correlated: ``cov(y_j, y_l) = var(baseline arm's
contribution)``:

=======  ===========================================================================
measure  covariance between two contrasts sharing baseline arm b
=======  ===========================================================================
MD       sd_b^2 / n_b
SMD      1 / n_b + g_j g_l / (2 N), N the study's total n (Gleser & Olkin 2009)
OR       1 / a_b + 1 / (n_b - a_b)   (cells after continuity correction)
RR       1 / a_b - 1 / n_b
RD       p_b (1 - p_b) / n_b
=======  ===========================================================================

Binary arms get escalc's default continuity correction per study: 1/2 is added to the events
and non-events of every arm of a study in which any arm has a zero cell.

Model. ``y = X d + u + e``, ``e ~ N(0, V)`` (block-diagonal V), ``u ~ N(0, tau2 R)`` with one
common tau2 and ``R`` having 1 on the diagonal and 1/2 between contrasts of the same study
(metafor: ``rma.mv(yi, V, mods = X, random = ~ comp | study, rho = 1/2)``). X has one column per
non-reference treatment (+1 for treat1, -1 for treat2). tau2: fixed at 0 (common effect),
REML (maximized by bracketing the REML score and Brent's method, as the pairwise engine), or
the generalized DerSimonian-Laird method of moments ``(Q - df) / tr(P0 R)``, which reduces to
DL for two treatments: the registered methods with a network estimator
(``registry.names(network=True)``; the estimators are in :mod:`acu_meta.models._tau2`). Q is
decomposed into within-design heterogeneity and between-design inconsistency
(design-by-treatment interaction; Krahn, Binder & Koenig 2013).

V and R are block-diagonal (one block per study, arms - 1 rows): every fit is solved block by
block (:mod:`acu_meta.models._network_linalg`, issue #16), so 1,000 studies fit by REML in a
fraction of a second; ``Contrasts.V`` stays the dense matrix for the callers that read it.

Direct and indirect evidence (:func:`netsplit`): for every compared pair, the direct estimate
pools the studies' own a-vs-b contrasts (inverse variance, with the network's tau2), and the
indirect estimate is back-calculated from the network and direct estimates (Dias et al. 2010).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from .. import numeric
from ..effects.escalc import escalc
from ..errors import InputError, ModelError
from ..numeric import p_two_sided, pool_iv
from . import registry
from ._network_linalg import Blocks, NetworkSystem, blocks_from_study


class NetworkError(ModelError):
    """A network that cannot be analysed (one-arm study, disconnected network, ...)."""


@dataclass(frozen=True)
class Contrasts:
    """Stacked study contrasts (treat1 vs treat2, treat2 = the study's baseline arm)."""

    measure: str
    study: tuple[str, ...]
    treat1: tuple[str, ...]
    treat2: tuple[str, ...]
    yi: np.ndarray
    V: np.ndarray  # full within-study covariance, block diagonal
    design: tuple[str, ...]  # the study's treatments, ordered, joined by ":"
    n_by_treatment: dict[str, float]

    @cached_property
    def rows_by_study(self) -> dict[str, list[int]]:
        """Each study's rows (contrasts), in the order the studies first appear."""
        rows: dict[str, list[int]] = defaultdict(list)
        for r, s in enumerate(self.study):
            rows[s].append(r)
        return dict(rows)

    @cached_property
    def blocks(self) -> Blocks:
        """The per-study block structure of V (:mod:`acu_meta.models._network_linalg`)."""
        return blocks_from_study(self.study)


def components(edges: list[tuple[str, str]], nodes: list[str]) -> list[list[str]]:
    """Connected components of the treatment graph (union-find)."""
    parent = {n: n for n in nodes}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    groups = defaultdict(list)
    for n in nodes:
        groups[find(n)].append(n)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g))


def _check_connected(edges: list[tuple[str, str]], order: list[str]) -> None:
    comps = components(edges, order)
    if len(comps) > 1:
        raise NetworkError("the network is disconnected: "
                           + " | ".join("{" + ", ".join(c) + "}" for c in comps))


def _block_diag(blocks: list[np.ndarray]) -> np.ndarray:
    size = sum(b.shape[0] for b in blocks)
    V = np.zeros((size, size))
    pos = 0
    for b in blocks:
        k = b.shape[0]
        V[pos:pos + k, pos:pos + k] = b
        pos += k
    return V


def order_treatments(treatments, reference: str | None) -> list[str]:
    seen = list(dict.fromkeys(treatments))
    if reference is not None:
        if reference not in seen:
            raise NetworkError(f"reference treatment {reference!r} is not in the data")
        seen.remove(reference)
        seen.insert(0, reference)
    return seen


def _binary_arms(events, n) -> tuple[np.ndarray, np.ndarray]:
    """One study's binary arms with escalc's default correction per study: 1/2 added to the
    events and non-events of every arm when any arm has a zero cell."""
    ev = np.asarray(events, dtype=float)
    nn = np.asarray(n, dtype=float)
    if np.any((ev == 0) | (ev == nn)):
        ev, nn = ev + 0.5, nn + 1.0
    return ev, nn


def _binary_cov(measure: str, a_b: float, n_b: float) -> float:
    """Covariance of two binary contrasts sharing the baseline arm (a_b events of n_b)."""
    if measure == "OR":
        return 1 / a_b + 1 / (n_b - a_b)
    if measure == "RR":
        return 1 / a_b - 1 / n_b
    return (a_b / n_b) * (1 - a_b / n_b) / n_b


def _arm_effects(measure: str, binary: bool, arms: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """yi and vi of every contrast (an arm vs its study's baseline arm), one escalc call.

    *arms* holds one tuple per contrast: ``(a_j, n_j, a_b, n_b)`` (binary, corrected) or
    ``(m_j, sd_j, n_j, m_b, sd_b, n_b)``. escalc works element by element, so this equals one
    call per contrast; when it refuses the data, the contrasts are computed one by one so that
    its message names the first failing contrast as before."""
    cols = np.array(arms, dtype=float).reshape(len(arms), 4 if binary else 6).T

    def call(c):
        if binary:
            return escalc(measure, ai=c[0], n1i=c[1], ci=c[2], n2i=c[3], add=0)
        return escalc(measure, m1i=c[0], sd1i=c[1], n1i=c[2], m2i=c[3], sd2i=c[4], n2i=c[5])

    try:
        es = call(cols)
    except InputError:
        for j in range(cols.shape[1]):
            call(cols[:, j:j + 1])
        raise
    return np.asarray(es.yi, dtype=float), np.asarray(es.vi, dtype=float)


def _check_arm_inputs(measure: str, events, n, mean, sd) -> bool:
    """Whether *measure* is binary; NetworkError when its arm-level inputs are missing."""
    if measure not in ("OR", "RR", "RD", "MD", "SMD"):
        raise NetworkError(f"network measure must be OR, RR, RD, MD or SMD, not {measure}")
    binary = measure in ("OR", "RR", "RD")
    if binary and (events is None or n is None):
        raise NetworkError(f"measure {measure} needs events and n per arm")
    if not binary and (mean is None or sd is None or n is None):
        raise NetworkError(f"measure {measure} needs mean, sd and n per arm")
    return binary


def contrasts_from_arms(measure: str, study, treatment, *, events=None, n=None, mean=None,
                        sd=None, reference: str | None = None) -> tuple[Contrasts, list[str]]:
    """Build the contrast data from arm-level rows (one row per study arm)."""
    measure = measure.upper()
    study = [str(s) for s in study]
    treatment = [str(t) for t in treatment]
    order = order_treatments(treatment, reference)
    rank = {t: i for i, t in enumerate(order)}
    by_study: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(study):
        by_study[s].append(i)
    binary = _check_arm_inputs(measure, events, n, mean, sd)
    rows_s, rows_t1, rows_t2, designs = [], [], [], []
    arms_rows: list[tuple] = []  # per contrast: the arm's and the baseline arm's data
    sizes = []  # per study: its number of contrasts
    cov = []  # per study: the covariance of its contrasts (the baseline arm's term) or g's
    edges = []
    n_by_t: dict[str, float] = defaultdict(float)
    for s, idx in by_study.items():
        trts = [treatment[i] for i in idx]
        if len(idx) < 2:
            raise NetworkError(f"study {s!r} has one arm ({trts[0]}); a study needs two or more")
        if len(set(trts)) < len(trts):
            twice = next(t for t in trts if trts.count(t) > 1)
            raise NetworkError(f"study {s!r} lists treatment {twice!r} twice")
        idx = sorted(idx, key=lambda i: rank[treatment[i]])
        base, arms = idx[0], idx[1:]
        for i in idx:
            n_by_t[treatment[i]] += float(n[i])
        edges += [(treatment[i], treatment[base]) for i in arms]
        sizes.append(len(arms))
        if binary:
            ev, nn = _binary_arms([float(events[i]) for i in idx], [float(n[i]) for i in idx])
            arms_rows += [(ev[j], nn[j], ev[0], nn[0]) for j in range(1, len(idx))]
            cov.append(_binary_cov(measure, ev[0], nn[0]))
        else:
            mm, ss, nn = ([float(x[i]) for i in idx] for x in (mean, sd, n))
            arms_rows += [(mm[j], ss[j], nn[j], mm[0], ss[0], nn[0]) for j in range(1, len(idx))]
            cov.append(ss[0] ** 2 / nn[0] if measure == "MD" else (1 / nn[0], 2 * sum(nn)))
        design = ":".join(treatment[i] for i in idx)
        for i in arms:
            rows_s.append(s)
            rows_t1.append(treatment[i])
            rows_t2.append(treatment[base])
            designs.append(design)
    ys, vs = _arm_effects(measure, binary, arms_rows)
    blocks = []
    pos = 0
    for cv, k in zip(cov, sizes, strict=True):
        if isinstance(cv, tuple):  # SMD: 1 / n_b + g_j g_l / (2 N)
            g = ys[pos:pos + k]
            block = cv[0] + np.outer(g, g) / cv[1]
        else:
            block = np.full((k, k), cv)
        np.fill_diagonal(block, vs[pos:pos + k])
        blocks.append(block)
        pos += k
    _check_connected(edges, order)
    return Contrasts(measure, tuple(rows_s), tuple(rows_t1), tuple(rows_t2), np.array(ys),
                     _block_diag(blocks), tuple(designs), dict(n_by_t)), order


def contrasts_from_table(study, treat1, treat2, yi, vi, cov=None, measure: str = "GEN",
                         reference: str | None = None) -> tuple[Contrasts, list[str]]:
    """Contrast-level input: one row per contrast ``treat1 vs treat2`` with ``yi`` and ``vi``.

    A multi-arm study gives its contrasts against one common ``treat2`` (its baseline arm) and,
    in ``cov``, the covariance between them (the baseline arm's variance term, e.g. sd^2/n for
    MD); two-arm studies need no ``cov``.
    """
    study = [str(s) for s in study]
    t1 = [str(t) for t in treat1]
    t2 = [str(t) for t in treat2]
    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    cov = None if cov is None else np.asarray(cov, float)
    order = order_treatments([x for pair in zip(t2, t1, strict=True) for x in pair], reference)
    rows_by_study: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(study):
        rows_by_study[s].append(i)
    perm, blocks, designs, edges = [], [], [], []
    for s, rows in rows_by_study.items():
        bases = {t2[i] for i in rows}
        if len(bases) > 1:
            raise NetworkError(f"study {s!r}: the contrasts of a multi-arm study must share one "
                               f"baseline (treat2), got {sorted(bases)}")
        if len({t1[i] for i in rows}) < len(rows) or any(t1[i] == t2[i] for i in rows):
            raise NetworkError(f"study {s!r}: a treatment appears twice")
        k = len(rows)
        block = np.zeros((k, k))
        if k > 1:
            c = [cov[i] if cov is not None else np.nan for i in rows]
            if any(np.isnan(c)) or len(set(c)) > 1:
                raise NetworkError(f"study {s!r} has {k + 1} arms: give the covariance of its "
                                   "contrasts (one value, column cov)")
            block[:] = c[0]
        np.fill_diagonal(block, vi[rows])
        blocks.append(block)
        trts = [t2[rows[0]]] + [t1[i] for i in rows]
        designs += [":".join(sorted(trts, key=order.index))] * k
        edges += [(t1[i], t2[i]) for i in rows]
        perm += rows
    _check_connected(edges, order)
    V = _block_diag(blocks)
    return Contrasts(measure, tuple(study[i] for i in perm), tuple(t1[i] for i in perm),
                     tuple(t2[i] for i in perm), yi[perm], V, tuple(designs), {}), order


def design_matrix(c: Contrasts, order: list[str]) -> np.ndarray:
    col = {t: j - 1 for j, t in enumerate(order) if j > 0}
    X = np.zeros((len(c.yi), len(order) - 1))
    for r, (t1, t2) in enumerate(zip(c.treat1, c.treat2, strict=True)):
        if t1 in col:
            X[r, col[t1]] += 1
        if t2 in col:
            X[r, col[t2]] -= 1
    return X


def study_correlation(c: Contrasts) -> np.ndarray:
    """R: 1 on the diagonal, 1/2 between contrasts of the same study, 0 elsewhere (dense; the
    fit uses its blocks, :func:`correlation_blocks`)."""
    _, s = np.unique(np.asarray(c.study, dtype=str), return_inverse=True)
    s = s.ravel()
    R = np.where(s[:, None] == s[None, :], 0.5, 0.0)
    np.fill_diagonal(R, 1.0)
    return R


def correlation_blocks(blocks: Blocks) -> list[np.ndarray]:
    """The ``(k, m, m)`` blocks of :func:`study_correlation` per group of *blocks*."""
    out = []
    for g in blocks.groups:
        m = g.shape[1]
        block = np.full((m, m), 0.5)
        np.fill_diagonal(block, 1.0)
        out.append(np.broadcast_to(block, (len(g), m, m)))
    return out


def network_system(c: Contrasts, X: np.ndarray, rows=None) -> NetworkSystem:
    """The block-diagonal GLS system of the contrasts *c* (or of its *rows*) with design *X*
    (:class:`~acu_meta.models._network_linalg.NetworkSystem`): V's per-study blocks read
    from ``c.V``, R's built; no dense n x n matrix."""
    if rows is None:
        blocks, rows = c.blocks, np.arange(len(c.yi))
    else:
        rows = np.asarray(rows)
        blocks = blocks_from_study([c.study[r] for r in rows])
    V = [c.V[rows[g][:, :, None], rows[g][:, None, :]] for g in blocks.groups]
    return NetworkSystem.from_blocks(c.yi[rows], X, V, correlation_blocks(blocks), blocks)


@dataclass(frozen=True)
class NetFit:
    beta: np.ndarray  # effects of non-reference treatments vs the reference
    vb: np.ndarray
    tau2: float
    Q: float
    Q_df: int
    Q_within: float
    Q_within_df: int
    Q_between: float
    Q_between_df: int
    method: str


def q_decomposition(c: Contrasts) -> tuple[float, int]:
    """Q within designs (each design fitted with its own effects) and its df."""
    q_w, df_w = 0.0, 0
    designs = defaultdict(list)
    for r, d in enumerate(c.design):
        designs[d].append(r)
    for d, rows in designs.items():
        rows = np.array(rows)
        sub_order = d.split(":")  # the design's own baseline first
        sub = Contrasts(c.measure, tuple(c.study[r] for r in rows),
                        tuple(c.treat1[r] for r in rows), tuple(c.treat2[r] for r in rows),
                        c.yi[rows], np.zeros((0, 0)), tuple(c.design[r] for r in rows), {})
        X = design_matrix(sub, sub_order)
        q_w += network_system(c, X, rows).wls(0.0)[0].rss
        df_w += len(rows) - X.shape[1]
    return q_w, df_w


#: Largest condition number of a study's contrast correlation matrix: beyond it a GLS weight
#: would keep fewer than 4 correct digits (relative error about cond * eps > 1e-4).
MAX_CONDITION = 1e-4 / np.finfo(float).eps


def check_covariance(c: Contrasts) -> None:
    """NetworkError naming the first study whose contrast covariance block is not numerically
    positive definite: the condition number of its correlation matrix (scale-free: variances
    of 1e-201 and 1e198 side by side are fine) above :data:`MAX_CONDITION`, or not finite.

    A multi-arm study whose baseline arm's variance swamps the others (sd = 1e154 beside sd =
    1.5) stores ``v_b + v_j`` as ``v_b``: its block is singular in double precision, and the
    information on the contrasts between its other arms is already lost. Every tau2 adds
    ``tau2 R`` (positive definite), so checking V covers every GLS fit of the model.
    """
    bad = []  # (position of the study, its cond) of every failing study, per block size
    for g, first in zip(c.blocks.groups, c.blocks.first, strict=True):
        blocks = c.V[g[:, :, None], g[:, None, :]]
        d = np.diagonal(blocks, axis1=1, axis2=2)
        ok = np.all(np.isfinite(blocks), axis=(1, 2)) & np.all(d > 0, axis=1)
        cond = np.full(len(g), math.inf)
        if g.shape[1] == 1:
            cond[ok] = 1.0
        elif ok.any():
            scale = 1.0 / np.sqrt(d[ok])  # the correlation matrix: scale-free
            cond[ok] = np.linalg.cond(blocks[ok] * scale[:, :, None] * scale[:, None, :])
        fail = ~(cond <= MAX_CONDITION)
        bad += list(zip(first[fail], cond[fail], strict=True))
    if bad:
        pos, cond = min(bad)
        s = list(c.rows_by_study)[pos]
        idx = c.rows_by_study[s]
        d = np.diag(c.V[np.ix_(idx, idx)])
        raise NetworkError(
            f"study {s!r}: the covariance of its {len(idx)} contrasts is singular in double "
            f"precision (condition number {cond:.3g}; contrast variances {d.min():.3g} to "
            f"{d.max():.3g}): one arm's variance swamps the others")


def fit_network(c: Contrasts, order: list[str], method: str = "REML",
                tau2: float | None = None) -> NetFit:
    """Fit the network model with a registered tau2 method that has a network estimator
    (``FE`` common effect, ``REML``, ``DL``); ``tau2`` fixes tau2 instead. A study whose
    covariance block is numerically singular is refused (:func:`check_covariance`).

    Solved per study block (:mod:`acu_meta.models._network_linalg`): O(n p^2) per likelihood
    evaluation, no n x n matrix inverted. Validated against metafor ``rma.mv`` in
    ``tests/results/test_network.py`` and against the dense n x n formulas at 1e-10 in
    ``tests/models/test_network_linalg.py``."""
    allowed = registry.names(network=True)
    name = str(method).upper()
    if name not in allowed:
        raise NetworkError(f"network method must be one of {', '.join(allowed)}, not {name!r}")
    est = registry.get(name)
    check_covariance(c)
    X = design_matrix(c, order)
    y = c.yi
    system = network_system(c, X)  # per-study blocks of V and R, no n x n matrix
    Q = system.wls(0.0)[0].rss
    df = len(y) - X.shape[1]
    if tau2 is not None:
        t2 = float(tau2)
    elif df <= 0:
        t2 = 0.0
    else:
        t2 = float(est.network(y, system, None, X))
    f = system.wls(t2)[0]
    q_w, df_w = q_decomposition(c)
    return NetFit(f.beta, f.Ainv, t2, Q, df, q_w, df_w, Q - q_w, df - df_w, est.name)


def chi2_p(q: float, df: int) -> float:
    return float(numeric.chi2_sf(q, df)) if df > 0 else float("nan")


# ------------------------------------------------------------------------------ direct vs indirect


class Split(NamedTuple):
    """Direct and indirect evidence on one compared pair (treat1 vs treat2)."""

    treat1: str
    treat2: str
    k_direct: int
    direct: float
    direct_se: float
    network: float
    network_se: float
    direct_share: float
    indirect: float  # NaN (and the rest) when nothing but the direct studies connects the pair
    indirect_se: float
    difference: float  # direct - indirect
    z: float
    p: float


def contrast(estimate: np.ndarray, cov: np.ndarray, i: int, j: int) -> tuple[float, float]:
    """Estimate and SE of treatment i vs j from every-treatment estimates and their covariance."""
    d = estimate[i] - estimate[j]
    v = cov[i, i] + cov[j, j] - 2 * cov[i, j]
    return float(d), float(math.sqrt(max(v, 0.0)))


def study_treatments(c: Contrasts) -> dict[str, list[str]]:
    """Each study's treatments, its baseline arm first."""
    return {s: [c.treat2[rows[0]]] + [c.treat1[r] for r in rows]
            for s, rows in c.rows_by_study.items()}


#: netmeta's ``tol.direct``: a pair whose direct evidence carries more than ``1 - TOL_DIRECT``
#: of the network estimate's precision gets no indirect estimate (back-calculation would divide
#: by the difference of two almost equal variances).
TOL_DIRECT = 0.0005


def _has_indirect(study_trts: dict[str, list[str]], a: str, b: str) -> bool:
    """Is there a path from a to b without the a-b comparison itself? Every study contributes
    every comparison of its arms except a-b, so the other contrasts of a multi-arm study that
    has both a and b count (as in netmeta's back-calculation: on dat.stowe2010 COMTI vs Placebo
    has indirect evidence through the three-arm LARGO trial)."""
    edges = []
    nodes = set()
    for trts in study_trts.values():
        nodes.update(trts)
        edges += [(x, y) for i, x in enumerate(trts) for y in trts[i + 1:] if {x, y} != {a, b}]
    return any(a in g and b in g for g in components(edges, sorted(nodes)))


def _study_contrast(c: Contrasts, study: str, a: str, b: str) -> tuple[float, float]:
    """a vs b within one study, from its contrasts against the study baseline."""
    rows = c.rows_by_study[study]
    base = c.treat2[rows[0]]
    idx = {c.treat1[r]: j for j, r in enumerate(rows)}

    def vec(t):
        e = np.zeros(len(rows))
        if t != base:
            e[idx[t]] = 1.0
        return e

    w = vec(a) - vec(b)  # on the study's own rows: V's other entries are 0
    return float(w @ c.yi[rows]), float(w @ c.V[np.ix_(rows, rows)] @ w)


def _split(c: Contrasts, studies: list[str], has_indirect: bool, tau2: float,
           net: tuple[float, float], a: str, b: str) -> Split:
    ys, vs = zip(*(_study_contrast(c, s, a, b) for s in studies), strict=True)
    direct = pool_iv(ys, np.array(vs) + tau2)
    v_dir = direct.se**2
    d_net, se_net = net
    v_net = se_net**2
    nan = math.nan
    ind = (nan, nan, nan, nan, nan)
    if has_indirect and v_net < (1 - TOL_DIRECT) * v_dir:
        v_ind = 1 / (1 / v_net - 1 / v_dir)
        d_ind = v_ind * (d_net / v_net - direct.estimate / v_dir)
        diff = direct.estimate - d_ind
        z = diff / math.sqrt(v_dir + v_ind)
        ind = (d_ind, math.sqrt(v_ind), diff, z, p_two_sided(z))
    return Split(a, b, len(studies), direct.estimate, direct.se, d_net, se_net,
                 min(1.0, v_net / v_dir), *ind)


def netsplit(c: Contrasts, treatments, estimate: np.ndarray, cov: np.ndarray,
             tau2: float) -> list[Split]:
    """Direct vs indirect evidence for every directly compared pair (back-calculation, Dias et
    al. 2010).

    direct = the inverse-variance pool of the studies' own a-vs-b contrasts with variances
    ``v + tau2`` (tau2 of the network model); network = the network estimate (from *estimate*
    and *cov*, every treatment vs the reference); indirect = ``(d_net/v_net - d_dir/v_dir) /
    (1/v_net - 1/v_dir)`` with variance ``1 / (1/v_net - 1/v_dir)``; z-test of direct minus
    indirect. As netmeta's back-calculation, the direct pool ignores the correlation of a
    multi-arm trial's contrasts, and a pair has an indirect estimate when a path joins its two
    treatments without the pair's own comparison -- the other contrasts of a multi-arm trial
    count -- and the direct share ``v_net / v_dir`` is below ``1 - TOL_DIRECT`` (netmeta's
    ``tol.direct``); otherwise the indirect fields are NaN. Pairs are "later treatment vs
    earlier" in the order of *treatments*, in the order the studies first compare them.

    Validated against netmeta 3.3 ``netsplit`` (common and DL random effects, five networks
    with multi-arm trials, ``tests/results/test_netsplit_netmeta.py``) and in
    ``tests/results/test_network.py``: in a triangle of two-arm trials the indirect estimate
    equals Bucher's indirect comparison.
    """
    treatments = list(treatments)
    study_trts = study_treatments(c)
    pairs: dict[tuple[str, str], list[str]] = {}
    for s, trts in study_trts.items():
        for i, a in enumerate(trts):
            for b in trts[i + 1:]:
                key = tuple(sorted((a, b), key=treatments.index, reverse=True))
                pairs.setdefault(key, []).append(s)
    return [_split(c, studies, _has_indirect(study_trts, a, b), tau2,
                   contrast(estimate, cov, treatments.index(a), treatments.index(b)), a, b)
            for (a, b), studies in pairs.items()]


# ------------------------------------------------------------------------------ net heat


@dataclass(frozen=True)
class NetHeat:
    """The numbers behind a net heat plot (Krahn, Binder & Koenig 2013), design-level rows.

    ``rows`` are ``(design, treat1, treat2)``: one row per basic comparison of each design,
    its first treatment against the others (a design's treatments: the reference first, then
    alphabetical, as netmeta). ``q_inc[i]`` is row i's share ``r_i (V^-1 r)_i`` of the
    inconsistency Q (residuals r of the design-level direct estimates from the consistency
    model; the shares add up to Q between designs). ``diff[i, j]`` is ``q_inc[i]`` minus the
    same share once the design of row j is detached (given its own parameters); a column is
    NaN where detaching the design disconnects the network (no loop). ``H[m, i]`` is the hat
    matrix from the design-level estimates to the network estimate of comparison
    ``comparisons[m]`` (``treat1`` minus ``treat2``). A net heat plot colours ``-diff``.
    """

    rows: tuple[tuple[str, str, str], ...]
    q_inc: np.ndarray
    diff: np.ndarray
    comparisons: tuple[tuple[str, str], ...]
    H: np.ndarray
    tau2: float


def _design_order(trts, reference: str) -> list[str]:
    return sorted(trts, key=lambda t: (t != reference, t))


def tau2_within_designs(c: Contrasts) -> float:
    """The generalized DerSimonian-Laird tau2 of the design-by-treatment interaction model
    (every design with its own effects: the heterogeneity within designs), as netmeta's
    ``decomp.design`` ``tau.within`` and the tau2 of ``netheat(random = TRUE)``; 0 without
    df."""
    cols: dict[tuple[str, str], int] = {}
    for d in dict.fromkeys(c.design):
        for t in d.split(":")[1:]:
            cols[(d, t)] = len(cols)
    X = np.zeros((len(c.yi), len(cols)))
    for r, (a, b) in enumerate(zip(c.treat1, c.treat2, strict=True)):
        d = c.design[r]
        if (d, a) in cols:
            X[r, cols[(d, a)]] += 1
        if (d, b) in cols:
            X[r, cols[(d, b)]] -= 1
    if len(c.yi) - X.shape[1] <= 0:
        return 0.0
    return float(registry.get("DL").network(c.yi, c.V, study_correlation(c), X))


def net_heat(c: Contrasts, order: list[str], random: bool = False) -> NetHeat:
    """Design-level decomposition of the inconsistency Q for the net heat plot (Krahn et al.
    2013): common effect, or random effects at the within-design tau2
    (:func:`tau2_within_designs`, as netmeta), each study's contrasts with covariance
    ``V + tau2 R``.

    Each design's studies are pooled (GLS) into design-level direct estimates of its basic
    comparisons; the consistency model is refitted to those; the shares of Q, the change of each
    share when one design is detached and the hat matrix follow (:class:`NetHeat`).

    Validated against netmeta 3.3 ``netheat`` (its ``Q.inc.design``, ``diff`` and ``H``, common
    and random effects, ``tests/results/test_netheat_rankogram.py``).
    """
    ref = order[0]
    tau2 = tau2_within_designs(c) if random else 0.0
    col = {t: j - 1 for j, t in enumerate(order) if j > 0}
    by_study: dict[str, list[int]] = defaultdict(list)
    for r, s in enumerate(c.study):
        by_study[s].append(r)
    pooled: dict[tuple[str, ...], list] = {}
    for idx in by_study.values():
        base = c.treat2[idx[0]]
        trts = _design_order([base] + [c.treat1[r] for r in idx], ref)
        S = c.V[np.ix_(idx, idx)] + tau2 * (np.eye(len(idx)) + 1) / 2
        y = c.yi[idx]
        # arm means m (baseline 0) -> contrasts of the design's first treatment against the rest
        T = np.zeros((len(idx), len(idx)))
        arm = {c.treat1[r]: k for k, r in enumerate(idx)}
        first = trts[0]
        for i, t in enumerate(trts[1:]):
            if t in arm:
                T[i, arm[t]] += 1.0
            if first in arm:
                T[i, arm[first]] -= 1.0
        y2, S2 = T @ y, T @ S @ T.T
        W = np.linalg.inv(S2)
        acc = pooled.setdefault(tuple(trts), [np.zeros_like(W), np.zeros_like(y2)])
        acc[0] += W
        acc[1] += W @ y2
    if len(pooled) < 3:
        raise NetworkError(f"a net heat plot needs at least 3 designs, the network has "
                           f"{len(pooled)} (netmeta: not available)")
    rows, ys, blocks, design_of = [], [], [], []
    for d, (Wsum, Wy) in pooled.items():
        Vd = np.linalg.inv(Wsum)
        ys.append(Vd @ Wy)
        blocks.append(Vd)
        for t in d[1:]:
            rows.append((":".join(d), d[0], t))
            design_of.append(d)
    y = np.concatenate(ys)
    V = _block_diag(blocks)
    Winv = np.linalg.inv(V)

    def xrow(a, b):
        x = np.zeros(len(order) - 1)
        if a in col:
            x[col[a]] += 1
        if b in col:
            x[col[b]] -= 1
        return x

    X = np.array([xrow(a, b) for _, a, b in rows])

    def shares(Xm):
        A = Xm.T @ Winv @ Xm
        if np.linalg.matrix_rank(A) < Xm.shape[1]:
            return None
        beta = np.linalg.solve(A, Xm.T @ Winv @ y)
        r = y - Xm @ beta
        return r * (Winv @ r)

    q_inc = shares(X)
    diff = np.full((len(rows), len(rows)), np.nan)
    for d in dict.fromkeys(design_of):
        members = [i for i, dd in enumerate(design_of) if dd == d]
        extra = np.zeros((len(rows), len(members)))
        for k, i in enumerate(members):
            extra[i, k] = 1.0
        q_det = shares(np.hstack([X, extra]))
        if q_det is not None:
            diff[:, members] = (q_inc - q_det)[:, None]
    comps = tuple((a, b) for i, a in enumerate(order) for b in order[i + 1:])
    Xall = np.array([xrow(a, b) for a, b in comps])
    H = Xall @ np.linalg.solve(X.T @ Winv @ X, X.T @ Winv)
    return NetHeat(tuple(rows), q_inc, diff, comps, H, float(tau2))


# ------------------------------------------------------------------------------ rankogram


def rank_probabilities(estimate: np.ndarray, cov: np.ndarray, *, larger_is_better: bool = True,
                       n_sim: int = 100_000, seed: int = 1, chunk: int = 20_000) -> np.ndarray:
    """``P[i, r]``: the probability that treatment i has rank r + 1 (rank 1 = best), by
    simulation from the normal distribution of the network estimates (*estimate*, *cov*; the
    reference's row and column of *cov* are 0), as netmeta's ``rankogram``.

    Draws use ``numpy.random.default_rng(seed)`` in chunks of *chunk* (memory O(chunk T));
    ties, which have probability 0, are broken by treatment order. A factor of *cov* is taken
    by eigen-decomposition (cov is positive semi-definite with a zero row). Monte-Carlo SE of
    each probability: ``sqrt(P (1 - P) / n_sim)``. Validated by its second route: the SUCRA of
    the rankogram equals the P-score in expectation (Ruecker & Schwarzer 2015;
    ``tests/results/test_netheat_rankogram.py``).
    """
    est = np.asarray(estimate, float)
    T = len(est)
    vals, vecs = np.linalg.eigh(np.asarray(cov, float))
    F = vecs * np.sqrt(np.clip(vals, 0.0, None))
    rng = np.random.default_rng(seed)
    counts = np.zeros((T, T))
    sign = -1.0 if larger_is_better else 1.0
    done = 0
    while done < n_sim:
        m = min(chunk, n_sim - done)
        draws = est + rng.standard_normal((m, T)) @ F.T
        ranks = np.argsort(np.argsort(sign * draws, axis=1, kind="stable"), axis=1)
        for r in range(T):
            counts[:, r] += np.sum(ranks == r, axis=0)
        done += m
    return counts / n_sim


def sucra(P: np.ndarray) -> np.ndarray:
    """Surface under the cumulative ranking curve of each treatment from rank probabilities
    (Salanti, Ades & Ioannidis 2011): ``(T - E[rank]) / (T - 1)``."""
    T = P.shape[1]
    mean_rank = P @ np.arange(1, T + 1)
    return (T - mean_rank) / (T - 1)

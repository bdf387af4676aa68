"""Figures of a Bayesian random-effects result (:func:`acu_meta.results.bayes`): the
posterior of tau with its prior, and the joint posterior of (mu, tau).

The forest plot needs nothing here: :func:`acu_meta.plots.forest` draws a
:class:`~acu_meta.results.BayesResult` through the drawable shape (each study's shrunken
theta_i beside its observed estimate, the posterior median of mu with its credible interval and
the posterior predictive interval as the bottom rows).

Both functions draw what the result's posterior functions return (``dposterior``,
``dprior``, ``dposterior_joint``, ``cond_moments``) and never fit. Elements carry a ``gid``:
``tau-posterior``, ``tau-prior`` (or the text ``tau-prior-note`` for an improper prior, which
has no density to draw), ``tau-median``, ``tau-interval``; ``joint-contours``,
``conditional-mean``, ``conditional-interval``, ``joint-mode``.

Checked in ``tests/plots/test_bayes_plots.py``: the drawn curves against the posterior density
computed in the test from Röver 2020 eq. 13 with scipy quadrature, the prior against
``scipy.stats``, the contour levels against the posterior mass they enclose (Monte Carlo draws
from the exact posterior), and the forest rows of a Bayesian result.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from scipy import special

from .. import numeric
from ..errors import InputError
from ._style import COLORS, house_style

__all__ = ["hpd_levels", "joint_posterior_plot", "tau_posterior_plot"]


def _axes(ax, size):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size)
    return fig, fig.add_subplot(111)


def _no_point_mass(result) -> None:
    if result.tau_prior.family == "point-mass":
        raise InputError(f"the posterior of tau is a point mass at {result.tau.median:g} "
                         "(point-mass prior): it has no density to draw")


def _tau_max(result) -> float:
    """Right end of the tau axis: 1.15 x the 99.5% posterior quantile (and the interval's
    upper end), no further than a bounded prior's support."""
    top = 1.15 * max(float(result.qposterior("tau", 0.995)), result.tau_high)
    if math.isfinite(result.tau_prior.upper):
        top = min(top, result.tau_prior.upper)
    return top


def tau_posterior_plot(result, *, ax=None, prior: bool = True, n: int = 401,
                       tau_max: float | None = None) -> Figure:
    """The marginal posterior density of tau with the prior density (when proper), the
    posterior median and the credible interval (the result's level and kind) marked.

    Parameters
    ----------
    result
        A :class:`~acu_meta.results.BayesResult`.
    ax
        Axes to draw in (default: a new 4.8 x 3.2 inch figure).
    prior
        Draw the prior density. An improper prior (uniform on [0, inf), Jeffreys) has none:
        a note says so instead.
    n
        Number of grid points on [0, tau_max].
    tau_max
        Right end of the axis (default: 1.15 x the 99.5% posterior quantile).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _no_point_mass(result)
    top = _tau_max(result) if tau_max is None else float(tau_max)
    x = np.linspace(0.0, top, int(n))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y = np.asarray(result.dposterior("tau", x), dtype=float)
        near0 = float(result.dposterior("tau", 1e-100 * top))
    y = np.where(np.isfinite(y), y, np.nan)
    # a pole at tau = 0 (log-t priors: the density grows without bound as tau -> 0, although
    # the engine gives 0 at exactly 0): the point at 0 is not drawn
    pole = not math.isfinite(near0) or near0 > 1e3 * float(np.nanmax(y[1:]))
    if pole:
        y[0] = np.nan
    lo, hi = result.tau_low, result.tau_high
    med = result.tau.median
    with house_style():
        fig, ax = _axes(ax, (4.8, 3.2))
        ax.plot(x, y, color=COLORS["study"], lw=1.2, label="posterior", gid="tau-posterior")
        xs = np.concatenate([[lo], x[(x > lo) & (x < hi)], [hi]])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ys = np.asarray(result.dposterior("tau", xs), dtype=float)
        ys = np.where(np.isfinite(ys), ys, np.nan)
        ax.fill_between(xs, 0.0, ys, color=COLORS["contours"][1], lw=0,
                        label=f"{result.level * 100:g}% CrI ({result.interval_kind})",
                        gid="tau-interval")
        dmed = float(result.dposterior("tau", med))
        ax.plot([med, med], [0.0, dmed], color=COLORS["study"], lw=0.9, ls="-",
                label=f"median {med:.3g}", gid="tau-median")
        shown = [y]
        if prior and result.tau_prior.proper:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                py = np.asarray(result.dprior(x), dtype=float)
            py = np.where(np.isfinite(py), py, np.nan)
            ax.plot(x, py, color=COLORS["subtle"], lw=1.0, ls="--",
                    label=f"prior: {result.tau_prior.name}", gid="tau-prior")
            shown.append(py)
        elif prior:
            ax.text(0.98, 0.6, f"prior {result.tau_prior.name} is improper:\nno density drawn",
                    transform=ax.transAxes, ha="right", va="top", fontsize=7.5,
                    color=COLORS["subtle"], gid="tau-prior-note")
        # the y range: every curve; beside a pole at tau = 0 (log-t priors), the curves right
        # of the 1% posterior quantile
        keep = x >= float(result.qposterior("tau", 0.01)) if pole else np.ones_like(x, bool)
        ymax = max(float(np.nanmax(v[keep])) for v in shown if np.isfinite(v[keep]).any())
        ax.set_xlim(0.0, top)
        ax.set_ylim(0.0, 1.08 * ymax)
        ax.set_xlabel("heterogeneity tau")
        ax.set_ylabel("density")
        ax.legend(frameon=False, fontsize=7.5, loc="upper right")
        fig.tight_layout()
    return fig


def hpd_levels(density: np.ndarray, cell_mass, masses) -> np.ndarray:
    """Density thresholds of the highest-density regions of a gridded density.

    ``density`` holds the density at the cell midpoints and ``cell_mass`` the probability of
    each cell (an array of the same shape, or a scalar cell area for the midpoint rule). For
    each mass m: the density c of the cell at which the cells taken in decreasing order of
    density first hold m (masses are absolute: cells outside the grid count as outside every
    region).
    """
    z = np.asarray(density, dtype=float).ravel()
    w = np.broadcast_to(np.asarray(cell_mass, dtype=float), np.shape(density)).ravel()
    ok = np.isfinite(z) & np.isfinite(w)
    order = np.argsort(-z[ok], kind="stable")
    z, cum = z[ok][order], np.cumsum(w[ok][order])
    out = []
    for m in masses:
        if not 0 < m < 1:
            raise InputError(f"contour masses must be in (0, 1), not {m!r}")
        out.append(z[min(int(np.searchsorted(cum, m)), len(z) - 1)])
    return np.array(out)


def joint_posterior_plot(result, *, ax=None, masses=(0.5, 0.9, 0.95, 0.99), n: int = 201,
                         tau_max: float | None = None, mu_range=None,
                         conditional_interval: bool = True) -> Figure:
    """Contours of the joint posterior density of (mu, tau), with the conditional posterior
    mean of mu given tau.

    Parameters
    ----------
    result
        A :class:`~acu_meta.results.BayesResult`.
    masses
        Posterior mass enclosed by each contour: the contours are highest-density regions of
        ``dposterior_joint`` on an ``n`` x ``n`` grid (:func:`hpd_levels`; each cell's
        probability from the posterior CDF of tau and the normal conditional of mu), labelled
        with their mass in percent.
    n
        Grid points per axis.
    tau_max, mu_range
        The window (default: tau up to 1.15 x its 99.5% posterior quantile; mu between the
        0.05% and 99.95% posterior quantiles, padded by 5%).
    conditional_interval
        Also draw the conditional credible interval of mu given tau (at the result's level,
        mean +/- z sd of the normal conditional).

    Returns
    -------
    matplotlib.figure.Figure
        The contour set has ``gid`` ``joint-contours``; its ``levels`` are the density
        thresholds in increasing order (largest mass first).
    """
    _no_point_mass(result)
    n = int(n)
    top = _tau_max(result) if tau_max is None else float(tau_max)
    if mu_range is None:
        a, b = (float(result.qposterior("mu", p)) for p in (0.0005, 0.9995))
        pad = 0.05 * (b - a)
        mu_range = (a - pad, b + pad)
    m0, m1 = (float(v) for v in mu_range)
    dt, dm = top / n, (m1 - m0) / n
    tau = (np.arange(n) + 0.5) * dt  # midpoints: never tau = 0 (a pole under log-t priors)
    mu = m0 + (np.arange(n) + 0.5) * dm
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.asarray(result.dposterior_joint(tau[:, None], mu[None, :]), dtype=float)
    z = np.where(np.isfinite(z), z, 0.0)
    masses = tuple(sorted(masses, reverse=True))  # largest mass = lowest threshold first
    cm, cs = result.cond_moments(tau, "mu")
    # the probability of each cell: the tau mass of its row (posterior CDF, exact near a pole
    # at 0) times the normal mass of its mu interval given the row's midpoint tau
    row = np.diff(np.asarray(result.pposterior("tau", np.arange(n + 1) * dt), dtype=float))
    mu_edges = m0 + np.arange(n + 1) * dm
    cell = row[:, None] * np.diff(special.ndtr((mu_edges[None, :] - cm[:, None])
                                               / cs[:, None]), axis=1)
    levels = hpd_levels(z, cell, masses)
    with house_style():
        fig, ax = _axes(ax, (4.8, 3.8))
        cset = ax.contour(mu, tau, z, levels=levels, colors=COLORS["study"], linewidths=0.8)
        cset.set_gid("joint-contours")
        ax.clabel(cset, fmt={lv: f"{m * 100:g}%" for lv, m in zip(cset.levels, masses,
                                                                   strict=True)},
                  fontsize=6.5)
        ax.plot(cm, tau, color=COLORS["subtle"], lw=1.0, label="E[mu | tau, y]",
                gid="conditional-mean")
        if conditional_interval:
            zc = numeric.z_crit(result.level)
            ax.plot(np.concatenate([cm - zc * cs, [np.nan], cm + zc * cs]),
                    np.concatenate([tau, [np.nan], tau]), color=COLORS["subtle"], lw=0.8,
                    ls="--", label=f"conditional {result.level * 100:g}% interval",
                    gid="conditional-interval")
        t_map, m_map = result.map["joint"]
        if math.isfinite(t_map) and math.isfinite(m_map):
            ax.plot([m_map], [t_map], marker="+", ms=7, color=COLORS["study"], ls="none",
                    label="joint mode", gid="joint-mode")
        ax.set_xlim(m0, m1)
        ax.set_ylim(0.0, top)
        ax.set_xlabel(f"effect mu ({result.measure}, analysis scale)")
        ax.set_ylabel("heterogeneity tau")
        ax.legend(frameon=False, fontsize=7.5, loc="upper right")
        fig.tight_layout()
    return fig

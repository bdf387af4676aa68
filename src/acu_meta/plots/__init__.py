"""Figures: forest, funnel (contour-enhanced), L'Abbe, Baujat and radial plots; the posterior
of tau and the joint posterior of (mu, tau) of a Bayesian result.

matplotlib lives only in this layer. Every function takes ``ax=None``, returns the Figure, and
runs headless; :func:`save_figure` writes byte-identical PNG / SVG / PDF files. Plots never fit
a model: :func:`forest`, :func:`funnel` and :func:`labbe` draw anything with the drawable
result shape (:class:`acu_meta.results.PooledResult`); :func:`baujat` draws
:func:`acu_meta.results.baujat` (the model layer's leave-one-out refits).
"""

from ._style import COLORS, STYLE, house_style, save_figure
from .batch import coverage_figure, gosh_plot
from .bayes import joint_posterior_plot, tau_posterior_plot
from .forest import forest
from .funnel import baujat, baujat_values, funnel, labbe, radial
from .interval_stack import interval_stack
from .sensitivity import cumulative_plot, filled_funnel, leave_one_out_plot

__all__ = ["COLORS", "STYLE", "baujat", "baujat_values", "coverage_figure", "cumulative_plot",
           "filled_funnel", "forest", "funnel", "gosh_plot", "house_style",
           "interval_stack", "joint_posterior_plot", "labbe", "leave_one_out_plot", "radial",
           "save_figure", "tau_posterior_plot"]

"""Every chart of the package, in one place: the results' ``plot()`` methods and the report
draw with these functions, so a chart looks the same in a notebook and in a report.

Each function draws on the ``ax`` it is given (or on a new figure's axes) and returns the
Axes; none changes matplotlib's backend or global state. Intervals are labelled with the
level they were computed at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import matplotlib.axes

#: Colours: estimates and discoveries, the truth or a contrast, and everything muted.
BLUE, ORANGE, GREY, RED = "#1b6ca8", "#d95f02", "#aaaaaa", "#d62728"


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only when the caller gave no axes: their backend, their figure

    return plt.subplots(figsize=size, layout="constrained")[1]


def _as_percent(values: Any) -> np.ndarray:
    return 100 * np.expm1(np.asarray(values, dtype=float))


def interval_plot(labels: Sequence[str], values: Sequence[float], ci_low: Sequence[float], ci_high: Sequence[float],
                  ax: matplotlib.axes.Axes | None = None, *, level: float | None, xlabel: str, title: str | None = None,
                  truth: Sequence[float] | None = None, highlight: Sequence[bool] | None = None,
                  percent: bool = False) -> matplotlib.axes.Axes:
    """Points with their intervals, one row per label, top to bottom in the order given.

    Parameters
    ----------
    labels, values, ci_low, ci_high : sequences of equal length
    level : float or None
        The intervals' level, printed in the axis label (None: exact values, no intervals).
    xlabel : str
        What the values are (the level is appended).
    truth : sequence of float, optional
        True values, drawn as crosses (NaN: none).
    highlight : sequence of bool, optional
        Rows drawn in colour (the others grey); default all.
    percent : bool, default=False
        Values are log take-rate effects: draw them as % changes.

    Examples
    --------
    >>> import matplotlib
    >>> from matplotlib.figure import Figure
    >>> ax = interval_plot(["a", "b"], [0.1, -0.05], [0.05, -0.1], [0.15, 0.0], Figure().add_subplot(),
    ...                    level=0.9, xlabel="effect")
    >>> ax.get_xlabel()
    'effect (90% CI)'
    """
    ax = _axes(ax, (6.5, 0.35 * len(labels) + 1.2))
    convert = _as_percent if percent else (lambda v: np.asarray(v, dtype=float))
    mid, low, high = (convert(v)[::-1] for v in (values, ci_low, ci_high))
    y = np.arange(len(mid))
    colours = np.where(np.asarray(highlight if highlight is not None else [True] * len(mid), dtype=bool)[::-1], BLUE, GREY)
    for yi, m, lo, hi, c in zip(y, mid, low, high, colours):
        ax.plot([lo, hi], [yi, yi], color=c, linewidth=2)
        ax.plot([m], [yi], "o", color=c)
    if truth is not None:
        ax.plot(convert(truth)[::-1], y, "x", color=ORANGE, label="truth", markersize=8)
        ax.legend(fontsize=7, frameon=False)
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_yticks(y, [str(s)[:32] for s in labels][::-1])
    ax.set_xlabel(xlabel if level is None else f"{xlabel} ({level:.0%} CI)")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def forest_plot(table: pd.DataFrame, ax: matplotlib.axes.Axes | None = None, *,
                truth: Mapping[str, float] | None = None, level: float = 0.95) -> matplotlib.axes.Axes:
    """The forest plot of an insight table: each feature's effect (0 -> 1 for binary
    features, per within-test standard deviation for continuous ones) with its interval;
    discoveries in colour.

    Parameters
    ----------
    table : DataFrame
        :attr:`InsightTable.table` (or a saved ``insights.csv``): ``feature``,
        ``effect_per_sd``, ``per_sd_ci_low``, ``per_sd_ci_high``, ``discovery``, ``sd``,
        ``pct_change``.
    truth : mapping, optional
        Feature -> true effect per unit (as :func:`estimate_effect` reports it), drawn on the
        plotted scale.
    level : float
        The table's interval level.
    """
    rows = table.dropna(subset=["effect_per_sd"])
    logged = "pct_change" in rows and bool(rows["pct_change"].notna().any())
    marks = None
    if truth:
        marks = [truth.get(f, np.nan) * sd for f, sd in zip(rows["feature"], rows["sd"].to_numpy(dtype=float))]
    ax = interval_plot(list(rows["feature"]), rows["effect_per_sd"], rows["per_sd_ci_low"], rows["per_sd_ci_high"], ax,
                       level=level, truth=marks, highlight=rows["discovery"].to_numpy(dtype=bool), percent=logged,
                       xlabel=("take-rate change, %" if logged else "effect") + "; binary 0 -> 1, continuous per "
                       "within-test SD",
                       title="Causal effects of artwork features (blue: discoveries)")
    return ax


def propensity_plot(propensity: Sequence[float], treated: Sequence[int], treatment: str,
                    ax: matplotlib.axes.Axes | None = None, *, extreme: float | None = None) -> matplotlib.axes.Axes:
    """Histograms of the propensity of artwork with and without the treatment; dotted lines
    at ``extreme`` and ``1 - extreme``."""
    ax = _axes(ax, (6, 3))
    p = np.asarray(propensity, dtype=float)
    t = np.asarray(treated, dtype=int)
    bins = np.linspace(0, 1, 26)
    for value, colour, label in ((1, ORANGE, "with"), (0, BLUE, "without")):
        ax.hist(p[t == value], bins=bins, alpha=0.55, color=colour, label=f"{label} {treatment}")
    if extreme is not None:
        for edge in (extreme, 1 - extreme):
            ax.axvline(edge, color="#999999", linestyle=":", linewidth=0.8)
    ax.set_xlabel(f"propensity of {treatment} given the confounders", fontsize=8)
    ax.set_ylabel("cells", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    return ax


def sensitivity_plot(r2_treatment: np.ndarray, r2_outcome: np.ndarray, adjusted: np.ndarray, value: float,
                     robustness_value: float, benchmarks: pd.DataFrame, treatment: str,
                     ax: matplotlib.axes.Axes | None = None, *, percent: bool = True) -> matplotlib.axes.Axes:
    """Contours of the estimate adjusted for a hidden confounder of each strength.

    Parameters
    ----------
    r2_treatment, r2_outcome : ndarray
        A grid of the confounder's partial R2 with the treatment and with the outcome.
    adjusted : ndarray
        The estimate adjusted for a confounder of each grid strength (same shape).
    value, robustness_value : float
        The estimate, and the partial R2 that brings it to zero (marked).
    benchmarks : DataFrame
        Observed covariates as yardsticks (``covariate``, ``r2_treatment_bound``,
        ``r2_outcome_bound``, ``explains_away``).
    percent : bool, default=True
        Values are log take-rate effects: label contours as % changes.
    """
    ax = _axes(ax, (5, 4.2))
    marks = benchmarks.dropna(subset=["r2_treatment_bound", "r2_outcome_bound"])
    shown = _as_percent(adjusted) if percent else adjusted
    start = float(_as_percent(value)) if percent else value
    # contours between the estimate and zero: how far a confounder of each strength moves it
    levels = np.sort(np.linspace(start, 0, 6)[1:-1])
    if len(np.unique(levels)) > 1:
        contours = ax.contour(r2_treatment, r2_outcome, shown, levels=levels, colors="#555555", linewidths=0.7,
                              negative_linestyles="solid")
        ax.clabel(contours, fontsize=7, fmt="%+.1f%%" if percent else "%+.3g")
    ax.contour(r2_treatment, r2_outcome, adjusted, levels=[0], colors=RED, linewidths=1.6, linestyles="--")
    for i, row in enumerate(marks.itertuples()):
        ax.plot(row.r2_treatment_bound, row.r2_outcome_bound, "D", color=RED if row.explains_away else BLUE)
        if i < 3:  # label the strongest three; the rest are in the table
            ax.annotate(f"1x {row.covariate}", (row.r2_treatment_bound, row.r2_outcome_bound), fontsize=7,
                        xytext=(4, 4 + 8 * i), textcoords="offset points")
    ax.plot([robustness_value], [robustness_value], "o", color=RED)
    ax.annotate("robustness value", (robustness_value, robustness_value), fontsize=7, xytext=(4, -10),
                textcoords="offset points")
    ax.set_xlabel(f"partial R² of confounder with {treatment}")
    ax.set_ylabel("partial R² of confounder with take rate")
    ax.set_title(f"Adjusted effect of {treatment} (red: zero)", fontsize=9)
    return ax


def histogram_plot(values: np.ndarray, ax: matplotlib.axes.Axes | None = None, *, marked: float,
                   expected: float | None = None, title: str = "", xlabel: str = "", passed: bool = True
                   ) -> matplotlib.axes.Axes:
    """A histogram of simulated values with the estimate (``marked``) and, when it differs,
    the value expected if all is well; red bars when the check failed."""
    ax = _axes(ax, (3.2, 2.6))
    ax.hist(np.asarray(values, dtype=float), bins=30, color="#9ecae1" if passed else "#fc9272")
    ax.axvline(marked, color=BLUE, label="estimate")
    if expected is not None:
        ax.axvline(expected, color=ORANGE, linestyle="--", label="expected")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    return ax


def grouped_graph_plot(labels: Mapping[str, str], links: Sequence[tuple[tuple[str, str], str]],
                       ax: matplotlib.axes.Axes | None = None, *, top: Sequence[str] = (),
                       bottom: Sequence[str] = ()) -> matplotlib.axes.Axes:
    """A causal graph drawn as boxes of grouped nodes and one arrow per connected pair of groups.

    Parameters
    ----------
    labels : mapping
        Group -> the text of its box (its name and members).
    links : sequence of ((from, to), style)
        Arrows between groups; ``style`` is ``"solid"`` or ``"dashed"`` (a hidden cause).
    top, bottom : sequences of group names
        Groups drawn in the top row (causes: title covariates, hidden style) and the bottom
        row (the outcome); the others form the middle row, in the order of ``labels``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = grouped_graph_plot({"title": "Title", "faces": "Faces", "outcome": "Take rate"},
    ...                         [(("title", "faces"), "solid"), (("faces", "outcome"), "solid")],
    ...                         Figure().add_subplot(), top=["title"], bottom=["outcome"])
    >>> sorted(t.get_text() for t in ax.texts if t.get_text())
    ['Faces', 'Take rate', 'Title']
    """
    ax = _axes(ax, (10, 5.2))
    middle = [g for g in labels if g not in top and g not in bottom]
    rows = [(list(top), 0.9), (middle, 0.5), (list(bottom), 0.08)]
    boxes = {}
    fill = {"title": "#dbe9f6", "hidden": "#ffffff", "outcome": "#c7e9c0"}
    for members, y in rows:
        for i, group in enumerate(members):
            x = (i + 0.5) / len(members)
            boxes[group] = ax.text(x, y, labels[group], ha="center", va="center", fontsize=8, zorder=3,
                                   bbox=dict(boxstyle="round,pad=0.45", fc=fill.get(group, "#f2f2f2"),
                                             ec="#888888", ls="--" if group == "hidden" else "-"))
    row_of = {g: k for k, (members, _) in enumerate(rows) for g in members}
    order = {g: i for members, _ in rows for i, g in enumerate(members)}
    for (a, b), style in links:
        if a not in boxes or b not in boxes:
            continue
        colour = "#aaaaaa" if style == "dashed" else "#555555"
        if row_of[a] == row_of[b]:  # within a row: side to side, curving over the boxes between
            right = order[b] > order[a]
            start, end, rad = ((1, 0.5), (0, 0.5), -0.25) if right else ((0, 0.5), (1, 0.5), 0.25)
        elif row_of[b] - row_of[a] == 2:  # over the middle row: around the left edge
            start, end, rad = (0, 0.5), (0, 0.5), 0.35
        else:
            start, end, rad = (0.5, 0), (0.5, 1), 0.0
        ax.annotate("", xy=end, xycoords=boxes[b], xytext=start, textcoords=boxes[a], zorder=2,
                    arrowprops=dict(arrowstyle="-|>", color=colour, linestyle=style, linewidth=0.9,
                                    connectionstyle=f"arc3,rad={rad}", shrinkA=2, shrinkB=2))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    return ax


def regret_plot(curves: Mapping[str, pd.DataFrame], ax: matplotlib.axes.Axes | None = None, *,
                level: float) -> matplotlib.axes.Axes:
    """Cumulative regret against impressions per test, one line per policy with its interval.

    Parameters
    ----------
    curves : mapping
        Policy name -> :meth:`AllocationResult.curve` (``impressions``, ``regret``, ``ci_low``,
        ``ci_high``).
    level : float
        The intervals' level (over replications).
    """
    ax = _axes(ax, (7.0, 4.2))
    for name, curve in curves.items():
        line = ax.plot(curve["impressions"], curve["regret"], label=name)[0]
        if curve["ci_low"].notna().any():
            ax.fill_between(curve["impressions"], curve["ci_low"], curve["ci_high"], color=line.get_color(), alpha=0.2,
                            linewidth=0)
    ax.set_xlabel("impressions per test")
    ax.set_ylabel("plays lost (cumulative regret, all tests)")
    ax.set_title(f"Regret over time (bands: {level:.0%} intervals over replications)")
    ax.legend(frameon=False, fontsize="small")
    return ax


def timeline_plot(frames: pd.DataFrame, shots: pd.DataFrame, durations: Mapping[str, float],
                  ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """Frame candidates along their videos (one after another): the score of every sampled
    frame that passed (rejected ones grey, at 0), the chosen ones circled, shot boundaries as
    grey lines. ``frames`` has ``video``, ``time``, ``score``, ``reasons``, ``selected``;
    ``shots`` has ``video`` and ``start``; ``durations`` gives each video's length in seconds."""
    ax = _axes(ax, (9, 2.6))
    offset = 0.0
    for i, (video, duration) in enumerate(durations.items()):
        rows = frames[frames["video"] == video]
        passed = (rows["reasons"] == "").to_numpy()
        ax.scatter(offset + rows["time"][~passed], np.zeros(int((~passed).sum())), s=8, color=GREY,
                   label="rejected" if i == 0 else None)
        ax.scatter(offset + rows["time"][passed], rows["score"][passed], s=12, color=BLUE,
                   label="passed" if i == 0 else None)
        chosen = rows[rows["selected"].to_numpy(bool)]
        ax.scatter(offset + chosen["time"], chosen["score"], s=60, facecolors="none", edgecolors="black",
                   label="chosen" if i == 0 else None)
        for start in shots.loc[shots["video"] == video, "start"].iloc[1:]:
            ax.axvline(offset + start, color=GREY, linewidth=0.6)
        if i:
            ax.axvline(offset, color="black", linewidth=1.0)
        offset += float(duration)
    ax.set_xlabel("time (s); grey lines: shot boundaries" + ("; black: next video" if len(durations) > 1 else ""))
    ax.set_ylabel("score")
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax.set_title("Frame candidates along the video")
    return ax


__all__ = ["regret_plot", "timeline_plot",
           "grouped_graph_plot", "interval_plot", "forest_plot", "propensity_plot", "sensitivity_plot", "histogram_plot"]

"""Mediation (does face size explain the face-count effect?) and moderation.

Both are estimation: mediation splits a treatment's effect into the part that flows
through a mediator and the rest, with the same cross-fitted nuisance models and
test-clustered inference as :func:`estimate_effect`; moderation is the interaction test of
:func:`estimate_cate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .._config import native_threads_capped
from .._display import ResultMixin, json_safe
from .._validation import check_choice, check_int, check_level, check_random_state, draw_seed
from ..exceptions import GraphError, InvalidParameterError, UnknownNameError
from ..experiments import LOG_OUTCOMES, StudyData, as_study_data
from ..plotting import interval_plot
from ._cate import CATEResult, estimate_cate
from ._dml import fit_dml
from ._inference import ClusterSums, bootstrap_counts, demean, wls_cluster
from ._prepare import AUTO, DESIGNS, prepare

if TYPE_CHECKING:
    import matplotlib.axes

VERDICTS = ("none", "partial", "full")


@dataclass(frozen=True)
class MediationResult(ResultMixin):
    """Total, direct and indirect effects of a treatment through one mediator.

    Attributes
    ----------
    treatment, mediator, outcome : str
    effects : DataFrame
        Rows ``total``, ``direct``, ``indirect`` and ``proportion_mediated`` with ``value``,
        ``ci_low``, ``ci_high`` (cluster-bootstrap percentile intervals at ``level``).
    steps : DataFrame
        The Baron-Kenny steps: ``step``, ``path``, ``value``, ``std_error``, ``p_value``,
        ``significant`` (clustered errors).
    verdict : str
        ``none``, ``partial`` or ``full`` mediation.
    level : float
        Level of the intervals; the Baron-Kenny steps are significant at ``1 - level``.
    n_bootstrap : int
    confounders : tuple of str
        Adjusted for in every step (confounders of treatment and of mediator).
    n_cells, n_tests : int
    mediator_block : tuple of str
        The mediator and its descendants in the graph (e.g. ``closeup`` below
        ``face_area``), held fixed together for the direct effect.
    logged : bool
        Whether the outcome is a log take rate (effects then print as % changes).
    """

    treatment: str
    mediator: str
    outcome: str
    effects: pd.DataFrame
    steps: pd.DataFrame
    verdict: str
    level: float
    n_bootstrap: int
    confounders: tuple[str, ...]
    n_cells: int
    n_tests: int
    mediator_block: tuple[str, ...] = ()
    logged: bool = True

    def value(self, name: str) -> float:
        """``total``, ``direct``, ``indirect`` or ``proportion_mediated``."""
        return float(self.effects.loc[name, "value"])

    @property
    def sentence(self) -> str:
        """The finding in plain words."""
        return _sentence(self)

    def to_frame(self) -> pd.DataFrame:
        """Total, direct, indirect effects and the proportion mediated, one row each."""
        return self.effects.reset_index(names="effect").assign(treatment=self.treatment, mediator=self.mediator)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every figure, the steps and the verdict."""
        return json_safe({"treatment": self.treatment, "mediator": self.mediator, "outcome": self.outcome,
                          "verdict": self.verdict, "sentence": self.sentence, "level": self.level,
                          "effects": self.to_frame(), "steps": self.steps, "confounders": list(self.confounders),
                          "mediator_block": list(self.mediator_block), "n_cells": self.n_cells, "n_tests": self.n_tests})

    def _fmt(self, v: float) -> str:
        return f"{100 * np.expm1(v):+.1f}%" if self.logged else f"{v:+.4g}"

    def summary(self) -> str:
        lines = [f"Mediation of {self.treatment} -> {self.outcome} through {self.mediator} "
                 f"({self.n_cells} cells, {self.n_tests} tests; {self.level:.0%} cluster-bootstrap intervals)"]
        for name in ("total", "direct", "indirect"):
            r = self.effects.loc[name]
            lines.append(f"  {name:<9} {self._fmt(r.value)} ({self._fmt(r.ci_low)} to {self._fmt(r.ci_high)})")
        r = self.effects.loc["proportion_mediated"]
        lines.append(f"  proportion mediated {r.value:.0%} ({r.ci_low:.0%} to {r.ci_high:.0%})")
        lines.append("  Baron-Kenny steps:")
        for s in self.steps.itertuples():
            lines.append(f"    {s.step}. {s.path:<38} {s.value:+.4f} (SE {s.std_error:.4f}, p = {s.p_value:.3g})"
                         f"{'' if s.significant else '  not significant'}")
        lines.append(f"  verdict: {self.verdict} mediation. {self.sentence}")
        return "\n".join(lines)

    def _card_title(self) -> str:
        return f"{self.verdict} mediation"

    def _card_sentence(self) -> str:
        return self.sentence

    def plot(self, ax: matplotlib.axes.Axes | None = None, *, truth: dict[str, float] | None = None) -> matplotlib.axes.Axes:
        """Total, direct and indirect effects with their intervals (and the truth when known)."""
        names = ["total", "direct", "indirect"]
        rows = self.effects.loc[names]
        return interval_plot(names, rows["value"], rows["ci_low"], rows["ci_high"], ax, level=self.level,
                             xlabel=f"effect of {self.treatment} on {self.outcome}",
                             title=f"through {self.mediator}: {self.verdict} mediation",
                             truth=[truth.get(n, np.nan) for n in names] if truth else None)


@native_threads_capped
def mediation(
    data: Any,
    treatment: str,
    mediator: str,
    *,
    outcome: str | None = None,
    graph: Any = None,
    confounders: Sequence[str] | None = None,
    design: Literal["within_test", "pooled"] = "within_test",
    cluster: str | None = AUTO,
    weights: str | None = AUTO,
    model_y: Any = None,
    model_t: Any = None,
    cv: int = 5,
    n_bootstrap: int = 1000,
    level: float = 0.95,
    random_state: Any = None,
) -> MediationResult:
    """Does the mediator carry the treatment's effect? Baron-Kenny steps and natural effects.

    Outcome, treatment and mediator are residualised on the confounders with the same
    cross-fitted nuisance models as :func:`estimate_effect` (within tests by default). Then,
    with errors clustered by test:

    1. total effect ``c``: outcome residual on treatment residual;
    2. ``a``: mediator residual on treatment residual;
    3. ``b`` and the direct effect ``c'``: outcome residual on both.

    The mediator's descendants in the graph (``closeup`` below ``face_area``) lie on the
    same path and are held fixed with it in step 3. The indirect effect is ``c - c'`` (with a
    single mediator exactly ``a * b``). Under a linear
    model without treatment-mediator interaction these are the natural direct and indirect
    effects. Intervals come from resampling whole tests (the residuals are reused; the
    score is orthogonal to the nuisance models). Verdict: ``full`` when the indirect effect
    is significant and the direct one is not, ``partial`` when both are, ``none`` when the
    indirect effect is not.

    Parameters
    ----------
    data : StudyData or DataFrame
    treatment, mediator : str
        E.g. ``n_faces`` and ``face_area`` (the source work's question).
    outcome : str, optional
        Default: the data's outcome.
    graph : CausalGraph, optional
        Confounders are the union of the back-door sets of the treatment and of the mediator
        (minus the two). Default: :func:`creative_graph`.
    confounders : list of str, optional
        Use exactly these instead.
    design, cluster, weights, model_y, model_t, cv
        As in :func:`estimate_effect`.
    n_bootstrap : int, default=1000
        Cluster-bootstrap resamples for the intervals.
    level : float, default=0.95
        Level of the intervals; the Baron-Kenny steps are significant at ``1 - level``.
    random_state : int, Generator or None

    Returns
    -------
    MediationResult

    Examples
    --------
    >>> from creative_causal import simulate_program
    >>> program = simulate_program(300, random_state=1)
    >>> m = mediation(program.study_data(), "n_faces", "face_area", random_state=0)
    >>> m.verdict   # the simulator's truth: face size carries part of the face-count effect
    'partial'

    """
    check_choice(design, "design", DESIGNS)
    level = check_level(level)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", minimum=20)
    study = as_study_data(data, outcome)
    outcome = outcome or study.outcome
    cluster = study.cluster if cluster == AUTO else cluster
    weights = study.weight if weights == AUTO else weights
    columns = list(study.frame.columns)
    for role, col in (("treatment", treatment), ("mediator", mediator)):
        if not isinstance(col, str) or col not in columns:
            raise UnknownNameError(f"{role} {col!r} is not a column of the data.{study.why_missing(str(col))}")
    if treatment == mediator:
        raise InvalidParameterError(f"the mediator must differ from the treatment (both are {treatment!r}).")
    if graph is None:
        from ..graph import creative_graph

        graph = creative_graph(study, treatment, outcome=outcome)
        if mediator not in graph.descendants(treatment):
            graph = creative_graph(study, treatment, outcome=outcome, extra_edges=[(treatment, mediator)])
    graph.check_data(list(study.frame.columns))
    if mediator not in graph.descendants(treatment):
        raise GraphError(f"in the graph {mediator!r} is not a descendant of {treatment!r}, so it cannot mediate "
                              f"its effect; add the edge {treatment} -> {mediator}.")
    # The mediator's own descendants (closeup below face_area) lie on the same indirect path:
    # they join the mediator block, or the direct effect would absorb their nonlinear part.
    block = [mediator, *sorted(c for c in graph.descendants(mediator) if c in study.frame and c != outcome)]
    if confounders is None:
        found = set(graph.adjustment_set(treatment, outcome).variables)
        found |= set(graph.adjustment_set(mediator, outcome).variables)
        found -= {treatment, *block} | set(graph.descendants(treatment))
        confounders = sorted(found)
    confounders = tuple(confounders)
    frame = study.frame
    missing = frame[block].isna().any(axis=1)
    if missing.any():
        study = StudyData(frame.loc[~missing], outcome=study.outcome, weight=study.weight, cluster=study.cluster,
                          features=study.features, covariates=study.covariates, segments=study.segments,
                          data_quality=study.data_quality)
    prep = prepare(study, treatment, outcome, confounders, design, cluster, weights)
    rng = check_random_state(random_state)
    seed = draw_seed(rng)
    fit_y = fit_dml(prep, model_y=model_y, model_t=model_t, cv=cv, random_state=seed)
    y_res, t_res = fit_y.y_res, fit_y.t_res
    m_res = []
    for col in block:
        m = prep.frame[col].to_numpy(dtype=float)
        if design == "within_test":
            m = demean(m, prep.codes, prep.weights)
        m_res.append(fit_dml(replace(prep, y=m), model_y=model_y, model_t=model_t, cv=cv, random_state=seed).y_res)
    mediators = np.column_stack(m_res)
    w, codes = prep.weights, prep.codes
    total = wls_cluster(y_res, t_res[:, None], w, codes)
    path_a = wls_cluster(mediators[:, 0], t_res[:, None], w, codes)
    both = wls_cluster(y_res, np.column_stack([t_res, mediators]), w, codes)
    c, direct = float(total.coef[0]), float(both.coef[0])
    boot = _bootstrap(y_res, t_res, mediators, w, codes, n_bootstrap, rng)
    alpha = 1 - level
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    values = {"total": c, "direct": direct, "indirect": c - direct,
              "proportion_mediated": (c - direct) / c if c != 0 else np.nan}
    effects = pd.DataFrame({name: dict(value=values[name], ci_low=float(np.nanquantile(boot[name], lo_q)),
                                       ci_high=float(np.nanquantile(boot[name], hi_q)))
                            for name in values}).T.astype(float)
    steps = []
    for step, path, fit, j in ((1, f"{treatment} -> {outcome} (total, c)", total, 0),
                               (2, f"{treatment} -> {mediator} (a)", path_a, 0),
                               (3, f"{mediator} -> {outcome} given {treatment} (b)", both, 1),
                               (4, f"{treatment} -> {outcome} given {', '.join(block)} (direct, c')", both, 0)):
        se = float(np.sqrt(fit.cov[j, j]))
        p = fit.p_value(float(fit.coef[j]), se)
        steps.append(dict(step=step, path=path, value=float(fit.coef[j]), std_error=se, p_value=p, significant=p < alpha))
    steps_frame = pd.DataFrame(steps)
    indirect_sig = not (effects.loc["indirect", "ci_low"] <= 0 <= effects.loc["indirect", "ci_high"])
    direct_sig = bool(steps_frame.loc[3, "significant"])
    verdict = "none" if not indirect_sig else ("partial" if direct_sig else "full")
    return MediationResult(treatment, mediator, outcome, effects, steps_frame, verdict, level, n_bootstrap,
                           confounders, prep.n_cells, prep.n_tests, tuple(block), outcome in LOG_OUTCOMES)


def _bootstrap(y: np.ndarray, t: np.ndarray, mediators: np.ndarray, w: np.ndarray, codes: np.ndarray | None, n: int,
               rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Total, direct, indirect and proportion for ``n`` resamples of whole tests (the
    package's one cluster bootstrap, :class:`ClusterSums`)."""
    sums = ClusterSums.from_rows(np.column_stack([t, mediators]), y, w, codes)
    counts = bootstrap_counts(sums.n_clusters, n, rng)
    total = sums.solve(counts, columns=[0])[:, 0]
    direct = sums.solve(counts)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        indirect = total - direct
        proportion = indirect / total
    return {"total": total, "direct": direct, "indirect": indirect, "proportion_mediated": proportion}


def _sentence(r: MediationResult) -> str:
    ind = r.effects.loc["indirect"]
    share = r.effects.loc["proportion_mediated"]
    what = (f"{r.mediator} carries {share.value:.0%} of the effect of {r.treatment} ({r.level:.0%} CI {share.ci_low:.0%} "
            f"to {share.ci_high:.0%}); the indirect effect is {r._fmt(ind.value)} ({r._fmt(ind.ci_low)} to "
            f"{r._fmt(ind.ci_high)})")
    if r.verdict == "full":
        return what + f", and no direct effect remains: {r.mediator} explains the effect."
    if r.verdict == "partial":
        return what + f", and a direct effect remains: {r.mediator} explains part of it."
    return f"no evidence that {r.mediator} carries the effect of {r.treatment} (indirect effect {r._fmt(ind.value)}, " \
           f"{r.level:.0%} CI {r._fmt(ind.ci_low)} to {r._fmt(ind.ci_high)})."


@native_threads_capped
def moderation(
    data: Any,
    treatment: str,
    *,
    by: Sequence[str] | str | None = None,
    modifiers: Sequence[str] | None = None,
    outcome: str | None = None,
    graph: Any = None,
    confounders: Sequence[str] | None = None,
    design: Literal["within_test", "pooled"] = "within_test",
    model_y: Any = None,
    model_t: Any = None,
    cv: int = 5,
    level: float = 0.95,
    min_tests: int = 10,
    random_state: Any = None,
) -> CATEResult:
    """Does a segment or a continuous variable moderate the effect?

    The moderation test of :func:`estimate_cate`, reachable under its own name: the same
    arguments give the same :class:`CATEResult`, whose ``moderation`` table holds the
    clustered Wald test of each moderator (significant at ``1 - level``).

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> result = moderation(simulate_program(200, random_state=2).study_data(), "has_face", by="genre", random_state=0)
    >>> result.moderation["verdict"].iloc[0]
    'genre moderates the effect'
    """
    return estimate_cate(data, treatment, by=by, modifiers=modifiers, outcome=outcome, graph=graph,
                         confounders=confounders, design=design, model_y=model_y, model_t=model_t, cv=cv, level=level,
                         min_tests=min_tests, random_state=random_state)


__all__ = ["mediation", "MediationResult", "moderation", "VERDICTS"]

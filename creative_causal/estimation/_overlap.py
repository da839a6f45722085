"""Overlap (positivity) diagnostics: can every kind of artwork have the treatment or not?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone

from .._config import native_threads_capped
from .._display import ResultMixin, json_safe
from .._validation import check_choice, check_fraction, check_random_state, draw_seed
from ..exceptions import EstimationError, InvalidParameterError, OverlapWarning
from ..experiments import as_study_data
from ..plotting import propensity_plot
from ._dml import group_folds
from ._models import default_model, seeded
from ._prepare import DESIGNS, prepare, resolve_confounders

if TYPE_CHECKING:
    import matplotlib.axes


@dataclass(frozen=True)
class OverlapDiagnostics(ResultMixin):
    """Propensity of a binary treatment given the confounders, and where overlap fails.

    Attributes
    ----------
    treatment : str
    cells : DataFrame
        Per cell: ``propensity`` (cross-fitted), ``treated``, ``weight`` and the segments.
    by_segment : DataFrame
        Per segment level: ``n_cells``, ``share_treated``, ``informative_tests`` (tests where
        the treatment varies), ``min_propensity``, ``max_propensity``, ``overlap`` (bool).
    share_extreme : float
        Share of cells with propensity below ``extreme`` or above ``1 - extreme``.
    ess_treated, ess_control : float
        Effective sample sizes of the inverse-propensity-weighted groups.
    extreme : float
    notes : tuple of str
        Strata without overlap and what was excluded.
    """

    treatment: str
    cells: pd.DataFrame
    by_segment: pd.DataFrame
    share_extreme: float
    ess_treated: float
    ess_control: float
    extreme: float
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per segment level (a copy of ``by_segment``)."""
        return self.by_segment.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the summary figures and the per-segment table (not the cells)."""
        return json_safe({"treatment": self.treatment, "share_extreme": self.share_extreme, "extreme": self.extreme,
                          "ess_treated": self.ess_treated, "ess_control": self.ess_control,
                          "by_segment": self.by_segment, "notes": list(self.notes)})

    def _card_title(self) -> str:
        return f"Overlap for {self.treatment}"

    def summary(self) -> str:
        c = self.cells
        lines = [f"Overlap for {self.treatment}: {len(c)} cells, {int(c['treated'].sum())} treated",
                 f"  propensity: treated median {c.loc[c.treated == 1, 'propensity'].median():.2f}, "
                 f"control median {c.loc[c.treated == 0, 'propensity'].median():.2f}",
                 f"  share with propensity outside [{self.extreme:.2f}, {1 - self.extreme:.2f}]: {self.share_extreme:.1%}",
                 f"  effective sample size (IPW): treated {self.ess_treated:.0f}, control {self.ess_control:.0f}"]
        bad = self.by_segment[~self.by_segment["overlap"]]
        for r in bad.itertuples(index=False):
            lines.append(f"  no overlap: {r.segment}={r.level} (share treated {r.share_treated:.0%}, "
                         f"{r.informative_tests} tests where it varies)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """Propensity histograms of treated and untreated cells."""
        return propensity_plot(self.cells["propensity"], self.cells["treated"], self.treatment, ax,
                               extreme=self.extreme)


@native_threads_capped
def overlap(
    data: Any,
    treatment: str,
    *,
    graph: Any = None,
    confounders: Sequence[str] | None = None,
    design: Literal["within_test", "pooled"] = "within_test",
    model_t: Any = None,
    cv: int = 5,
    extreme: float = 0.05,
    random_state: Any = None,
) -> OverlapDiagnostics:
    """Overlap diagnostics for a binary treatment.

    The propensity is cross-fitted (folds keep tests together) from the adjustment set,
    title covariates included, so it shows which kinds of titles and artworks always or never
    have the treatment. Strata where the treatment never varies (within a test, for the
    within-test design) are the ones :func:`estimate_effect` trims with an OverlapWarning.

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> diag = overlap(simulate_program(150, random_state=1).study_data(), "has_face", random_state=0)
    >>> 0 <= diag.share_extreme <= 1
    True
    """
    check_choice(design, "design", DESIGNS)
    extreme = check_fraction(extreme, "extreme", example="0.05")
    if extreme >= 0.5:
        raise InvalidParameterError(f"extreme must be below 0.5 (a propensity under extreme or above 1 - extreme is "
                                    f"extreme); got {extreme}.")
    study = as_study_data(data, None)
    found, _ = resolve_confounders(study, treatment, study.outcome, graph, confounders)
    import warnings

    with warnings.catch_warnings():
        # trimming warnings belong to estimate_effect; here the strata without overlap are the result
        warnings.simplefilter("ignore", OverlapWarning)
        prep = prepare(study, treatment, study.outcome, found, "pooled", study.cluster, study.weight)
    if not prep.binary:
        raise EstimationError(f"overlap diagnostics need a binary treatment; {treatment!r} takes other values. "
                              "For a continuous treatment, look at its within-test variation instead.")
    from sklearn.base import is_classifier

    if model_t is not None and not is_classifier(model_t):
        raise InvalidParameterError(f"overlap needs a classifier for the propensity (it reports probabilities); got "
                                    f"{type(model_t).__name__}. Pass e.g. LogisticRegression(), or None for the default.")
    rng = check_random_state(random_state)
    seed = draw_seed(rng)
    model = seeded(model_t if model_t is not None else default_model("classification", random_state=seed), seed)
    propensity = np.empty(prep.n_cells)
    t = prep.t.astype(int)
    x = prep.features if prep.features.shape[1] else np.zeros((prep.n_cells, 1))
    for train, test in group_folds(prep.codes, prep.n_cells, cv, rng):  # threads capped by the decorator
        fitted = clone(model).fit(x[train], t[train])
        propensity[test] = fitted.predict_proba(x[test])[:, 1]
    cells = prep.frame[[c for c in ([study.cluster] if study.cluster else []) + list(study.segments)]].copy()
    cells["treated"] = t
    cells["propensity"] = propensity
    cells["weight"] = prep.weights
    ipw = np.where(t == 1, 1 / np.clip(propensity, 1e-3, 1), 1 / np.clip(1 - propensity, 1e-3, 1))
    ess = {v: float(ipw[t == v].sum() ** 2 / (ipw[t == v] ** 2).sum()) if (t == v).any() else 0.0 for v in (0, 1)}
    rows = []
    varies = (cells.groupby(study.cluster)["treated"].transform("nunique") > 1).to_numpy() if study.cluster else \
        np.ones(len(cells), dtype=bool)
    for s in study.segments:
        for level, grp in cells.groupby(s, sort=True):
            informative = int(grp.loc[varies[cells.index.get_indexer(grp.index)], study.cluster].nunique()) \
                if study.cluster else len(grp)
            ok = informative > 0 if design == "within_test" else grp["treated"].nunique() > 1
            rows.append(dict(segment=s, level=level, n_cells=len(grp), share_treated=float(grp["treated"].mean()),
                             informative_tests=informative, min_propensity=float(grp["propensity"].min()),
                             max_propensity=float(grp["propensity"].max()), overlap=bool(ok)))
    by_segment = pd.DataFrame(rows, columns=["segment", "level", "n_cells", "share_treated", "informative_tests",
                                             "min_propensity", "max_propensity", "overlap"])
    share = float(np.mean((propensity < extreme) | (propensity > 1 - extreme)))
    notes = tuple(prep.notes) + tuple(f"no overlap in {r.segment}={r.level}" for r in by_segment.itertuples() if not r.overlap)
    return OverlapDiagnostics(treatment, cells.reset_index(drop=True), by_segment, share, ess[1], ess[0], extreme, notes)

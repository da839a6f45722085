"""EffectEstimate: the value every estimator returns."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._display import ResultMixin, json_safe
from ..experiments import LOG_OUTCOMES
from ..plotting import interval_plot

if TYPE_CHECKING:
    import matplotlib.axes

    from ._aipw import DRScores
    from ._diagnostics import NuisanceDiagnostics


#: Each estimand in words (the keys of ``estimate_effect(estimand=...)``, and ``"difference"``).
ESTIMAND_TEXT = {
    "ate": "the average effect of switching the component on, over all artwork",
    "att": "the average effect on the artwork that has the component",
    "ato": "the overlap-weighted average effect: artwork that could as well have gone either way counts most",
    "plr": "the partially linear coefficient: a weighted average of the effect that leans on artwork whose value "
           "is least predictable from the confounders",
    "difference": "the unadjusted difference in means (no confounders adjusted)",
}


def pct(log_effect: float) -> float:
    """A log-scale effect as a % change: 100 * (exp(x) - 1)."""
    return float(100 * np.expm1(log_effect))


@dataclass(frozen=True, eq=False)
class FittedStage:
    """What a fitted estimate keeps for refutation and sensitivity analysis.

    Every estimate solves a linear score ``sum_i w_i z_i (num_i - den_i z_i'b) = 0`` (see
    :func:`wls_cluster`) with ``z`` the rows of ``final_design``. For the partially linear
    model and the OLS and naive methods it is the weighted regression of ``y_res`` on
    ``t_res * final_design`` (``num = t_res * y_res``, ``den = t_res ** 2``); for a doubly
    robust estimand (``scores``) the numerator and denominator come from the cross-fitted
    outcome models and propensity. Refuters re-solve the score on permuted, augmented or
    resampled versions of these arrays instead of refitting the nuisance models (valid
    because the scores are Neyman-orthogonal: nuisance errors move the estimate only at
    second order). Not part of the estimate's table or equality.
    """

    rows: np.ndarray  # index labels of the data rows used, in order
    y: np.ndarray  # outcome as it entered the nuisance models (demeaned within tests for within_test)
    t: np.ndarray  # treatment likewise
    y_res: np.ndarray
    t_res: np.ndarray
    features: np.ndarray  # nuisance design (confounders, test means, title covariates)
    feature_names: tuple[str, ...]
    n_within: int  # leading feature columns demeaned within tests (the OLS method's adjustment)
    weights: np.ndarray
    codes: np.ndarray | None  # cluster codes 0..G-1 used for the standard errors, or None
    tests: np.ndarray | None  # test codes 0..G-1 from the data (even when errors were not clustered)
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]  # cross-fitting folds (empty for in-sample methods)
    final_design: np.ndarray  # columns of the final stage: [1, modifiers...]
    crossfit: bool  # nuisances were cross-fitted (DML) rather than in-sample (OLS, naive)
    spec: dict[str, Any]  # the estimate_effect arguments, to refit when asked
    scores: DRScores | None = None  # the doubly robust score's pieces (estimands ate, att, ato)

    @property
    def n_cells(self) -> int:
        return len(self.y_res)

    @property
    def estimand(self) -> str:
        return self.scores.estimand if self.scores is not None else self.spec.get("estimand", "plr")

    @property
    def numerator(self) -> np.ndarray:
        """Each cell's score numerator (``t_res * y_res`` for the partially linear stage)."""
        return self.scores.terms()[0] if self.scores is not None else self.t_res * self.y_res

    @property
    def denominator(self) -> np.ndarray:
        """Each cell's score denominator (``t_res ** 2`` for the partially linear stage)."""
        return self.scores.terms()[1] if self.scores is not None else self.t_res**2

    def sensitivity_scale(self, theta: float) -> tuple[float, float]:
        """``(sigma, nu)`` of the omitted-variable bias bound (Chernozhukov et al. 2022): the
        weighted sd of the outcome's residual and of the score's normalised Riesz representer
        (for the partially linear stage ``1 / sd(t_res)``)."""
        w = self.weights
        if self.scores is not None:
            residual = self.scores.residual
            riesz = self.scores.riesz / np.average(self.scores.terms()[1], weights=w)
        else:
            residual = self.y_res - theta * self.t_res
            riesz = self.t_res / np.average(self.t_res**2, weights=w)
        return (float(np.sqrt(np.average(residual**2, weights=w))), float(np.sqrt(np.average(riesz**2, weights=w))))

    @property
    def linear_adjustment(self) -> np.ndarray:
        """The OLS method's adjustment: the demeaned confounders (within-test design, where
        test fixed effects absorb the rest) or an intercept and every confounder (pooled)."""
        return nuisance_design(self.spec["design"], self.features, self.n_within)

    @property
    def treatment_sd(self) -> float:
        """Weighted standard deviation of the treatment as it entered the models (within tests
        for the within-test design): the "one standard deviation" of continuous features."""
        mean = np.average(self.t, weights=self.weights)
        return float(np.sqrt(np.average((self.t - mean) ** 2, weights=self.weights)))


def nuisance_design(design: str, features: np.ndarray, n_within: int) -> np.ndarray:
    """The linear adjustment of the OLS method: the demeaned confounders (within design, where
    test fixed effects absorb the rest) or an intercept and every confounder (pooled)."""
    if design == "within_test":
        return features[:, :n_within]
    return np.column_stack([np.ones(len(features)), features])


@dataclass(frozen=True)
class EffectEstimate(ResultMixin):
    """The estimated causal effect of one treatment on the outcome.

    Attributes
    ----------
    treatment, outcome : str
    value, std_error, ci_low, ci_high : float
        Effect and its interval at ``level`` (on the outcome's scale: for the default log
        take-rate outcomes, +0.10 is about +10.5%).
    level : float
        Interval level (0.95 unless asked otherwise).
    p_value : float
        Two-sided, against no effect.
    pct_change, pct_ci_low, pct_ci_high : float
        The effect as a % change of take rate (NaN when the outcome is not on a log scale).
    std_error_unclustered : float
        What the standard error would be if cells of one test were independent (for comparison).
    n_cells, n_tests, n_informative_tests : int
        Cells used, tests (clusters) used, and tests in which the treatment varies.
    method, design : str
    estimand : str
        What the value averages: ``"ate"`` (the average effect of switching the component
        on), ``"att"`` (on the artwork that has it), ``"ato"`` (overlap-weighted), ``"plr"``
        (the partially linear coefficient, a weighted average) or ``"difference"`` (no
        adjustment); :attr:`estimand_text` says it in words.
    adjustment_set : tuple of str
        Confounders adjusted for.
    units : str
        What one unit of the effect means.
    scale : str
        "0 -> 1" for a binary treatment, "per unit" otherwise.
    population : str
        Which cells the estimate is about (after trimming strata without overlap).
    notes : tuple of str
        What was excluded or trimmed, and why.
    diagnostics : NuisanceDiagnostics or None
        How good the cross-fitted nuisance models were (double ML only); its headline figures
        are columns of :meth:`to_frame`.
    fitted : FittedStage or None
        Residuals and settings kept for :func:`creative_causal.refute` and
        :func:`creative_causal.sensitivity` (not shown, not compared, not saved).
    """

    treatment: str
    outcome: str
    value: float
    std_error: float
    ci_low: float
    ci_high: float
    level: float
    p_value: float
    pct_change: float
    pct_ci_low: float
    pct_ci_high: float
    std_error_unclustered: float
    n_cells: int
    n_tests: int
    n_informative_tests: int
    method: str
    design: str
    estimand: str
    adjustment_set: tuple[str, ...]
    units: str
    scale: str
    population: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    diagnostics: NuisanceDiagnostics | None = field(default=None, repr=False, compare=False)
    fitted: FittedStage | None = field(default=None, repr=False, compare=False)

    def _fields(self) -> dict[str, Any]:
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.repr}
        return {**row, **(self.diagnostics.row() if self.diagnostics is not None else {})}

    @property
    def estimand_text(self) -> str:
        """The estimand in words."""
        return ESTIMAND_TEXT.get(self.estimand, self.estimand)

    def to_frame(self) -> pd.DataFrame:
        """One row with every field and the nuisance models' headline figures: the single source
        of truth for the other renderings."""
        row = self._fields()
        row["adjustment_set"] = ", ".join(self.adjustment_set)
        row["notes"] = " | ".join(self.notes)
        return pd.DataFrame([row])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (without the fitted arrays; with the nuisance diagnostics)."""
        out = self._fields()
        if self.diagnostics is not None:
            out["diagnostics"] = self.diagnostics.to_dict()
        return json_safe(out)

    @property
    def logged(self) -> bool:
        """Whether the outcome is a log take rate (the effect then reads as a % change)."""
        return self.outcome in LOG_OUTCOMES

    def summary(self) -> str:
        """Plain-text summary with the interval level printed."""
        r = self.to_frame().iloc[0]
        level = f"{self.level:.0%}"
        lines = [f"Effect of {r.treatment} ({r.scale}) on {r.outcome}: {r.value:+.4f} "
                 f"({level} CI {r.ci_low:+.4f} to {r.ci_high:+.4f}), SE {r.std_error:.4f}, p = {r.p_value:.3g}"]
        if np.isfinite(self.pct_change):
            lines.append(f"  as take-rate change: {self.pct_change:+.1f}% ({level} CI {self.pct_ci_low:+.1f}% to "
                         f"{self.pct_ci_high:+.1f}%)")
        lines += [f"  estimand: {self.estimand} ({self.estimand_text})",
                  f"  method: {r.method}, design: {r.design}; {r.n_cells} cells in {r.n_tests} tests "
                  f"({r.n_informative_tests} where {r.treatment} varies)",
                  f"  standard error clustered by test: {r.std_error:.4f} (ignoring clustering: "
                  f"{r.std_error_unclustered:.4f})",
                  f"  adjusted for: {r.adjustment_set or 'nothing'}",
                  f"  population: {r.population}"]
        if self.diagnostics is not None:
            lines += ["  " + line for line in self.diagnostics.summary().splitlines()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _card_title(self) -> str:
        return f"Effect of {self.treatment}"

    def plot(self, ax: matplotlib.axes.Axes | None = None, *, truth: float | None = None) -> matplotlib.axes.Axes:
        """Point and interval (and the true value, when known) on one axis, on the outcome's scale."""
        return interval_plot([self.treatment], [self.value], [self.ci_low], [self.ci_high], ax, level=self.level,
                             truth=None if truth is None else [truth], xlabel=f"effect on {self.outcome} ({self.scale})")

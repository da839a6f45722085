"""Sensitivity to unobserved confounding: E-values and the partial-R2 omitted-variable bias.

The omitted-variable-bias bound is Cinelli and Hazlett's (2020), which for the partially
linear double-ML model is exactly the bound of Chernozhukov, Cinelli, Newey, Sharma and
Syrgkanis (2022, "Long story short") with the confounder's strength measured by two partial
R2 values: how much of the treatment's remaining variation it explains (``r2_treatment``,
R2 of D ~ Z | X) and how much of the outcome's remaining variation (``r2_outcome``,
R2 of Y ~ Z | D, X). A confounder of that strength moves the estimate by at most::

    bias = sqrt(r2_outcome * r2_treatment / (1 - r2_treatment)) * sigma * nu

with ``sigma`` the sd of the outcome's residual and ``nu`` that of the score's Riesz
representer (:meth:`FittedStage.sensitivity_scale`). For the partially linear model
``nu = 1 / sd(D residual)``, Cinelli and Hazlett's scale. For the doubly robust estimands
``nu`` is the sd of the normalised inverse-propensity weights (for the ATE
``T/e - (1-T)/(1-e)``) and ``r2_treatment`` reads as the share of the Riesz representer's
variation the confounder would add (the paper's general definition), which the observed
covariates' benchmarks approximate by their partial R2 with the treatment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from .._config import native_threads_capped
from .._display import ResultMixin, json_safe
from .._validation import check_positive
from ..estimation import EffectEstimate
from ..exceptions import EstimationError, InvalidParameterError, UnknownNameError
from ..plotting import sensitivity_plot
from ._result import effect_text

if TYPE_CHECKING:
    import matplotlib.axes


def e_value(rr: float, ci_low: float | None = None, ci_high: float | None = None) -> tuple[float, float]:
    """VanderWeele and Ding's E-value of a risk ratio and of its interval.

    The E-value is the minimum strength of association, on the risk-ratio scale, that an
    unmeasured confounder would need with both the treatment and the outcome to explain away
    the observed risk ratio: ``RR + sqrt(RR * (RR - 1))`` for RR >= 1 (use 1/RR below 1).

    Parameters
    ----------
    rr : float
        Observed risk ratio (> 0).
    ci_low, ci_high : float, optional
        Its interval; the interval's E-value uses the bound closest to 1, and is 1 when the
        interval contains 1.

    Returns
    -------
    (float, float)
        E-value of the estimate and of the interval (NaN when no interval is given).

    Examples
    --------
    >>> point, bound = e_value(3.9, 1.8, 8.7)   # VanderWeele and Ding (2017), Table 1
    >>> round(point, 2), round(bound, 2)
    (7.26, 3.0)
    """
    if not (isinstance(rr, (int, float, np.floating)) and np.isfinite(rr) and rr > 0):
        raise InvalidParameterError(f"a risk ratio must be a positive finite number, got {rr!r}.")

    def one(value: float) -> float:
        value = value if value >= 1 else 1 / value
        return float(value + np.sqrt(value * (value - 1)))

    point = one(rr)
    if ci_low is None or ci_high is None:
        return point, float("nan")
    if ci_low <= 1 <= ci_high:
        return point, 1.0
    return point, one(ci_low if rr >= 1 else ci_high)


def robustness_value(partial_f: float, f_critical: float = 0.0, q: float = 1.0) -> float:
    """Cinelli and Hazlett's robustness value from the treatment's partial Cohen's f.

    The share of the residual variation of both treatment and outcome that a confounder
    must explain to reduce the estimate by ``100 q`` % (``f_critical = 0``), or to make its
    interval reach that point (``f_critical`` = critical t / sqrt(dof)).

    Examples
    --------
    >>> round(robustness_value(0.5), 4)   # f = 0.5: RV = (sqrt(f^4 + 4 f^2) - f^2) / 2
    0.3904
    """
    fq = q * abs(partial_f)
    fqa = fq - f_critical
    if fqa <= 0:
        return 0.0
    if f_critical > 0 and fq > 1 / f_critical:
        return float((fq**2 - f_critical**2) / (1 + fq**2))
    return float(0.5 * (np.sqrt(fqa**4 + 4 * fqa**2) - fqa**2))


def bias_bound(r2_treatment: Any, r2_outcome: Any, sd_ratio: float) -> Any:
    """Largest bias of a confounder with these partial R2 values (see the module notes)."""
    r2d = np.asarray(r2_treatment, dtype=float)
    r2y = np.asarray(r2_outcome, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(r2y * r2d / (1 - r2d)) * sd_ratio


def benchmark_bounds(r2dxj: float, r2yxj: float, kd: float = 1.0, ky: float | None = None) -> tuple[float, float]:
    """Partial R2 bounds of a confounder ``kd`` (``ky``) times as strong as an observed covariate
    (Cinelli and Hazlett 2020, section 6.1), from the covariate's own partial R2 with the
    treatment (``r2dxj``) and with the outcome (``r2yxj``)."""
    ky = kd if ky is None else ky
    r2dz = kd * r2dxj / (1 - r2dxj)
    r2zxj = kd * r2dxj**2 / ((1 - kd * r2dxj) * (1 - r2dxj))
    if r2dz >= 1 or r2zxj >= 1:
        return float("nan"), float("nan")
    r2yz = ((np.sqrt(ky) + np.sqrt(r2zxj)) / np.sqrt(1 - r2zxj)) ** 2 * (r2yxj / (1 - r2yxj))
    return float(r2dz), float(min(r2yz, 1.0))


@dataclass(frozen=True)
class SensitivityResult(ResultMixin):
    """How strong an unobserved confounder would have to be to change the conclusion.

    Attributes
    ----------
    estimate : EffectEstimate
    e_value, e_value_ci : float
        E-values of the estimate and of the interval bound closest to no effect, on the
        risk-ratio scale of take rate (``risk_ratio``).
    risk_ratio : float
        ``exp(effect * contrast)``.
    contrast : str
        What the risk ratio compares ("0 -> 1", or "one standard deviation (0.12)").
    partial_r2 : float
        Share of the outcome's remaining variation the treatment explains.
    robustness_value : float
        Partial R2 (with both treatment and outcome) a confounder needs to bring the
        estimate to zero.
    robustness_value_ci : float
        ... to bring the interval to include zero.
    sd_ratio : float
        The scale of the bias bound, ``sigma * nu``: sd(outcome residual) / sd(treatment
        residual) for the partially linear model, sd(outcome residual) times sd(Riesz
        representer) for a doubly robust estimand.
    benchmarks : DataFrame
        One row per observed confounder: its partial R2 values, the bounds for a hidden
        confounder as strong, the bias bound, the adjusted estimate and interval, and
        ``explains_away``.
    """

    estimate: EffectEstimate
    e_value: float
    e_value_ci: float
    risk_ratio: float
    contrast: str
    partial_r2: float
    robustness_value: float
    robustness_value_ci: float
    sd_ratio: float
    benchmarks: pd.DataFrame

    @property
    def sentence(self) -> str:
        """The verdict in plain words."""
        return _sentence(self)

    def adjusted(self, r2_treatment: float, r2_outcome: float) -> tuple[float, float, float]:
        """Estimate and interval if a confounder with these partial R2 values pushed the
        estimate towards zero."""
        e = self.estimate
        bias = float(bias_bound(r2_treatment, r2_outcome, self.sd_ratio))
        value = e.value - np.sign(e.value) * bias
        crit = (e.ci_high - e.value) / e.std_error if e.std_error > 0 else float(stats.norm.ppf(0.5 + e.level / 2))
        se = e.std_error * np.sqrt(max(1 - r2_outcome, 0) / max(1 - r2_treatment, 1e-12))
        return float(value), float(value - crit * se), float(value + crit * se)

    def to_frame(self) -> pd.DataFrame:
        """The summary figures in one row (benchmarks: see ``benchmarks``)."""
        return pd.DataFrame([dict(treatment=self.estimate.treatment, estimand=self.estimate.estimand,
                                  estimate=self.estimate.value,
                                  risk_ratio=self.risk_ratio, contrast=self.contrast, e_value=self.e_value,
                                  e_value_ci=self.e_value_ci, partial_r2=self.partial_r2,
                                  robustness_value=self.robustness_value, robustness_value_ci=self.robustness_value_ci,
                                  sentence=self.sentence)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: the summary figures, the verdict and the benchmarks."""
        row = self.to_frame().iloc[0].to_dict()
        row["level"] = self.estimate.level
        row["benchmarks"] = self.benchmarks
        return json_safe(row)

    def summary(self) -> str:
        e = self.estimate
        lines = [f"Sensitivity of the effect of {e.treatment}: {effect_text(e.value, e)} "
                 f"({e.level:.0%} CI {effect_text(e.ci_low, e)} to {effect_text(e.ci_high, e)}), estimand {e.estimand}",
                 f"  E-value {self.e_value:.2f} (interval: {self.e_value_ci:.2f}) for risk ratio {self.risk_ratio:.3f}, "
                 f"{self.contrast}",
                 f"  robustness value {self.robustness_value:.1%} (to reach zero), {self.robustness_value_ci:.1%} "
                 f"(for the {e.level:.0%} interval to include zero)"]
        for row in self.benchmarks.head(5).itertuples():
            lines.append(f"  as strong as {row.covariate}: adjusted {effect_text(row.adjusted, e)} "
                         f"({effect_text(row.adjusted_low, e)} to {effect_text(row.adjusted_high, e)})"
                         f"{' -> explains it away' if row.explains_away else ''}")
        if len(self.benchmarks) > 5:
            lines.append(f"  ... {len(self.benchmarks) - 5} weaker benchmarks in .benchmarks")
        lines.append(f"  verdict: {self.sentence}")
        return "\n".join(lines)

    def _card_title(self) -> str:
        return f"Sensitivity of {self.estimate.treatment}"

    def _card_sentence(self) -> str:
        return self.sentence

    def plot(self, ax: matplotlib.axes.Axes | None = None, *, max_r2: float | None = None) -> matplotlib.axes.Axes:
        """Contour plot of the adjusted estimate over the confounder's two partial R2 values,
        with the zero line and the observed-covariate benchmarks."""
        marks = self.benchmarks.dropna(subset=["r2_treatment_bound", "r2_outcome_bound"])
        marked = marks[["r2_treatment_bound", "r2_outcome_bound"]].to_numpy().ravel()
        top = max_r2 or float(min(0.95, max(0.4, 1.5 * self.robustness_value, *(1.3 * marked))))
        r2d, r2y = np.meshgrid(np.linspace(0, top, 101), np.linspace(0, top, 101))
        sign = np.sign(self.estimate.value) or 1.0
        adjusted = self.estimate.value - sign * bias_bound(r2d, r2y, self.sd_ratio)
        return sensitivity_plot(r2d, r2y, adjusted, self.estimate.value, self.robustness_value, self.benchmarks,
                                self.estimate.treatment, ax, percent=self.estimate.logged)


@native_threads_capped
def sensitivity(estimate: EffectEstimate, *, benchmarks: Any = "auto", kd: float = 1.0,
                ky: float | None = None) -> SensitivityResult:
    """How strong would an unobserved confounder have to be to explain the effect away?

    Parameters
    ----------
    estimate : EffectEstimate
        From :func:`creative_causal.estimate_effect` in this session.
    benchmarks : "auto", list of str or None
        Observed confounders to use as yardsticks ("auto": every confounder in the
        adjustment set that varies between artworks of the same test; title-level ones are
        removed by the within-test design and cannot confound it).
    kd, ky : float, default=1
        Benchmark multiples: a hidden confounder ``kd`` times as strongly related to the
        treatment (``ky`` to the outcome) as the observed one.

    Returns
    -------
    SensitivityResult

    Notes
    -----
    The E-value reads the effect as a risk ratio of take rate: ``exp(effect)`` for a binary
    feature, ``exp(effect * sd)`` per standard deviation of a continuous one. Take rates are
    small, so the log take-rate ratio is a log risk ratio. The benchmarks' partial R2 values
    come from linear regressions on the estimate's prepared data, as in sensemakr; the
    treatment's own partial R2 and the bias scale come from the double-ML residuals. With
    clustered errors the interval's robustness value uses the effective degrees of freedom
    ``(t / f)^2`` that reproduce the clustered t statistic.

    Examples
    --------
    >>> from creative_causal import estimate_effect, simulate_program
    >>> est = estimate_effect(simulate_program(150, random_state=3).study_data(), "has_face", random_state=0)
    >>> s = sensitivity(est)
    >>> s.e_value > s.e_value_ci > 1 and 0 < s.robustness_value_ci < s.robustness_value < 1
    True
    """
    if not isinstance(estimate, EffectEstimate):
        raise InvalidParameterError(f"sensitivity() needs an EffectEstimate from estimate_effect, got "
                                    f"{type(estimate).__name__}.")
    kd = check_positive(kd, "kd")
    ky = None if ky is None else check_positive(ky, "ky")
    if not (benchmarks is None or (isinstance(benchmarks, str) and benchmarks == "auto")
            or (not isinstance(benchmarks, str) and all(isinstance(b, str) for b in benchmarks))):
        raise InvalidParameterError(f"benchmarks must be 'auto', None or a list of confounder names; got {benchmarks!r}.")
    stage = estimate.fitted
    if stage is None:
        raise EstimationError("this estimate carries no fitted residuals; re-run estimate_effect in this session.")
    theta = estimate.value
    sigma, nu = stage.sensitivity_scale(theta)
    sd_ratio = sigma * nu if np.isfinite(nu) else float("nan")
    # the treatment's partial Cohen's f and R2 with the outcome, net of the confounders
    f = abs(theta) / sd_ratio if sd_ratio > 0 else np.inf
    r2 = float(f**2 / (1 + f**2)) if np.isfinite(f) else 1.0
    t_stat = abs(theta) / estimate.std_error if estimate.std_error > 0 else np.inf
    crit = (estimate.ci_high - theta) / estimate.std_error if estimate.std_error > 0 else np.inf
    dof_eff = (t_stat / f) ** 2 if f > 0 else np.inf
    rv = robustness_value(f)
    rv_ci = robustness_value(f, crit / np.sqrt(dof_eff)) if np.isfinite(dof_eff) and dof_eff > 0 else 0.0
    # E-value on the take-rate risk-ratio scale
    if estimate.scale == "0 -> 1":
        contrast, width = "0 -> 1", 1.0
    else:
        width = stage.treatment_sd
        contrast = f"per standard deviation of {estimate.treatment} within tests ({width:.3g})"
    rr = float(np.exp(theta * width))
    ev, ev_ci = e_value(rr, float(np.exp(estimate.ci_low * width)), float(np.exp(estimate.ci_high * width)))
    base = SensitivityResult(estimate, ev, ev_ci, rr, contrast, r2, rv, rv_ci, sd_ratio, pd.DataFrame())
    return SensitivityResult(estimate, ev, ev_ci, rr, contrast, r2, rv, rv_ci, sd_ratio,
                             _benchmarks(base, stage, benchmarks, kd, ky))


def _groups(stage: Any, names: list[str]) -> dict[str, list[int]]:
    cols = list(stage.feature_names)
    out = {}
    for name in names:
        idx = [i for i, c in enumerate(cols) if c == name or c == f"mean_{name}" or c.startswith(f"{name}_")]
        if idx:
            out[name] = idx
    return out


def _partial_r2(target: np.ndarray, full: np.ndarray, drop: list[int], w: np.ndarray, keep_first: int = 0) -> float:
    """Partial R2 of the dropped columns of ``full`` with ``target`` (weighted least squares)."""
    sw = np.sqrt(w)

    def rss(x: np.ndarray) -> float:
        x = np.column_stack([np.ones(len(target)), x])
        beta = np.linalg.lstsq(x * sw[:, None], target * sw, rcond=None)[0]
        return float(np.sum(w * (target - x @ beta) ** 2))

    reduced = np.delete(full, [keep_first + i for i in drop], axis=1)
    rss_full, rss_reduced = rss(full), rss(reduced)
    return float(max(rss_reduced - rss_full, 0.0) / rss_reduced) if rss_reduced > 0 else 0.0


def _benchmarks(base: SensitivityResult, stage: Any, benchmarks: Any, kd: float, ky: float | None) -> pd.DataFrame:
    estimate = base.estimate
    columns = ["covariate", "r2_with_treatment", "r2_with_outcome", "r2_treatment_bound", "r2_outcome_bound", "bias",
               "adjusted", "adjusted_low", "adjusted_high", "explains_away"]
    if benchmarks is None:
        return pd.DataFrame(columns=columns)
    names = list(estimate.adjustment_set) if isinstance(benchmarks, str) and benchmarks == "auto" else list(benchmarks)
    groups = _groups(stage, names)
    unknown = [n for n in names if n not in groups and not (isinstance(benchmarks, str))]
    if unknown:
        raise UnknownNameError(f"benchmark covariates {unknown} are not among the estimate's confounders "
                               f"{list(estimate.adjustment_set)}.")
    x = stage.features
    w = stage.weights
    rows = []
    for name, idx in groups.items():
        r2d = _partial_r2(stage.t, x, idx, w)
        r2y = _partial_r2(stage.y, np.column_stack([stage.t, x]), idx, w, keep_first=1)
        if isinstance(benchmarks, str) and r2d < 1e-10 and r2y < 1e-10:
            continue  # constant within tests: removed by the design, not a yardstick
        r2dz, r2yz = benchmark_bounds(r2d, r2y, kd, ky)
        if not np.isfinite(r2dz):
            continue
        value, low, high = base.adjusted(r2dz, r2yz)
        rows.append(dict(covariate=name, r2_with_treatment=r2d, r2_with_outcome=r2y, r2_treatment_bound=r2dz,
                         r2_outcome_bound=r2yz, bias=float(bias_bound(r2dz, r2yz, base.sd_ratio)), adjusted=value,
                         adjusted_low=low, adjusted_high=high,
                         explains_away=bool(low <= 0 <= high or np.sign(value) != np.sign(estimate.value))))
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("bias", ascending=False, ignore_index=True)


def _sentence(s: SensitivityResult) -> str:
    e = s.estimate
    if e.ci_low <= 0 <= e.ci_high:
        return ("the interval already includes no effect, so there is nothing for a confounder to explain away "
                f"(E-value of the estimate {s.e_value:.2f}).")
    table = s.benchmarks
    if table.empty:
        return (f"an unobserved confounder would have to explain {s.robustness_value_ci:.1%} of the remaining variation "
                f"of both {e.treatment} and take rate to make the effect insignificant (E-value {s.e_value_ci:.2f}).")
    away = table[table["explains_away"]]
    if len(away):
        return (f"an unobserved confounder as strong as {away['covariate'].iloc[0]} would explain it away: treat it as "
                "fragile.")
    return (f"an unobserved confounder would need to be stronger than {table['covariate'].iloc[0]} (the strongest "
            f"measured confounder) to explain it away.")

"""Heterogeneity: per-segment effects, moderation tests and a causal-forest option."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .._config import native_threads_capped
from .._display import ResultMixin, json_safe
from .._validation import check_choice, check_column, check_int, check_level, check_random_state, did_you_mean, draw_seed
from ..exceptions import InvalidParameterError, UnknownNameError
from ..experiments import LOG_OUTCOMES, as_study_data
from ..plotting import interval_plot
from ._aipw import DR_ESTIMANDS, fit_aipw
from ._dml import fit_dml, group_folds
from ._estimate import ESTIMANDS, choose_estimand
from ._inference import wls_cluster
from ._models import default_model, seeded
from ._prepare import AUTO, DESIGNS, prepare, resolve_confounders
from ._result import pct

if TYPE_CHECKING:
    import matplotlib.axes


@dataclass(frozen=True)
class CATEResult(ResultMixin):
    """Effects by segment (or along continuous modifiers) with a moderation test.

    Attributes
    ----------
    treatment, outcome : str
    table : DataFrame
        One row per segment: ``modifier``, ``segment``, ``value``, ``std_error``,
        ``ci_low``, ``ci_high``, ``p_value``, ``pct_change``, ``n_cells``, ``n_tests``,
        ``flagged`` (why a segment was merged, or "" ).
    moderation : DataFrame
        One row per modifier: ``statistic``, ``df``, ``p_value`` of the treatment x
        modifier interaction (clustered Wald test) and a ``verdict``.
    level : float
    method : str
    estimand : str
        What each segment's effect averages (as :attr:`EffectEstimate.estimand`).
    """

    treatment: str
    outcome: str
    table: pd.DataFrame
    moderation: pd.DataFrame
    level: float
    method: str
    estimand: str = "plr"

    def to_frame(self) -> pd.DataFrame:
        """One row per segment (a copy of ``table``)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: settings, segment rows and moderation tests."""
        return json_safe({"treatment": self.treatment, "outcome": self.outcome, "level": self.level,
                          "method": self.method, "estimand": self.estimand, "segments": self.table,
                          "moderation": self.moderation})

    def effect(self, segment: str, modifier: str | None = None) -> float:
        """The effect in one segment (e.g. ``"drama"``)."""
        rows = self.table[self.table["segment"] == segment]
        if modifier is not None:
            rows = rows[rows["modifier"] == modifier]
        if rows.empty:
            raise UnknownNameError(f"no segment {segment!r}.{did_you_mean(str(segment), self.table['segment'].astype(str))}"
                                   f" Segments: {sorted(self.table['segment'].astype(str))}.")
        return float(rows["value"].iloc[0])

    def _card_title(self) -> str:
        return f"Effect of {self.treatment} by segment"

    def summary(self) -> str:
        lines = [f"Effect of {self.treatment} by segment ({self.method}; estimand {self.estimand}; "
                 f"{self.level:.0%} intervals):"]
        for r in self.table.itertuples(index=False):
            flag = f"  [{r.flagged}]" if r.flagged else ""
            lines.append(f"  {r.modifier}={r.segment:<22} {r.value:+.4f} ({r.ci_low:+.4f} to {r.ci_high:+.4f}), "
                         f"{r.n_tests} tests{flag}")
        for r in self.moderation.itertuples(index=False):
            lines.append(f"  moderation by {r.modifier}: chi2({r.df}) = {r.statistic:.1f}, p = {r.p_value:.3g}: {r.verdict}")
        return "\n".join(lines)

    def plot(self, ax: matplotlib.axes.Axes | None = None, *, truth: dict[str, float] | None = None) -> matplotlib.axes.Axes:
        """Forest plot of the segment effects (truth markers when given, keyed by segment)."""
        t = self.table
        return interval_plot([f"{m}={s}" for m, s in zip(t["modifier"], t["segment"])], t["value"], t["ci_low"],
                             t["ci_high"], ax, level=self.level, xlabel=f"effect of {self.treatment}",
                             truth=[truth.get(str(s), np.nan) for s in t["segment"]] if truth else None)


@native_threads_capped
def estimate_cate(
    data: Any,
    treatment: str,
    *,
    outcome: str | None = None,
    by: Sequence[str] | str | None = None,
    modifiers: Sequence[str] | None = None,
    method: Literal["linear", "forest"] = "linear",
    estimand: Literal["ate", "att", "ato", "plr"] | None = None,
    graph: Any = None,
    confounders: Sequence[str] | None = None,
    design: Literal["within_test", "pooled"] = "within_test",
    cluster: str | None = AUTO,
    weights: str | None = AUTO,
    model_y: Any = None,
    model_t: Any = None,
    cv: int = 5,
    level: float = 0.95,
    min_tests: int = 10,
    random_state: Any = None,
) -> CATEResult:
    """Effects per segment (``by``) or along continuous ``modifiers``, with moderation tests.

    The nuisance models are fitted once (cross-fitted, as in :func:`estimate_effect`); each
    segment's effect solves the estimand's score on that segment's cells (the doubly robust
    score averaged over the segment for ``"ate"``, ``"att"`` and ``"ato"``, the default for a
    0/1 treatment; the final-stage regression on the segment's residuals for ``"plr"``), with
    errors clustered by test. Along a continuous modifier the effect's linear projection on
    the standardised modifier is reported (its slope: the change in effect per SD).
    Segments with fewer than ``min_tests`` tests are merged into one "other" segment and
    flagged, never dropped. The moderation test (the source work's Baron-Kenny moderator)
    is the clustered Wald test that all segments share one effect. ``method="forest"`` fits
    econml's CausalForestDML on the continuous ``modifiers`` and reports effects by modifier
    quartile.

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> p = simulate_program(200, random_state=2)
    >>> cate = estimate_cate(p.study_data(), "has_face", by=["genre"], random_state=0)
    >>> cate.effect("drama") > cate.effect("documentary")
    True
    """
    by = [by] if isinstance(by, str) else list(by or [])
    modifiers = [modifiers] if isinstance(modifiers, str) else list(modifiers or [])
    if not by and not modifiers:
        raise InvalidParameterError("pass by=[segment columns] (e.g. ['genre']) or modifiers=[continuous columns].")
    check_choice(method, "method", ("linear", "forest"))
    check_choice(design, "design", DESIGNS)
    level = check_level(level)
    min_tests = check_int(min_tests, "min_tests", minimum=1)
    study = as_study_data(data, outcome)
    outcome = outcome or study.outcome
    cluster = study.cluster if cluster == AUTO else cluster
    weights = study.weight if weights == AUTO else weights
    found, _ = resolve_confounders(study, treatment, outcome, graph, confounders)
    prep = prepare(study, treatment, outcome, found, design, cluster, weights)
    for col in by:
        check_column(prep.frame, col, "segment column (by=)")
    for col in modifiers:
        check_column(prep.frame, col, "modifier")
        if not pd.api.types.is_numeric_dtype(prep.frame[col]):
            raise InvalidParameterError(f"modifier {col!r} is not numeric; continuous modifiers must be numbers "
                                        f"(pass a categorical column in by= instead).")
    if method == "forest":
        if not modifiers:
            raise InvalidParameterError("method='forest' needs continuous modifiers=[...].")
        if estimand not in (None, "plr"):
            raise InvalidParameterError(f"method='forest' estimates the partially linear effect locally; estimand="
                                        f"{estimand!r} is for method='linear'.")
        return _forest(prep, list(modifiers), model_y, model_t, cv, level, random_state)
    if estimand is not None:
        check_choice(estimand, "estimand", ESTIMANDS)
    estimand = choose_estimand(estimand, "dml", prep.frame[treatment], treatment, ())
    if estimand in DR_ESTIMANDS:
        # the doubly robust score keeps the tests where the treatment does not vary
        prep = prepare(study, treatment, outcome, found, design, cluster, weights, keep_constant_tests=True)
        dr = fit_aipw(prep, estimand=estimand, model_y=model_y, model_t=model_t, cv=cv, random_state=random_state)
        numerator, denominator = dr.numerator, dr.denominator
        label = f"doubly robust scores per segment ({estimand})"
    else:
        fit = fit_dml(prep, model_y=model_y, model_t=model_t, cv=cv, random_state=random_state)
        numerator, denominator = fit.t_res * fit.y_res, fit.t_res**2
        label = "double ML residuals, final stage per segment"
    rows, moderation = [], []
    logged = prep.outcome in LOG_OUTCOMES
    for col in by:
        seg_rows, dummies = segment_effects(col, prep.frame[col].astype(str).to_numpy(), numerator, denominator,
                                            prep.weights, prep.codes, min_tests=min_tests, level=level, logged=logged)
        rows += seg_rows
        moderation.append(_wald(col, numerator, denominator, dummies, prep, level))
    for col in modifiers:
        x = prep.frame[col].to_numpy(dtype=float)
        z = (x - x.mean()) / (x.std() or 1.0)
        inter = wls_cluster(numerator, np.column_stack([np.ones(len(z)), z]), prep.weights, prep.codes,
                            denominator=denominator)
        value, se = float(inter.coef[1]), float(np.sqrt(inter.cov[1, 1]))
        crit = inter.critical_value(level)
        rows.append(dict(modifier=col, segment="per SD", value=value, std_error=se, ci_low=value - crit * se,
                         ci_high=value + crit * se, p_value=inter.p_value(value, se), pct_change=np.nan,
                         n_cells=prep.n_cells, n_tests=prep.n_informative_tests, flagged="change in effect per SD"))
        moderation.append(_wald(col, numerator, denominator, z[:, None], prep, level))
    return CATEResult(treatment, prep.outcome, pd.DataFrame(rows), pd.DataFrame(moderation), level, label, estimand)


def segment_effects(col: str, labels: np.ndarray, numerator: np.ndarray, denominator: np.ndarray, weights: np.ndarray,
                    codes: np.ndarray | None, *, min_tests: int = 10, level: float = 0.95, logged: bool = True
                    ) -> tuple[list[dict[str, Any]], np.ndarray | None]:
    """An estimate's score solved per segment of ``col``, with errors clustered by test.

    Parameters
    ----------
    col : str
        The segment column's name (e.g. ``"genre"``), for the rows.
    labels : ndarray of str
        Each cell's segment.
    numerator, denominator, weights : ndarray
        The estimate's score terms and precision weights (:attr:`FittedStage.numerator`,
        :attr:`FittedStage.denominator`): the segment's effect is ``sum w num / sum w den``
        over its cells (the final-stage regression on its residuals for the partially linear
        model, the average doubly robust score for the ATE).
    codes : ndarray or None
        Cluster (test) codes for the standard errors.
    min_tests : int, default=10
        Segments with fewer tests are merged into one flagged "other" segment.
    level : float, default=0.95
    logged : bool, default=True
        The outcome is a log take rate (adds ``pct_change``).

    Returns
    -------
    rows : list of dict
        One per segment: ``modifier``, ``segment``, ``value``, ``std_error``, ``ci_low``,
        ``ci_high``, ``p_value``, ``pct_change``, ``n_cells``, ``n_tests``, ``flagged``.
    dummies : ndarray or None
        Drop-first segment dummies, for the moderation (Wald) test.
    """
    groups = codes if codes is not None else np.arange(len(labels))
    tests_per = pd.Series(groups).groupby(labels).nunique()
    small = sorted(tests_per.index[tests_per.to_numpy() < min_tests])
    merged = labels.copy()
    if small:
        merged[np.isin(labels, small)] = "other: " + ", ".join(small)
    rows = []
    for seg in sorted(set(merged), key=lambda s: (s.startswith("other: "), s)):
        m = merged == seg
        one = wls_cluster(numerator[m], np.ones(int(m.sum())), weights[m], codes[m] if codes is not None else None,
                          denominator=denominator[m])
        value, se = float(one.coef[0]), float(np.sqrt(one.cov[0, 0]))
        crit = one.critical_value(level)
        flagged = f"merged: fewer than {min_tests} informative tests each" if seg.startswith("other: ") else ""
        if one.n_clusters < min_tests and not flagged:
            flagged = f"only {one.n_clusters} tests"
        rows.append(dict(modifier=col, segment=seg, value=value, std_error=se, ci_low=value - crit * se,
                         ci_high=value + crit * se, p_value=one.p_value(value, se),
                         pct_change=pct(value) if logged else np.nan, n_cells=int(m.sum()),
                         n_tests=int(len(np.unique(groups[m]))), flagged=flagged))
    levels = sorted(set(merged))
    dummies = np.column_stack([(merged == lv).astype(float) for lv in levels[1:]]) if len(levels) > 1 else None
    return rows, dummies


def _wald(col: str, numerator: np.ndarray, denominator: np.ndarray, extra: np.ndarray | None, prep: Any,
          level: float) -> dict[str, Any]:
    """Clustered Wald test that the effect does not vary with the columns of ``extra``."""
    if extra is None:
        return dict(modifier=col, statistic=0.0, df=0, p_value=1.0, verdict="one segment: nothing to compare")
    z = np.column_stack([np.ones(len(numerator)), extra])
    fit = wls_cluster(numerator, z, prep.weights, prep.codes, denominator=denominator)
    b = fit.coef[1:]
    v = fit.cov[1:, 1:]
    stat = float(b @ np.linalg.pinv(v) @ b)
    df = int(len(b))
    p = float(stats.chi2.sf(stat, df))
    verdict = (f"{col} moderates the effect" if p < 1 - level else f"no evidence that {col} moderates the effect")
    return dict(modifier=col, statistic=stat, df=df, p_value=p, verdict=verdict)


def _forest(prep: Any, modifiers: list[str], model_y: Any, model_t: Any, cv: int, level: float,
            random_state: Any) -> CATEResult:
    from econml.dml import CausalForestDML
    from sklearn.base import is_classifier

    rng = check_random_state(random_state)
    seed = draw_seed(rng)
    discrete = prep.binary and prep.design == "pooled" and (model_t is None or is_classifier(model_t))
    model_y = seeded(model_y if model_y is not None else default_model("regression", random_state=seed), seed)
    if model_t is None:
        model_t = default_model("classification" if discrete else "regression", random_state=seed)
    model_t = seeded(model_t, seed)
    folds = group_folds(prep.codes, prep.n_cells, cv, rng)
    x = prep.frame[modifiers].to_numpy(dtype=float)
    forest = CausalForestDML(model_y=model_y, model_t=model_t, discrete_treatment=discrete, cv=folds,
                             n_estimators=400, min_samples_leaf=10, random_state=seed)
    import warnings

    with warnings.catch_warnings():  # native threads: capped by estimate_cate's decorator
        warnings.filterwarnings("ignore", message=".*(stratif|feature names).*", category=UserWarning)
        forest.fit(prep.y, prep.t.astype(int) if discrete else prep.t, X=x,
                   W=prep.features if prep.features.shape[1] else None, groups=prep.codes)
    effects = forest.effect(x)
    low, high = forest.effect_interval(x, alpha=1 - level)
    rows = []
    for j, col in enumerate(modifiers):
        quart = pd.qcut(x[:, j], 4, labels=False, duplicates="drop")
        for q in np.unique(quart):
            m = quart == q
            rows.append(dict(modifier=col, segment=f"Q{q + 1} ({x[m, j].min():.3g} to {x[m, j].max():.3g})",
                             value=float(effects[m].mean()), std_error=np.nan, ci_low=float(np.mean(low[m])),
                             ci_high=float(np.mean(high[m])), p_value=np.nan, pct_change=np.nan, n_cells=int(m.sum()),
                             n_tests=int(len(np.unique(prep.codes[m]))) if prep.codes is not None else int(m.sum()),
                             flagged="causal forest: mean CATE and mean pointwise interval in the quartile"))
    moderation = [dict(modifier=col, statistic=np.nan, df=0, p_value=np.nan,
                       verdict="see the linear method for a test; the forest describes the shape") for col in modifiers]
    return CATEResult(prep.treatment, prep.outcome, pd.DataFrame(rows), pd.DataFrame(moderation), level,
                      "econml CausalForestDML")

"""discover_insights: screen every feature, estimate each one's causal effect with its own
adjustment set, control the false discovery rate, refute, measure sensitivity, and say it
in plain words."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ._validation import check_random_state, did_you_mean
from .estimation import EffectEstimate, estimate_effect
from .estimation._cate import segment_effects
from .estimation._inference import demean
from .estimation._prepare import LOG_OUTCOMES, as_study_data
from .exceptions import CreativeCausalError, EstimationError
from .refutation import RefutationReport, SensitivityResult, refute, sensitivity

if TYPE_CHECKING:
    import matplotlib.axes

#: How a binary feature reads in a sentence ("Artwork with a face ...").
BINARY_PHRASES = {"has_face": "a face", "closeup": "a close-up face", "has_text": "text"}


@dataclass(frozen=True)
class InsightTable:
    """Ranked causal insights, one per feature.

    Attributes
    ----------
    table : DataFrame
        One row per feature, ranked (discoveries first, by q-value, then by size):
        ``feature``, ``effect``, ``ci_low``, ``ci_high``, ``pct_change`` with its interval,
        ``effect_per_sd`` (continuous features: per within-test standard deviation; binary:
        0 -> 1) with its interval, ``p_value``, ``q_value``, ``discovery``, ``refutation``
        (``passed`` / ``failed: ...``), ``robustness_value``, ``e_value``, ``screen_rank``,
        ``association``, ``importance``, ``n_tests``, ``sentence``; features that could not
        be estimated keep a row with the reason in ``sentence``.
    screening : DataFrame
        The hypothesis ranking: within-test correlation with the outcome and permutation
        importance in a gradient-boosting model of the outcome.
    segments : DataFrame
        Per-segment effects of every feature (when ``by`` was given).
    estimates, refutations, sensitivities : dict
        The full result objects by feature.
    fdr : float
    correction : str
    level : float
    """

    table: pd.DataFrame
    screening: pd.DataFrame
    segments: pd.DataFrame
    estimates: dict[str, EffectEstimate] = field(repr=False)
    refutations: dict[str, RefutationReport] = field(repr=False)
    sensitivities: dict[str, SensitivityResult] = field(repr=False)
    fdr: float = 0.05
    correction: str = "bh"
    level: float = 0.95

    @property
    def discoveries(self) -> pd.DataFrame:
        """The rows that survive false-discovery control."""
        return self.table[self.table["discovery"]].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        records = self.table.replace({np.nan: None}).to_dict("records")
        return {"fdr": self.fdr, "correction": self.correction, "level": self.level, "insights": records,
                "segments": self.segments.replace({np.nan: None}).to_dict("records")}

    def summary(self, top: int | None = None) -> str:
        rows = self.table if top is None else self.table.head(top)
        method = "Benjamini-Hochberg" if self.correction == "bh" else "Holm"
        found = int(self.table["discovery"].sum())
        lines = [f"{found} of {len(self.table)} features have an effect on take rate at {method} "
                 f"{'FDR' if self.correction == 'bh' else 'FWER'} {self.fdr:g} ({self.level:.0%} intervals):"]
        for i, r in enumerate(rows.itertuples(), 1):
            lines.append(f"{i:>3}. {r.sentence}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        cols = ["feature", "pct_change", "pct_ci_low", "pct_ci_high", "q_value", "discovery", "refutation", "sentence"]
        return self.table[cols].to_html(index=False, float_format=lambda v: f"{v:.3g}", escape=True)

    def plot(self, ax: matplotlib.axes.Axes | None = None, *, truth: dict[str, float] | None = None) -> matplotlib.axes.Axes:
        """Forest plot: each feature's effect (0 -> 1, or per within-test SD) with its interval;
        discoveries in colour. ``truth`` (feature -> effect per unit, as :func:`estimate_effect`
        reports it) adds markers on the plotted scale."""
        return forest_plot(self.table, ax, truth=truth, level=self.level)


def forest_plot(table: pd.DataFrame, ax: matplotlib.axes.Axes | None = None, *, truth: dict[str, float] | None = None,
                level: float = 0.95) -> matplotlib.axes.Axes:
    """The forest plot of an insight table (also from a saved one)."""
    import matplotlib.pyplot as plt

    rows = table.dropna(subset=["effect_per_sd"]).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.35 * len(rows) + 1.2), layout="constrained")
    y = np.arange(len(rows))
    logged = bool(rows["pct_change"].notna().any())
    to_pct = (lambda v: 100 * np.expm1(v)) if logged else (lambda v: v)
    mid, lo, hi = (to_pct(rows[c].to_numpy(dtype=float)) for c in ("effect_per_sd", "per_sd_ci_low", "per_sd_ci_high"))
    colors = np.where(rows["discovery"].to_numpy(dtype=bool), "#1b6ca8", "#aaaaaa")
    for yi, m, low, high, c in zip(y, mid, lo, hi, colors):
        ax.plot([low, high], [yi, yi], color=c, linewidth=2)
        ax.plot([m], [yi], "o", color=c)
    if truth:
        per_unit = np.array([truth.get(f, np.nan) for f in rows["feature"]], dtype=float)
        ax.plot(to_pct(per_unit * rows["sd"].to_numpy(dtype=float)), y, "x", color="#d95f02", label="truth")
        ax.legend(fontsize=7, frameon=False)
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_yticks(y, [str(f) for f in rows["feature"]])
    ax.set_xlabel(("take-rate change, %" if logged else "effect") + f" ({level:.0%} CI); binary 0 -> 1, "
                  "continuous per within-test SD")
    ax.set_title("Causal effects of artwork features (blue: discoveries)", fontsize=9)
    return ax


def discover_insights(
    data: Any,
    treatments: Sequence[str] | None = None,
    graph: Any = None,
    *,
    outcome: str | None = None,
    fdr: float = 0.05,
    correction: Literal["bh", "holm"] = "bh",
    by: Sequence[str] | str | None = None,
    refute: bool = True,
    method: Literal["dml", "ols", "naive"] = "dml",
    model_y: Any = None,
    model_t: Any = None,
    cv: int = 5,
    level: float = 0.95,
    n_simulations: int = 100,
    n_jobs: int = 1,
    executor: Any = None,
    random_state: Any = None,
) -> InsightTable:
    """Which artwork features cause people to choose a title? One call, every feature.

    1. Screen: rank every feature by its within-test correlation with the outcome and by its
       permutation importance in a gradient-boosting model of the outcome (the source work's
       hypothesis-generation step; the ranking only orders the report).
    2. Estimate each feature's causal effect with :func:`estimate_effect`, each with its own
       adjustment set from the graph.
    3. Control the false discovery rate across features (Benjamini-Hochberg q-values; Holm's
       family-wise correction with ``correction="holm"``).
    4. Refute each estimate (:func:`refute`, fast path) and measure its sensitivity to an
       unobserved confounder (:func:`sensitivity`), break it down by segment (``by``), and
       write one plain sentence.

    Parameters
    ----------
    data : StudyData or DataFrame
    treatments : list of str, optional
        Features to test. Default: every feature of the data that varies.
    graph : CausalGraph, optional
        Default: :func:`creative_graph` built for each feature.
    outcome : str, optional
    fdr : float, default=0.05
        Target false discovery rate (family-wise error rate with Holm).
    correction : {"bh", "holm"}
    by : str or list of str, optional
        Segment columns (e.g. ``"genre"``) for per-segment effects.
    refute : bool, default=True
        Run the four refutations and the sensitivity analysis for every feature.
    method, model_y, model_t, cv, level
        Passed to :func:`estimate_effect`.
    n_simulations : int, default=100
        Refutation simulations per test.
    n_jobs : int, default=1
        Features analysed in parallel processes.
    executor : dask.distributed.Client, optional
        Analyse features on the cluster instead.
    random_state : int, Generator or None
        Each feature gets its own seed derived from this one, so results do not depend on
        the order, the parallelism or which other features are tested.

    Returns
    -------
    InsightTable

    Examples
    --------
    >>> from creative_causal import simulate_program
    >>> data = simulate_program(150, seed=4).study_data()
    >>> found = discover_insights(data, ["has_face", "text_area", "symmetry"], random_state=0)
    >>> found.table[["feature", "discovery"]].to_dict("list")["discovery"][:2]
    [True, True]
    """
    study = as_study_data(data, outcome)
    outcome = outcome or study.outcome
    if not 0 < fdr < 1:
        raise EstimationError(f"fdr must be between 0 and 1 (got {fdr}); 0.05 is usual.")
    if correction not in ("bh", "holm"):
        raise EstimationError(f"correction must be 'bh' or 'holm', got {correction!r}.")
    frame = study.frame
    if treatments is None:
        treatments = [f for f in study.features if f in frame and frame[f].nunique(dropna=True) > 1]
    treatments = list(dict.fromkeys(treatments))
    for t in treatments:
        if t not in frame:
            raise EstimationError(f"treatment {t!r} is not a column of the data.{did_you_mean(t, frame.columns)}")
    if not treatments:
        raise EstimationError("no feature varies in these data: nothing to test.")
    by = [by] if isinstance(by, str) else list(by or [])
    for col in by:
        if col not in frame:
            raise EstimationError(f"segment column {col!r} not found.{did_you_mean(col, frame.columns)}")
    base = int(check_random_state(random_state).integers(2**62))
    seeds = {t: int(np.random.default_rng([base, _stable_hash(t)]).integers(2**31 - 1)) for t in treatments}
    screening = screen_features(study, treatments, outcome, random_state=base % (2**31 - 1))
    task = partial(_analyse_feature, study, outcome=outcome, graph=graph, by=tuple(by), run_refutations=refute,
                   method=method, model_y=model_y, model_t=model_t, cv=cv, level=level, n_simulations=n_simulations)
    jobs = [(t, seeds[t]) for t in treatments]
    if executor is not None:
        if hasattr(executor, "scatter"):  # dask.distributed: ship the data once
            remote = executor.scatter(study, broadcast=True)
            futures = [executor.submit(_analyse_feature, remote, t, s, outcome=outcome, graph=graph, by=tuple(by),
                                       run_refutations=refute, method=method, model_y=model_y, model_t=model_t, cv=cv,
                                       level=level, n_simulations=n_simulations, pure=False) for t, s in jobs]
            results = executor.gather(futures)
        else:
            results = list(executor.map(task, [t for t, _ in jobs], [s for _, s in jobs]))
    elif n_jobs != 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(delayed(task)(t, s) for t, s in jobs)
    else:
        results = [task(t, s) for t, s in jobs]
    return _assemble(results, screening, study, outcome, fdr, correction, level)


def _stable_hash(text: str) -> int:
    """A process-independent integer from a name (Python's hash() is salted per process)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def screen_features(study: Any, treatments: Sequence[str], outcome: str, *, random_state: int = 0) -> pd.DataFrame:
    """Rank candidate features: within-test correlation with the outcome and permutation
    importance in a gradient-boosting model of the outcome (held-out tests).

    Both are associations, not effects: the ranking orders hypotheses; the causal estimates
    come afterwards.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.inspection import permutation_importance

    frame = study.frame
    cols = list(treatments)
    use = frame[[outcome, *cols]].notna().all(axis=1).to_numpy()
    sub = frame.loc[use]
    y = sub[outcome].to_numpy(dtype=float)
    x = sub[cols].to_numpy(dtype=float)
    w = sub[study.weight].to_numpy(dtype=float) if study.weight else np.ones(len(sub))
    if study.cluster:
        codes = pd.factorize(sub[study.cluster])[0]
        y, x = demean(y, codes, w), demean(x, codes, w)
    else:
        codes = np.arange(len(sub))
    sd_x, sd_y = x.std(axis=0), y.std()
    with np.errstate(divide="ignore", invalid="ignore"):
        assoc = np.where(sd_x > 0, ((x - x.mean(0)) * (y - y.mean())[:, None]).mean(0) / (sd_x * sd_y), 0.0)
    rng = np.random.default_rng(random_state)
    test_groups = rng.permutation(int(codes.max()) + 1)[: max(1, (int(codes.max()) + 1) // 4)]
    held = np.isin(codes, test_groups)
    importance = np.zeros(len(cols))
    if held.sum() >= 10 and (~held).sum() >= 20:
        model = HistGradientBoostingRegressor(max_iter=200, max_leaf_nodes=15, early_stopping=True,
                                              random_state=random_state).fit(x[~held], y[~held])
        importance = permutation_importance(model, x[held], y[held], n_repeats=5,
                                            random_state=random_state).importances_mean
    out = pd.DataFrame({"feature": cols, "association": assoc, "importance": importance})
    out["screen_rank"] = (out["importance"].rank(ascending=False, method="first") * 2
                          + out["association"].abs().rank(ascending=False, method="first")).rank(method="first").astype(int)
    return out.sort_values("screen_rank", ignore_index=True)


def _analyse_feature(study: Any, treatment: str, seed: int, *, outcome: str, graph: Any, by: tuple[str, ...],
                     run_refutations: bool, method: str, model_y: Any, model_t: Any, cv: int, level: float,
                     n_simulations: int) -> dict[str, Any]:
    """Estimate, refute, sensitivity and segments for one feature (runs in a worker)."""
    out: dict[str, Any] = {"feature": treatment}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = estimate_effect(study, treatment, outcome, graph=graph, method=method, model_y=model_y,
                                  model_t=model_t, cv=cv, level=level, random_state=seed)
        out["warnings"] = sorted({str(w.message) for w in caught})
    except CreativeCausalError as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        return out
    out["estimate"] = est
    if run_refutations:
        out["refutation"] = refute(est, study, n_simulations=n_simulations, random_state=seed)
        if est.fitted is not None and method != "naive":
            out["sensitivity"] = sensitivity(est)
    if by and est.fitted is not None:
        stage = est.fitted
        rows = []
        for col in by:
            labels = study.column(col).loc[stage.rows].astype(str).to_numpy()
            seg_rows, _ = segment_effects(col, labels, stage.y_res, stage.t_res, stage.weights, stage.codes, 10, level,
                                          est.outcome in LOG_OUTCOMES)
            rows += [dict(feature=treatment, **r) for r in seg_rows]
        out["segments"] = rows
    return out


def _adjust(p: np.ndarray, correction: str) -> np.ndarray:
    """Benjamini-Hochberg q-values or Holm-adjusted p-values."""
    n = len(p)
    order = np.argsort(p)
    ranked = p[order]
    if correction == "bh":
        q = np.minimum.accumulate((ranked * n / np.arange(1, n + 1))[::-1])[::-1]
    else:
        q = np.maximum.accumulate(ranked * (n - np.arange(n)))
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def _assemble(results: list[dict[str, Any]], screening: pd.DataFrame, study: Any, outcome: str, fdr: float,
              correction: str, level: float) -> InsightTable:
    rows, segments = [], []
    estimates, refutations, sens = {}, {}, {}
    for res in results:
        f = res["feature"]
        if "error" in res:
            rows.append(dict(feature=f, sentence=f"{f}: not estimated ({res['error']})", discovery=False))
            continue
        est: EffectEstimate = res["estimate"]
        estimates[f] = est
        rep = res.get("refutation")
        sen = res.get("sensitivity")
        if rep is not None:
            refutations[f] = rep
        if sen is not None:
            sens[f] = sen
        segments += res.get("segments", [])
        width = est.fitted.treatment_sd if est.scale != "0 -> 1" and est.fitted is not None else 1.0
        failed = [r.test for r in rep.results if r.status == "failed"] if rep is not None else []
        rows.append(dict(feature=f, effect=est.value, std_error=est.std_error, ci_low=est.ci_low, ci_high=est.ci_high,
                         pct_change=est.pct_change, pct_ci_low=est.pct_ci_low, pct_ci_high=est.pct_ci_high,
                         scale=est.scale, sd=width, effect_per_sd=est.value * width, per_sd_ci_low=est.ci_low * width,
                         per_sd_ci_high=est.ci_high * width, p_value=est.p_value,
                         refutation=("failed: " + ", ".join(failed)) if failed else ("passed" if rep else "not run"),
                         robustness_value=sen.robustness_value if sen else np.nan,
                         e_value=sen.e_value if sen else np.nan, n_cells=est.n_cells, n_tests=est.n_tests,
                         n_informative_tests=est.n_informative_tests, adjustment_set=", ".join(est.adjustment_set),
                         warnings=" | ".join(res.get("warnings", []))))
    table = pd.DataFrame(rows)
    estimated = table["p_value"].notna() if "p_value" in table else pd.Series(False, index=table.index)
    table["q_value"] = np.nan
    if estimated.any():
        table.loc[estimated, "q_value"] = _adjust(table.loc[estimated, "p_value"].to_numpy(dtype=float), correction)
    table["discovery"] = (table["q_value"] <= fdr).fillna(False).astype(bool)
    table = table.merge(screening, on="feature", how="left")
    previous = table["sentence"] if "sentence" in table else pd.Series("", index=table.index)
    table["sentence"] = [insight_sentence(estimates[r["feature"]], r, sens.get(r["feature"]), correction)
                         if r["feature"] in estimates else previous.iloc[i] for i, (_, r) in enumerate(table.iterrows())]
    table["_size"] = table["effect_per_sd"].abs() if "effect_per_sd" in table else 0.0
    table = table.sort_values(["discovery", "q_value", "_size"], ascending=[False, True, False], na_position="last",
                              ignore_index=True).drop(columns="_size")
    seg_frame = pd.DataFrame(segments)
    return InsightTable(table, screening, seg_frame, estimates, refutations, sens, fdr, correction, level)


def insight_sentence(est: EffectEstimate, row: Any, sens: SensitivityResult | None, correction: str) -> str:
    """One plain sentence for a creative: what the feature does, how sure we are, what could
    undo it."""
    logged = np.isfinite(est.pct_change)
    q_name = "q" if correction == "bh" else "adjusted p"

    def size(v: float) -> str:
        return f"{abs(100 * np.expm1(v)):.1f}%" if logged else f"{abs(v):.3g}"

    def signed(v: float) -> str:
        return f"{100 * np.expm1(v):+.1f}%" if logged else f"{v:+.3g}"

    per = row["sd"] if est.scale != "0 -> 1" else 1.0
    value, low, high = est.value * per, est.ci_low * per, est.ci_high * per
    if est.scale == "0 -> 1":
        subject = f"Artwork with {BINARY_PHRASES.get(est.treatment, f'{est.treatment} = 1')}"
    else:
        subject = f"Raising {est.treatment} by one within-test standard deviation ({per:.3g})"
    interval = f"({est.level:.0%} CI {signed(low)} to {signed(high)})"
    if not row["discovery"]:
        return (f"{est.treatment}: no reliable effect on take rate ({signed(value)}, {interval[1:-1]}; "
                f"{q_name} = {row['q_value']:.2g}).")
    verb = "raises" if value > 0 else "lowers"
    what = "take rate" if logged else est.outcome
    text = f"{subject} {verb} {what} by {size(value)} {interval} compared with other artwork for the same title"
    if est.design != "within_test":
        text = text.replace(" compared with other artwork for the same title", "")
    refutation = str(row.get("refutation", ""))
    if refutation.startswith("failed"):
        text += f"; refutation checks {refutation}"
    if sens is not None:
        text += "; " + sens.sentence.rstrip(".")
    return text + "."


__all__ = ["discover_insights", "InsightTable", "screen_features", "insight_sentence", "forest_plot"]

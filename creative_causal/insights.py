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

from ._config import config_context, get_config, limit_native_threads, native_threads_capped
from ._display import ResultMixin, json_safe
from ._validation import (
    check_choice,
    check_column,
    check_fraction,
    check_int,
    check_level,
    check_n_jobs,
    draw_seed,
)
from .estimation import (
    DR_ESTIMANDS,
    ESTIMANDS,
    EffectEstimate,
    default_model,
    demean,
    estimate_effect,
    is_binary,
    segment_effects,
)
from .exceptions import CreativeCausalError, EstimationError, InvalidParameterError, UnknownNameError
from .experiments import adjust_p_values, as_study_data
from .plotting import forest_plot
from .refutation import RefutationReport, SensitivityResult, refute, sensitivity

if TYPE_CHECKING:
    import matplotlib.axes

#: How a binary feature reads in a sentence ("Artwork with a face ...").
BINARY_PHRASES = {"has_face": "a face", "closeup": "a close-up face", "has_text": "text"}


@dataclass(frozen=True)
class InsightTable(ResultMixin):
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
        """The ranked table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: settings, the ranked insights and the per-segment effects."""
        return json_safe({"fdr": self.fdr, "correction": self.correction, "level": self.level, "insights": self.table,
                          "segments": self.segments})

    def summary(self, top: int | None = None) -> str:
        rows = self.table if top is None else self.table.head(top)
        method = "Benjamini-Hochberg" if self.correction == "bh" else "Holm"
        found = int(self.table["discovery"].sum())
        lines = [f"{found} of {len(self.table)} features have an effect on take rate at {method} "
                 f"{'FDR' if self.correction == 'bh' else 'FWER'} {self.fdr:g} ({self.level:.0%} intervals):"]
        for i, r in enumerate(rows.itertuples(), 1):
            lines.append(f"{i:>3}. {r.sentence}")
        return "\n".join(lines)

    def _card_title(self) -> str:
        return "Insights"

    def _repr_html_(self) -> str:
        from ._display import result_card

        cols = [c for c in ("feature", "effect_per_sd", "per_sd_ci_low", "per_sd_ci_high", "q_value", "discovery",
                            "refutation", "sentence") if c in self.table]
        return result_card("Insights", self.summary().splitlines()[0], self.table[cols])

    def plot(self, ax: matplotlib.axes.Axes | None = None, *, truth: dict[str, float] | None = None) -> matplotlib.axes.Axes:
        """Forest plot: each feature's effect (0 -> 1, or per within-test SD) with its interval;
        discoveries in colour. ``truth`` (feature -> effect per unit, as :func:`estimate_effect`
        reports it) adds markers on the plotted scale."""
        return forest_plot(self.table, ax, truth=truth, level=self.level)


@native_threads_capped
def discover_insights(
    data: Any,
    treatments: Sequence[str] | None = None,
    *,
    graph: Any = None,
    outcome: str | None = None,
    fdr: float = 0.05,
    correction: Literal["bh", "holm"] = "bh",
    by: Sequence[str] | str | None = None,
    refute: bool = True,
    method: Literal["dml", "ols", "naive"] = "dml",
    estimand: Literal["ate", "att", "ato", "plr"] = "ate",
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
    estimand : {"ate", "att", "ato", "plr"}, default="ate"
        The estimand of 0/1 features with double ML (continuous features, and the other
        methods, estimate the partially linear coefficient); each row names its estimand.
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
    >>> data = simulate_program(150, random_state=4).study_data()
    >>> found = discover_insights(data, ["has_face", "brightness", "symmetry"], random_state=0)
    >>> found.table[["feature", "discovery"]].to_dict("list")["discovery"][:2]
    [True, True]
    """
    study = as_study_data(data, outcome)
    outcome = outcome or study.outcome
    fdr = check_fraction(fdr, "fdr", example="0.05")
    check_choice(correction, "correction", ("bh", "holm"))
    check_choice(method, "method", ("dml", "ols", "naive"))
    check_choice(estimand, "estimand", ESTIMANDS)
    level = check_level(level)
    cv = check_int(cv, "cv", minimum=2)
    n_simulations = check_int(n_simulations, "n_simulations", minimum=2)
    n_jobs = check_n_jobs(n_jobs)
    frame = study.frame
    check_column(frame, outcome, "outcome")
    if treatments is None:
        treatments = [f for f in study.features if f in frame and frame[f].nunique(dropna=True) > 1]
    elif isinstance(treatments, str):
        treatments = [treatments]
    elif not list(treatments):
        raise InvalidParameterError("treatments is empty: name at least one feature, or pass None for every feature "
                                    "that varies.")
    treatments = list(dict.fromkeys(treatments))
    for t in treatments:
        if not isinstance(t, str) or t not in frame:
            raise UnknownNameError(f"treatment {t!r} is not a column of the data.{study.why_missing(str(t))}")
    if not treatments:
        raise EstimationError("no feature varies in these data: nothing to test.")
    by = [by] if isinstance(by, str) else list(by or [])
    for col in by:
        check_column(frame, col, "segment column (by=)")
    base = draw_seed(random_state, bits=62)
    seeds = {t: int(np.random.default_rng([base, _stable_hash(t)]).integers(2**31 - 1)) for t in treatments}
    screening = screen_features(study, treatments, outcome, random_state=base % (2**31 - 1))
    options = dict(outcome=outcome, graph=graph, by=tuple(by), run_refutations=refute, method=method,
                   estimand=estimand, model_y=model_y,
                   model_t=model_t, cv=cv, level=level, n_simulations=n_simulations,
                   native_threads=get_config()["native_threads"])
    jobs = [(t, seeds[t]) for t in treatments]
    if executor is not None:
        if hasattr(executor, "scatter"):  # dask.distributed: ship the data once
            remote = executor.scatter(study, broadcast=True)
            results = executor.gather([executor.submit(_analyse_feature, remote, t, s, **options, pure=False)
                                       for t, s in jobs])
        else:
            task = partial(_analyse_feature, study, **options)
            results = list(executor.map(task, [t for t, _ in jobs], [s for _, s in jobs]))
    elif n_jobs != 1 and len(jobs) > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(delayed(_analyse_feature)(study, t, s, **options) for t, s in jobs)
    else:
        results = [_analyse_feature(study, t, s, **options) for t, s in jobs]
    for res in results:  # warnings raised in workers reach the caller once, as in a serial run
        for category, message in res.get("warnings", []):
            prefix = f"{res['feature']}: "
            warnings.warn(message if str(message).startswith(prefix) else prefix + str(message), category, stacklevel=2)
    return _assemble(results, screening, study, outcome, fdr, correction, level)


def _stable_hash(text: str) -> int:
    """A process-independent integer from a name (Python's hash() is salted per process)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def screen_features(study: Any, treatments: Sequence[str], outcome: str, *, random_state: Any = None) -> pd.DataFrame:
    """Rank candidate features: within-test correlation with the outcome and permutation
    importance in a gradient-boosting model of the outcome (held-out tests).

    Both are associations, not effects: the ranking orders hypotheses; the causal estimates
    come afterwards.
    """
    from sklearn.inspection import permutation_importance

    seed = draw_seed(random_state)
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
    rng = np.random.default_rng(seed)
    n_groups = int(codes.max()) + 1 if codes.size else 0
    test_groups = rng.permutation(n_groups)[: max(1, n_groups // 4)]
    held = np.isin(codes, test_groups)
    importance = np.zeros(len(cols))
    if held.sum() >= 10 and (~held).sum() >= 20:
        with limit_native_threads():
            model = default_model("regression", random_state=seed).fit(x[~held], y[~held])
            importance = permutation_importance(model, x[held], y[held], n_repeats=5, random_state=seed).importances_mean
    out = pd.DataFrame({"feature": cols, "association": assoc, "importance": importance})
    out["screen_rank"] = (out["importance"].rank(ascending=False, method="first") * 2
                          + out["association"].abs().rank(ascending=False, method="first")).rank(method="first").astype(int)
    return out.sort_values("screen_rank", ignore_index=True)


def _analyse_feature(study: Any, treatment: str, seed: int, *, outcome: str, graph: Any, by: tuple[str, ...],
                     run_refutations: bool, method: str, estimand: str, model_y: Any, model_t: Any, cv: int, level: float,
                     n_simulations: int, native_threads: int | None) -> dict[str, Any]:
    """Estimate, refute, sensitivity and segments for one feature (runs in a worker).

    Never raises for a problem of this feature (it becomes the row's ``error``), and returns
    the warnings raised on the way as (category, message) pairs, so a worker process loses
    none of them.
    """
    out: dict[str, Any] = {"feature": treatment}
    with warnings.catch_warnings(record=True) as caught, config_context(native_threads=native_threads):
        warnings.simplefilter("always")
        try:
            # a doubly robust estimand is for 0/1 features; the others get the partially linear coefficient
            own = None if method != "dml" or (estimand in DR_ESTIMANDS and not is_binary(study.frame[treatment])) \
                else estimand
            est = estimate_effect(study, treatment, outcome=outcome, graph=graph, method=method, estimand=own,
                                  model_y=model_y, model_t=model_t, cv=cv, level=level, random_state=seed)
            out["estimate"] = est
            if run_refutations:
                out["refutation"] = refute(est, study, n_simulations=n_simulations, level=level, random_state=seed)
                if est.fitted is not None and method != "naive":
                    out["sensitivity"] = sensitivity(est)
            if by and est.fitted is not None:
                stage = est.fitted
                rows = []
                for col in by:
                    labels = study.column(col).loc[stage.rows].astype(str).to_numpy()
                    seg_rows, _ = segment_effects(col, labels, stage.numerator, stage.denominator, stage.weights,
                                                  stage.codes, level=level, logged=est.logged)
                    rows += [dict(feature=treatment, **r) for r in seg_rows]
                out["segments"] = rows
        except CreativeCausalError as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
    seen: dict[tuple[type[Warning], str], None] = {}
    for w in caught:
        seen.setdefault((w.category, str(w.message)), None)
    out["warnings"] = list(seen)
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
                         estimand=est.estimand, **(est.diagnostics.row() if est.diagnostics is not None else {}),
                         nuisance_warnings=" | ".join(est.diagnostics.warnings) if est.diagnostics is not None else "",
                         warnings=" | ".join(str(m) for _, m in res.get("warnings", []))))
    table = pd.DataFrame(rows)
    estimated = table["p_value"].notna() if "p_value" in table else pd.Series(False, index=table.index)
    table["q_value"] = np.nan
    if estimated.any():
        table.loc[estimated, "q_value"] = adjust_p_values(table.loc[estimated, "p_value"].to_numpy(dtype=float), correction)
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


#: How a sentence says what the effect of an on/off feature averages (continuous features always
#: get the partially linear coefficient, said in the documentation).
AVERAGE_PHRASES = {
    "ate": " on average",
    "att": " on average where it is used",
    "ato": " on average over artwork that could have gone either way",
    "plr": " (a weighted average)",
}


def insight_sentence(est: EffectEstimate, row: Any, sens: SensitivityResult | None, correction: str) -> str:
    """One plain sentence for a creative: what the feature does, how sure we are, what could
    undo it."""
    logged = est.logged
    q_name = "q" if correction == "bh" else "adjusted p"

    def size(v: float) -> str:
        return f"{abs(100 * np.expm1(v)):.1f}%" if logged else f"{abs(v):.3g}"

    def signed(v: float) -> str:
        pct = 100 * np.expm1(v)
        return f"{pct if abs(pct) >= 0.05 else 0.0:+.1f}%" if logged else f"{v:+.3g}"  # never "-0.0%"

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
    average = AVERAGE_PHRASES.get(est.estimand, "") if est.scale == "0 -> 1" else ""
    text = f"{subject} {verb} {what} by {size(value)}{average} {interval} compared with other artwork for the same title"
    if est.design != "within_test":
        text = text.replace(" compared with other artwork for the same title", "")
    refutation = str(row.get("refutation", ""))
    if refutation.startswith("failed"):
        text += f"; refutation checks {refutation}"
    if sens is not None:
        text += "; " + sens.sentence.rstrip(".")
    return text + "."


__all__ = ["discover_insights", "InsightTable", "screen_features", "insight_sentence"]

"""CreativeStudy: a thin facade that runs the public functions in order and keeps their
results as plain tables (StudyResult), which save to and load from plain files.

The study knows nothing of the report: ``StudyResult.to_html`` hands itself to the writer
the report package registers (:mod:`creative_causal._hooks`).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from . import _hooks
from ._display import ResultMixin, json_safe
from ._validation import (
    check_choice,
    check_fraction,
    check_int,
    check_level,
    check_n_jobs,
    check_output_dir,
    draw_seed,
    make_dirs,
)
from .exceptions import (
    CreativeCausalError,
    CreativeCausalWarning,
    EstimationError,
    FeatureError,
    GraphError,
    InvalidParameterError,
    StudyFileError,
    UnknownNameError,
)
from .plotting import forest_plot

if TYPE_CHECKING:
    import matplotlib.axes

#: Mediation questions asked by default when both columns are present (the source work's).
DEFAULT_MEDIATION = (("n_faces", "face_area"),)

#: The tables of a saved study: file stem -> (required columns, numeric columns, boolean columns).
#: A table without required columns may be empty (no segments asked for, no binary feature...).
_SCHEMA: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "insights": (("feature", "sentence", "discovery"),
                 ("effect", "std_error", "ci_low", "ci_high", "pct_change", "pct_ci_low", "pct_ci_high", "sd",
                  "effect_per_sd", "per_sd_ci_low", "per_sd_ci_high", "p_value", "q_value", "robustness_value",
                  "e_value", "n_cells", "n_tests"), ("discovery",)),
    "segments": ((), ("value", "ci_low", "ci_high", "std_error", "p_value", "n_cells", "n_tests"), ()),
    "screening": ((), ("association", "importance", "screen_rank"), ()),
    "refutations": ((), ("original", "refuted", "low", "high", "p_value", "n_simulations"), ()),
    "sensitivity": ((), ("e_value", "e_value_ci", "robustness_value", "robustness_value_ci", "sd_ratio"), ()),
    "benchmarks": ((), ("r2_with_treatment", "r2_with_outcome", "r2_treatment_bound", "r2_outcome_bound", "bias",
                        "adjusted", "adjusted_low", "adjusted_high"), ("explains_away",)),
    "mediation": ((), ("value", "ci_low", "ci_high"), ()),
    "mediation_steps": ((), ("value", "std_error", "p_value"), ()),
    "overlap": ((), ("n_cells", "share_treated", "informative_tests", "share_extreme"), ("overlap",)),
    "propensity": ((), ("propensity", "treated"), ()),
    "data_quality": ((), (), ()),
    "srm": ((), ("p_value", "p_adjusted"), ("mismatch",)),
    "feature_errors": ((), (), ()),
    "artworks": ((), ("impressions", "plays"), ()),
}
_TABLES = tuple(_SCHEMA)
#: Columns read as text exactly as written (ids keep leading zeros and literal "NA"), in every
#: table, and in one table each (a column name that means a number elsewhere).
_ID_COLUMNS = ("artwork_id", "test_id", "title_id", "cell_id", "feature", "id", "segment", "covariate", "treatment",
               "mediator", "test")
_TABLE_ID_COLUMNS = {"overlap": ("level",),
                     "insights": ("estimand", "outcome_model", "treatment_model", "nuisance_warnings", "warnings")}
#: Settings every saved study records, with their type.
_CONFIG_KEYS = {"outcome": str, "level": float, "fdr": float, "treatments": list, "n_cells": int, "n_tests": int}


@dataclass(frozen=True)
class StudyResult(ResultMixin):
    """Everything a study found, as plain tables.

    Attributes
    ----------
    insights : DataFrame
        The ranked insight table (:class:`InsightTable.table`).
    segments, screening : DataFrame
        Per-segment effects; the hypothesis screening.
    refutations : DataFrame
        One row per feature and refutation test.
    sensitivity, benchmarks : DataFrame
        One row per feature; one row per feature and observed benchmark.
    mediation, mediation_steps : DataFrame
        Total, direct and indirect effects (with verdict and sentence) and Baron-Kenny steps.
    overlap, propensity : DataFrame
        Overlap per segment level for binary features, and per-cell propensities.
    data_quality, srm, feature_errors : DataFrame
        What was excluded or flagged (the warnings raised while the study ran among them),
        sample-ratio checks, images that failed extraction.
    artworks : DataFrame
        Per cell: artwork id, test id, outcome, the treatments and (when images were given)
        the image path, for thumbnails.
    graph_dot : str
        The causal graph in DOT (node roles kept).
    config : dict
        How the study was run (every setting, the seed, the interval level).
    insight_table : InsightTable or None
        The live result object (only in the session that ran the study; not saved).
    """

    insights: pd.DataFrame
    segments: pd.DataFrame
    screening: pd.DataFrame
    refutations: pd.DataFrame
    sensitivity: pd.DataFrame
    benchmarks: pd.DataFrame
    mediation: pd.DataFrame
    mediation_steps: pd.DataFrame
    overlap: pd.DataFrame
    propensity: pd.DataFrame
    data_quality: pd.DataFrame
    srm: pd.DataFrame
    feature_errors: pd.DataFrame
    artworks: pd.DataFrame
    graph_dot: str
    config: dict[str, Any]
    insight_table: Any = field(default=None, repr=False, compare=False)

    @property
    def level(self) -> float:
        """The interval level of every estimate in the study."""
        return float(self.config.get("level", 0.95))

    # ------------------------------------------------------------------ files
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write every table as CSV, the graph as ``graph.dot`` and the settings as
        ``config.json`` (plain files, never pickle). Returns the directory.

        Raises
        ------
        OutputPathError
            When the directory cannot be created or written (checked before writing).
        """
        out = make_dirs(check_output_dir(directory, "study folder"), "study folder")
        for name in _TABLES:
            getattr(self, name).to_csv(out / f"{name}.csv", index=False)
        (out / "graph.dot").write_text(self.graph_dot, encoding="utf-8")
        (out / "config.json").write_text(json.dumps(json_safe(self.config), indent=2) + "\n", encoding="utf-8")
        return out

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> StudyResult:
        """Read a directory written by :meth:`save`, checking every file.

        Raises
        ------
        StudyFileError
            A missing or unreadable file, a config that is not the saved JSON object, a table
            without its required columns, or text where numbers belong; the message names the
            file and the column.
        """
        src = Path(directory)
        if not src.is_dir():
            raise StudyFileError(f"{src}: not a directory; pass the folder written by StudyResult.save (or by "
                                 "`creative-causal analyze -o DIR`).")
        config = _load_config(src / "config.json")
        tables = {name: _load_table(src / f"{name}.csv", *_SCHEMA[name], ids=_ID_COLUMNS + _TABLE_ID_COLUMNS.get(name, ()))
                  for name in _TABLES}
        graph = src / "graph.dot"
        try:
            graph_dot = graph.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StudyFileError(f"{graph}: missing or unreadable ({type(exc).__name__}); the study folder is "
                                 "incomplete. Re-run the analysis or copy the whole folder.") from exc
        if graph_dot.strip():
            from .graph import CausalGraph

            try:
                CausalGraph.from_dot(graph_dot)
            except GraphError as exc:
                raise StudyFileError(f"{graph}: not a valid causal graph ({exc}).") from exc
        return cls(**tables, graph_dot=graph_dot, config=config)

    @classmethod
    def from_insights(cls, found: Any) -> StudyResult:
        """The tables of an :class:`InsightTable` (from :func:`discover_insights` run by hand) as
        a StudyResult, so it can be saved and reported like a whole study; the parts the sweep
        does not compute (overlap, mediation, thumbnails) are empty."""
        from .insights import InsightTable

        if not isinstance(found, InsightTable):
            raise InvalidParameterError(f"from_insights needs an InsightTable, got {type(found).__name__}.")
        estimates = list(found.estimates.values())
        empty = pd.DataFrame()
        config = dict(outcome=estimates[0].outcome if estimates else "log_take_rate_ratio", level=found.level,
                      fdr=found.fdr, correction=found.correction, treatments=list(found.table["feature"]),
                      n_cells=max((e.n_cells for e in estimates), default=0),
                      n_tests=max((e.n_tests for e in estimates), default=0), by=[], mediation=[])
        return cls(insights=found.table, segments=found.segments, screening=found.screening,
                   refutations=_concat([r.to_frame().assign(feature=f) for f, r in found.refutations.items()]),
                   sensitivity=_concat([s.to_frame().assign(feature=f, sd_ratio=s.sd_ratio)
                                        for f, s in found.sensitivities.items()]),
                   benchmarks=_concat([s.benchmarks.assign(feature=f) for f, s in found.sensitivities.items()]),
                   mediation=empty, mediation_steps=empty, overlap=empty, propensity=empty,
                   data_quality=pd.DataFrame(columns=["kind", "id", "detail", "excluded_from"]), srm=empty,
                   feature_errors=empty, artworks=empty, graph_dot="", config=config, insight_table=found)

    # ------------------------------------------------------------------ views
    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """One self-contained HTML report (plots and thumbnails embedded; works offline).

        The same as ``creative_causal.report.to_html(result, path)``.
        """
        return _hooks.writer("html")(self, path)

    def to_markdown(self, path: str | os.PathLike[str]) -> Path:
        """The report as Markdown (plots written next to it as PNG files)."""
        return _hooks.writer("markdown")(self, path)

    def summary(self) -> str:
        """The executive summary: what was compared, the top findings, the caveats."""
        return "\n".join(executive_summary(self))

    def to_frame(self) -> pd.DataFrame:
        """The ranked insight table (a copy)."""
        return self.insights.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: the settings, the summary and every table."""
        return json_safe({"config": self.config, "summary": executive_summary(self), "graph_dot": self.graph_dot,
                          **{name: getattr(self, name) for name in _TABLES}})

    def _card_title(self) -> str:
        return "Creative study"

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """The forest plot of every feature's effect (0 -> 1, or per within-test SD)."""
        if "effect_per_sd" not in self.insights:
            raise EstimationError("no feature was estimated in this study: nothing to plot.")
        return forest_plot(self.insights, ax, level=self.level)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StudyResult):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self) if f.compare)

    __hash__ = None  # type: ignore[assignment]


def _empty_as_missing(column: pd.Series) -> pd.Series:
    # map, not replace: pandas 2 warns that replace will stop downcasting object columns
    # (and pandas 3 holds text in its own str dtype, not object)
    if pd.api.types.is_numeric_dtype(column):
        return column
    return column.map(lambda v: np.nan if isinstance(v, str) and not v else v)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame):
        if a.empty and b.empty:
            return True
        # CSV has no empty string distinct from a missing value: compare them as equal
        a, b = (f.reset_index(drop=True).apply(_empty_as_missing) for f in (a, b))
        try:
            pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-9)
        except AssertionError:
            return False
        return True
    return bool(json_safe(a) == json_safe(b))


def _load_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise StudyFileError(f"{path.parent}: no config.json here; pass the folder written by StudyResult.save (or by "
                             "`creative-causal analyze -o DIR`).")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudyFileError(f"{path}: not valid JSON ({exc}); the file was changed by hand or damaged. Re-run the "
                             "analysis.") from exc
    if not isinstance(config, dict):
        raise StudyFileError(f"{path}: expected a JSON object of settings, found {type(config).__name__}.")
    for key, kind in _CONFIG_KEYS.items():
        value = config.get(key)
        ok = isinstance(value, kind) or (kind is float and isinstance(value, int) and not isinstance(value, bool))
        if not ok or isinstance(value, bool):
            raise StudyFileError(f"{path}: setting {key!r} should be a {kind.__name__}, found {value!r}. Re-run the "
                                 "analysis.")
    if not 0 < config["level"] < 1:
        raise StudyFileError(f"{path}: setting 'level' must lie between 0 and 1, found {config['level']!r}.")
    return config


def _load_table(path: Path, required: Sequence[str], numeric: Sequence[str], boolean: Sequence[str], *,
                ids: Sequence[str]) -> pd.DataFrame:
    from .experiments import read_table

    if not path.is_file():
        raise StudyFileError(f"{path}: missing; the study folder is incomplete. Re-run the analysis or copy the whole "
                             "folder.")
    if path.stat().st_size == 0 or not path.read_bytes().strip():
        frame = pd.DataFrame()
    else:
        try:
            frame, _ = read_table(path, what="study table", id_columns=ids)
        except CreativeCausalError as exc:
            raise StudyFileError(str(exc)) from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise StudyFileError(f"{path}: columns {missing} are missing; the file was changed by hand or damaged. Re-run "
                             "the analysis.")
    for column in numeric:
        if column in frame and not pd.api.types.is_numeric_dtype(frame[column]):
            converted = pd.to_numeric(frame[column], errors="coerce")
            bad = converted.isna() & frame[column].notna()
            if bad.any():
                raise StudyFileError(f"{path}: column {column!r} holds text where numbers belong (e.g. "
                                     f"{frame.loc[bad, column].iloc[0]!r} in row {int(np.flatnonzero(bad)[0]) + 2}). "
                                     "Re-run the analysis.")
            frame[column] = converted
    for column in boolean:
        if column in frame and frame[column].dtype != bool:
            text = frame[column].astype(str).str.strip().str.lower()
            if not text.isin(["true", "false", "1", "0", "1.0", "0.0"]).all():
                raise StudyFileError(f"{path}: column {column!r} should hold true/false values. Re-run the analysis.")
            frame[column] = text.isin(["true", "1", "1.0"])
    return frame


# ---------------------------------------------------------------------------- summary
#: Top insights that get sentences in the summary, thumbnails and per-segment plots.
TOP = 3


def discoveries(result: StudyResult) -> pd.DataFrame:
    """The insight rows that survived false-discovery control."""
    table = result.insights
    if table.empty or "discovery" not in table:
        return table.iloc[0:0]
    return table[table["discovery"].astype(bool)]


def not_estimated(result: StudyResult) -> pd.DataFrame:
    """The insight rows of features that could not be estimated (their reason in ``sentence``)."""
    table = result.insights
    if table.empty or "p_value" not in table:
        return table
    return table[table["p_value"].isna()]


def executive_summary(result: StudyResult) -> list[str]:
    """Plain sentences for creatives: the top findings with their uncertainty, then caveats
    (the last line)."""
    cfg = result.config
    found = discoveries(result)
    failed = not_estimated(result)
    lines = [f"We compared {cfg.get('n_cells', '?')} artworks across {cfg.get('n_tests', '?')} A/B tests, always "
             f"against other artwork for the same title, and tested {len(result.insights)} visual features; "
             f"{len(found)} have a reliable effect on how often people choose the title "
             f"(false discovery rate {cfg.get('fdr', 0.05):g}, {result.level:.0%} intervals)."]
    lines += [str(s) for s in found["sentence"].head(TOP)]
    caveats = []
    if len(failed):
        caveats.append(f"{len(failed)} features could not be estimated ({', '.join(map(str, failed['feature']))}); "
                       "the reasons are in the ranked table.")
    if "refutation" in result.insights:
        refuted = result.insights[result.insights["refutation"].astype(str).str.startswith("failed")]
        if len(refuted):
            caveats.append(f"Refutation checks failed for {', '.join(map(str, refuted['feature']))}: read those "
                           "findings with caution.")
    if "nuisance_warnings" in result.insights:
        warned = result.insights[result.insights["nuisance_warnings"].map(lambda v: "" if pd.isna(v) else str(v)) != ""]
        if len(warned):
            caveats.append(f"The confounder models were weak for {', '.join(map(str, warned['feature']))} (see Nuisance "
                           "models under Checks).")
    fragile = found[found["sentence"].astype(str).str.contains("would explain it away")]
    if len(fragile):
        caveats.append(f"{', '.join(map(str, fragile['feature']))} could be explained by a hidden factor as strong as "
                       "a measured one.")
    dq = result.data_quality
    if not dq.empty and "excluded_from" in dq:
        excluded = dq[dq["excluded_from"].map(lambda v: "" if pd.isna(v) else str(v)) != ""]
        if len(excluded):
            caveats.append(f"{len(excluded)} data-quality findings removed something from the analysis (see Data "
                           "quality).")
    if not result.feature_errors.empty:
        caveats.append(f"{len(result.feature_errors)} images could not be read and are not in the analysis.")
    caveats.append("These are average effects within tests: a finding says what tends to work for the same title, "
                   "not what every artwork will do; unmeasured differences between artworks can still bias them.")
    return lines + ["Caveats: " + " ".join(caveats)]


# ---------------------------------------------------------------------------- the study
class CreativeStudy:
    """Run a whole study: join the A/B results with the features, sweep every feature for
    causal insights (estimates, false-discovery control, refutations, sensitivity,
    per-segment effects), check overlap, test mediation, and keep it all as a
    :class:`StudyResult`.

    A thin facade over :meth:`ABResults.join`, :func:`discover_insights`, :func:`overlap`
    and :func:`mediation`: anything it does can be done with those directly.

    Parameters
    ----------
    ab_results : ABResults or path
        A/B results, or a CSV/TSV/Parquet file for :func:`read_ab_results`.
    features : DataFrame or path
        One row per artwork, indexed by artwork id (as :func:`extract_features` returns), or
        a Parquet/CSV file with an ``artwork_id`` column (read as text: ``00017`` stays).
    graph : CausalGraph, optional
        Default: :func:`creative_graph` of the joined data, with ``extra_edges``.
    treatments : list of str, optional
        Default: every feature that varies. Each must be an observed node of ``graph``.
    outcome : str, optional
        Default: ``log_take_rate_ratio``.
    by : str, list of str or "auto"
        Segments for per-segment effects. Default: ``genre`` when the data have it.
    extra_edges : iterable of (str, str)
        Edges added to the default graph (e.g. layout measurements caused by the faces).
    fdr : float, default=0.05
    correction : {"bh", "holm"}
    method : {"dml", "ols", "naive"}
    estimand : {"ate", "att", "ato", "plr"}, default="ate"
        What the effect of an on/off feature averages (see :func:`estimate_effect`);
        continuous features get the partially linear coefficient.
    model_y, model_t : scikit-learn estimators, optional
    cv : int, default=5
    level : float, default=0.95
        Interval level of every estimate.
    n_simulations : int, default=100
        Refutation simulations per test.
    mediation : list of (treatment, mediator) or "auto"
        Default: face count -> face size, when both are present.
    refute : bool, default=True
    images : mapping of artwork id -> image path, or a directory, optional
        For thumbnails in the report (a directory is searched for ``<artwork_id>.*``).
    n_jobs : int, default=1
        Features analysed in parallel processes.
    executor : dask.distributed.Client, optional
    random_state : int, Generator or None
        The seed actually used is kept in ``config["random_state"]``.

    Notes
    -----
    Warnings raised while the study runs (sample-ratio mismatches, trimmed strata, ...) are
    recorded in the result's ``data_quality`` table (kind ``warning``) and shown in the
    report; each is also issued once to the caller.

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> program = simulate_program(100, random_state=2)
    >>> result = CreativeStudy(program.ab_results(), program.artworks, treatments=["has_face", "symmetry"],
    ...                        random_state=0).run()
    >>> result.insights["feature"].tolist()
    ['has_face', 'symmetry']
    """

    def __init__(self, ab_results: Any, features: Any, *, graph: Any = None, treatments: Sequence[str] | None = None,
                 outcome: str | None = None, by: Sequence[str] | str | None = "auto",
                 extra_edges: Sequence[tuple[str, str]] = (), fdr: float = 0.05,
                 correction: Literal["bh", "holm"] = "bh", method: Literal["dml", "ols", "naive"] = "dml",
                 estimand: Literal["ate", "att", "ato", "plr"] = "ate", model_y: Any = None, model_t: Any = None,
                 cv: int = 5, level: float = 0.95,
                 n_simulations: int = 100, mediation: Sequence[tuple[str, str]] | str = "auto", refute: bool = True,
                 images: Mapping[str, Any] | str | os.PathLike[str] | None = None, n_jobs: int = 1,
                 executor: Any = None, random_state: Any = None) -> None:
        self.ab_results = ab_results
        self.features = features
        self.graph = graph
        self.treatments = treatments
        self.outcome = outcome
        self.by = by
        self.extra_edges = extra_edges
        self.fdr = fdr
        self.correction = correction
        self.method = method
        self.estimand = estimand
        self.model_y = model_y
        self.model_t = model_t
        self.cv = cv
        self.level = level
        self.n_simulations = n_simulations
        self.mediation = mediation
        self.refute = refute
        self.images = images
        self.n_jobs = n_jobs
        self.executor = executor
        self.random_state = random_state

    def _check(self) -> None:
        check_fraction(self.fdr, "fdr", example="0.05")
        check_choice(self.correction, "correction", ("bh", "holm"))
        check_choice(self.method, "method", ("dml", "ols", "naive"))
        check_choice(self.estimand, "estimand", ("ate", "att", "ato", "plr"))
        check_int(self.cv, "cv", minimum=2)
        check_level(self.level)
        check_int(self.n_simulations, "n_simulations", minimum=2)
        check_n_jobs(self.n_jobs)
        if not (self.mediation == "auto" or (not isinstance(self.mediation, str)
                                             and all(len(p) == 2 for p in self.mediation))):
            raise InvalidParameterError(f"mediation must be 'auto' or a list of (treatment, mediator) pairs; got "
                                        f"{self.mediation!r}.")

    def run(self) -> StudyResult:
        """Run every step and return the :class:`StudyResult`.

        Raises
        ------
        EstimationError
            When not one feature could be estimated (each feature's reason is in the message).
        GraphError
            When a requested treatment is not an observed node of the graph.
        """
        self._check()
        seed = draw_seed(self.random_state)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = self._run(seed)
        found = _unique_warnings(caught)
        rows = [dict(kind="warning", id=category.__name__, detail=message, excluded_from="")
                for category, message in found]
        if rows:
            quality = pd.concat([result.data_quality, pd.DataFrame(rows)], ignore_index=True)
            result = StudyResult(**{f.name: getattr(result, f.name) for f in fields(result) if f.name != "data_quality"},
                                 data_quality=quality)
        for category, message in found:  # once each, after the run, to the caller
            warnings.warn(message, category, stacklevel=2)
        return result

    def _run(self, seed: int) -> StudyResult:
        from sklearn.base import is_classifier

        from .estimation import mediation, overlap
        from .experiments import ABResults, read_ab_results
        from .graph import creative_graph
        from .insights import discover_insights

        ab = self.ab_results if isinstance(self.ab_results, ABResults) else read_ab_results(self.ab_results)
        features = _read_features(self.features)
        study = ab.join(features)
        outcome = self.outcome or study.outcome
        by = (["genre"] if "genre" in study.frame else []) if self.by == "auto" else self.by
        by = [by] if isinstance(by, str) else list(by or [])
        graph = self.graph if self.graph is not None else creative_graph(study, outcome=outcome,
                                                                          extra_edges=self.extra_edges)
        treatments = self.treatments
        if isinstance(treatments, str):
            treatments = [treatments]
        if treatments is not None:
            _check_treatments_in_graph(study, graph, treatments)
        found = discover_insights(study, treatments, graph=graph, outcome=outcome, fdr=self.fdr,
                                  correction=self.correction, by=by, refute=self.refute, method=self.method,
                                  estimand=self.estimand, model_y=self.model_y, model_t=self.model_t, cv=self.cv,
                                  level=self.level,
                                  n_simulations=self.n_simulations, n_jobs=self.n_jobs, executor=self.executor,
                                  random_state=seed)
        if not found.estimates:
            reasons = "; ".join(str(s) for s in found.table["sentence"])
            raise EstimationError(f"no feature could be estimated: {reasons}")
        treatments = list(found.table["feature"])
        quality_rows: list[dict[str, str]] = []
        overlap_rows, propensity_rows = [], []
        for feature, est in found.estimates.items():
            if est.scale != "0 -> 1":
                continue
            try:
                # the propensity needs a classifier: a regressor given for the estimates is not used here
                model_t = self.model_t if self.model_t is not None and is_classifier(self.model_t) else None
                diag = overlap(study, feature, graph=graph, model_t=model_t, cv=self.cv, random_state=seed)
            except CreativeCausalError as exc:
                quality_rows.append(dict(kind="overlap_not_computed", id=feature, detail=f"{type(exc).__name__}: {exc}",
                                         excluded_from=""))
                continue
            overlap_rows.append(diag.by_segment.assign(feature=feature, share_extreme=diag.share_extreme))
            propensity_rows.append(diag.cells[["propensity", "treated"]].assign(feature=feature))
        pairs = ([p for p in DEFAULT_MEDIATION if set(p) <= set(study.frame.columns)] if self.mediation == "auto"
                 else [tuple(p) for p in self.mediation])
        effects, steps = [], []
        for treatment, mediator in pairs:
            try:
                m = mediation(study, treatment, mediator, outcome=outcome, graph=graph, model_y=self.model_y,
                              model_t=self.model_t, cv=self.cv, level=self.level, random_state=seed)
            except CreativeCausalError as exc:
                effects.append(dict(treatment=treatment, mediator=mediator, effect="error", verdict="not estimated",
                                    sentence=f"{type(exc).__name__}: {exc}"))
                continue
            effects += m.to_frame().assign(verdict=m.verdict, sentence=m.sentence).to_dict("records")
            steps += m.steps.assign(treatment=treatment, mediator=mediator).to_dict("records")
        frame = study.frame
        keep = [c for c in ("artwork_id", "test_id", "title_id", "genre", outcome, "impressions", "plays", *treatments)
                if c in frame]
        artworks = frame[list(dict.fromkeys(keep))].copy()
        if "artwork_id" in artworks and self.images is not None:
            artworks["image"] = artworks["artwork_id"].map(_image_paths(self.images, artworks["artwork_id"]))
        srm = ab.srm(warn=False)
        errors = getattr(features, "errors", None)
        config = dict(outcome=outcome, by=list(by), fdr=self.fdr, correction=self.correction, level=found.level,
                      method=self.method, estimand=self.estimand, cv=self.cv, n_simulations=self.n_simulations,
                      treatments=treatments,
                      features=list(study.features), covariates=list(study.covariates),
                      mediation=[list(p) for p in pairs], refute=self.refute, random_state=seed,
                      n_cells=int(study.n_units), n_tests=int(study.n_clusters),
                      source_ab=str(self.ab_results) if not isinstance(self.ab_results, ABResults) else ab.source,
                      images=self.images is not None)
        quality = study.data_quality
        if quality_rows:
            quality = pd.concat([quality, pd.DataFrame(quality_rows)], ignore_index=True)
        return StudyResult(
            insights=found.table, segments=found.segments, screening=found.screening,
            refutations=_concat([r.to_frame().assign(feature=f) for f, r in found.refutations.items()]),
            sensitivity=_concat([s.to_frame().assign(feature=f, sd_ratio=s.sd_ratio)
                                 for f, s in found.sensitivities.items()]),
            benchmarks=_concat([s.benchmarks.assign(feature=f) for f, s in found.sensitivities.items()]),
            mediation=pd.DataFrame(effects), mediation_steps=pd.DataFrame(steps), overlap=_concat(overlap_rows),
            propensity=_concat(propensity_rows), data_quality=quality, srm=srm,
            feature_errors=errors.reset_index(drop=True) if isinstance(errors, pd.DataFrame) else pd.DataFrame(),
            artworks=artworks, graph_dot=graph.to_dot(), config=config, insight_table=found)


def _unique_warnings(caught: list[warnings.WarningMessage]) -> list[tuple[type[Warning], str]]:
    """Each (category, message) once, in order; the library's own and everything else alike
    (nothing is silenced: a warning from a dependency is as much a finding)."""
    seen: dict[tuple[type[Warning], str], None] = {}
    for w in caught:
        seen.setdefault((w.category, str(w.message)), None)
    # the library's warnings first: they are about the data
    return sorted(seen, key=lambda cm: not issubclass(cm[0], CreativeCausalWarning))


def _check_treatments_in_graph(study: Any, graph: Any, treatments: Sequence[str]) -> None:
    from ._validation import did_you_mean

    nodes = set(map(str, graph.nodes))
    latent = set(map(str, graph.latent))
    for t in treatments:
        if not isinstance(t, str) or t not in study.frame:
            raise UnknownNameError(f"treatment {t!r} is not a column of the data.{study.why_missing(str(t))}")
        if t not in nodes:
            raise GraphError(f"treatment {t!r} is not a node of the causal graph.{did_you_mean(t, nodes)} Add it to the "
                             "graph (with its causes and an edge to the outcome), or leave it out of the treatments.")
        if t in latent:
            raise GraphError(f"treatment {t!r} is a latent (unobserved) node of the graph; effects are estimated for "
                             "observed features. Mark it observed or leave it out of the treatments.")


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _read_features(features: Any) -> pd.DataFrame:
    if isinstance(features, pd.DataFrame):
        return features
    if not isinstance(features, (str, os.PathLike)):
        raise InvalidParameterError(f"features must be a DataFrame or the path of a features file, got "
                                    f"{type(features).__name__}.")
    from .experiments import read_table

    frame, _ = read_table(features, what="features", id_columns=["artwork_id"])
    if "artwork_id" not in frame:
        raise FeatureError(f"{features}: no artwork_id column; the features need one row per artwork id (the file "
                           "written by `creative-causal extract` has one).")
    return frame.set_index("artwork_id")


def _image_paths(images: Any, ids: pd.Series) -> dict[str, str]:
    if isinstance(images, Mapping):
        return {str(k): str(v) for k, v in images.items()}
    folder = Path(images)
    if not folder.is_dir():
        raise FeatureError(f"images={folder} is neither a mapping of artwork id to image path nor a directory of "
                           "images; pass the folder the posters are in.")
    from .features import IMAGE_EXTENSIONS

    found = {p.stem: str(p) for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS}
    return {i: found[i] for i in ids.astype(str) if i in found}


__all__ = ["CreativeStudy", "StudyResult", "DEFAULT_MEDIATION", "executive_summary", "discoveries", "not_estimated"]

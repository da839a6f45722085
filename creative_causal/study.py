"""CreativeStudy: a thin facade that runs the public functions in order and keeps their
results as plain tables (StudyResult), which save to and load from plain files."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from .exceptions import CreativeCausalError, EstimationError, ExperimentDataError

#: Mediation questions asked by default when both columns are present (the source work's).
DEFAULT_MEDIATION = (("n_faces", "face_area"),)
_TABLES = ("insights", "segments", "screening", "refutations", "sensitivity", "benchmarks", "mediation",
           "mediation_steps", "overlap", "propensity", "data_quality", "srm", "feature_errors", "artworks")


@dataclass(frozen=True)
class StudyResult:
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
        What was excluded or flagged, sample-ratio checks, images that failed extraction.
    artworks : DataFrame
        Per cell: artwork id, test id, outcome, the treatments and (when images were given)
        the image path, for thumbnails.
    graph_dot : str
        The causal graph in DOT.
    config : dict
        How the study was run.
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

    # ------------------------------------------------------------------ files
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write every table as CSV, the graph as ``graph.dot`` and the settings as
        ``config.json`` (plain files, never pickle). Returns the directory."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name in _TABLES:
            getattr(self, name).to_csv(out / f"{name}.csv", index=False)
        (out / "graph.dot").write_text(self.graph_dot, encoding="utf-8")
        (out / "config.json").write_text(json.dumps(self.config, indent=2, default=str) + "\n", encoding="utf-8")
        return out

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> StudyResult:
        """Read a directory written by :meth:`save`."""
        src = Path(directory)
        if not (src / "config.json").is_file():
            raise ExperimentDataError(f"{src}: no config.json here; pass the directory written by StudyResult.save "
                                      "(or by `creative-causal analyze -o DIR`).")
        tables = {}
        for name in _TABLES:
            path = src / f"{name}.csv"
            try:
                tables[name] = pd.read_csv(path, keep_default_na=True)
            except pd.errors.EmptyDataError:
                tables[name] = pd.DataFrame()
            except FileNotFoundError:
                raise ExperimentDataError(f"{path} is missing; the study directory is incomplete. Re-run the "
                                          "analysis or copy the whole directory.") from None
        return cls(**tables, graph_dot=(src / "graph.dot").read_text(encoding="utf-8"),
                   config=json.loads((src / "config.json").read_text(encoding="utf-8")))

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """One self-contained HTML report (plots and thumbnails embedded; works offline)."""
        from .report import write_html

        return write_html(self, path)

    def to_markdown(self, path: str | os.PathLike[str]) -> Path:
        """The report as Markdown (plots written next to it as PNG files)."""
        from .report import write_markdown

        return write_markdown(self, path)

    def summary(self) -> str:
        from .report import executive_summary

        return "\n".join(executive_summary(self))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StudyResult):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self) if f.compare)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame):
        if a.empty and b.empty:
            return True
        # CSV has no empty string distinct from a missing value: compare them as equal
        a, b = (f.reset_index(drop=True).replace("", float("nan")) for f in (a, b))
        try:
            pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-9)
        except AssertionError:
            return False
        return True
    return bool(a == b)


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
        a Parquet/CSV file with an ``artwork_id`` column.
    graph : CausalGraph, optional
        Default: :func:`creative_graph` for each feature.
    treatments : list of str, optional
        Default: every feature that varies.
    outcome : str, optional
        Default: ``log_take_rate_ratio``.
    by : str or list of str, optional
        Segments for per-segment effects. Default: ``genre`` when the data have it.
    mediation : list of (treatment, mediator) or "auto"
        Default: face count -> face size, when both are present.
    images : mapping of artwork id -> image path, or a directory, optional
        For thumbnails in the report (a directory is searched for ``<artwork_id>.*``).
    random_state : int, optional

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> program = simulate_program(100, seed=2)
    >>> result = CreativeStudy(program.ab_results(), program.artworks, treatments=["has_face", "symmetry"],
    ...                        random_state=0).run()
    >>> result.insights["feature"].tolist()
    ['has_face', 'symmetry']
    """

    def __init__(self, ab_results: Any, features: Any, graph: Any = None, treatments: Sequence[str] | None = None,
                 outcome: str | None = None, by: Sequence[str] | str | None = "auto", *, fdr: float = 0.05,
                 mediation: Sequence[tuple[str, str]] | str = "auto", refute: bool = True,
                 images: Mapping[str, Any] | str | os.PathLike[str] | None = None, n_jobs: int = 1,
                 executor: Any = None, random_state: int | None = None) -> None:
        self.ab_results = ab_results
        self.features = features
        self.graph = graph
        self.treatments = treatments
        self.outcome = outcome
        self.by = by
        self.fdr = fdr
        self.mediation = mediation
        self.refute = refute
        self.images = images
        self.n_jobs = n_jobs
        self.executor = executor
        self.random_state = random_state

    def run(self) -> StudyResult:
        from . import discover_insights, mediation, overlap
        from .experiments import ABResults, read_ab_results

        ab = self.ab_results if isinstance(self.ab_results, ABResults) else read_ab_results(self.ab_results)
        features = _read_features(self.features)
        study = ab.join(features)
        outcome = self.outcome or study.outcome
        by = self.by
        if by == "auto":
            by = ["genre"] if "genre" in study.frame else []
        found = discover_insights(study, self.treatments, self.graph, outcome=outcome, fdr=self.fdr, by=by,
                                  refute=self.refute, n_jobs=self.n_jobs, executor=self.executor,
                                  random_state=self.random_state)
        treatments = list(found.table["feature"])
        overlap_rows, propensity_rows = [], []
        for feature, est in found.estimates.items():
            if est.scale != "0 -> 1":
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    diag = overlap(study, feature, graph=self.graph, random_state=self.random_state)
            except CreativeCausalError:
                continue
            overlap_rows.append(diag.by_segment.assign(feature=feature, share_extreme=diag.share_extreme))
            propensity_rows.append(diag.cells[["propensity", "treated"]].assign(feature=feature))
        pairs = ([p for p in DEFAULT_MEDIATION if set(p) <= set(study.frame.columns)] if self.mediation == "auto"
                 else list(self.mediation))
        effects, steps = [], []
        for treatment, mediator in pairs:
            try:
                m = mediation(study, treatment, mediator, outcome, graph=self.graph, random_state=self.random_state)
            except CreativeCausalError as exc:
                effects.append(dict(treatment=treatment, mediator=mediator, effect="error", verdict="not estimated",
                                    sentence=f"{type(exc).__name__}: {exc}"))
                continue
            effects += m.to_frame().assign(verdict=m.verdict, sentence=m.sentence).to_dict("records")
            steps += m.steps.assign(treatment=treatment, mediator=mediator).to_dict("records")
        graph = self.graph
        if graph is None:
            from .graph import creative_graph

            graph = creative_graph(study, treatments[0] if treatments else None, outcome)
        frame = study.frame
        id_col = "artwork_id" if "artwork_id" in frame else None
        keep = [c for c in ("artwork_id", "test_id", "title_id", "genre", outcome, "impressions", "plays", *treatments)
                if c in frame]
        artworks = frame[list(dict.fromkeys(keep))].copy()
        if id_col and self.images is not None:
            artworks["image"] = artworks[id_col].map(_image_paths(self.images, artworks[id_col]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            srm = ab.srm(warn=False)
        errors = getattr(features, "errors", None)
        config = dict(outcome=outcome, by=list(by), fdr=self.fdr, correction="bh", level=found.level,
                      treatments=treatments, mediation=[list(p) for p in pairs], refute=self.refute,
                      random_state=self.random_state, n_cells=int(study.n_units), n_tests=int(study.n_clusters),
                      source_ab=str(self.ab_results) if not isinstance(self.ab_results, ABResults) else "ABResults",
                      images=bool(self.images))
        return StudyResult(
            insights=found.table, segments=found.segments, screening=found.screening,
            refutations=_concat([r.to_frame().assign(feature=f) for f, r in found.refutations.items()]),
            sensitivity=_concat([s.to_frame().assign(feature=f, sd_ratio=s.sd_ratio) for f, s in found.sensitivities.items()]),
            benchmarks=_concat([s.benchmarks.assign(feature=f) for f, s in found.sensitivities.items()]),
            mediation=pd.DataFrame(effects), mediation_steps=pd.DataFrame(steps), overlap=_concat(overlap_rows),
            propensity=_concat(propensity_rows), data_quality=study.data_quality, srm=srm,
            feature_errors=errors.reset_index() if isinstance(errors, pd.DataFrame) else pd.DataFrame(),
            artworks=artworks, graph_dot=graph.to_dot(), config=config, insight_table=found)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _read_features(features: Any) -> pd.DataFrame:
    if isinstance(features, pd.DataFrame):
        return features
    path = Path(features)
    if not path.is_file():
        raise ExperimentDataError(f"features file {path} not found; pass a DataFrame or the file written by "
                                  "`creative-causal extract`.")
    frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    if "artwork_id" in frame:
        frame = frame.set_index("artwork_id")
    elif frame.index.name != "artwork_id":
        raise ExperimentDataError(f"{path}: no artwork_id column; the features need one row per artwork id.")
    frame.index = frame.index.astype(str)
    return frame


def _image_paths(images: Any, ids: pd.Series) -> dict[str, str]:
    if isinstance(images, Mapping):
        return {str(k): str(v) for k, v in images.items()}
    folder = Path(images)
    if not folder.is_dir():
        raise EstimationError(f"images={folder} is neither a mapping nor a directory of images.")
    from .features._io import IMAGE_EXTENSIONS

    found = {p.stem: str(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS}
    return {i: found[i] for i in ids.astype(str) if i in found}


__all__ = ["CreativeStudy", "StudyResult", "DEFAULT_MEDIATION"]

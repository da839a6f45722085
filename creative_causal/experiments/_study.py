"""StudyData: one row per cell with outcome, weight, cluster, title covariates and features."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._validation import check_columns, did_you_mean
from ..exceptions import DataQualityWarning, ExperimentDataError, InvalidParameterError, UnknownNameError
from ._validate import ARTWORK, CELL, IMPRESSIONS, TEST

if TYPE_CHECKING:
    from ._results import ABResults

_QUALITY_COLUMNS = ["kind", "id", "detail", "excluded_from"]
#: The outcome columns on the log take-rate scale: effects on them read as % changes.
LOG_OUTCOMES = frozenset({"log_take_rate_ratio", "log_take_rate"})
# What each finding removes the unit from ("" = flagged only, still analysed).
_EXCLUDED_FROM = {"non_numeric_feature": "analysis", "missing_feature_values": "analysis",
                  "features_without_cells": "analysis", "cell_without_features": "analysis",
                  "single_cell_test": "within-test analysis"}


class StudyData:
    """The analysis table: one row per unit (a cell), with the roles an estimator needs.

    Build it with :meth:`ABResults.join` (A/B results plus image features) or, for plain
    tabular data without tests, with :meth:`from_frame`.

    Attributes
    ----------
    outcome : str
        Outcome column (default ``log_take_rate_ratio``).
    weight : str or None
        Precision weight column (impressions), or None.
    cluster : str or None
        Cluster column (the test id), or None.
    features : tuple of str
        Artwork feature columns (candidate treatments and artwork-level confounders).
    covariates : tuple of str
        Title-level covariates.
    segments : tuple of str
        Columns for per-segment breakdowns (categorical covariates and audience segments).
    data_quality : DataFrame
        Every finding (``kind``, ``id``, ``detail``, ``excluded_from``): what was left out
        of the analysis or of within-test analysis, and what was only flagged (sample-ratio
        mismatches, ignored columns).
    exclusions : DataFrame
        The findings that removed something (``excluded_from`` not empty).

    Examples
    --------
    >>> import pandas as pd
    >>> sd = StudyData.from_frame(pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [0, 1, 1]}), outcome="y")
    >>> sd.features, sd.n_units
    (('x',), 3)
    """

    __slots__ = ("_frame", "outcome", "weight", "cluster", "features", "covariates", "segments", "_quality")

    def __init__(self, frame: pd.DataFrame, *, outcome: str, weight: str | None, cluster: str | None,
                 features: Sequence[str], covariates: Sequence[str] = (), segments: Sequence[str] = (),
                 data_quality: pd.DataFrame | None = None) -> None:
        self._frame = frame
        self.outcome = outcome
        self.weight = weight
        self.cluster = cluster
        self.features = tuple(features)
        self.covariates = tuple(covariates)
        self.segments = tuple(segments)
        self._quality = data_quality if data_quality is not None else pd.DataFrame(columns=_QUALITY_COLUMNS)

    @classmethod
    def from_frame(cls, data: pd.DataFrame, *, outcome: str, features: Sequence[str] | None = None,
                   weight: str | None = None, cluster: str | None = None,
                   covariates: Sequence[str] = (), segments: Sequence[str] = ()) -> StudyData:
        """Wrap a plain table (no A/B tests needed) for the estimators.

        Parameters
        ----------
        data : DataFrame
            One row per unit; copied, never modified.
        outcome : str
            Outcome column (numeric).
        features : list of str, optional
            Candidate treatments and unit-level confounders. Default: every numeric column
            that is not the outcome, weight, cluster, a covariate or a segment.
        weight, cluster : str, optional
            Precision weights and cluster ids.
        covariates, segments : list of str
            Cluster-level covariates and segment columns.
        """
        if not isinstance(data, pd.DataFrame):
            raise InvalidParameterError(f"StudyData.from_frame needs a pandas DataFrame, got {type(data).__name__}.")
        roles = {"outcome": outcome, **({"weight": weight} if weight else {}), **({"cluster": cluster} if cluster else {})}
        check_columns(data, roles, "StudyData", ExperimentDataError)
        for name in [*covariates, *segments, *(features or [])]:
            check_columns(data, {"feature or covariate": name}, "StudyData", ExperimentDataError)
        taken = {outcome, weight, cluster, *covariates, *segments}
        if features is None:
            features = [c for c in data.columns if c not in taken and pd.api.types.is_numeric_dtype(data[c])]
        if not pd.api.types.is_numeric_dtype(data[outcome]):
            raise ExperimentDataError(f"StudyData: outcome column {outcome!r} is not numeric; convert it first.")
        frame = data.copy()
        if cluster is None:
            return cls(frame, outcome=outcome, weight=weight, cluster=None, features=features,
                       covariates=covariates, segments=segments)
        frame["n_cells_in_test"] = frame.groupby(cluster, sort=False)[outcome].transform("size")
        return cls(frame, outcome=outcome, weight=weight, cluster=cluster, features=features,
                   covariates=covariates, segments=segments)

    # ------------------------------------------------------------------ access
    @property
    def frame(self) -> pd.DataFrame:
        """The analysis table (a copy)."""
        return self._frame.copy()

    def to_frame(self) -> pd.DataFrame:
        """The analysis table (a copy); same as :attr:`frame`."""
        return self._frame.copy()

    @property
    def data_quality(self) -> pd.DataFrame:
        """Every data-quality finding, excluded or only flagged (a copy)."""
        return self._quality.copy()

    @property
    def exclusions(self) -> pd.DataFrame:
        """What was left out of the analysis (or of within-test analysis) and why (a copy)."""
        return self._quality[self._quality["excluded_from"] != ""].reset_index(drop=True)

    @property
    def n_units(self) -> int:
        return len(self._frame)

    @property
    def n_clusters(self) -> int:
        return int(self._frame[self.cluster].nunique()) if self.cluster else len(self._frame)

    def column(self, name: str) -> pd.Series:
        """One column by name, with a did-you-mean for unknown names."""
        if name not in self._frame:
            raise UnknownNameError(
                f"StudyData: no column {name!r}.{self.why_missing(name)} "
                f"Features: {list(self.features)}; covariates: {list(self.covariates)}."
            )
        return self._frame[name]

    def why_missing(self, name: str) -> str:
        """Why ``name`` is not a column: dropped at the join (and why), or a did-you-mean.

        Examples
        --------
        >>> sd = StudyData.from_frame(pd.DataFrame({"y": [1.0, 2.0], "x": [0, 1]}), outcome="y")
        >>> sd.why_missing("xx")
        " Did you mean 'x'?"
        """
        q = self._quality
        dropped = q[(q["kind"] == "non_numeric_feature") & (q["id"].astype(str) == str(name))]
        if len(dropped):
            return (f" It was dropped when the features were joined: {dropped['detail'].iloc[0]}. Treatments must be "
                    "numbers (0/1 for on/off components).")
        return did_you_mean(str(name), map(str, self._frame.columns))

    def informative_clusters(self, treatment: str) -> pd.Index:
        """Clusters (tests) in which ``treatment`` takes more than one value: the only ones that
        carry information for a within-test comparison."""
        if not self.cluster:
            raise ExperimentDataError("StudyData has no cluster column: within-cluster comparisons need one.")
        varies = self.column(treatment).groupby(self._frame[self.cluster], sort=False).nunique() > 1
        return varies.index[varies.to_numpy()]

    def __repr__(self) -> str:
        return (f"StudyData({self.n_units} units, {self.n_clusters} clusters, outcome={self.outcome!r}, "
                f"{len(self.features)} features, {len(self.exclusions)} exclusions)")

    def summary(self) -> str:
        """Plain-text description: size, roles, and what was excluded."""
        lines = [repr(self), f"  features: {list(self.features)}", f"  title covariates: {list(self.covariates)}",
                 f"  segments: {list(self.segments)}"]
        for (kind, where), n in self._quality.groupby(["kind", "excluded_from"], sort=False).size().items():
            lines.append(f"  {kind.replace('_', ' ')}: {n}" + (f" (excluded from {where})" if where else " (flagged)"))
        return "\n".join(lines)


def join_features(results: ABResults, features: pd.DataFrame, *, artwork: str | None = None) -> StudyData:
    """Implementation of :meth:`ABResults.join`."""
    if not isinstance(features, pd.DataFrame):
        raise InvalidParameterError(f"features must be a DataFrame indexed by artwork id, got {type(features).__name__}.")
    table = features.copy()
    key = artwork or (ARTWORK if ARTWORK in table.columns else None)
    if key is not None:
        check_columns(table, {"artwork": key}, "features", ExperimentDataError)
        table = table.set_index(key)
    table.index = table.index.astype(str)
    table.index.name = ARTWORK
    dup = table.index.duplicated(keep=False)
    if dup.any():
        shown = sorted(set(table.index[dup]))[:5]
        raise ExperimentDataError(
            f"features: {int(dup.sum())} rows repeat an artwork id (e.g. {shown}). Keep one row of features "
            "per artwork (average repeated extractions, or fix the ids)."
        )
    cells = results.to_frame()
    clash = [c for c in table.columns if c in cells.columns]
    if clash:
        raise ExperimentDataError(
            f"features: columns {clash} also exist in the A/B results. Rename them in one of the tables before joining."
        )
    found: list[pd.DataFrame] = []

    def note(kind: str, ids: object, detail: object) -> None:
        ids = pd.Index(ids).astype(str)
        if len(ids):
            found.append(pd.DataFrame({"kind": kind, "id": ids, "detail": detail}))

    numeric = [c for c in table.columns if pd.api.types.is_bool_dtype(table[c]) or pd.api.types.is_numeric_dtype(table[c])]
    note("non_numeric_feature", [c for c in table.columns if c not in numeric],
         "not numeric: encode it (e.g. one-hot) to analyse it")
    table = table[numeric].astype(float)

    # missing and infinite values leave the artwork out (an infinite feature would reach the models)
    missing = table.isna() | np.isinf(table)
    incomplete = missing.any(axis=1).to_numpy()
    if incomplete.any():
        which = missing.loc[incomplete].apply(lambda row: list(row.index[row.to_numpy()][:5]), axis=1)
        note("missing_feature_values", which.index, ["missing or infinite values in " + str(m) for m in which])
    complete = table.loc[~incomplete]
    shared = complete.index.get_indexer(pd.Index(cells[ARTWORK].unique())) >= 0
    if not shared.any():
        raise ExperimentDataError(
            f"features: none of the {len(table)} artwork ids in the features matches one of the {cells[ARTWORK].nunique()} "
            f"artwork ids of the A/B results (features have e.g. {list(table.index[:3])}, the A/B results "
            f"{list(cells[ARTWORK].unique()[:3])}). Check that both files use the same ids"
            + (" and that every artwork has complete features." if len(table) and incomplete.all() else ".")
        )

    note("features_without_cells", table.index.difference(pd.Index(cells[ARTWORK].unique())),
         "artwork has features but appears in no cell")
    # Index.get_indexer hashes in C; Series.isin on pandas 3 string arrays iterates in Python.
    has_features = complete.index.get_indexer(cells[ARTWORK]) >= 0
    lacking = cells.loc[~has_features & (table.index.get_indexer(cells[ARTWORK]) < 0)]
    note("cell_without_features", lacking[TEST] + "/" + lacking[CELL],
         "artwork " + lacking[ARTWORK].map(repr) + " has no features")

    frame = cells.loc[has_features].join(complete, on=ARTWORK)
    frame["n_cells_in_test"] = frame.groupby(TEST, sort=False)[CELL].transform("size").to_numpy()
    frame["in_within_test"] = frame["n_cells_in_test"].to_numpy() >= 2
    note("single_cell_test", frame.loc[~frame["in_within_test"], TEST].unique(),
         "one analysable cell: kept for description, excluded from within-test analysis")
    report = results.report()
    found.append(report[report["kind"] != "single_cell_test"])
    frame = frame.reset_index(drop=True)
    quality = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=_QUALITY_COLUMNS[:3])
    quality["excluded_from"] = quality["kind"].map(_EXCLUDED_FROM).fillna("")
    dropped = quality["kind"].isin(["cell_without_features", "missing_feature_values"]).sum()
    if dropped:
        warnings.warn(
            f"join: {dropped} cells or artworks were left out because features are missing; see StudyData.exclusions.",
            DataQualityWarning, stacklevel=3,
        )
    cov = list(results.covariates)
    segments = [c for c in cov if not pd.api.types.is_numeric_dtype(frame[c])] + list(results.segments)
    from ._results import LOG_RATIO

    return StudyData(frame, outcome=LOG_RATIO, weight=IMPRESSIONS, cluster=TEST, features=numeric,
                     covariates=cov + list(results.segments), segments=segments, data_quality=quality)


def as_study_data(data: Any, outcome: str | None = None) -> StudyData:
    """A StudyData as it is, or a plain DataFrame wrapped with :meth:`StudyData.from_frame`.

    Raises
    ------
    InvalidParameterError
        For a DataFrame without ``outcome``, or anything else.
    """
    if isinstance(data, StudyData):
        return data
    if isinstance(data, pd.DataFrame):
        if outcome is None:
            raise InvalidParameterError("with a plain DataFrame, pass outcome='<column>' (or build a StudyData with "
                                        "ABResults.join or StudyData.from_frame).")
        return StudyData.from_frame(data, outcome=outcome)
    raise InvalidParameterError(f"data must be a StudyData (from ABResults.join) or a DataFrame, got "
                                f"{type(data).__name__}.")


__all__ = ["StudyData", "join_features", "as_study_data", "LOG_OUTCOMES"]

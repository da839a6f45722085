"""ABResults: validated per-cell A/B results and the statistics creatives read from them."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._validation import check_fraction, check_level
from ..exceptions import InvalidParameterError, SampleRatioMismatchWarning
from . import _rates
from ._srm import srm_table
from ._validate import (
    ALLOCATION,
    ARTWORK,
    CELL,
    CONTROL,
    IMPRESSIONS,
    PLAYS,
    TEST,
    TITLE,
    ColumnMap,
    is_hashable_column,
    validate_cells,
)

if TYPE_CHECKING:
    from ._study import StudyData

#: Name of the default outcome: log of the cell's take rate relative to its test's pooled take rate.
LOG_RATIO = "log_take_rate_ratio"
#: The cell's own log take rate (continuity-corrected): the outcome of pooled designs.
LOG_RATE = "log_take_rate"
#: The same comparison on the absolute scale, in percentage points.
DIFF_PP = "take_rate_diff_pp"


class ABResults:
    """Validated per-cell results of artwork A/B tests: one row per (test, cell).

    Build it with :meth:`from_frame`, :meth:`from_impressions` or :func:`read_ab_results`;
    the constructor is internal. The object never changes after construction and never
    holds a reference to the caller's DataFrame.

    Attributes
    ----------
    n_tests, n_cells : int
        Tests and cells loaded.
    covariates : tuple of str
        Title-level covariates (constant for an artwork wherever it appears).
    segments : tuple of str
        Audience-level columns (constant within a test, e.g. country).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"test_id": ["t1", "t1", "t2", "t2"], "cell_id": [1, 2, 1, 2],
    ...                    "artwork_id": ["a", "b", "c", "d"], "impressions": [1000, 1000, 800, 820],
    ...                    "plays": [50, 70, 30, 31], "genre": ["drama", "drama", "kids", "kids"]})
    >>> ab = ABResults.from_frame(df)
    >>> ab.n_tests, ab.n_cells, ab.covariates
    (2, 4, ('genre',))
    >>> ab.take_rates()["take_rate"].round(3).tolist()
    [0.05, 0.07, 0.038, 0.038]
    """

    __slots__ = ("_cells", "_columns", "_covariates", "_segments", "_findings", "_source", "_srm_alpha")

    def __init__(self, cells: pd.DataFrame, columns: ColumnMap, covariates: Sequence[str],
                 segments: Sequence[str], findings: Sequence[tuple[str, str, str]], source: str, srm_alpha: float) -> None:
        self._cells = cells
        self._columns = columns
        self._covariates = tuple(covariates)
        self._segments = tuple(segments)
        self._findings = tuple(findings)
        self._source = source
        self._srm_alpha = srm_alpha

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame,
        *,
        test: str = TEST,
        cell: str = CELL,
        artwork: str = ARTWORK,
        impressions: str = IMPRESSIONS,
        plays: str = PLAYS,
        control: str | None = None,
        title: str | None = None,
        allocation: str | None = None,
        covariates: Sequence[str] | None = None,
        segments: Sequence[str] | None = None,
        check_srm: bool = True,
        srm_alpha: float = 0.01,
        source: str = "A/B results",
        _row_offset: int | None = None,
        _findings: Sequence[tuple[str, str, str]] = (),
    ) -> ABResults:
        """Validate a table with one row per (test, cell).

        Parameters
        ----------
        data : DataFrame
            One row per cell. Never modified.
        test, cell, artwork, impressions, plays : str
            Column names of the test id, cell id (unique within a test), artwork id, and the
            cell's impression and play counts. Defaults: ``test_id``, ``cell_id``,
            ``artwork_id``, ``impressions``, ``plays``.
        control : str, optional
            Column flagging the control (default artwork) cell of each test (true/false,
            1/0). Found automatically when a column is named ``is_control``. Without one,
            lifts compare each cell with the rest of its test.
        title : str, optional
            Column with the title id (found automatically when named ``title_id``).
        allocation : str, optional
            Column with each cell's planned share of impressions (normalised within each
            test; found automatically when named ``planned_share``). Without it, the
            sample-ratio check assumes equal allocation.
        covariates : list of str, optional
            Title-level covariates (genre, popularity, ...). They must be constant within a
            test and for an artwork wherever it appears. Default: every remaining column that
            is constant within tests and for each artwork.
        segments : list of str, optional
            Audience-level columns (country, ...): constant within a test but allowed to
            differ between tests of the same artwork. Default: remaining columns that are
            constant within tests but differ for the same artwork.
        check_srm : bool, default=True
            Run :meth:`srm` and warn with :class:`SampleRatioMismatchWarning` naming the
            tests whose impressions do not split as planned.
        srm_alpha : float, default=0.01
            Programme-wide false-alarm rate of the sample-ratio check.
        source : str
            How messages name the data (e.g. the file path).

        Raises
        ------
        ExperimentDataError
            With the column, the offending rows and the fix, for a missing column, missing
            ids, non-numeric, negative or fractional counts, zero impressions, plays above
            impressions, a repeated (test, cell), conflicting covariates or an empty table.
        """
        if not isinstance(data, pd.DataFrame):
            raise InvalidParameterError(f"{source}: expected a pandas DataFrame, got {type(data).__name__}.")
        srm_alpha = check_fraction(srm_alpha, "srm_alpha", example="0.01")
        if control is None and CONTROL in data.columns and CONTROL not in (test, cell):
            control = CONTROL
        title = title if title is not None else (TITLE if TITLE in data.columns and TITLE not in (test, cell, artwork) else None)
        allocation = allocation if allocation is not None else (ALLOCATION if ALLOCATION in data.columns else None)
        columns = ColumnMap(test, cell, artwork, impressions, plays, control, title, allocation)
        mapped = set(columns.required().values())
        findings: list[tuple[str, str, str]] = list(_findings)
        if covariates is None or segments is None:
            auto_cov, auto_seg, ignored = _classify_extra_columns(data, columns, exclude=mapped)
            findings += ignored
            covariates = auto_cov if covariates is None else list(covariates)
            segments = [s for s in auto_seg if s not in covariates] if segments is None else list(segments)
            covariates = [c for c in covariates if c not in segments]
        cells, changed = validate_cells(data, columns, list(covariates), list(segments), source, _row_offset)
        findings += changed
        test_plays = cells.groupby(TEST, sort=False)[PLAYS].transform("sum").to_numpy()
        test_imps = cells.groupby(TEST, sort=False)[IMPRESSIONS].transform("sum").to_numpy()
        cells["n_cells_in_test"] = cells.groupby(TEST, sort=False)[CELL].transform("size").to_numpy()
        cells["take_rate"] = cells[PLAYS] / cells[IMPRESSIONS]
        cells[LOG_RATE] = _rates.log_take_rate(cells[PLAYS], cells[IMPRESSIONS])
        cells[LOG_RATIO] = _rates.log_take_rate(cells[PLAYS], cells[IMPRESSIONS]) - _rates.log_take_rate(test_plays, test_imps)
        cells[DIFF_PP] = 100.0 * (cells["take_rate"] - test_plays / test_imps)
        result = cls(cells, columns, covariates, segments, findings, source, srm_alpha)
        if check_srm:
            result.srm(warn=True)
        return result

    @classmethod
    def from_impressions(
        cls,
        log: pd.DataFrame | str | os.PathLike[str],
        *,
        test: str = TEST,
        cell: str = CELL,
        artwork: str = ARTWORK,
        played: str = "played",
        member: str | None = None,
        title: str | None = None,
        control: str | None = None,
        allocation: str | None = None,
        covariates: Sequence[str] | None = None,
        segments: Sequence[str] | None = None,
        extra: Sequence[str] = (),
        chunk_rows: int = 1_000_000,
        check_srm: bool = True,
        srm_alpha: float = 0.01,
    ) -> ABResults:
        """Aggregate an impression-level log (one row per impression) into cells.

        Parameters
        ----------
        log : DataFrame or path
            One row per impression (a DataFrame, a CSV or a Parquet file).
        test, cell, artwork, played, member, title, control, allocation, covariates, segments, extra, chunk_rows
            As in :func:`creative_causal.experiments.aggregate_impressions`.
        check_srm, srm_alpha
            As in :meth:`from_frame`.

        Notes
        -----
        Parquet logs are read in batches, so a log larger than memory can be aggregated;
        memory grows with the number of cells (and, with ``member``, with the number of
        distinct members per test).
        """
        from ._impressions import aggregate_impressions

        frame, crossover = aggregate_impressions(log, test=test, cell=cell, artwork=artwork, played=played, member=member,
                                                 title=title, control=control, allocation=allocation,
                                                 covariates=covariates, segments=segments, extra=extra,
                                                 chunk_rows=chunk_rows)
        source = "impression log" if isinstance(log, pd.DataFrame) else str(log)
        findings = [("members_in_several_cells", "", f"{crossover} (test, member) pairs saw more than one cell")
                    ] if crossover else []
        return cls.from_frame(frame, test=test, cell=cell, artwork=artwork, control=control, title=title,
                              allocation=allocation, covariates=covariates, segments=segments, check_srm=check_srm,
                              srm_alpha=srm_alpha, source=source, _findings=findings)

    # ------------------------------------------------------------------ basic properties
    @property
    def n_tests(self) -> int:
        return int(self._cells[TEST].nunique())

    @property
    def n_cells(self) -> int:
        return len(self._cells)

    @property
    def covariates(self) -> tuple[str, ...]:
        return self._covariates

    @property
    def segments(self) -> tuple[str, ...]:
        return self._segments

    @property
    def has_control(self) -> bool:
        return CONTROL in self._cells

    @property
    def source(self) -> str:
        return self._source

    def to_frame(self) -> pd.DataFrame:
        """The validated cells (a copy): canonical ids, counts, take rate, title-adjusted outcomes."""
        return self._cells.copy()

    cells = property(to_frame, doc="The validated cells as a new DataFrame (same as :meth:`to_frame`).")

    def __len__(self) -> int:
        return len(self._cells)

    def __repr__(self) -> str:
        return f"ABResults({self.n_tests} tests, {self.n_cells} cells, source={self._source!r})"

    # ------------------------------------------------------------------ statistics
    def take_rates(self, *, level: float = 0.95) -> pd.DataFrame:
        """Per-cell take rate with its Wilson interval and the title-adjusted outcomes.

        Columns: ids, ``impressions``, ``plays``, ``take_rate``, ``ci_low``, ``ci_high``,
        ``level``, ``log_take_rate_ratio`` (log of the cell's take rate over its test's pooled
        take rate, with the continuity correction of :data:`CONTINUITY`) and
        ``take_rate_diff_pp`` (the same comparison in percentage points).
        """
        level = check_level(level)
        c = self._cells
        low, high = _rates.wilson_interval(c[PLAYS], c[IMPRESSIONS], level=level)
        keep = [k for k in (TEST, CELL, ARTWORK, TITLE, CONTROL) if k in c]
        out = c[keep + [IMPRESSIONS, PLAYS, "take_rate"]].copy()
        out["ci_low"], out["ci_high"], out["level"] = low, high, level
        out[LOG_RATIO] = c[LOG_RATIO]
        out[DIFF_PP] = c[DIFF_PP]
        return out

    def lifts(self, *, level: float = 0.95) -> pd.DataFrame:
        """Lift of each cell over its test's control, or over the rest of its test without one.

        Without a control, each cell is compared with the pooled other cells of its test (the
        test mean without the cell itself), so the two groups compared are independent.
        p-values come from the pooled two-proportion z-test and are Holm-adjusted within each
        test (``significant`` at ``1 - level``); intervals at ``level`` for the relative lift
        come from the log rate ratio (delta method). Single-cell tests have no comparison:
        their lift is NaN with ``baseline`` saying why.
        """
        level = check_level(level)
        c = self._cells
        x = c[PLAYS].to_numpy(dtype=float)
        n = c[IMPRESSIONS].to_numpy(dtype=float)
        groups = c.groupby(TEST, sort=False)
        if self.has_control:
            is_ctrl = c[CONTROL].to_numpy()
            control_counts = c[[PLAYS, IMPRESSIONS]].mul(is_ctrl, axis=0).groupby(c[TEST], sort=False)
            bx = control_counts[PLAYS].transform("sum").to_numpy(dtype=float)
            bn = control_counts[IMPRESSIONS].transform("sum").to_numpy(dtype=float)
            compared = ~is_ctrl
            baseline = np.where(is_ctrl, "is the control", "control")
        else:
            bx = groups[PLAYS].transform("sum").to_numpy(dtype=float) - x
            bn = groups[IMPRESSIONS].transform("sum").to_numpy(dtype=float) - n
            compared = bn > 0
            baseline = np.full(len(c), "rest of test", dtype=object)
        single = c["n_cells_in_test"].to_numpy() < 2
        compared &= ~single
        baseline = np.where(single, "single-cell test", baseline)
        safe_bn = np.where(bn > 0, bn, 1.0)
        log_ratio, se, lo, hi = _rates.log_rate_ratio(x, n, bx, safe_bn, level=level)
        p = _rates.two_proportion_test(x, n, bx, safe_bn)
        out = c[[k for k in (TEST, CELL, ARTWORK) if k in c]].copy()
        out["take_rate"] = x / n
        out["baseline"] = baseline
        out["baseline_take_rate"] = np.where(bn > 0, bx / safe_bn, np.nan)
        out["lift"] = np.where(compared, np.expm1(log_ratio), np.nan)
        out["lift_low"] = np.where(compared, np.expm1(lo), np.nan)
        out["lift_high"] = np.where(compared, np.expm1(hi), np.nan)
        out["diff_pp"] = np.where(compared, 100 * (x / n - bx / safe_bn), np.nan)
        out["p_value"] = np.where(compared, p, np.nan)
        out["p_holm"] = _rates.holm(np.where(compared, p, np.nan), groups=c[TEST].to_numpy())
        out["significant"] = out["p_holm"].to_numpy() < 1 - level
        out["level"] = level
        return out

    def winners(self, *, level: float = 0.95) -> pd.DataFrame:
        """The best cell of each test (highest take rate) with its interval and its lift.

        ``confident`` is true when the winner's lift over its baseline is significant (at
        ``1 - level``) after Holm correction within the test; a control that wins is confident
        when no challenger is significantly better than it.
        """
        lifts = self.lifts(level=level)
        rates = self.take_rates(level=level)
        merged = lifts.join(rates[["ci_low", "ci_high"]])
        best = merged.loc[merged.groupby(TEST, sort=False)["take_rate"].idxmax()].copy()
        if self.has_control:
            is_ctrl = best["baseline"] == "is the control"
            any_better = lifts.groupby(TEST, sort=False)["significant"].any()
            best["confident"] = np.where(is_ctrl, ~best[TEST].map(any_better).to_numpy(dtype=bool),
                                         best["significant"].fillna(False).to_numpy(dtype=bool))
        else:
            best["confident"] = best["significant"].fillna(False).to_numpy(dtype=bool) & (best["lift"] > 0)
        best["confident"] &= best["baseline"] != "single-cell test"
        return best.rename(columns={CELL: "winner_cell", ARTWORK: "winner_artwork"}).reset_index(drop=True)

    def srm(self, *, alpha: float | None = None, warn: bool = True) -> pd.DataFrame:
        """Sample-ratio-mismatch check per test (chi-square against planned or equal shares).

        Parameters
        ----------
        alpha : float, optional
            Programme-wide false-alarm rate (Holm across tests); defaults to ``srm_alpha``.
        warn : bool, default=True
            Issue a :class:`SampleRatioMismatchWarning` naming the flagged tests.
        """
        table = srm_table(self._cells, self._srm_alpha if alpha is None else alpha)
        flagged = table.loc[table["mismatch"], TEST].tolist()
        if warn and flagged:
            shown = ", ".join(flagged[:10]) + (f" and {len(flagged) - 10} more" if len(flagged) > 10 else "")
            warnings.warn(
                f"{self._source}: impressions in {len(flagged)} test(s) do not split across cells as planned "
                f"(sample-ratio mismatch: {shown}). Their assignment may be broken; inspect them with "
                f".srm() before trusting their comparisons.",
                SampleRatioMismatchWarning,
                stacklevel=3,
            )
        return table

    def report(self) -> pd.DataFrame:
        """Data-quality report: one row per finding (kind, id, detail). Nothing is dropped silently.

        Kinds: ``single_cell_test`` (kept for description, excluded from within-test
        analysis), ``sample_ratio_mismatch``, ``no_plays`` (a test without a single play: its
        cells carry no information about take rates), ``ignored_column`` (a column that was
        neither mapped nor a covariate, because it varies within a test or holds lists),
        ``id_whitespace`` (ids whose surrounding spaces were removed) and
        ``members_in_several_cells`` (from impression logs with a member id).
        """
        rows = []
        single = self._cells.loc[self._cells["n_cells_in_test"] < 2, TEST].unique()
        rows += [("single_cell_test", t, "only one cell: no within-test comparison is possible") for t in single]
        srm = self.srm(warn=False)
        for t, p in srm.loc[srm["mismatch"], [TEST, "p_value"]].itertuples(index=False):
            rows.append(("sample_ratio_mismatch", t, f"impressions do not split as planned (p = {p:.2g})"))
        plays = self._cells.groupby(TEST, sort=False)[PLAYS].sum()
        rows += [("no_plays", t, "no plays in any cell: the test says nothing about which artwork works; check the "
                  "export") for t in plays.index[plays.to_numpy() == 0]]
        rows += list(self._findings)
        return pd.DataFrame(rows, columns=["kind", "id", "detail"])

    def summary(self) -> str:
        """A short plain-text description of the programme and its data quality."""
        c = self._cells
        rep = self.report()
        counts = rep["kind"].value_counts()
        pooled = c[PLAYS].sum() / c[IMPRESSIONS].sum()
        lines = [
            f"A/B results from {self._source}",
            f"  {self.n_tests} tests, {self.n_cells} cells, {int(c['artwork_id'].nunique())} artworks",
            f"  cells per test: {int(c.groupby(TEST).size().min())} to {int(c.groupby(TEST).size().max())}; "
            f"impressions {int(c[IMPRESSIONS].sum()):,}; plays {int(c[PLAYS].sum()):,}; pooled take rate {pooled:.2%}",
            f"  title covariates: {list(self._covariates) or 'none'}; segments: {list(self._segments) or 'none'}",
            f"  single-cell tests (excluded from within-test analysis): {int(counts.get('single_cell_test', 0))}",
            f"  sample-ratio mismatches: {int(counts.get('sample_ratio_mismatch', 0))}",
        ]
        if counts.get("ignored_column", 0):
            lines.append(f"  ignored columns: {rep.loc[rep.kind == 'ignored_column', 'id'].tolist()}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ join
    def join(self, features: pd.DataFrame, *, artwork: str | None = None) -> StudyData:
        """Join artwork features on the artwork id into a :class:`StudyData` (one row per cell).

        Parameters
        ----------
        features : DataFrame
            One row per artwork, indexed by artwork id (as :func:`extract_features` returns)
            or with an ``artwork_id`` column (or the column named by ``artwork``).
        artwork : str, optional
            Column of ``features`` holding the artwork id.

        Notes
        -----
        Cells whose artwork has no features (or has missing feature values) and features
        whose artwork appears in no cell are counted and listed in ``StudyData.exclusions``,
        never dropped silently.
        """
        from ._study import join_features

        return join_features(self, features, artwork=artwork)


def _classify_extra_columns(data: pd.DataFrame, columns: ColumnMap, exclude: set[str]
                            ) -> tuple[list[str], list[str], list[tuple[str, str, str]]]:
    """Sort unmapped columns into title covariates, segments and ignored ones (a column that
    varies within a test, or holds lists or dicts), with the reason each is ignored."""
    covariates, segments, ignored = [], [], []
    extra = [c for c in data.columns if c not in exclude]
    if not extra or columns.test not in data or columns.artwork not in data:
        return covariates, segments, [("ignored_column", str(c), "not classified: the key columns are missing")
                                      for c in extra]
    tests = data[columns.test]
    artworks = data[columns.artwork]
    if not (is_hashable_column(tests) and is_hashable_column(artworks)):
        return covariates, segments, []  # validation names the key column
    for col in extra:
        if not is_hashable_column(data[col]):
            ignored.append(("ignored_column", str(col), "holds lists, dicts or arrays: not a covariate"))
        elif data[col].groupby(tests.to_numpy(), sort=False).nunique(dropna=False).max() > 1:
            ignored.append(("ignored_column", str(col), "varies within a test: not a title covariate; join it as a "
                            "feature"))
        elif data[col].groupby(artworks.to_numpy(), sort=False).nunique(dropna=False).max() > 1:
            segments.append(col)
        else:
            covariates.append(col)
    return covariates, segments, ignored


def read_ab_results(
    path: str | os.PathLike[str],
    *,
    test: str = TEST,
    cell: str = CELL,
    artwork: str = ARTWORK,
    impressions: str = IMPRESSIONS,
    plays: str = PLAYS,
    control: str | None = None,
    title: str | None = None,
    allocation: str | None = None,
    covariates: Sequence[str] | None = None,
    segments: Sequence[str] | None = None,
    sep: str | None = None,
    check_srm: bool = True,
    srm_alpha: float = 0.01,
) -> ABResults:
    """Read per-cell A/B results from a CSV, TSV or Parquet file and validate them.

    Parameters
    ----------
    path : str or path-like
        ``.csv`` (optionally compressed, e.g. ``.csv.gz``), ``.tsv`` or ``.parquet``.
    test, cell, artwork, impressions, plays, control, title, allocation, covariates, segments
        Column mapping, as in :meth:`ABResults.from_frame`.
    sep : str, optional
        Field delimiter of a text file (default: tab for .tsv, comma otherwise).
    check_srm, srm_alpha
        As in :meth:`ABResults.from_frame`.

    Raises
    ------
    ExperimentDataError
        When the file is missing, unreadable or not what its name says (an Excel workbook, a
        gzip archive, another delimiter), or when its contents fail validation; row numbers
        in messages are the file's line numbers. Id columns are read as text exactly as
        written (``00017`` stays ``00017``; ``NA`` is an id).
    """
    from ._files import read_table

    path = Path(path)
    frame, offset = read_table(path, what="A/B results", id_columns=[c for c in (test, cell, artwork, title) if c],
                               required=[test, cell, artwork, impressions, plays], sep=sep)
    return ABResults.from_frame(frame, test=test, cell=cell, artwork=artwork, impressions=impressions, plays=plays,
                                control=control, title=title, allocation=allocation, covariates=covariates,
                                segments=segments, check_srm=check_srm, srm_alpha=srm_alpha, source=str(path),
                                _row_offset=offset)

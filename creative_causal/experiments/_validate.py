"""Validation of per-cell A/B results into a canonical frame.

Each check raises :class:`~creative_causal.exceptions.ExperimentDataError` naming the
source, the column, the offending rows (first few and a count) and the fix.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_columns, describe_rows
from ..exceptions import DataQualityWarning, ExperimentDataError, InvalidParameterError

# Canonical column names inside ABResults.
TEST, CELL, ARTWORK, IMPRESSIONS, PLAYS = "test_id", "cell_id", "artwork_id", "impressions", "plays"
CONTROL, TITLE, ALLOCATION = "is_control", "title_id", "planned_share"
KEYS = (TEST, CELL, ARTWORK)
COUNTS = (IMPRESSIONS, PLAYS)
#: Counts above this cannot be held exactly as numbers (2**53): a corrupt export, not a test.
MAX_COUNT = 2**53


def is_hashable_column(series: pd.Series) -> bool:
    """False when an object column holds lists, dicts, sets or arrays (a nested Parquet field)."""
    if series.dtype != object:
        return True
    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "integer", "floating", "boolean", "empty", "bytes",
                                                         "decimal", "mixed-integer-float", "datetime", "date"):
        return True  # scanned in C: plain values only
    return not series.map(lambda v: isinstance(v, (list, dict, set, np.ndarray, tuple))).any()


@dataclass(frozen=True)
class ColumnMap:
    """Where each role lives in the user's table (user column names)."""

    test: str = TEST
    cell: str = CELL
    artwork: str = ARTWORK
    impressions: str = IMPRESSIONS
    plays: str = PLAYS
    control: str | None = None
    title: str | None = None
    allocation: str | None = None

    def required(self) -> dict[str, str]:
        roles = {"test": self.test, "cell": self.cell, "artwork": self.artwork,
                 "impressions": self.impressions, "plays": self.plays}
        for role in ("control", "title", "allocation"):
            if getattr(self, role) is not None:
                roles[role] = getattr(self, role)
        return roles

    def canonical(self) -> dict[str, str]:
        """User column -> canonical column."""
        names = {"test": TEST, "cell": CELL, "artwork": ARTWORK, "impressions": IMPRESSIONS,
                 "plays": PLAYS, "control": CONTROL, "title": TITLE, "allocation": ALLOCATION}
        return {col: names[role] for role, col in self.required().items()}


class _Lines(list):
    """Row labels that are line numbers of a file (messages then say 'line')."""


def _fail(where: str, column: str, labels: list[object], problem: str, fix: str) -> ExperimentDataError:
    noun = "line" if isinstance(labels, _Lines) else "row"
    return ExperimentDataError(f"{where}: column {column!r} {problem} in {describe_rows(labels, noun=noun)}. {fix}")


def _row_labels(frame: pd.DataFrame, mask: np.ndarray, row_offset: int | None) -> list[object]:
    if row_offset is not None:  # positions in a file: data line = position + header lines + 1
        return _Lines(int(i) + row_offset for i in np.flatnonzero(mask))
    return list(frame.index[mask])


def validate_cells(
    data: pd.DataFrame,
    columns: ColumnMap,
    covariates: list[str],
    segments: list[str],
    where: str,
    row_offset: int | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, str, str]]]:
    """Validate ``data`` and return a new canonical frame (the caller's frame is never changed)
    and what was changed to load it (ids stripped of surrounding spaces), as report rows.

    ``row_offset`` turns positional row numbers into file line numbers in messages
    (2 for a CSV with a header: the first data row is line 2).
    """
    if not isinstance(data, pd.DataFrame):
        raise InvalidParameterError(f"{where}: expected a pandas DataFrame, got {type(data).__name__}.")
    if len(data) == 0:
        raise ExperimentDataError(
            f"{where}: the table is empty (no cells). Export at least one test with two or more cells."
        )
    check_columns(data, columns.required(), where, ExperimentDataError)
    for name in [*covariates, *segments]:
        check_columns(data, {"covariate": name}, where, ExperimentDataError)
    mapped = set(columns.required().values())
    clash = [c for c in [*covariates, *segments] if c in mapped]
    if clash:
        raise ExperimentDataError(
            f"{where}: {clash} is mapped as a key or count column and cannot also be a covariate or segment."
        )

    label = lambda mask: _row_labels(data, np.asarray(mask), row_offset)  # noqa: E731
    user = columns.required()

    # Key columns: plain values, no missing values.
    for name in [*columns.required().values(), *covariates, *segments]:
        if not is_hashable_column(data[name]):
            nested = data[name].map(lambda v: isinstance(v, (list, dict, set, np.ndarray, tuple))).to_numpy()
            raise _fail(where, name, label(nested), "holds lists, dicts or arrays",
                        "Each cell needs one plain value (a Parquet export may have nested fields): flatten the column.")
    for role in ("test", "cell", "artwork") + (("title",) if columns.title else ()):
        col = user[role]
        missing = (data[col].isna() | (data[col].astype(str).str.strip() == "")).to_numpy()
        if missing.any():
            raise _fail(where, col, label(missing), "is empty",
                        f"Every cell needs {'an' if role[0] in 'aeiou' else 'a'} {role} id: fill the missing values or drop "
                        "those rows before loading.")

    # Counts: numeric, finite, whole, non-negative; impressions > 0; plays <= impressions.
    counts: dict[str, np.ndarray] = {}
    for role in ("impressions", "plays"):
        col = user[role]
        values = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            shown = data[col][bad].head(3).tolist()
            raise _fail(where, col, label(bad), f"is not numeric (values such as {shown})",
                        f"{role.capitalize()} must be whole numbers: fix or remove those rows.")
        negative = values < 0
        if negative.any():
            raise _fail(where, col, label(negative), "is negative",
                        f"{role.capitalize()} are counts and cannot be below zero.")
        fractional = values != np.round(values)
        if fractional.any():
            raise _fail(where, col, label(fractional), "is not a whole number",
                        f"{role.capitalize()} are counts; if your export holds rates, pass counts instead.")
        huge = values >= MAX_COUNT
        if huge.any():
            raise _fail(where, col, label(huge), f"is implausibly large (values such as {data[col][huge].head(2).tolist()},"
                        f" at or above 2**53)", "Counts this large cannot be exact: check the export for corrupt values.")
        counts[role] = values
    zero = counts["impressions"] == 0
    if zero.any():
        raise _fail(where, user["impressions"], label(zero), "is zero",
                    "A cell with no impressions has no take rate: drop those cells before loading.")
    over = counts["plays"] > counts["impressions"]
    if over.any():
        raise _fail(where, user["plays"], label(over), f"is larger than {user['impressions']!r}",
                    "Plays cannot exceed impressions; check that the two columns are not swapped "
                    "and that plays are counted per impression.")

    frame = pd.DataFrame(index=pd.RangeIndex(len(data)))
    changed: list[tuple[str, str, str]] = []
    for role, canonical in (("test", TEST), ("cell", CELL), ("artwork", ARTWORK)) + ((("title", TITLE),) if columns.title
                                                                                       else ()):
        raw = data[user[role]].astype(str)
        stripped = raw.str.strip()
        differs = (raw != stripped).to_numpy()
        if differs.any():
            shown = sorted(set(raw[differs].map(repr)))[:5]
            changed.append(("id_whitespace", user[role], f"{int(differs.sum())} {role} ids had surrounding spaces, "
                            f"removed so that they match: {', '.join(shown)}"))
            warnings.warn(f"{where}: {int(differs.sum())} values of column {user[role]!r} had surrounding spaces "
                          f"({', '.join(shown)}); they were removed so that equal ids match. Fix the export to silence "
                          "this.", DataQualityWarning, stacklevel=4)
        frame[canonical] = stripped.to_numpy()
    frame[IMPRESSIONS] = counts["impressions"].astype(np.int64)
    frame[PLAYS] = counts["plays"].astype(np.int64)

    dup = frame.duplicated([TEST, CELL], keep=False).to_numpy()
    if dup.any():
        pairs = frame.loc[dup, [TEST, CELL]].drop_duplicates().head(3).itertuples(index=False)
        raise _fail(where, f"{user['test']}/{user['cell']}", label(dup),
                    f"repeats the same (test, cell) pair, e.g. {[tuple(p) for p in pairs]},",
                    "Each cell must appear once: aggregate rows per cell (sum impressions and plays) "
                    "or, for impression logs, use ABResults.from_impressions.")

    if columns.control:
        frame[CONTROL] = _to_bool(data[user["control"]], user["control"], where, label)
        n_control = frame.groupby(TEST, sort=False)[CONTROL].transform("sum").to_numpy()
        many = n_control > 1
        if many.any():
            tests = sorted(set(frame.loc[many, TEST]))[:5]
            raise _fail(where, user["control"], label(many), f"marks more than one control cell (tests {tests})",
                        "Mark exactly one control cell per test.")
        none = n_control == 0
        if none.any():
            tests = sorted(set(frame.loc[none, TEST]))[:5]
            raise _fail(where, user["control"], label(none), f"marks no control cell (tests {tests})",
                        "Mark one control cell in each of those tests, or leave control=None to compare "
                        "cells with the rest of their test.")

    if columns.allocation:
        share = pd.to_numeric(data[user["allocation"]], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(share) | (share <= 0)
        if bad.any():
            raise _fail(where, user["allocation"], label(bad), "is missing, non-numeric or not positive",
                        "Planned allocation shares must be positive numbers (they are normalised within each test).")
        frame[ALLOCATION] = share / pd.Series(share).groupby(frame[TEST].to_numpy()).transform("sum").to_numpy()

    for name in [*covariates, *segments]:
        frame[name] = data[name].to_numpy()

    # Covariates and segments describe the test's title or audience: constant within a test.
    for name in [*covariates, *segments]:
        varies = _varies_within(frame, TEST, name)
        if varies.any():
            tests = sorted(set(frame.loc[varies, TEST]))[:5]
            raise _fail(where, name, label(varies), f"differs between cells of the same test (tests {tests})",
                        "Title covariates and segments describe the whole test: give each test one value, "
                        "or drop the column from covariates=/segments= if it describes the artwork "
                        "(join artwork attributes as features instead).")

    # An artwork belongs to one title: its title id and title covariates must agree wherever it appears.
    for name in ([TITLE] if columns.title else []) + covariates:
        conflict = _varies_within(frame, ARTWORK, name)
        if conflict.any():
            artworks = sorted(set(frame.loc[conflict, ARTWORK]))[:5]
            column = user.get("title", name) if name == TITLE else name
            raise _fail(where, column, label(conflict),
                        f"gives conflicting values for the same artwork (artworks {artworks})",
                        "An artwork id must map to one title and one set of title covariates: fix the ids, "
                        "or, if the column describes the audience (e.g. country when the same art is tested "
                        "in several countries), pass it in segments= instead of covariates=.")
    return frame, changed


def _varies_within(frame: pd.DataFrame, key: str, column: str) -> np.ndarray:
    """Row mask: does ``column`` take more than one value (NaN counts as a value) in the row's ``key`` group?"""
    return frame.groupby(key, sort=False)[column].transform("nunique", dropna=False).to_numpy() > 1


def _to_bool(series: pd.Series, column: str, where: str, label) -> np.ndarray:
    truthy = {"1", "true", "t", "yes", "y", "control"}
    falsy = {"0", "false", "f", "no", "n", "treatment", ""}
    text = series.astype(str).str.strip().str.lower()
    bad = ~text.isin(truthy | falsy) | series.isna()
    if bad.to_numpy().any():
        raise _fail(where, column, label(bad.to_numpy()), f"is not a yes/no flag (values such as {series[bad].head(3).tolist()})",
                    "Use true/false or 1/0 to mark the control cell.")
    return text.isin(truthy).to_numpy()

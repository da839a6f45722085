"""Aggregate impression-level logs (one row per impression) into per-cell counts, in chunks."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_columns, describe_rows
from ..exceptions import ExperimentDataError
from ._validate import ARTWORK, CELL, IMPRESSIONS, PLAYS, TEST


def _chunks(log: pd.DataFrame | str | os.PathLike[str], columns: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    if isinstance(log, pd.DataFrame):
        check_columns(log, {c: c for c in columns}, "impression log", ExperimentDataError)
        for start in range(0, len(log), chunk_rows):
            yield log.iloc[start:start + chunk_rows][columns]
        return
    path = Path(log)
    if not path.exists():
        raise ExperimentDataError(f"{path}: file not found. Check the path (working directory: {Path.cwd()}).")
    suffixes = "".join(path.suffixes).lower()
    if ".parquet" in suffixes:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        check_columns(pd.DataFrame(columns=names), {c: c for c in columns}, str(path), ExperimentDataError)
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=columns):
            yield batch.to_pandas()
    elif ".csv" in suffixes:
        head = pd.read_csv(path, nrows=0)
        check_columns(head, {c: c for c in columns}, str(path), ExperimentDataError)
        yield from pd.read_csv(path, usecols=columns, chunksize=chunk_rows)
    else:
        raise ExperimentDataError(f"{path}: unknown file type {suffixes!r}. Use .parquet or .csv for impression logs.")


def aggregate_impressions(
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
) -> tuple[pd.DataFrame, int]:
    """Count impressions and plays per (test, cell) from an impression log.

    Returns the per-cell frame (columns named as in the log, plus ``impressions`` and
    ``plays``) and the number of (test, member) pairs seen in more than one cell (0 without
    ``member``). Cell-level columns (title, control flag, allocation, covariates, segments,
    ``extra``) must be constant within a cell.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"test_id": ["t"] * 4, "cell_id": [1, 1, 2, 2],
    ...                     "artwork_id": ["a", "a", "b", "b"], "played": [1, 0, 0, 0]})
    >>> aggregate_impressions(log)[0][["cell_id", "impressions", "plays"]].to_dict("list")
    {'cell_id': [1, 2], 'impressions': [2, 2], 'plays': [1, 0]}
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}.")
    keys = [test, cell]
    attrs = [c for c in dict.fromkeys([artwork, title, control, allocation, *(covariates or []), *(segments or []), *extra]) if c]
    columns = list(dict.fromkeys(keys + attrs + [played] + ([member] if member else [])))
    parts: list[pd.DataFrame] = []
    member_cells: pd.DataFrame | None = None
    offset = 0
    source = "impression log" if isinstance(log, pd.DataFrame) else str(log)
    for chunk in _chunks(log, columns, chunk_rows):
        flag = chunk[played]
        if pd.api.types.is_bool_dtype(flag):
            values = flag.to_numpy(dtype=float)
        else:
            values = pd.to_numeric(flag, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isin(values, (0.0, 1.0))
        if bad.any():
            rows = (np.flatnonzero(bad) + offset).tolist()
            raise ExperimentDataError(
                f"{source}: column {played!r} is not a 0/1 played flag in {describe_rows(rows)} "
                f"(values such as {flag[bad].head(3).tolist()}). Mark each impression 1 if it led to a play, else 0."
            )
        for k in keys:
            missing = chunk[k].isna().to_numpy()
            if missing.any():
                rows = (np.flatnonzero(missing) + offset).tolist()
                raise ExperimentDataError(f"{source}: column {k!r} is empty in {describe_rows(rows)}. "
                                          "Every impression needs a test and a cell id.")
        frame = chunk[keys + attrs].copy()
        frame[PLAYS] = values
        frame[IMPRESSIONS] = 1
        parts.append(frame.groupby(keys + attrs, sort=False, dropna=False)[[IMPRESSIONS, PLAYS]].sum().reset_index())
        if member:
            pairs = chunk[[test, member, cell]].drop_duplicates()
            member_cells = pairs if member_cells is None else pd.concat([member_cells, pairs]).drop_duplicates()
        offset += len(chunk)
        if len(parts) > 16:  # keep memory bounded by the number of cells, not the number of chunks
            parts = [pd.concat(parts).groupby(keys + attrs, sort=False, dropna=False)[[IMPRESSIONS, PLAYS]].sum().reset_index()]
    if not parts:
        raise ExperimentDataError(f"{source}: the impression log is empty. Export at least one impression per cell.")
    cells = pd.concat(parts).groupby(keys + attrs, sort=False, dropna=False)[[IMPRESSIONS, PLAYS]].sum().reset_index()
    varies = cells.duplicated(keys, keep=False).to_numpy()
    if varies.any():
        shown = [tuple(p) for p in cells.loc[varies, keys].drop_duplicates().head(3).itertuples(index=False)]
        changing = [a for a in attrs if cells.loc[varies].groupby(keys)[a].nunique(dropna=False).max() > 1]
        raise ExperimentDataError(
            f"{source}: columns {changing} change within a cell (cells {shown}). Cell-level columns must be "
            "constant for every impression of a cell; fix the log or leave those columns out."
        )
    cells[IMPRESSIONS] = cells[IMPRESSIONS].astype(np.int64)
    cells[PLAYS] = cells[PLAYS].astype(np.int64)
    crossover = 0
    if member_cells is not None:
        per_member = member_cells.groupby([test, member], sort=False)[cell].nunique()
        crossover = int((per_member > 1).sum())
    return cells, crossover

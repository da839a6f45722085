"""Aggregate impression-level logs (one row per impression) into per-cell counts, in chunks."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_columns, check_int, describe_rows
from ..exceptions import ExperimentDataError, InvalidParameterError
from ._files import iter_csv_chunks, table_kind
from ._validate import ARTWORK, CELL, IMPRESSIONS, PLAYS, TEST


def iter_log_chunks(log: pd.DataFrame | str | os.PathLike[str], columns: list[str], chunk_rows: int,
                    id_columns: Sequence[str] = ()) -> Iterator[pd.DataFrame]:
    """The given columns of an impression log (a DataFrame, CSV or Parquet file), ``chunk_rows``
    rows at a time: Parquet in record batches, so a log larger than memory can be read."""
    if isinstance(log, pd.DataFrame):
        check_columns(log, {c: c for c in columns}, "impression log", ExperimentDataError)
        for start in range(0, len(log), chunk_rows):
            yield log.iloc[start:start + chunk_rows][columns]
        return
    if not isinstance(log, (str, os.PathLike)):
        raise InvalidParameterError(f"log must be a DataFrame or the path of a CSV/Parquet file, got "
                                    f"{type(log).__name__}.")
    path = Path(log)
    kind = table_kind(path, "impression log")
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types; all mean "unreadable"
            raise ExperimentDataError(f"{path}: could not be read as Parquet ({type(exc).__name__}: {exc}).") from exc
        check_columns(pd.DataFrame(columns=pf.schema_arrow.names), {c: c for c in columns}, str(path),
                      ExperimentDataError)
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=columns):
            yield batch.to_pandas()
    else:
        sep = "\t" if kind == "tsv" else ","
        try:
            head = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig")
        except (pd.errors.EmptyDataError, UnicodeDecodeError, pd.errors.ParserError, OSError, EOFError, ValueError) as exc:
            raise ExperimentDataError(f"{path}: has no readable header row ({type(exc).__name__}); export the log as "
                                      "UTF-8 CSV with a header line.") from exc
        check_columns(head, {c: c for c in columns}, str(path), ExperimentDataError)
        yield from iter_csv_chunks(path, columns, chunk_rows, sep=sep, id_columns=id_columns)


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
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    keys = [test, cell]
    attrs = [c for c in dict.fromkeys([artwork, title, control, allocation, *(covariates or []), *(segments or []), *extra]) if c]
    columns = list(dict.fromkeys(keys + attrs + [played] + ([member] if member else [])))
    parts: list[pd.DataFrame] = []
    member_cells: pd.DataFrame | None = None
    offset = 0
    source = "impression log" if isinstance(log, pd.DataFrame) else str(log)
    for chunk in iter_log_chunks(log, columns, chunk_rows, [c for c in (test, cell, artwork, member, title) if c]):
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

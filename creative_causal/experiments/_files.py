"""Reading tables from files with errors a person can act on.

A file that is not what its name says (an Excel workbook or a gzip archive named .csv, a
semicolon-separated .csv, a row with a field too many) gets a message naming the file, what
it looks like and the fix, instead of a decoder's or parser's traceback. Id columns are read
as text exactly as written: ``00017`` stays ``00017`` and ``NA`` is an id, not a missing
value.
"""

from __future__ import annotations

import csv
import lzma
import os
import warnings
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from ..exceptions import ExperimentDataError

#: What a damaged compressed file raises while it is read (beside OSError).
_DECOMPRESSION_ERRORS = (EOFError, zlib.error, lzma.LZMAError)
#: The strings pandas reads as missing by default (its documented list); kept for every column
#: except ids.
_NA_STRINGS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
               "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_MAGIC = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or a zip archive", "export it from Excel as CSV (File > Save As > CSV "
     "UTF-8) or as Parquet"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)", "export it from Excel as CSV (File > Save As > CSV UTF-8)"),
    (b"\x1f\x8b", "a gzip-compressed file", "name it with a .gz ending (e.g. results.csv.gz) so it is decompressed, or "
     "decompress it first"),
    (b"PAR1", "a Parquet file", "name it with a .parquet ending"),
    (b"%PDF", "a PDF document", "export the table as CSV or Parquet"),
)


def table_kind(path: Path, what: str) -> str:
    """``"parquet"``, ``"csv"`` or ``"tsv"`` for a readable file, from its name and first bytes.

    Raises
    ------
    ExperimentDataError
        A missing path, a directory, an empty file, an unknown ending, or contents that are
        not what the name says.
    """
    if not path.exists():
        raise ExperimentDataError(f"{path}: file not found. Check the path (working directory: {Path.cwd()}).")
    if path.is_dir():
        raise ExperimentDataError(f"{path}: is a directory; pass the {what} file itself (CSV, TSV or Parquet).")
    if not os.access(path, os.R_OK):
        raise ExperimentDataError(f"{path}: permission denied; make the file readable.")
    suffixes = "".join(path.suffixes).lower()
    if ".parquet" in suffixes or suffixes.endswith(".pq"):
        kind = "parquet"
    elif ".tsv" in suffixes or ".tab" in suffixes:
        kind = "tsv"
    elif ".csv" in suffixes or suffixes.endswith(".txt"):
        kind = "csv"
    else:
        raise ExperimentDataError(f"{path}: unknown file type {suffixes or '(no ending)'!r}. Use a .csv, .csv.gz, .tsv "
                                  "or .parquet file.")
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head:
        raise ExperimentDataError(f"{path}: the file is empty (0 bytes). Export the {what} again.")
    compressed = any(suffixes.endswith(e) for e in (".gz", ".bz2", ".zip", ".xz", ".zst"))
    for magic, looks, fix in _MAGIC:
        if not head.startswith(magic):
            continue
        if (kind == "parquet" and magic == b"PAR1") or (compressed and magic in (b"\x1f\x8b", b"PK\x03\x04")):
            return kind
        raise ExperimentDataError(f"{path}: this looks like {looks}, not a {kind.upper()} file; {fix}.")
    if kind == "parquet":
        raise ExperimentDataError(f"{path}: not a Parquet file (it does not start with the Parquet marker); check "
                                  "the file, or name a CSV file .csv.")
    if b"\x00" in head and not compressed:
        raise ExperimentDataError(f"{path}: holds binary data, not {kind.upper()} text; export the {what} as CSV or "
                                  "Parquet.")
    return kind


def _na_values(path: Path, sep: str, id_columns: Sequence[str]) -> dict[str, list[str]]:
    header = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig")
    return {str(c): ([""] if c in id_columns else _NA_STRINGS) for c in header.columns}


def read_table(path: str | os.PathLike[str], *, what: str, id_columns: Sequence[str] = (),
               required: Sequence[str] = (), sep: str | None = None) -> tuple[pd.DataFrame, int | None]:
    """Read a CSV/TSV/Parquet table: (frame, line number of the first data row, or None for Parquet).

    Parameters
    ----------
    what : str
        What the file holds, for messages ("A/B results", "features").
    id_columns : sequence of str
        Read as text exactly as written (leading zeros kept; only an empty field is missing).
    required : sequence of str
        Columns the caller needs: when they are missing and the header looks split by another
        delimiter, the error says so.
    sep : str, optional
        Field delimiter of a text file; default from the ending (tab for .tsv, else comma).
    """
    path = Path(path)
    kind = table_kind(path, what)
    if kind == "parquet":
        try:
            return pd.read_parquet(path), None
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types; all mean "unreadable"
            raise ExperimentDataError(f"{path}: could not be read as Parquet ({type(exc).__name__}: {exc}).") from exc
    sep = sep if sep is not None else ("\t" if kind == "tsv" else ",")
    try:
        na = _na_values(path, sep, id_columns)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(path, sep=sep, dtype={c: str for c in id_columns if c in na}, keep_default_na=False,
                                na_values=na, index_col=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExperimentDataError(f"{path}: is not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at "
                                  f"position {exc.start}); save it as UTF-8 CSV.") from exc
    except pd.errors.EmptyDataError as exc:
        raise ExperimentDataError(f"{path}: has no header row or columns. Export the {what} with a header line.") from exc
    except pd.errors.ParserError as exc:
        raise ExperimentDataError(f"{path}: could not be parsed ({_first_line(str(exc))}). Every line needs as many "
                                  "fields as the header; quote fields that contain the delimiter.") from exc
    except (OSError, ValueError, *_DECOMPRESSION_ERRORS) as exc:
        raise ExperimentDataError(f"{path}: could not be read ({type(exc).__name__}: {exc}); if it is compressed, "
                                  "check that the archive is complete.") from exc
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        line = _first_ragged_line(path, sep)
        raise ExperimentDataError(f"{path}: line {line} has more fields than the header ({len(frame.columns)}); a "
                                  "field may contain an unquoted delimiter. Fix that line or quote the field.")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        _check_delimiter(path, frame, sep, missing)
    return frame, 2


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _first_ragged_line(path: Path, sep: str) -> int:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = csv.reader(fh, delimiter=sep)
        width = len(next(rows, []))
        for number, row in enumerate(rows, start=2):
            if len(row) > width:
                return number
    return 2


def _check_delimiter(path: Path, frame: pd.DataFrame, sep: str, missing: Sequence[str]) -> None:
    """When the header did not split into the columns asked for but another delimiter would split it."""
    header = [str(c) for c in frame.columns]
    joined = sep.join(header)
    for other, name in _DELIMITERS.items():
        if other != sep and len(joined.split(other)) > len(header) and any(m in joined.split(other) for m in missing):
            raise ExperimentDataError(
                f"{path}: the columns look separated by {name}s ({other!r}), not {_DELIMITERS.get(sep, repr(sep))}s: "
                f"the header reads {joined[:80]!r}. "
                + ("Name the file .tsv, or pass sep='\\t' (CLI: --sep tab)." if other == "\t" else
                   f"Pass sep={other!r} (CLI: --sep '{other}'), or name a tab-separated file .tsv.")
            )


def iter_csv_chunks(path: Path, columns: list[str], chunk_rows: int, *, sep: str, id_columns: Sequence[str]
                    ) -> Iterator[pd.DataFrame]:
    """Chunks of the named columns of a large CSV, with the same id and missing-value rules."""
    na = _na_values(path, sep, id_columns)
    try:
        yield from pd.read_csv(path, sep=sep, usecols=columns, chunksize=chunk_rows, encoding="utf-8-sig",
                               dtype={c: str for c in id_columns if c in na}, keep_default_na=False, na_values=na)
    except UnicodeDecodeError as exc:
        raise ExperimentDataError(f"{path}: is not UTF-8 text; save it as UTF-8 CSV.") from exc
    except pd.errors.ParserError as exc:
        raise ExperimentDataError(f"{path}: could not be parsed ({_first_line(str(exc))}).") from exc
    except (OSError, *_DECOMPRESSION_ERRORS) as exc:
        raise ExperimentDataError(f"{path}: could not be read ({type(exc).__name__}: {exc}).") from exc

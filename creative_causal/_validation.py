"""The argument contract shared by every package: did-you-mean hints, random states and
seeds, checks of argument values, offending-row summaries.

Every check raises :class:`~creative_causal.exceptions.InvalidParameterError` (a
``ValueError`` and a ``TypeError``) naming the argument, the value it got and the values
allowed.
"""

from __future__ import annotations

import difflib
import numbers
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import InvalidParameterError, OutputPathError, UnknownNameError

RandomState = int | np.random.Generator | np.random.SeedSequence | None

#: How many offending rows an error message lists before it says "and N more".
MAX_ROWS_SHOWN = 5


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest of ``choices``, or ``""``.

    Examples
    --------
    >>> did_you_mean("impresions", ["impressions", "plays"])
    " Did you mean 'impressions'?"
    """
    options = [str(c) for c in choices]
    lowered = {o.lower(): o for o in options}
    close = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=0.6)
    return f" Did you mean {lowered[close[0]]!r}?" if close else ""


# ---------------------------------------------------------------------------- randomness
def check_random_state(random_state: RandomState) -> np.random.Generator:
    """Turn ``None``, a non-negative int, a SeedSequence or a Generator into a local Generator.

    Never touches numpy's global random state.

    Examples
    --------
    >>> g = check_random_state(0)
    >>> bool(g.integers(10) == check_random_state(0).integers(10))
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InvalidParameterError(f"random_state must be a non-negative integer (a seed), got {random_state}.")
        return np.random.default_rng(int(random_state))
    raise InvalidParameterError(
        f"random_state must be None, a non-negative int or a numpy Generator, got {type(random_state).__name__} "
        f"{random_state!r}."
    )


def draw_seed(random_state: RandomState, bits: int = 31) -> int:
    """One integer seed drawn from ``random_state`` (an int seed is returned as it is).

    Used where a seed must be stored or passed on (to scikit-learn models, worker
    processes): the same ``random_state`` always gives the same seed.

    Examples
    --------
    >>> draw_seed(7)
    7
    >>> draw_seed(np.random.default_rng(0)) == draw_seed(np.random.default_rng(0))
    True
    """
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        check_random_state(random_state)
        return int(random_state)
    return int(check_random_state(random_state).integers(2**bits - 1))


# ---------------------------------------------------------------------------- argument values
def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_level(level: Any, name: str = "level") -> float:
    """An interval level strictly between 0 and 1.

    Examples
    --------
    >>> check_level(0.9)
    0.9
    >>> try:
    ...     check_level(95)
    ... except ValueError as exc:
    ...     print(exc)
    level must be a number between 0 and 1 (exclusive), for example 0.95; got 95. Did you mean 0.95?
    """
    if not _is_real(level) or not 0 < float(level) < 1:
        hint = f" Did you mean {float(level) / 100:g}?" if _is_real(level) and 1 < float(level) < 100 else ""
        raise InvalidParameterError(f"{name} must be a number between 0 and 1 (exclusive), for example 0.95; "
                                    f"got {level!r}.{hint}")
    return float(level)


def check_fraction(value: Any, name: str, *, example: str = "0.05") -> float:
    """A share strictly between 0 and 1 (a false discovery rate, a significance level)."""
    if not _is_real(value) or not 0 < float(value) < 1:
        raise InvalidParameterError(f"{name} must be a number between 0 and 1 (exclusive), for example {example}; "
                                    f"got {value!r}.")
    return float(value)


def check_between(value: Any, name: str, low: float, high: float, what: str = "a number") -> float:
    """A number within ``[low, high]`` (both included)."""
    if not _is_real(value) or not low <= float(value) <= high:
        raise InvalidParameterError(f"{name} must be {what} between {low:g} and {high:g}, got {value!r}.")
    return float(value)


def check_choice(value: Any, name: str, allowed: Sequence[str]) -> str:
    """One of ``allowed`` (with a did-you-mean for a near miss)."""
    if not isinstance(value, str) or value not in allowed:
        raise InvalidParameterError(f"{name} must be one of {list(allowed)}; got {value!r}."
                                    f"{did_you_mean(str(value), allowed)}")
    return value


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number within ``[minimum, maximum]``."""
    whole = isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)
    if not whole and _is_real(value) and float(value).is_integer():
        whole = True
    low = f" at least {minimum}" if minimum is not None else ""
    high = f"{' and' if low else ''} at most {maximum}" if maximum is not None else ""
    if not whole or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidParameterError(f"{name} must be a whole number{low}{high}; got {value!r}.")
    return int(value)


def check_n_jobs(n_jobs: Any) -> int:
    """Processes to use: a positive whole number, or -1 for one per core."""
    if isinstance(n_jobs, (numbers.Integral, np.integer)) and not isinstance(n_jobs, bool) and (n_jobs >= 1 or n_jobs == -1):
        return int(n_jobs)
    raise InvalidParameterError(f"n_jobs must be a positive whole number (processes), or -1 for one per core; "
                                f"got {n_jobs!r}.")


def check_positive(value: Any, name: str) -> float:
    """A finite number above zero."""
    if not _is_real(value) or not np.isfinite(float(value)) or float(value) <= 0:
        raise InvalidParameterError(f"{name} must be a finite number above 0; got {value!r}.")
    return float(value)


def check_column(frame: pd.DataFrame, name: Any, role: str, *, hint: str = "") -> str:
    """``name`` is a column of ``frame``; otherwise an UnknownNameError with a did-you-mean."""
    if not isinstance(name, str) or name not in frame.columns:
        raise UnknownNameError(f"{role} {name!r} is not a column of the data.{did_you_mean(str(name), map(str, frame.columns))}"
                               f"{' ' + hint if hint else ''}")
    return name


# ---------------------------------------------------------------------------- output paths
def check_output_file(path: str | os.PathLike[str], what: str = "output") -> Path:
    """A file path that can be written: not a directory, in a folder that exists or can be
    made, with write permission. Checked before any work is done, so a long run does not
    fail at its last step.
    """
    out = Path(path)
    if out.is_dir():
        raise OutputPathError(f"{out}: is a directory, but the {what} is a file. Give a file name, for example "
                              f"{out / ('report.html' if what == 'report' else 'out.csv')}.")
    _check_writable_parent(out.parent, out, what)
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputPathError(f"{out}: permission denied; the {what} cannot overwrite it. Choose another path.")
    return out


def check_output_dir(path: str | os.PathLike[str], what: str = "output") -> Path:
    """A directory path that can be written: an existing directory or a new one that can be
    made (not an existing file), with write permission."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{out}: is a file, but the {what} is a folder. Give a folder name (it is created when "
                              "missing).")
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputPathError(f"{out}: permission denied; the {what} cannot be written there. Choose another "
                                  "folder.")
        return out
    _check_writable_parent(out.parent, out, what)
    return out


def _check_writable_parent(parent: Path, out: Path, what: str) -> None:
    existing = parent
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise OutputPathError(f"{out}: {existing} is a file, so the {what} cannot be written below it. Choose "
                              "another path.")
    if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"{out}: permission denied in {existing}; the {what} cannot be written there. Choose "
                              "another path.")


def make_dirs(path: Path, what: str = "output") -> Path:
    """``mkdir -p`` that turns an OS error into an :class:`OutputPathError` naming the path."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{path}: the {what} folder cannot be created ({exc.strerror or exc}). Choose another "
                              "path.") from exc
    return path


def write_text(out: Path, text: str, what: str = "output") -> Path:
    """Write ``text`` (UTF-8) to ``out``, creating its folder; an OS error becomes an
    :class:`OutputPathError` naming the path."""
    make_dirs(out.parent, what)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputPathError(f"{out}: the {what} could not be written ({exc.strerror or exc}). Choose another "
                              "path.") from exc
    return out


# ---------------------------------------------------------------------------- messages
def describe_rows(labels: Sequence[object], limit: int = MAX_ROWS_SHOWN, noun: str = "row") -> str:
    """Name offending rows: the first few, and the count when there are more.

    Examples
    --------
    >>> describe_rows([3, 7, 9, 11, 12, 15, 20])
    'rows 3, 7, 9, 11, 12 and 2 more (7 rows)'
    >>> describe_rows(["a"])
    "row 'a'"
    >>> describe_rows([3], noun="line")
    'line 3'
    """
    labels = list(labels)
    n = len(labels)
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in labels[:limit])
    if n == 1:
        return f"{noun} {shown}"
    more = f" and {n - limit} more ({n} {noun}s)" if n > limit else ""
    return f"{noun}s {shown}{more}"


def check_columns(frame: pd.DataFrame, columns: dict[str, str], where: str, error: type[Exception]) -> None:
    """Raise ``error`` naming the first role whose column is missing from ``frame``.

    ``columns`` maps a role (the keyword the user set, e.g. ``"impressions"``) to a column name.
    """
    available = [str(c) for c in frame.columns]
    for role, column in columns.items():
        if column not in frame.columns:
            raise error(
                f"{where}: column {column!r} (the {role} column) not found.{did_you_mean(column, available)} "
                f"Available columns: {available}. Pass {role}='<your column name>' to map it."
            )

"""Small shared checks: did-you-mean hints, random states, offending-row summaries."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

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
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" Did you mean {lowered[close[0]]!r}?" if close else ""


def check_random_state(random_state: RandomState) -> np.random.Generator:
    """Turn ``None``, an int, a SeedSequence or a Generator into a local Generator.

    Never touches numpy's global random state.

    Examples
    --------
    >>> g = check_random_state(0)
    >>> bool(g.integers(10) == check_random_state(0).integers(10))
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(random_state)
    raise TypeError(
        f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}."
    )


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

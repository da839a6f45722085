"""What every result object shares: ``__str__`` from ``summary()``, a notebook card from
``to_frame()``, and JSON-safe values for ``to_dict()``.

A result class defines ``to_frame``, ``to_dict``, ``summary`` and ``plot(ax=None)``; this
mixin renders the rest from them, so the views never disagree.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd


def result_card(title: str, sentence: str, frame: pd.DataFrame) -> str:
    """A result's notebook view: a bold title, its plain-language sentence and its table,
    every user string escaped."""
    return (f"<p><b>{html.escape(title)}</b>: {html.escape(sentence)}</p>"
            + frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", escape=True))


def json_safe(value: Any) -> Any:
    """Plain Python values for JSON: NaN and infinities become None, numpy scalars Python ones,
    arrays and tuples lists, frames lists of records.

    Examples
    --------
    >>> json_safe({"a": np.float64("nan"), "b": (np.int64(1), 2.5)})
    {'a': None, 'b': [1, 2.5]}
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return json_safe(value.to_dict("records"))
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [json_safe(v) for v in list(value)]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if value is None or isinstance(value, (str, int)):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


class ResultMixin:
    """``__str__`` and ``_repr_html_`` for result objects, rendered from their own methods."""

    def summary(self) -> str:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def _card_title(self) -> str:
        return type(self).__name__

    def _card_sentence(self) -> str:
        return self.summary().splitlines()[0]

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return result_card(self._card_title(), self._card_sentence(), self.to_frame())

"""Late-bound writers: a lower package hands a result to a writer that a higher one registers.

``StudyResult.to_html`` must not import the report package (the report renders results;
results know nothing of it). The report registers its writers here when it is imported, and
:func:`writer` imports the package that provides a format the first time it is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ._validation import check_choice

_WRITERS: dict[str, Callable[..., Any]] = {}
#: The package that registers each format's writer when imported.
_PROVIDERS = {"html": "creative_causal.report", "markdown": "creative_causal.report"}


def register_writer(fmt: str, function: Callable[..., Any]) -> None:
    """Register ``function(result, path) -> Path`` as the writer of ``fmt``."""
    _WRITERS[fmt] = function


def writer(fmt: str) -> Callable[..., Any]:
    """The writer registered for ``fmt`` (importing its provider on first use)."""
    check_choice(fmt, "format", tuple(_PROVIDERS))
    if fmt not in _WRITERS:
        importlib.import_module(_PROVIDERS[fmt])
    return _WRITERS[fmt]

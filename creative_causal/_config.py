"""Library-wide settings: how many threads native code may use inside one model fit.

Gradient boosting (scikit-learn's OpenMP loops) and BLAS start one thread per core. On a
machine where another process keeps a core busy, OpenMP threads wait for each other at
every barrier and a fit can become many times slower; the library therefore caps native
thread pools around its own fits (threadpoolctl), by default to one thread per fit, and
gets its parallelism from processes (``n_jobs``) instead. ``benchmarks/bench_threads.py``
measures the cap on a quiet machine and with one core loaded.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._validation import check_int

_NATIVE_THREADS: contextvars.ContextVar[int | None] = contextvars.ContextVar("native_threads", default=1)


def get_config() -> dict[str, Any]:
    """The current settings.

    Examples
    --------
    >>> get_config()
    {'native_threads': 1}
    """
    return {"native_threads": _NATIVE_THREADS.get()}


def _check_threads(native_threads: Any) -> int | None:
    return None if native_threads is None else check_int(native_threads, "native_threads", minimum=1)


def set_config(*, native_threads: int | None = 1) -> None:
    """Change the settings for this thread of the session.

    Parameters
    ----------
    native_threads : int or None, default=1
        Threads that native libraries (OpenMP in gradient boosting, BLAS) may use inside one
        model fit. ``None`` leaves them uncapped (one per core), which is a little faster on
        an idle machine and much slower on a shared one.
    """
    _NATIVE_THREADS.set(_check_threads(native_threads))


@contextmanager
def config_context(*, native_threads: int | None = 1) -> Iterator[None]:
    """Settings for the duration of a ``with`` block.

    Examples
    --------
    >>> with config_context(native_threads=2):
    ...     get_config()["native_threads"]
    2
    >>> get_config()["native_threads"]
    1
    """
    token = _NATIVE_THREADS.set(_check_threads(native_threads))
    try:
        yield
    finally:
        _NATIVE_THREADS.reset(token)


@contextmanager
def limit_native_threads() -> Iterator[None]:
    """Cap native thread pools at the configured size for the block (a model fit)."""
    limit = _NATIVE_THREADS.get()
    if limit is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=limit):
        yield

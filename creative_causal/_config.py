"""Library-wide settings: how many threads native code may use inside one model fit or one
public analysis function.

Gradient boosting (scikit-learn's OpenMP loops) and BLAS start one thread per core. On a
machine where another process keeps a core busy, OpenMP threads wait for each other at
every barrier and a fit can become many times slower; BLAS threads do the same on the small
matrices of our statistics (with one core busy, uncapped, the graph's testable implications
ran 3.2x and the sensitivity analysis 3.6x slower than on a quiet machine; capped, no
slower), and on a quiet machine they save nothing there. The library therefore caps native
thread pools (threadpoolctl), by default to one thread, around its own fits and around each
public analysis function (the statistics, feature extraction, frame discovery:
:func:`native_threads_capped`), and gets its parallelism from processes (``n_jobs``)
instead. ``benchmarks/bench_threads.py`` measures the cap on a quiet machine and with one
core loaded.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from ._validation import check_int

F = TypeVar("F", bound=Callable[..., Any])

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
        model fit and inside each public analysis function (``estimate_effect``, ``refute``,
        ``sensitivity``, ``testable_implications``, ``extract_features``...). ``None``
        leaves them uncapped (one per core), which is no faster on an idle machine for our
        small matrices and much slower on a shared one.
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


def native_threads_capped(func: F) -> F:
    """Run ``func`` inside :func:`limit_native_threads`: for the public analysis functions,
    whose BLAS calls are on small matrices, where threads save nothing and spin while another
    process holds a core. A cap costs a few milliseconds, so it goes on entry points, not on
    inner loops."""

    @functools.wraps(func)
    def capped(*args: Any, **kwargs: Any) -> Any:
        with limit_native_threads():
            return func(*args, **kwargs)

    return capped  # type: ignore[return-value]

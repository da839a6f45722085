"""What an allocation policy knows about the cells of a test: plain arrays of counts and a
Beta prior, for one test or a whole batch of tests and replications at once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..exceptions import InvalidParameterError


def _as_counts(values: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    try:
        array = np.broadcast_to(array, shape)
    except ValueError:
        raise InvalidParameterError(f"{name} must have shape {shape} (one value per cell), got {array.shape}.") from None
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise InvalidParameterError(f"{name} must be finite and non-negative; got {array.ravel()[:8].tolist()}.")
    return array


@dataclass(frozen=True)
class AllocationState:
    """Counts so far and the prior, per cell: arrays of shape ``(..., n_cells)``.

    The leading axes batch independent tests (and replications), so one policy call serves
    them all. A state is a value: :meth:`update` returns a new one.

    Parameters
    ----------
    impressions, plays : arrays of shape (..., n_cells)
        Impressions served and plays observed so far.
    prior_plays, prior_misses : arrays broadcastable to the same shape
        The Beta prior of each cell's take rate, as pseudo-counts (``Beta(1, 1)`` is flat; a
        causal prior centres it on a predicted take rate).
    active : bool array of the same shape
        Cells that exist (tests with fewer cells than the widest are padded).
    committed : int array of shape (...)
        The cell a policy has committed to, or -1 (explore-then-commit).

    Examples
    --------
    >>> state = AllocationState.new(3)
    >>> state.update([100, 100, 0], [5, 9, 0]).posterior_mean().round(3).tolist()
    [0.059, 0.098, 0.5]
    """

    impressions: np.ndarray
    plays: np.ndarray
    prior_plays: np.ndarray
    prior_misses: np.ndarray
    active: np.ndarray
    committed: np.ndarray
    refreshes: int = 0

    @classmethod
    def new(cls, n_cells: int | None = None, *, shape: tuple[int, ...] = (), active: Any = None,
            prior_plays: Any = 1.0, prior_misses: Any = 1.0) -> AllocationState:
        """An empty state for ``n_cells`` cells (or the cells marked in ``active``), batched over ``shape``."""
        if active is None:
            if n_cells is None or int(n_cells) < 1:
                raise InvalidParameterError(f"n_cells must be a whole number of at least 1, got {n_cells!r}.")
            active = np.ones((*shape, int(n_cells)), dtype=bool)
        active = np.asarray(active, dtype=bool)
        if active.ndim == 0 or not active.any(axis=-1).all():
            raise InvalidParameterError("every test needs at least one active cell; check the `active` mask.")
        full = active.shape
        zeros = np.zeros(full)
        return cls(zeros, zeros.copy(), _as_counts(prior_plays, "prior_plays", full).copy(),
                   _as_counts(prior_misses, "prior_misses", full).copy(), active,
                   np.full(full[:-1], -1, dtype=int))

    @property
    def n_cells(self) -> int:
        return int(self.active.shape[-1])

    def update(self, impressions: Any, plays: Any) -> AllocationState:
        """A new state with these impressions and plays added (never changes this one)."""
        shape = self.impressions.shape
        impressions = _as_counts(impressions, "impressions", shape)
        plays = _as_counts(plays, "plays", shape)
        if np.any(plays > impressions):
            raise InvalidParameterError("plays cannot exceed impressions in any cell; "
                                        f"got plays {plays.ravel()[:8].tolist()} for impressions "
                                        f"{impressions.ravel()[:8].tolist()}.")
        if np.any(impressions[~self.active] > 0):
            raise InvalidParameterError("impressions were given for cells that are not active; check the cell order.")
        return replace(self, impressions=self.impressions + impressions, plays=self.plays + plays,
                       refreshes=self.refreshes + 1)

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """The Beta posterior's parameters per cell."""
        return self.prior_plays + self.plays, self.prior_misses + self.impressions - self.plays

    def posterior_mean(self) -> np.ndarray:
        a, b = self.posterior()
        return a / (a + b)

    def observed_rate(self) -> np.ndarray:
        """Plays per impression (0 where a cell has none yet)."""
        return np.divide(self.plays, self.impressions, out=np.zeros_like(self.plays), where=self.impressions > 0)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for JSON."""
        return {"impressions": self.impressions.tolist(), "plays": self.plays.tolist(),
                "prior_plays": self.prior_plays.tolist(), "prior_misses": self.prior_misses.tolist(),
                "active": self.active.tolist(), "committed": self.committed.tolist(), "refreshes": self.refreshes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AllocationState:
        """The inverse of :meth:`to_dict`."""
        try:
            return cls(np.asarray(data["impressions"], float), np.asarray(data["plays"], float),
                       np.asarray(data["prior_plays"], float), np.asarray(data["prior_misses"], float),
                       np.asarray(data["active"], bool), np.asarray(data["committed"], int), int(data["refreshes"]))
        except KeyError as exc:
            raise InvalidParameterError(f"a saved allocation state needs the key {exc.args[0]!r}; it was not there.") from None


def pooled_prior_weight(impressions: np.ndarray, plays: np.ndarray, *, member_axis: int,
                        pool_axis: int | tuple[int, ...]) -> np.ndarray:
    """The prior weight ``kappa`` (in impressions) of a beta-binomial fitted by moments.

    Members (cells of a test, or segments of a cell) have take rates spread around their
    group's rate; ``kappa = 1 / rho - 1`` where ``rho``, the intra-class correlation, is the
    spread beyond the binomial's (DerSimonian-Laird style moments), pooled over ``pool_axis``.
    Infinite where the members differ no more than chance. Keeps the reduced axes (size 1).

    Examples
    --------
    >>> n = np.full((1, 3), 10_000.0)
    >>> float(pooled_prior_weight(n, np.array([[500.0, 500.0, 500.0]]), member_axis=-1, pool_axis=0)[0, 0])
    inf
    >>> round(float(pooled_prior_weight(n, np.array([[300.0, 500.0, 700.0]]), member_axis=-1, pool_axis=0)[0, 0]))
    119
    """
    n, plays = np.asarray(impressions, dtype=float), np.asarray(plays, dtype=float)
    total = n.sum(axis=member_axis, keepdims=True)
    mean = (plays.sum(axis=member_axis, keepdims=True) + 1) / (total + 2)
    rate = np.divide(plays, n, out=np.broadcast_to(mean, n.shape).copy(), where=n > 0)
    seen = (n > 0).sum(axis=member_axis, keepdims=True)
    spread = mean * (1 - mean)
    excess = (n * (rate - mean) ** 2).sum(axis=member_axis, keepdims=True) - np.maximum(seen - 1, 0) * spread
    squares = np.divide((n**2).sum(axis=member_axis, keepdims=True), total, out=np.zeros_like(total), where=total > 0)
    scale = spread * (total - squares)
    rho = (np.maximum(excess.sum(axis=pool_axis, keepdims=True), 0)
           / np.maximum(scale.sum(axis=pool_axis, keepdims=True), 1e-12))
    return np.where(rho > 0, np.maximum(1 / np.maximum(rho, 1e-12) - 1, 0.0), np.inf)


__all__ = ["AllocationState", "pooled_prior_weight"]

"""Explore/exploit policies over the cells of a test.

A policy is a small frozen value holding its settings; what it has learned lives in an
:class:`AllocationState` (plain arrays), so one policy object serves any number of tests,
is copied for free and is saved as JSON (:meth:`Policy.to_dict`, :func:`policy_from_dict`).
Every policy answers the same four questions:

* ``shares(state, rng)``: the share of the next impressions each cell should get;
* ``choose(n, state, rng)``: how many of the next ``n`` impressions go to each cell
  (a multinomial draw from the shares, as a serving system splits a refresh);
* ``choose_one(state, rng)``: one impression's cell and the probability the policy gave it
  (the propensity off-policy evaluation needs);
* ``update(state, impressions, plays)``: the state after a refresh's feedback arrives.

All of them work on a batch of tests at once: the state's leading axes are tests (and
replications), the last axis is cells.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtri

from .._validation import check_between, check_fraction, check_int, check_level, check_random_state
from ..exceptions import InvalidParameterError, UnknownNameError
from ._state import AllocationState, pooled_prior_weight

#: Posterior draws below this Beta parameter are exact Beta draws; above it a Beta draw is
#: the ratio of two Wilson-Hilferty gamma draws (a cubed normal), which is several times
#: faster and within 0.002 of the exact distribution function from this shape on.
EXACT_BELOW = 3.0


def _masked_argmax(values: np.ndarray, active: np.ndarray) -> np.ndarray:
    return np.argmax(np.where(active, values, -np.inf), axis=-1)


def _one_hot(index: np.ndarray, n_cells: int) -> np.ndarray:
    return (np.arange(n_cells) == np.asarray(index)[..., None]).astype(float)


def _split_ties(index_values: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Equal shares among the active cells with the highest value (ties split evenly)."""
    values = np.where(active, index_values, -np.inf)
    top = values == values.max(axis=-1, keepdims=True)
    return top / top.sum(axis=-1, keepdims=True)


def posterior_draws(state: AllocationState, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` samples of every cell's take rate from its Beta posterior: shape (draws, ..., cells)."""
    a, b = state.posterior()
    shape = (draws, *a.shape)
    # float32 halves the memory traffic; rates differ from each other by far more than its precision
    sample = _wilson_hilferty(a, rng.standard_normal(shape, dtype=np.float32))
    sample /= sample + _wilson_hilferty(b, rng.standard_normal(shape, dtype=np.float32))
    small = (np.minimum(a, b) < EXACT_BELOW) & state.active  # padded cells are never compared
    if small.any():
        sample[:, small] = rng.beta(a[small], b[small], size=(draws, int(small.sum())))
    return sample


def _wilson_hilferty(shape: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Gamma(shape) draws from standard normals ``z`` (Wilson and Hilferty 1931), in place on ``z``."""
    shape = shape.astype(np.float32)
    z *= 1 / (3 * np.sqrt(shape))
    z += 1 - 1 / (9 * shape)
    np.maximum(z, 1e-3, out=z)  # beyond about -5 sd the cubed normal would turn negative
    cube = z * z
    cube *= z
    cube *= shape
    return cube


def _share_of_wins(sample: np.ndarray, active: np.ndarray) -> np.ndarray:
    """How often each cell has the highest of the sampled rates: (draws, ..., cells) -> (..., cells)."""
    winner = _masked_argmax(sample, active)
    k = active.shape[-1]
    flat = (winner + k * np.arange(winner[0].size).reshape(winner.shape[1:])).ravel()
    return np.bincount(flat, minlength=winner[0].size * k).reshape(active.shape) / sample.shape[0]


def probability_best(state: AllocationState, *, draws: int = 4000, random_state: Any = None) -> np.ndarray:
    """The posterior probability that each cell has the highest take rate, by Monte Carlo.

    Examples
    --------
    >>> s = AllocationState.new(2).update([1000, 1000], [40, 60])
    >>> probability_best(s, random_state=0).round(2).tolist()
    [0.02, 0.98]
    """
    rng = check_random_state(random_state)
    sample = posterior_draws(state, check_int(draws, "draws", minimum=1), rng)
    return _share_of_wins(sample, state.active)


@dataclass(frozen=True)
class Policy(ABC):
    """Base of every allocation policy: settings only, the learning lives in the state.

    ``min_share`` keeps every active cell at no less than that share of each refresh (a floor
    many serving systems need, so no artwork starves and later analysis keeps support).
    """

    min_share: float = 0.0
    name: ClassVar[str] = "policy"
    #: What the policy is called in sentences for creatives.
    label: ClassVar[str] = "this policy"

    def __post_init__(self) -> None:
        check_between(self.min_share, "min_share", 0.0, 0.5, "a share")

    # ------------------------------------------------------------------ the one thing to write
    @abstractmethod
    def _shares(self, state: AllocationState, rng: np.random.Generator) -> np.ndarray:
        """Shares over the active cells, before the floor; rows sum to 1."""

    # ------------------------------------------------------------------ shared behaviour
    def start(self, n_cells: int | None = None, *, shape: tuple[int, ...] = (), active: Any = None,
              prior_plays: Any = 1.0, prior_misses: Any = 1.0) -> AllocationState:
        """An empty state for this policy (a flat Beta(1, 1) prior unless given)."""
        return AllocationState.new(n_cells, shape=shape, active=active, prior_plays=prior_plays,
                                   prior_misses=prior_misses)

    def shares(self, state: AllocationState, rng: Any = None) -> np.ndarray:
        """The share of the next impressions each cell gets: rows sum to 1, inactive cells 0."""
        raw = np.where(state.active, self._shares(state, check_random_state(rng)), 0.0)
        raw = raw / raw.sum(axis=-1, keepdims=True)
        if self.min_share > 0:
            k = state.active.sum(axis=-1, keepdims=True)
            floor = np.minimum(self.min_share, 1.0 / k)
            raw = np.where(state.active, floor + (1 - floor * k) * raw, 0.0)
        return raw

    def choose(self, n: int, state: AllocationState, rng: Any = None) -> np.ndarray:
        """How many of the next ``n`` impressions (per test) go to each cell."""
        generator = check_random_state(rng)
        counts = np.asarray(n)
        if np.any(counts < 0) or not np.all(np.equal(np.mod(counts, 1), 0)):
            raise InvalidParameterError(f"n must be a whole number of impressions (0 or more), got {n!r}.")
        p = self.shares(state, generator)
        return generator.multinomial(counts.astype(np.int64), p / p.sum(axis=-1, keepdims=True))

    def choose_one(self, state: AllocationState, rng: Any = None) -> tuple[int, float]:
        """One impression's cell and the probability the policy gave that cell (its propensity)."""
        if state.active.ndim != 1:
            raise InvalidParameterError("choose_one serves one test: give it a state of one test (shape (n_cells,)).")
        generator = check_random_state(rng)
        p = self.shares(state, generator)
        cell = int(generator.choice(state.n_cells, p=p / p.sum()))
        return cell, float(p[cell])

    def update(self, state: AllocationState, impressions: Any, plays: Any) -> AllocationState:
        """The state after this feedback (impressions and plays per cell)."""
        return state.update(impressions, plays)

    def recommend(self, state: AllocationState) -> np.ndarray:
        """The cell the policy would roll out now: the highest posterior mean (or its commitment)."""
        best = _masked_argmax(state.posterior_mean(), state.active)
        return np.where(state.committed >= 0, state.committed, best)

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.name, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        settings = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                             if getattr(self, f.name) != f.default)
        return f"{self.name}({settings})"


@dataclass(frozen=True)
class FixedSplit(Policy):
    """The classic A/B test: a fixed split (equal, or the planned ``weights``), whatever the data say."""

    weights: tuple[float, ...] | None = None
    name: ClassVar[str] = "fixed"
    label: ClassVar[str] = "a fixed split"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.weights is not None and (len(self.weights) == 0 or min(self.weights) < 0 or sum(self.weights) <= 0):
            raise InvalidParameterError(f"weights must be non-negative shares with a positive sum, got {self.weights!r}.")

    def _shares(self, state: AllocationState, rng: np.random.Generator) -> np.ndarray:
        if self.weights is None:
            return state.active.astype(float)
        if len(self.weights) != state.n_cells:
            raise InvalidParameterError(f"FixedSplit has {len(self.weights)} weights for {state.n_cells} cells; "
                                        "give one weight per cell.")
        return np.broadcast_to(np.asarray(self.weights, float), state.active.shape) * state.active


@dataclass(frozen=True)
class ExploreThenCommit(Policy):
    """Split evenly until every cell has ``explore`` impressions (or, with ``stop_level``, until
    the leader beats every rival by a one-sided z-test at that level, Bonferroni over the
    rivals, checked at every refresh), then serve the leader only: the 2016 practice.

    Checking at every refresh is repeated testing: the chance of committing to a wrong cell is
    higher than ``1 - stop_level``; :func:`simulate_allocation` measures it.
    """

    explore: int = 10_000
    stop_level: float | None = None
    name: ClassVar[str] = "explore_then_commit"
    label: ClassVar[str] = "explore-then-commit"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self.explore, "explore", minimum=1)
        if self.stop_level is not None:
            check_level(self.stop_level, "stop_level")

    def _shares(self, state: AllocationState, rng: np.random.Generator) -> np.ndarray:
        explore = state.active.astype(float)
        exploit = _one_hot(np.maximum(state.committed, 0), state.n_cells)
        return np.where((state.committed >= 0)[..., None], exploit, explore)

    def update(self, state: AllocationState, impressions: Any, plays: Any) -> AllocationState:
        state = state.update(impressions, plays)
        explored = np.all(np.where(state.active, state.impressions >= self.explore, True), axis=-1)
        done = explored | self._decisive(state)
        leader = _masked_argmax(state.posterior_mean(), state.active)
        committed = np.where((state.committed < 0) & done, leader, state.committed)
        return replace(state, committed=committed)

    def _decisive(self, state: AllocationState) -> np.ndarray:
        if self.stop_level is None:
            return np.zeros(state.committed.shape, dtype=bool)
        rate = state.observed_rate()
        var = np.divide(rate * (1 - rate), state.impressions, out=np.full_like(rate, np.inf),
                        where=state.impressions > 0)
        leader = _masked_argmax(rate, state.active)
        lead_rate = np.take_along_axis(rate, leader[..., None], -1)
        lead_var = np.take_along_axis(var, leader[..., None], -1)
        z = (lead_rate - rate) / np.sqrt(lead_var + var + 1e-300)
        rivals = state.active & (np.arange(state.n_cells) != leader[..., None])
        k = np.maximum(rivals.sum(axis=-1), 1)
        critical = ndtri(1 - (1 - self.stop_level) / k)
        return np.all(np.where(rivals, z > critical[..., None], True), axis=-1) & (rivals.sum(axis=-1) > 0)


@dataclass(frozen=True)
class EpsilonGreedy(Policy):
    """The leader (highest posterior mean) gets ``1 - epsilon`` of impressions; ``epsilon`` is split evenly."""

    epsilon: float = 0.1
    name: ClassVar[str] = "epsilon_greedy"
    label: ClassVar[str] = "epsilon-greedy"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_between(self.epsilon, "epsilon", 0.0, 1.0, "a share")

    def _shares(self, state: AllocationState, rng: np.random.Generator) -> np.ndarray:
        k = state.active.sum(axis=-1, keepdims=True)
        greedy = _split_ties(state.posterior_mean(), state.active)
        return self.epsilon * state.active / k + (1 - self.epsilon) * greedy


@dataclass(frozen=True)
class UCB1(Policy):
    """Upper confidence bound (Auer et al. 2002): serve the cell with the highest
    ``mean + sqrt(2 ln N / n)``; a cell without impressions first."""

    name: ClassVar[str] = "ucb1"
    label: ClassVar[str] = "UCB1"

    def _index(self, state: AllocationState) -> np.ndarray:
        total = np.maximum(state.impressions.sum(axis=-1, keepdims=True), 1.0)
        bonus = np.sqrt(2 * np.log(total) / np.maximum(state.impressions, 1e-300))
        return np.where(state.impressions > 0, state.observed_rate() + bonus, np.inf)

    def _shares(self, state: AllocationState, rng: np.random.Generator) -> np.ndarray:
        return _split_ties(self._index(state), state.active)


@dataclass(frozen=True)
class KLUCB(UCB1):
    """KL-UCB (Garivier and Cappé 2011): the largest rate ``q`` with
    ``n kl(mean, q) <= ln N + c ln ln N``; tighter than UCB1 for small take rates."""

    c: float = 0.0
    name: ClassVar[str] = "kl_ucb"
    label: ClassVar[str] = "KL-UCB"

    def _index(self, state: AllocationState) -> np.ndarray:
        mean = np.clip(state.observed_rate(), 0.0, 1.0)
        total = np.maximum(state.impressions.sum(axis=-1, keepdims=True), 3.0)
        budget = (np.log(total) + self.c * np.log(np.log(total))) / np.maximum(state.impressions, 1e-300)
        low, high = mean.copy(), np.ones_like(mean)
        for _ in range(40):  # bisection: 40 halvings reach 1e-12
            q = (low + high) / 2
            over = _bernoulli_kl(mean, q) > budget
            high = np.where(over, q, high)
            low = np.where(over, low, q)
        return np.where(state.impressions > 0, low, np.inf)


def _bernoulli_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    q = np.clip(q, 1e-15, 1 - 1e-15)
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


@dataclass(frozen=True)
class Thompson(Policy):
    """Beta-Binomial Thompson sampling. A refresh is split by the posterior probability that
    each cell is best (``draws`` posterior samples); one impression by one posterior draw."""

    draws: int = 32
    name: ClassVar[str] = "thompson"
    label: ClassVar[str] = "Thompson sampling"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self.draws, "draws", minimum=1)

    def _best(self, state: AllocationState, rng: np.random.Generator) -> np.ndarray:
        return _share_of_wins(posterior_draws(state, self.draws, rng), state.active)

    def _shares(self, state: AllocationState, rng: np.random.Generator) -> np.ndarray:
        return self._best(state, rng)

    def choose_one(self, state: AllocationState, rng: Any = None) -> tuple[int, float]:
        """One posterior draw picks the cell; its propensity is estimated from 4 000 more draws."""
        if state.active.ndim != 1:
            raise InvalidParameterError("choose_one serves one test: give it a state of one test (shape (n_cells,)).")
        generator = check_random_state(rng)
        if self.min_share > 0:
            return super().choose_one(state, generator)
        cell = int(_masked_argmax(posterior_draws(state, 1, generator)[0], state.active))
        return cell, float(max(probability_best(state, random_state=generator)[cell], 1 / 4000))


@dataclass(frozen=True)
class TopTwoThompson(Thompson):
    """Top-two Thompson sampling (Russo 2020), for finding the best cell rather than earning on
    the way: the leader gets share ``beta`` of its Thompson probability, the rest goes to the
    challenger drawn by re-sampling until another cell leads."""

    beta: float = 0.5
    name: ClassVar[str] = "top_two_thompson"
    label: ClassVar[str] = "top-two Thompson sampling"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fraction(self.beta, "beta", example="0.5")

    def _shares(self, state: AllocationState, rng: np.random.Generator) -> np.ndarray:
        p = self._best(state, rng)
        # challenger j given leader i: p_j / (1 - p_i), so share_j = beta p_j + (1 - beta) p_j sum_{i != j} p_i / (1 - p_i)
        ratio = np.divide(p, 1 - p, out=np.zeros_like(p), where=p < 1)
        challenger = p * (ratio.sum(axis=-1, keepdims=True) - ratio)
        lone = (p >= 1).any(axis=-1, keepdims=True)  # one cell certain: nothing to challenge it
        return np.where(lone, p, self.beta * p + (1 - self.beta) * challenger)


@dataclass(frozen=True, kw_only=True)
class Contextual(Policy):
    """A policy per segment (genre, country, member cluster), pooled across segments.

    The state has a segment axis just before the cells: shape ``(..., segments, cells)``. Each
    segment runs ``base`` (Thompson sampling unless given) on its own counts, with a prior for
    every cell centred on that cell's take rate in the *other* segments of the test and weighing
    ``kappa`` impressions: a hierarchical Beta-Binomial fitted by moments. With ``pooling="auto"``
    ``kappa`` comes from how much the segments' take rates differ beyond chance (the intra-class
    correlation ``rho`` per test, pooled over its cells: ``kappa = 1 / rho - 1``), so segments
    that behave alike share what they learn and segments that differ soon follow their own data.
    A number fixes ``kappa``; ``0`` runs the segments separately. ``kappa`` never exceeds the
    impressions the other segments have (full pooling).

    Examples
    --------
    >>> policy = Contextual()
    >>> state = policy.start(2, shape=(3,))                  # 3 segments of one test, 2 cells
    >>> state = policy.update(state, [[5000, 5000]] * 3, [[250, 400]] * 3)
    >>> policy.recommend(state).tolist()
    [1, 1, 1]
    """

    base: Policy = field(default_factory=lambda: Thompson())
    pooling: float | str = "auto"
    name: ClassVar[str] = "contextual"
    label: ClassVar[str] = "a per-segment policy"

    def __post_init__(self) -> None:
        if isinstance(self.min_share, Policy):
            raise InvalidParameterError("name the base policy: Contextual(base=Thompson()), not Contextual(Thompson()).")
        super().__post_init__()
        if not isinstance(self.base, Policy) or isinstance(self.base, Contextual):
            raise InvalidParameterError(f"base must be a (non-contextual) allocation policy, got {self.base!r}.")
        if self.pooling != "auto" and not (isinstance(self.pooling, (int, float)) and self.pooling >= 0):
            raise InvalidParameterError(f"pooling must be 'auto' or a prior weight in impressions (0 or more), got "
                                        f"{self.pooling!r}.")

    def pooled(self, state: AllocationState) -> AllocationState:
        """The state with each segment's prior moved towards the other segments' take rates."""
        if state.active.ndim < 2:
            raise InvalidParameterError("a contextual policy's state needs a segment axis: shape (..., segments, cells).")
        n, plays = state.impressions, state.plays
        others_n = n.sum(axis=-2, keepdims=True) - n
        others_rate = (plays.sum(axis=-2, keepdims=True) - plays + 1) / (others_n + 2)
        kappa = np.minimum(self._kappa(state), others_n)
        return replace(state, prior_plays=state.prior_plays + kappa * others_rate,
                       prior_misses=state.prior_misses + kappa * (1 - others_rate))

    def _kappa(self, state: AllocationState) -> np.ndarray:
        if self.pooling != "auto":
            return np.full(state.impressions.shape, float(self.pooling))
        weight = pooled_prior_weight(state.impressions, state.plays, member_axis=-2, pool_axis=-1)
        return np.broadcast_to(weight, state.impressions.shape)

    def _shares(self, state: AllocationState, rng: np.random.Generator) -> np.ndarray:
        return self.base.shares(self.pooled(state), rng)

    def update(self, state: AllocationState, impressions: Any, plays: Any) -> AllocationState:
        return self.base.update(state, impressions, plays)

    def recommend(self, state: AllocationState) -> np.ndarray:
        """Each segment's cell to roll out: shape (..., segments)."""
        return self.base.recommend(self.pooled(state))

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.name, "min_share": self.min_share, "base": self.base.to_dict(), "pooling": self.pooling}

    def __str__(self) -> str:
        pooling = "" if self.pooling == "auto" else f", pooling={self.pooling!r}"
        floor = f", min_share={self.min_share!r}" if self.min_share else ""
        return f"{self.name}({self.base}{pooling}{floor})"


POLICIES: dict[str, type[Policy]] = {cls.name: cls for cls in
                                     (FixedSplit, ExploreThenCommit, EpsilonGreedy, UCB1, KLUCB, Thompson, TopTwoThompson)}


def policy_from_dict(data: dict[str, Any] | str) -> Policy:
    """A policy from :meth:`Policy.to_dict` (or its JSON).

    Examples
    --------
    >>> policy_from_dict(Thompson(min_share=0.05).to_json())
    Thompson(min_share=0.05, draws=32)
    """
    data = json.loads(data) if isinstance(data, str) else dict(data)
    name = data.pop("policy", None)
    known = {**POLICIES, Contextual.name: Contextual}
    if name not in known:
        raise UnknownNameError(f"unknown policy {name!r}; known: {sorted(known)}.")
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    if isinstance(settings.get("base"), dict):
        settings["base"] = policy_from_dict(settings["base"])
    try:
        return known[name](**settings)
    except TypeError as exc:
        raise InvalidParameterError(f"the saved {name} policy has a setting it does not take: {exc}.") from None


__all__ = ["Policy", "Contextual", "FixedSplit", "ExploreThenCommit", "EpsilonGreedy", "UCB1", "KLUCB", "Thompson",
           "TopTwoThompson", "POLICIES", "policy_from_dict", "probability_best", "posterior_draws", "EXACT_BELOW"]

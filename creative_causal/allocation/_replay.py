"""What an adaptive split would have done in tests that already ran: each finished A/B test
replayed under a policy, with take rates drawn from what the test measured, told in the words
a creative team uses ("the winning artwork would have been shown to 71% of impressions
instead of 33%, at the cost of ...")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib.axes
import numpy as np
import pandas as pd

from .._display import ResultMixin, json_safe
from .._validation import check_int, check_level, check_random_state
from ..exceptions import ExperimentDataError, InvalidParameterError
from ._policies import Policy, Thompson
from ._state import pooled_prior_weight


@dataclass(frozen=True, repr=False)
class SplitReplay(ResultMixin):
    """Finished tests replayed under an adaptive policy, against the split they ran with.

    Arrays are (replications, tests). In each replication every cell's true take rate is
    drawn from its posterior given the test's counts (shrunk towards the test's rate, see
    :func:`replay_tests`), so the intervals carry both what the tests left uncertain and the
    policy's own randomness.
    """

    policy: str
    label: str
    level: float
    replications: int
    refreshes: int
    test_ids: tuple[str, ...]
    winners: tuple[str, ...]
    n_cells: np.ndarray
    impressions: np.ndarray
    ab_winner_share: np.ndarray
    adaptive_winner_share: np.ndarray
    extra_plays: np.ndarray
    ab_plays: np.ndarray
    other_impressions_ratio: np.ndarray
    same_winner: np.ndarray
    skipped_tests: int = 0

    def _range(self, values: np.ndarray) -> tuple[float, float, float]:
        low, high = np.quantile(values, [0.5 - self.level / 2, 0.5 + self.level / 2])
        return float(np.mean(values)), float(low), float(high)

    def totals(self) -> dict[str, float]:
        """Programme-wide figures with their intervals over replications."""
        weights = self.impressions / self.impressions.sum()
        out: dict[str, float] = {"tests": float(len(self.test_ids)), "impressions": float(self.impressions.sum()),
                                 "ab_winner_share": float(weights @ self.ab_winner_share), "level": self.level}
        measures = {"adaptive_winner_share": self.adaptive_winner_share @ weights,
                    "extra_plays": self.extra_plays.sum(axis=1),
                    "extra_plays_share": self.extra_plays.sum(axis=1) / self.ab_plays.sum(axis=1),
                    "other_impressions_ratio": np.nanmedian(self.other_impressions_ratio, axis=1),
                    "same_winner": self.same_winner.mean(axis=1)}
        for name, values in measures.items():
            out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = self._range(values)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per test: the A/B split's share to the winner, the adaptive one's (mean and
        interval), the plays it would have added, and what the other artworks would have kept."""
        rows = []
        for j, test in enumerate(self.test_ids):
            share, share_low, share_high = self._range(self.adaptive_winner_share[:, j])
            extra, extra_low, extra_high = self._range(self.extra_plays[:, j])
            rows.append({"test_id": test, "winner": self.winners[j], "n_cells": int(self.n_cells[j]),
                         "impressions": int(self.impressions[j]), "ab_winner_share": self.ab_winner_share[j],
                         "adaptive_winner_share": share, "adaptive_winner_share_ci_low": share_low,
                         "adaptive_winner_share_ci_high": share_high, "extra_plays": extra,
                         "extra_plays_ci_low": extra_low, "extra_plays_ci_high": extra_high,
                         "other_impressions_ratio": float(np.mean(self.other_impressions_ratio[:, j])),
                         "same_winner": float(np.mean(self.same_winner[:, j]))})
        return pd.DataFrame(rows)

    def sentences(self) -> list[str]:
        """The replay in plain words, for the report."""
        t = self.totals()
        level = f"{self.level:.0%}"
        ratio = t["other_impressions_ratio"]
        wider = 1 / np.sqrt(max(ratio, 1e-9))
        return [
            f"Had {self.label} split the impressions of these {int(t['tests'])} tests, the winning artwork would have "
            f"been shown {t['adaptive_winner_share']:.0%} of the time ({level} interval "
            f"{t['adaptive_winner_share_ci_low']:.0%} to {t['adaptive_winner_share_ci_high']:.0%}) instead of "
            f"{t['ab_winner_share']:.0%}, for about {t['extra_plays']:,.0f} more plays "
            f"({t['extra_plays_share']:+.1%}; {level} interval {t['extra_plays_ci_low']:,.0f} to "
            f"{t['extra_plays_ci_high']:,.0f}).",
            f"The cost: the other artworks would have been shown {1 - ratio:.0%} less (median over artworks), so "
            f"their take rates would be measured with intervals about {wider:.1f} times as wide, and the feature "
            "study would have less contrast to learn from.",
            f"It would have rolled out the same winner as the A/B test in {t['same_winner']:.0%} of tests "
            f"({level} interval {t['same_winner_ci_low']:.0%} to {t['same_winner_ci_high']:.0%}).",
        ]

    def summary(self) -> str:
        head = (f"Finished tests replayed under {self.policy}: {self.replications} replays, {self.refreshes} refreshes "
                "per test, take rates drawn from each cell's posterior, shrunk towards its test's rate")
        skipped = (f"\n  {self.skipped_tests} tests with fewer than two cells (or no impressions) were left out: "
                   "they have no split to replay." if self.skipped_tests else "")
        return "\n".join([head, *[f"  {s}" for s in self.sentences()]]) + skipped

    def to_dict(self) -> dict[str, Any]:
        return json_safe({**self.totals(), "policy": self.policy, "replications": self.replications,
                          "refreshes": self.refreshes, "tests_table": self.to_frame().to_dict(orient="records")})

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """The winner's share of impressions: as the tests ran, and under the policy."""
        from ..plotting import interval_plot

        t = {k: 100 * v for k, v in self.totals().items()}
        return interval_plot(["A/B split (as run)", self.label],
                             [t["ab_winner_share"], t["adaptive_winner_share"]],
                             [t["ab_winner_share"], t["adaptive_winner_share_ci_low"]],
                             [t["ab_winner_share"], t["adaptive_winner_share_ci_high"]], ax, level=self.level,
                             xlabel="% of impressions to the winning artwork", title="What an adaptive split would have done")


def replay_tests(cells: pd.DataFrame, policy: Policy | None = None, *, refreshes: int = 20,
                 replications: int = 200, level: float = 0.95, random_state: Any = None) -> SplitReplay:
    """Replay finished A/B tests under an adaptive policy: how much more would the winner have
    been shown, how many plays would it have added, and what would it have cost?

    Each test serves the impressions it really had, in ``refreshes`` equal refreshes, under
    ``policy`` (Thompson sampling unless given). Each replication draws every cell's true take
    rate from its posterior under a hierarchical Beta-Binomial: the cells of a test spread
    around the test's take rate as much as the tests show beyond chance (moments pooled over
    all tests), so a test that could not tell its cells apart cannot claim a large gain, and
    the measured winner's lead is shrunk (its luck is not counted as gain). Plays are expected plays under the drawn rates, for
    the policy's split and for the split the test ran with. The winner is the cell with the
    highest measured take rate.

    Parameters
    ----------
    cells : DataFrame
        One row per cell: ``test_id``, ``impressions``, ``plays``, and ``cell_id`` or
        ``artwork_id`` (as in ``ABResults.cells`` or a study's ``artworks``).
    policy : Policy, optional
    refreshes, replications : int
    level : float
        Level of the intervals over replications.
    random_state : None, int or Generator

    Returns
    -------
    SplitReplay

    Examples
    --------
    >>> cells = pd.DataFrame({"test_id": ["t"] * 3, "cell_id": ["a", "b", "c"],
    ...                       "impressions": [30_000] * 3, "plays": [1500, 1800, 1450]})
    >>> replay = replay_tests(cells, replications=50, random_state=0)
    >>> bool(replay.totals()["adaptive_winner_share"] > 0.6)
    True
    """
    policy = Thompson() if policy is None else policy
    if not isinstance(policy, Policy):
        raise InvalidParameterError(f"policy must be an allocation policy, got {type(policy).__name__}.")
    refreshes = check_int(refreshes, "refreshes", minimum=1)
    replications = check_int(replications, "replications", minimum=2)
    level = check_level(level)
    rng = check_random_state(random_state)
    test_ids, cell_ids, n, plays, active, skipped = _grid(cells)
    total = n.sum(axis=1)
    observed = np.divide(plays, n, out=np.full(n.shape, -1.0), where=active & (n > 0))
    winner = np.argmax(np.where(active, observed, -np.inf), axis=1)
    is_winner = np.arange(n.shape[1]) == winner[:, None]

    shape = (replications, *n.shape)
    # a test's cells differ by less than their measured rates do (those add sampling noise): shrink
    # each towards its test's rate by the spread the programme shows beyond chance (hierarchical
    # Beta-Binomial by moments), so drawn rates are not noisier than the truth
    kappa = np.minimum(pooled_prior_weight(n, plays, member_axis=-1, pool_axis=0), 1e12)
    centre = (plays.sum(axis=1, keepdims=True) + 1) / (total[:, None] + 2)
    alpha = np.where(active, kappa * centre + plays, 1.0)
    beta = np.where(active, kappa * (1 - centre) + n - plays, 1.0)
    rates = np.where(active, rng.beta(alpha, beta, size=shape), 0.0)
    served, recommended = serve(policy, total, rates, active, refreshes, rng)
    ab_plays = (n * rates).sum(axis=-1)
    others_ab = np.where(active & ~is_winner, n, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(others_ab > 0, served / others_ab, np.nan)
        per_test_ratio = np.nanmedian(np.where(is_winner, np.nan, ratio), axis=-1)
    return SplitReplay(str(policy), policy.label, level, replications, refreshes, tuple(test_ids),
                       tuple(cell_ids[np.arange(len(test_ids)), winner]), active.sum(axis=1), total,
                       (n * is_winner).sum(axis=1) / total, (served * is_winner).sum(axis=-1) / total,
                       (served * rates).sum(axis=-1) - ab_plays, ab_plays, per_test_ratio, recommended == winner,
                       skipped)


def serve(policy: Policy, total: np.ndarray, rates: np.ndarray, active: np.ndarray, refreshes: int,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Impressions per cell when ``policy`` serves each test's ``total`` in ``refreshes`` equal
    refreshes with these take rates (replications x tests x cells), and its final pick."""
    total = np.asarray(total, dtype=np.int64)
    state = policy.start(active=np.broadcast_to(active, rates.shape))
    served = np.zeros(rates.shape)
    done = np.zeros(len(total), dtype=np.int64)
    for step in range(refreshes):
        upto = (total * (step + 1)) // refreshes
        counts = policy.choose(np.broadcast_to(upto - done, rates.shape[:2]), state, rng)
        state = policy.update(state, counts, rng.binomial(counts, rates))
        served += counts
        done = upto
    return served, policy.recommend(state)


def _grid(cells: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    if not isinstance(cells, pd.DataFrame):
        raise InvalidParameterError(f"cells must be a DataFrame of test cells, got {type(cells).__name__}.")
    cell = "cell_id" if "cell_id" in cells else "artwork_id"
    missing = [c for c in ("test_id", cell, "impressions", "plays") if c not in cells]
    if missing:
        raise ExperimentDataError(f"the cells table lacks {missing}; it needs test_id, cell_id (or artwork_id), "
                                  "impressions and plays per cell (ABResults.cells has them).")
    n = pd.to_numeric(cells["impressions"], errors="coerce").to_numpy(float)
    plays = pd.to_numeric(cells["plays"], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(n) | ~np.isfinite(plays) | (n < 0) | (plays < 0) | (plays > n)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ExperimentDataError(f"cells row {row} (test {cells['test_id'].iloc[row]!r}) has impressions "
                                  f"{cells['impressions'].iloc[row]!r} and plays {cells['plays'].iloc[row]!r}; "
                                  "both must be counts with plays <= impressions.")
    tests = cells["test_id"].astype(str)
    order = pd.Index(tests.unique())
    row = order.get_indexer(tests)
    position = tests.groupby(tests, sort=False).cumcount().to_numpy()
    shape = (len(order), int(position.max()) + 1)
    grid = {name: np.zeros(shape) for name in ("n", "plays")}
    grid["n"][row, position], grid["plays"][row, position] = n, plays
    active = np.zeros(shape, dtype=bool)
    active[row, position] = True
    ids = np.full(shape, "", dtype=object)
    ids[row, position] = cells[cell].astype(str).to_numpy()
    usable = (active.sum(axis=1) >= 2) & (grid["n"].sum(axis=1) > 0)
    if not usable.any():
        raise ExperimentDataError("no test has two or more cells with impressions: there is no split to replay.")
    return ([t for t, u in zip(order, usable) if u], ids[usable], grid["n"][usable], grid["plays"][usable],
            active[usable], int((~usable).sum()))


__all__ = ["SplitReplay", "replay_tests"]

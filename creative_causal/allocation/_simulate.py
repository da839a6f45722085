"""Policies replayed against the simulator's true take rates: regret, take rate, share to the
best cell and whether (and when) the right winner is picked, for every test of a programme
and many replications at once."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.axes
import numpy as np
import pandas as pd
from scipy import stats

from .._display import ResultMixin, json_safe
from .._validation import check_int, check_level, check_random_state, draw_seed
from ..exceptions import InvalidParameterError, UnknownNameError
from ._policies import Contextual, Policy


def _cell_grid(program: Any) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    cells = program.cells
    position = cells.groupby("test_id", sort=False).cumcount().to_numpy()
    tests = pd.Index(cells["test_id"].unique())
    return tests, tests.get_indexer(cells["test_id"]), position


def _prior_arrays(program: Any, priors: pd.DataFrame | None, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell Beta prior from a table with artwork_id, prior_plays, prior_misses (flat elsewhere)."""
    plays, misses = np.ones(shape), np.ones(shape)
    if priors is None:
        return plays, misses
    if not isinstance(priors, pd.DataFrame) or not {"artwork_id", "prior_plays", "prior_misses"} <= set(priors):
        raise InvalidParameterError("priors must be a DataFrame with artwork_id, prior_plays and prior_misses "
                                    "(prior_from_study returns one).")
    _, row, position = _cell_grid(program)
    table = priors.drop_duplicates("artwork_id", keep="last").set_index("artwork_id")
    ids = program.cells["artwork_id"].astype(str)
    known = ids.isin(table.index.astype(str)).to_numpy()
    if not known.any():
        raise InvalidParameterError("no artwork of the programme has a prior: priors' artwork_id must name the "
                                    "programme's artworks.")
    table.index = table.index.astype(str)
    plays[row[known], position[known]] = table.loc[ids[known], "prior_plays"].to_numpy(float)
    misses[row[known], position[known]] = table.loc[ids[known], "prior_misses"].to_numpy(float)
    return np.maximum(plays, 1e-9), np.maximum(misses, 1e-9)


def true_take_rates(program: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Each test's cells and their true take probabilities, padded to the widest test.

    Returns the test ids, the rates (tests x cells, 0 where a test has no such cell) and the
    mask of cells that exist. ``program`` is a :class:`~creative_causal.datasets.SimulatedProgram`
    (its latent log take probability ``eta`` per artwork).
    """
    cells, latent = getattr(program, "cells", None), getattr(program, "latent", None)
    if not isinstance(cells, pd.DataFrame) or not isinstance(latent, pd.DataFrame) or "eta" not in latent:
        raise InvalidParameterError("program must be a simulated programme (creative_causal.datasets.simulate_program): "
                                    "it needs .cells and .latent['eta'] to know the true take rates.")
    rate = np.clip(np.exp(latent["eta"].reindex(cells["artwork_id"]).to_numpy(dtype=float)), 0.0, 1.0)
    tests, row, position = _cell_grid(program)
    width = int(position.max()) + 1
    rates = np.zeros((len(tests), width))
    active = np.zeros((len(tests), width), dtype=bool)
    rates[row, position] = rate
    active[row, position] = True
    return [str(t) for t in tests], rates, active


def _segment_rates(program: Any, segments: Mapping[str, Mapping[str, float]] | None,
                   rates: np.ndarray) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Segment names, their shares of each test's impressions, and true take rates per test,
    segment and cell: the programme's rate times ``exp(sum of the segment's shifts x features)``."""
    if segments is None:
        return (), np.ones(1), rates[:, None, :]
    if not isinstance(segments, Mapping) or not segments:
        raise InvalidParameterError("segments must map each segment's name to its share and its shifts of the log "
                                    "take rate per feature, e.g. {'families': {'share': 0.3, 'has_face': 0.4}, "
                                    "'others': {'share': 0.7}}.")
    features = program.artworks.reindex(program.cells["artwork_id"])
    _, row, position = _cell_grid(program)
    names, shares, layers = [], [], []
    for name, spec in segments.items():
        spec = dict(spec)
        share = spec.pop("share", None)
        if not isinstance(share, (int, float)) or not share > 0:
            raise InvalidParameterError(f"segment {name!r} needs a positive 'share' of impressions, got {share!r}.")
        unknown = [f for f in spec if f not in features]
        if unknown:
            raise UnknownNameError(f"segment {name!r} shifts {unknown[0]!r}, which is not a feature of the programme; "
                                   f"features: {', '.join(features.columns)}.")
        shift = np.zeros(rates.shape)
        for feature, beta in spec.items():
            shift[row, position] += float(beta) * features[feature].to_numpy(float)
        names.append(str(name))
        shares.append(float(share))
        layers.append(np.clip(rates * np.exp(shift), 0.0, 1.0))
    return tuple(names), np.asarray(shares) / sum(shares), np.stack(layers, axis=1)


def _interval(values: np.ndarray, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over replications with a t interval for the mean (NaN with one replication)."""
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        nan = np.full_like(mean, np.nan, dtype=float)
        return mean, nan, nan
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(axis=axis, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


@dataclass(frozen=True, repr=False)
class AllocationResult(ResultMixin):
    """A policy replayed on every test of a programme, ``replications`` times.

    Arrays are (replications, tests, refreshes) and cumulative; ``impressions`` holds the
    impressions per test served after each refresh. Regret is expected regret: the plays lost
    against always serving the best cell, ``sum(n_cell * (p_best - p_cell))``, so it carries no
    Bernoulli noise of its own. With ``segments`` the best cell is each segment's own (the
    oracle a per-segment policy could reach), and ``correct`` is the share of a test's
    impressions whose segment has the right winner recommended.
    """

    policy: str
    horizon: int
    batch: int
    delay: int
    replications: int
    level: float
    test_ids: tuple[str, ...]
    n_cells: np.ndarray
    best_rate: np.ndarray
    gap: np.ndarray
    impressions: np.ndarray
    regret: np.ndarray
    plays: np.ndarray
    best_impressions: np.ndarray
    correct: np.ndarray
    segments: tuple[str, ...] = ()

    def time_to_pick(self) -> np.ndarray:
        """Impressions per test after which the recommended cell is the best one and stays so
        (NaN where it is wrong at the end): (replications, tests)."""
        right = self.correct >= 1 - 1e-9  # every segment's winner right
        stays = np.flip(np.logical_and.accumulate(np.flip(right, -1), axis=-1), -1)
        first = np.argmax(stays, axis=-1)
        return np.where(stays[..., -1], self.impressions[first], np.nan)

    def to_frame(self) -> pd.DataFrame:
        """One row per test: mean over replications with intervals at ``level``."""
        regret, low, high = _interval(self.regret[..., -1], self.level)
        pick = self.time_to_pick()
        with np.errstate(all="ignore"):
            median_pick = np.nanmedian(np.where(np.isnan(pick).all(axis=0), 0, pick), axis=0)
        median_pick = np.where(np.isnan(pick).all(axis=0), np.nan, median_pick)
        return pd.DataFrame({
            "test_id": list(self.test_ids), "n_cells": self.n_cells, "best_rate": self.best_rate, "gap": self.gap,
            "regret": regret, "regret_ci_low": low, "regret_ci_high": high,
            "take_rate": self.plays[..., -1].mean(axis=0) / self.horizon,
            "share_to_best": self.best_impressions[..., -1].mean(axis=0) / self.horizon,
            "p_correct": self.correct[..., -1].mean(axis=0), "median_time_to_pick": median_pick,
        })

    def totals(self) -> pd.DataFrame:
        """The programme in one row: regret summed over tests, take rate, share to the best cell,
        share of tests with the right winner, each with its interval over replications."""
        row: dict[str, Any] = {"policy": self.policy, "replications": self.replications, "tests": len(self.test_ids),
                               "horizon": self.horizon, "level": self.level}
        measures = {"regret": self.regret[..., -1].sum(axis=1),
                    "take_rate": self.plays[..., -1].sum(axis=1) / (self.horizon * len(self.test_ids)),
                    "share_to_best": self.best_impressions[..., -1].sum(axis=1) / (self.horizon * len(self.test_ids)),
                    "p_correct": self.correct[..., -1].mean(axis=1)}
        for name, values in measures.items():
            row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"] = (float(v) for v in _interval(values, self.level))
        row["oracle_take_rate"] = float(np.mean(self.best_rate))
        return pd.DataFrame([row])

    def curve(self) -> pd.DataFrame:
        """Regret summed over tests after each refresh, mean and interval over replications."""
        mean, low, high = _interval(self.regret.sum(axis=1), self.level)
        correct = self.correct.mean(axis=1).mean(axis=0)
        return pd.DataFrame({"impressions": self.impressions, "regret": mean, "ci_low": low, "ci_high": high,
                             "p_correct": correct})

    def to_dict(self) -> dict[str, Any]:
        return json_safe({**self.totals().iloc[0].to_dict(), "batch": self.batch, "delay": self.delay,
                          "tests_table": self.to_frame().to_dict(orient="records")})

    def summary(self) -> str:
        t = self.totals().iloc[0]
        level = f"{self.level:.0%}"
        spread = (f" ({level} CI {t.regret_ci_low:,.0f} to {t.regret_ci_high:,.0f})" if self.replications > 1
                  else " (one replication: no interval)")
        segments = (f"; {len(self.segments)} segments ({', '.join(self.segments)}), each with its own best cell"
                    if self.segments else "")
        return "\n".join([
            f"{self.policy} on {len(self.test_ids)} tests, {self.horizon:,} impressions each in refreshes of "
            f"{self.batch:,} (feedback delay {self.delay}), {self.replications} replications{segments}",
            f"  regret: {t.regret:,.0f} plays lost against always serving the best cell{spread}",
            f"  take rate {t.take_rate:.4%} (best possible {t.oracle_take_rate:.4%}); "
            f"{t.share_to_best:.1%} of impressions to the best cell",
            f"  right winner at the end in {t.p_correct:.1%} of tests",
        ])

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """Cumulative regret with its interval over replications."""
        from ..plotting import regret_plot

        return regret_plot({self.policy: self.curve()}, ax, level=self.level)


def simulate_allocation(program: Any, policy: Policy, *, horizon: int = 100_000, batch: int = 5_000,
                        replications: int = 1, delay: int = 0, priors: pd.DataFrame | None = None,
                        segments: Mapping[str, Mapping[str, float]] | None = None, level: float = 0.95,
                        random_state: Any = None) -> AllocationResult:
    """Replay ``policy`` on every test of a simulated programme with its true take rates.

    Each test serves ``horizon`` impressions in refreshes of ``batch``: the policy splits each
    refresh (:meth:`Policy.choose`), plays are drawn from the cells' true take probabilities,
    and the policy sees them ``delay`` refreshes later (as a daily job sees yesterday's
    plays). All tests and replications run as one array, so a programme of 1 000 tests,
    20 replications and 1 000 000 impressions each takes seconds
    (``benchmarks/bench_allocation.py``).

    Parameters
    ----------
    program : SimulatedProgram
        From :func:`creative_causal.datasets.simulate_program`.
    policy : Policy
        Any allocation policy.
    horizon, batch : int
        Impressions per test, and per refresh.
    replications : int
        Independent repeats (intervals over them in the result).
    delay : int
        Refreshes between serving impressions and seeing their plays.
    priors : DataFrame, optional
        Beta priors per artwork (``artwork_id``, ``prior_plays``, ``prior_misses``; from
        :func:`prior_from_study`); flat Beta(1, 1) for artworks it does not name.
    segments : dict, optional
        Member segments that respond differently to the artwork: each name maps to its
        ``share`` of every test's impressions and its shifts of the log take rate per unit of
        catalog features, e.g. ``{"families": {"share": 0.3, "has_face": 0.4}, "others":
        {"share": 0.7, "has_face": -0.2}}``. Each refresh's impressions are split between the
        segments by their shares; a :class:`Contextual` policy splits each segment's own, any
        other policy serves every segment the same split. Regret is against each segment's
        best cell.
    level : float
        Interval level for the result's figures.
    random_state : None, int or Generator

    Returns
    -------
    AllocationResult

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> from creative_causal.allocation import Thompson
    >>> program = simulate_program(50, random_state=0)
    >>> result = simulate_allocation(program, Thompson(), horizon=20_000, batch=2_000, random_state=0)
    >>> bool(result.totals().loc[0, "share_to_best"] > 0.5)
    True
    """
    if not isinstance(policy, Policy):
        raise InvalidParameterError(f"policy must be an allocation policy (creative_causal.allocation), got "
                                    f"{type(policy).__name__}.")
    horizon = check_int(horizon, "horizon", minimum=1)
    batch = check_int(batch, "batch", minimum=1)
    replications = check_int(replications, "replications", minimum=1)
    delay = check_int(delay, "delay", minimum=0)
    level = check_level(level)
    rng = check_random_state(random_state)
    test_ids, base_rates, active = true_take_rates(program)
    names, segment_share, rates = _segment_rates(program, segments, base_rates)  # rates: tests x segments x cells
    shape = (replications, *base_rates.shape)
    per_segment = isinstance(policy, Contextual)
    cell_mask = active[:, None, :]
    best_cell = np.argmax(np.where(cell_mask, rates, -1.0), axis=-1)
    best_rate = rates.max(axis=-1, where=cell_mask, initial=0.0)
    second = np.sort(np.where(cell_mask, rates, -np.inf), axis=-1)[..., -2] if rates.shape[-1] > 1 else best_rate
    gap = np.where(np.isfinite(second), best_rate - second, np.nan)
    is_best = np.arange(rates.shape[-1]) == best_cell[..., None]

    refreshes = -(-horizon // batch)
    prior_plays, prior_misses = _prior_arrays(program, priors, base_rates.shape)
    if per_segment:
        state_shape = (replications, len(test_ids), len(segment_share), active.shape[-1])
        state = policy.start(active=np.broadcast_to(cell_mask, state_shape), prior_plays=prior_plays[:, None, :],
                             prior_misses=prior_misses[:, None, :])
    else:
        state = policy.start(active=np.broadcast_to(active, shape), prior_plays=prior_plays, prior_misses=prior_misses)
    out = {name: np.zeros((*shape[:2], refreshes)) for name in ("regret", "plays", "best_impressions")}
    correct = np.zeros((*shape[:2], refreshes))
    served = np.zeros(refreshes, dtype=np.int64)
    pending: deque[tuple[np.ndarray, np.ndarray]] = deque()
    totals = {name: np.zeros(shape[:2]) for name in out}
    done = 0
    for step in range(refreshes):
        n = min(batch, horizon - done)
        if segments is None:  # one segment: the same draws as a policy without segments
            split = np.full(shape[:2] + (1,), n)
            counts = policy.choose(split if per_segment else n, state, rng)
            counts = counts if per_segment else counts[..., None, :]
        else:
            split = rng.multinomial(n, segment_share, size=shape[:2])
            counts = (policy.choose(split, state, rng) if per_segment
                      else rng.multinomial(split, policy.shares(state, rng)[..., None, :]))
        plays = rng.binomial(counts, rates)
        totals["regret"] += (counts * (best_rate[..., None] - rates)).sum(axis=(-2, -1))
        totals["plays"] += plays.sum(axis=(-2, -1))
        totals["best_impressions"] += (counts * is_best).sum(axis=(-2, -1))
        pending.append((counts, plays) if per_segment else (counts.sum(axis=-2), plays.sum(axis=-2)))
        if len(pending) > delay:
            state = policy.update(state, *pending.popleft())
        done += n
        served[step] = done
        for name in out:
            out[name][..., step] = totals[name]
        recommended = policy.recommend(state)
        recommended = recommended if per_segment else recommended[..., None]
        correct[..., step] = ((recommended == best_cell) * segment_share).sum(axis=-1)
    return AllocationResult(str(policy), horizon, batch, delay, replications, level, tuple(test_ids),
                            active.sum(axis=-1), best_rate @ segment_share, gap @ segment_share, served,
                            out["regret"], out["plays"], out["best_impressions"], correct, names)


def simulate_impression_log(program: Any, policy: Policy | None = None, *, impressions: int = 10_000,
                            batch: int | None = None, random_state: Any = None) -> pd.DataFrame:
    """An impression log of a simulated programme served by a known logging policy.

    One row per impression: ``test_id``, ``cell_id``, ``played`` (drawn from the cell's true
    take rate), ``propensity`` (the logging policy's probability of that cell when it was
    served) and ``refresh``. Without ``policy`` each test is split by its planned shares (an
    A/B test); an adaptive policy serves ``impressions`` per test in refreshes of ``batch``
    and its propensities change between refreshes. Used to check off-policy evaluation
    against known answers.

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> log = simulate_impression_log(simulate_program(5, random_state=0), impressions=100, random_state=0)
    >>> sorted(log.columns)
    ['cell_id', 'played', 'propensity', 'refresh', 'test_id']
    """
    impressions = check_int(impressions, "impressions", minimum=1)
    batch = impressions if batch is None else check_int(batch, "batch", minimum=1)
    rng = check_random_state(random_state)
    test_ids, rates, active = true_take_rates(program)
    cell_ids = np.full(rates.shape, "", dtype=object)
    _, row, position = _cell_grid(program)
    cell_ids[row, position] = program.cells["cell_id"].astype(str).to_numpy()
    fixed, state = None, None
    if policy is None:  # the planned split learns nothing: no state to keep
        fixed = np.zeros(rates.shape)
        fixed[row, position] = program.cells["planned_share"].to_numpy(float)
        fixed /= fixed.sum(axis=1, keepdims=True)
    elif isinstance(policy, Policy):
        state = policy.start(active=active)
    else:
        raise InvalidParameterError(f"policy must be an allocation policy, got {type(policy).__name__}.")
    parts = []
    done = 0
    refresh = 0
    while done < impressions:
        n = min(batch, impressions - done)
        shares = fixed if fixed is not None else policy.shares(state, rng)
        counts = rng.multinomial(n, shares / shares.sum(axis=1, keepdims=True))
        test_index, cell_index = np.nonzero(counts)
        repeats = counts[test_index, cell_index]
        t = np.repeat(test_index, repeats)
        c = np.repeat(cell_index, repeats)
        played = rng.random(len(t)) < rates[t, c]
        parts.append(pd.DataFrame({"test_id": np.asarray(test_ids, dtype=object)[t], "cell_id": cell_ids[t, c],
                                   "played": played.astype(np.int8), "propensity": shares[t, c],
                                   "refresh": np.int32(refresh)}))
        if state is not None:
            plays = np.zeros_like(counts)
            np.add.at(plays, (t, c), played)
            state = policy.update(state, counts, plays)
        done += n
        refresh += 1
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True, repr=False)
class PolicyComparison(ResultMixin):
    """Several policies replayed on the same programme with the same seed."""

    results: Mapping[str, AllocationResult]

    def to_frame(self) -> pd.DataFrame:
        """One row per policy (:meth:`AllocationResult.totals`), lowest regret first."""
        rows = [r.totals().assign(policy=name) for name, r in self.results.items()]
        return pd.concat(rows, ignore_index=True).sort_values("regret", ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"policies": self.to_frame().to_dict(orient="records")})

    def summary(self) -> str:
        table = self.to_frame()
        first = next(iter(self.results.values()))
        lines = [f"{len(table)} policies on {len(first.test_ids)} tests x {first.replications} replications, "
                 f"{first.horizon:,} impressions per test ({first.level:.0%} intervals over replications):"]
        for row in table.itertuples():
            lines.append(f"  {row.policy:<28} regret {row.regret:>12,.0f} ({row.regret_ci_low:,.0f} to "
                         f"{row.regret_ci_high:,.0f}); to the best cell {row.share_to_best:.1%}; right winner "
                         f"{row.p_correct:.1%}")
        return "\n".join(lines)

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """Regret curves of every policy, with intervals over replications."""
        from ..plotting import regret_plot

        first = next(iter(self.results.values()))
        return regret_plot({name: r.curve() for name, r in self.results.items()}, ax, level=first.level)


def compare_policies(program: Any, policies: Mapping[str, Policy] | Sequence[Policy], *, horizon: int = 100_000,
                     batch: int = 5_000, replications: int = 20, delay: int = 0,
                     priors: pd.DataFrame | None = None, segments: Mapping[str, Mapping[str, float]] | None = None,
                     level: float = 0.95, random_state: Any = None) -> PolicyComparison:
    """Replay several policies on the same programme, each from the same seed.

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> from creative_causal.allocation import FixedSplit, Thompson
    >>> program = simulate_program(30, random_state=0)
    >>> table = compare_policies(program, [FixedSplit(), Thompson()], horizon=20_000, batch=2_000,
    ...                          replications=3, random_state=0).to_frame()
    >>> table["policy"].tolist()
    ['thompson()', 'fixed()']
    """
    named = dict(policies) if isinstance(policies, Mapping) else {str(p): p for p in policies}
    if not named:
        raise InvalidParameterError("policies is empty: give at least one policy to compare.")
    if len(named) < (len(policies) if not isinstance(policies, Mapping) else 0):
        raise InvalidParameterError("two policies have the same settings; pass a dict to name them apart.")
    seed = draw_seed(random_state)
    return PolicyComparison({name: simulate_allocation(program, policy, horizon=horizon, batch=batch,
                                                       replications=replications, delay=delay, priors=priors,
                                                       segments=segments, level=level,
                                                       random_state=seed)
                             for name, policy in named.items()})


__all__ = ["AllocationResult", "PolicyComparison", "simulate_allocation", "compare_policies", "true_take_rates",
           "simulate_impression_log"]

"""Off-policy evaluation: what take rate would another split of impressions have reached, judged
on the impressions already logged?

Every estimator is a mean of per-impression values ``z_i``, so one streaming pass keeps, per
test (or per member), the count and the sums of ``z`` and ``z²``; intervals come from those sums
(impressions independent within each test, clustered by test, or a Poisson bootstrap over tests
or members). A log larger than memory is read from Parquet in batches; memory grows with the
number of cells (and of members, for a bootstrap over members), not of impressions.

The target is a table of probabilities, each logged row's probability, or a policy object. A
policy object is run along the log: its shares at each refresh of the log give the target's
probabilities, and between refreshes it learns from importance-weighted feedback (each row
counts target / logging probability), so in expectation it sees the impressions and plays it
would have had. Learning only from the rows replay keeps (Li et al. 2011) would slow it down by
the keep rate (measured: 2% under the on-policy take rate on 2- to 6-cell tests).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import matplotlib.axes
import numpy as np
import pandas as pd
from scipy import stats

from .._display import ResultMixin, json_safe
from .._validation import check_choice, check_int, check_level, check_positive, check_random_state
from ..exceptions import ExperimentDataError, InvalidParameterError, OffPolicyWarning
from ..experiments import iter_log_chunks, wilson_interval
from ._policies import Contextual, Policy

METHODS = ("replay", "ips", "snips", "dm", "dr", "switch_dr")
INTERVALS = ("impressions", "tests", "bootstrap_tests", "bootstrap_members")
METHOD_TEXT = {
    "replay": "replay (impressions kept by rejection sampling so that they follow the target policy)",
    "ips": "inverse propensity scoring",
    "snips": "self-normalised inverse propensity scoring",
    "dm": "direct method (the log's take rate per test and cell, averaged under the target policy)",
    "dr": "doubly robust (direct method plus the propensity-weighted error of its take rates)",
    "switch_dr": "switch doubly robust (the doubly robust correction only where the weight is at most the threshold)",
}
#: Fewer logged plays than this get a warning: normal intervals need more events.
FEW_PLAYS = 30
#: Logging propensities below this are reported: their weights make IPS-type estimates erratic.
TINY_PROPENSITY = 0.01


@dataclass(frozen=True, repr=False)
class PolicyValue(ResultMixin):
    """The estimated take rate of a target policy on a logged set of impressions."""

    value: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    std_error: float
    interval: str
    n_impressions: int
    n_tests: int
    effective_sample_size: float
    logged_value: float
    tiny_propensities: int = 0
    unsupported_target_mass: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    target: str = "a table of probabilities"
    n_boot: int = 0

    def to_frame(self) -> pd.DataFrame:
        row = {k: getattr(self, k) for k in ("method", "target", "value", "ci_low", "ci_high", "level", "std_error",
                                              "interval", "n_impressions", "n_tests", "effective_sample_size",
                                              "logged_value", "tiny_propensities", "unsupported_target_mass")}
        row["warnings"] = "; ".join(self.warnings)
        return pd.DataFrame([row])

    def to_dict(self) -> dict[str, Any]:
        return json_safe(self.to_frame().iloc[0].to_dict())

    def summary(self) -> str:
        if self.interval.startswith("bootstrap"):
            how = f"percentile bootstrap, {self.n_boot:,} Poisson resamples of {_INTERVAL_TEXT[self.interval]}"
        elif self.method == "replay" and self.interval == "impressions":
            how = "Wilson score interval on the kept impressions"
        else:
            how = f"normal, from per-impression values, {_INTERVAL_TEXT[self.interval]}"
        lines = [f"Target policy ({self.target}), take rate by {METHOD_TEXT[self.method]}: {self.value:.4%} "
                 f"({self.level:.0%} CI {self.ci_low:.4%} to {self.ci_high:.4%})",
                 f"  against {self.logged_value:.4%} for the logging policy on the same {self.n_impressions:,} "
                 f"impressions in {self.n_tests} tests; effective sample size {self.effective_sample_size:,.0f}",
                 f"  interval: {how}"]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        from ..plotting import interval_plot

        return interval_plot(["target policy", "logging policy"], [self.value, self.logged_value],
                             [self.ci_low, self.logged_value], [self.ci_high, self.logged_value], ax, level=self.level,
                             xlabel="take rate", title=f"Off-policy value ({self.method})")


_INTERVAL_TEXT = {"impressions": "impressions independent within each test (the value on these tests)",
                  "tests": "clustered by test (the value on tests like these)",
                  "bootstrap_tests": "tests (the value on tests like these)",
                  "bootstrap_members": "members (the value for members like these)"}
#: Bootstrap weights are drawn in blocks of at most this many (resamples x clusters) values.
_BOOT_BLOCK = 4_000_000


def _target_table(policy: Any, keys: list[str]) -> pd.DataFrame:
    if not isinstance(policy, pd.DataFrame):
        raise InvalidParameterError(
            "policy must be the target policy's probability of each cell: a DataFrame with "
            f"{keys + ['probability']} (one row per cell; segment columns too for a per-segment policy), or an "
            "array / column name with the target's probability of each logged row's cell (then only 'ips' and "
            "'snips' apply).")
    missing = [c for c in [*keys, "probability"] if c not in policy]
    if missing:
        raise InvalidParameterError(f"the target policy table lacks {missing}; it needs {keys + ['probability']}.")
    table = policy[[*keys, "probability"]].copy()
    for k in keys:
        table[k] = table[k].astype(str)
    p = table["probability"].to_numpy(float)
    if np.any(~np.isfinite(p)) or np.any(p < 0):
        raise InvalidParameterError("the target policy's probabilities must be finite and non-negative.")
    sums = table.groupby(keys[:-1])["probability"].sum() if len(keys) > 1 else table["probability"].sum()
    if np.any(np.abs(np.asarray(sums) - 1) > 1e-6):
        raise InvalidParameterError("the target policy's probabilities must sum to 1 within each test (and segment); "
                                    f"sums range from {np.min(sums):.4g} to {np.max(sums):.4g}.")
    return table


def evaluate_policy(log: pd.DataFrame | str | os.PathLike[str], policy: Any, *, method: str = "dr",
                    level: float = 0.95, interval: str = "impressions", propensity: str = "propensity",
                    segments: tuple[str, ...] | list[str] = (), switch_threshold: float = 10.0,
                    refresh: str = "refresh", priors: pd.DataFrame | None = None, n_boot: int = 1000,
                    chunk_rows: int = 1_000_000, random_state: Any = None) -> PolicyValue:
    """Estimate the take rate a target policy would have reached on logged impressions.

    Parameters
    ----------
    log : DataFrame or path
        One row per impression: ``test_id``, ``cell_id``, ``played`` (0/1), the logging
        policy's probability of the logged cell (``propensity``; for an A/B test, the cell's
        planned share: a ``planned_share`` column is used when ``propensity`` is absent), and
        any ``segments`` columns (``member_id`` for a bootstrap over members). CSV or Parquet
        files are read in chunks.
    policy : Policy, DataFrame, array or str
        The target policy. A :class:`Policy` (say :class:`Thompson`) is run along the log: its
        shares at each refresh (the ``refresh`` column; without one it is judged as it stands
        at the start) and it learns, refresh by refresh, from importance-weighted feedback.
        A table with ``test_id``, the ``segments`` columns, ``cell_id`` and ``probability``
        is a fixed target (all methods). The target's probability of each logged row's cell,
        as an array or a column of the log, suits a policy from another tool (``"ips"`` and
        ``"snips"`` only: the others need every cell's probability).
    method : {"dr", "switch_dr", "dm", "ips", "snips", "replay"}
    level : float
        Interval level.
    interval : {"impressions", "tests", "bootstrap_tests", "bootstrap_members"}
        ``"impressions"``: impressions independent within each test, the value on these
        tests; ``"tests"``: clustered by test, the value on tests like these (wider);
        ``"bootstrap_tests"`` / ``"bootstrap_members"``: percentile intervals from ``n_boot``
        Poisson resamples of tests or of members (``member_id``), for when a member's
        impressions are not independent.
    switch_threshold : float
        For ``"switch_dr"``: importance weights above it get the direct method only.
    refresh : str
        The log's column of refresh numbers (rows sorted by it), where a policy object learns.
    priors : DataFrame, optional
        For a policy object: its starting Beta prior per ``test_id`` and ``cell_id``
        (``prior_plays``, ``prior_misses``); flat Beta(1, 1) elsewhere.
    n_boot : int
        Bootstrap resamples.
    random_state : None, int or Generator
        Replay's draws, a policy object's draws and the bootstrap.

    Returns
    -------
    PolicyValue

    Examples
    --------
    >>> log = pd.DataFrame({"test_id": "t", "cell_id": ["a", "b"] * 500, "played": [1, 0, 0, 0] * 250,
    ...                     "propensity": 0.5})  # cell a played half the time, cell b never
    >>> target = pd.DataFrame({"test_id": ["t", "t"], "cell_id": ["a", "b"], "probability": [1.0, 0.0]})
    >>> evaluate_policy(log, target, method="ips").value
    0.5
    """
    method = check_choice(method, "method", METHODS)
    interval = check_choice(interval, "interval", INTERVALS)
    level = check_level(level)
    switch_threshold = check_positive(switch_threshold, "switch_threshold")
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    n_boot = check_int(n_boot, "n_boot", minimum=100)
    rng = check_random_state(random_state)
    segments = list(segments)
    keys = ["test_id", *segments, "cell_id"]
    is_policy = isinstance(policy, Policy)
    per_row = not is_policy and not isinstance(policy, pd.DataFrame)
    if per_row and method not in ("ips", "snips"):
        raise InvalidParameterError(f"method={method!r} needs the target's probability of every cell, not only of the "
                                    "logged one: pass a policy object or a table with test_id, cell_id and "
                                    "probability, or use method='ips' or 'snips'.")
    if isinstance(policy, Contextual):
        raise InvalidParameterError("a contextual policy is judged segment by segment: evaluate its base policy on each "
                                    "segment's rows of the log, or pass its split as a table with the segment columns.")
    if is_policy and segments:
        raise InvalidParameterError("a policy object splits whole tests; for a per-segment target pass a table with "
                                    "test_id, the segment columns, cell_id and probability.")
    target = None if per_row or is_policy else _target_table(policy, keys)
    source = "impression log" if isinstance(log, pd.DataFrame) else str(log)
    names = list(log.columns) if isinstance(log, pd.DataFrame) else _header(log)
    prop_column = _propensity_column(log, propensity, names)
    row_target = policy if isinstance(policy, str) else None
    refresh_column = refresh if is_policy and refresh in names else None
    cluster = "member_id" if interval == "bootstrap_members" else "test_id"
    if cluster not in names:
        raise ExperimentDataError(f"{source}: interval='bootstrap_members' needs a 'member_id' column; it has none. "
                                  "Use interval='bootstrap_tests' or 'tests'.")
    extra = [c for c in (row_target, refresh_column, cluster) if c and c not in [*keys, "played", prop_column]]
    columns = [*keys, "played", prop_column, *extra]

    # pass 1: the log's take rate per (test, segment, cell), the direct method's reward model
    counts: list[pd.DataFrame] = []
    largest_weight = 0.0
    smallest_propensity = 1.0
    target_prob = None if target is None else target.set_index(keys)["probability"]
    for chunk in iter_log_chunks(log, columns, chunk_rows, keys):
        chunk = _clean(chunk, keys, prop_column, source)
        counts.append(chunk.groupby(keys, sort=False, observed=True)["played"].agg(["size", "sum"]))
        smallest_propensity = min(smallest_propensity, float(chunk[prop_column].min()))
        if method == "replay" and target_prob is not None:  # rejection sampling needs the largest weight first
            largest_weight = max(largest_weight, float(np.max(_lookup(target_prob, chunk, keys)
                                                              / chunk[prop_column].to_numpy(float))))
    cells = pd.concat(counts).groupby(level=list(range(len(keys)))).sum()
    cells["rate"] = cells["sum"] / cells["size"]
    if is_policy:  # no target probability exceeds 1: the weight's bound is the inverse smallest propensity
        largest_weight = 1.0 / smallest_propensity

    array_target = None
    if per_row and row_target is None:
        array_target = np.asarray(policy, dtype=float)
        if array_target.ndim != 1 or len(array_target) != int(cells["size"].sum()):
            raise InvalidParameterError(f"the target probabilities have {array_target.size} values for "
                                        f"{int(cells['size'].sum())} logged impressions; give one per row, in order.")
    dm_per_group, unsupported = (None, 0.0) if target is None else _direct_method(target, cells, keys)
    path = _PolicyPath(policy, cells, refresh_column, priors, rng) if is_policy else None
    if method == "replay" and largest_weight <= 0:
        raise InvalidParameterError("the target policy never serves a cell this log shows: replay has nothing to keep.")

    # pass 2: per-impression values, summed per test (or member)
    sums: dict[str, list[pd.DataFrame]] = {"z": [], "logged": []}
    weight_sums = np.zeros(2)
    tiny = 0
    offset = 0
    for chunk in iter_log_chunks(log, columns, chunk_rows, keys):
        chunk = _clean(chunk, keys, prop_column, source)
        n = len(chunk)
        p_log = chunk[prop_column].to_numpy(float)
        tiny += int(np.sum(p_log < TINY_PROPENSITY))
        r = chunk["played"].to_numpy(float)
        if path is not None:
            pi, dm_value, rate = path.walk(chunk, p_log, r, largest_weight)
        else:
            if array_target is not None:
                pi = array_target[offset:offset + n]
            elif row_target is not None:
                pi = pd.to_numeric(chunk[row_target], errors="coerce").to_numpy(float)
            else:
                pi = _lookup(target_prob, chunk, keys)
            dm_value = None if dm_per_group is None else _lookup(dm_per_group, chunk, keys[:-1])
            rate = None if dm_per_group is None else _lookup(cells["rate"], chunk, keys)
        offset += n
        if np.any(~np.isfinite(pi)) or np.any((pi < 0) | (pi > 1)):
            raise InvalidParameterError("the target probabilities must lie in [0, 1] for every logged row.")
        w = pi / p_log
        weight_sums += [w.sum(), (w**2).sum()]
        if path is not None:
            keep = path.kept
        else:  # drawn for replay only, so the other methods leave the generator where it was
            keep = rng.random(n) < w / largest_weight if method == "replay" else np.zeros(n, dtype=bool)
        z, point = _values(method, r, w, keep, dm_value, rate, switch_threshold)
        valid = ~np.isnan(z)
        frame = pd.DataFrame({"cluster": chunk[cluster].to_numpy()[valid], "z": z[valid]})
        if method == "snips":
            frame["w"] = w[valid]
        if point is not None:
            frame["point"] = point[valid]
        sums["z"].append(_sum_by_cluster(frame))
        sums["logged"].append(_sum_by_cluster(pd.DataFrame({"cluster": chunk["test_id"].to_numpy(), "z": r})))
    clusters = pd.concat(sums["z"]).groupby(level=0).sum()
    logged = pd.concat(sums["logged"]).groupby(level=0).sum()
    value, se = _estimate(clusters, method, interval)
    notes = []
    kept_rows = int(clusters["n"].sum())
    if interval.startswith("bootstrap"):
        low, high, se = _bootstrap(clusters, method, level, n_boot, rng)
        if len(clusters) < 30:
            notes.append(f"the bootstrap resamples only {len(clusters)} {cluster.replace('_id', '')}s; its interval is "
                         "rough with so few. Prefer interval='impressions' or 'tests'.")
    elif method == "replay" and interval == "impressions":
        # the kept impressions are plays or not: Wilson's interval stays honest with few or no plays
        low, high = (float(b[0]) for b in wilson_interval(round(value * kept_rows), kept_rows, level=level))
    else:
        t_crit = stats.norm.ppf(0.5 + level / 2)
        low, high = value - t_crit * se, value + t_crit * se
    ess = float(weight_sums[0] ** 2 / weight_sums[1]) if weight_sums[1] > 0 else 0.0
    plays = int(logged["sum"].sum())
    if plays < FEW_PLAYS:
        notes.append(f"the log holds only {plays} plays: normal intervals are unreliable with so few (replay's is "
                     "Wilson's); log more impressions before trusting the interval.")
    if tiny:
        notes.append(f"{tiny:,} impressions were logged with a propensity below {TINY_PROPENSITY}: their weights "
                     "make IPS-type estimates erratic; prefer 'dr' or 'switch_dr'.")
    if unsupported > 0.001:
        notes.append(f"the target policy puts {unsupported:.1%} of its impressions on cells the log never showed; "
                     "no estimator can see their take rate (the direct method uses the test's mean there).")
    kept = kept_rows
    if method == "replay" and kept < 0.1 * int(cells["size"].sum()):
        notes.append(f"replay kept {kept:,} of {int(cells['size'].sum()):,} impressions (the target differs much from "
                     "the logging policy somewhere); its interval is wide. Prefer 'dr'.")
    if path is not None and path.refreshes == 1 and refresh_column is None:
        notes.append(f"the log has no {refresh!r} column: the policy was judged as it stands at the start, without "
                     "learning; add the refresh number of each impression to let it learn along the log.")
    for note in notes:
        warnings.warn(note, OffPolicyWarning, stacklevel=2)
    description = (path.description() if path is not None else "each row's probability" if per_row
                   else "a table of probabilities")
    return PolicyValue(value, float(low), float(high), level, method, float(se), interval,
                       int(cells["size"].sum()), int(len(logged)), ess,
                       float(logged["sum"].sum() / logged["n"].sum()), tiny, float(unsupported), tuple(notes),
                       description, n_boot if interval.startswith("bootstrap") else 0)


class _PolicyPath:
    """A policy object walked along the log: its shares per test at each refresh, learning between
    refreshes from importance-weighted feedback (each row counts target / logging probability), so
    its state follows, in expectation, the counts it would have had when serving the log's impressions."""

    def __init__(self, policy: Policy, cells: pd.DataFrame, refresh_column: str | None, priors: pd.DataFrame | None,
                 rng: np.random.Generator) -> None:
        frame = cells.reset_index()
        self.tests = pd.Index(frame["test_id"].unique())
        test_of = self.tests.get_indexer(frame["test_id"])
        position = frame.groupby("test_id", sort=False).cumcount().to_numpy()
        shape = (len(self.tests), int(position.max()) + 1)
        self.where = pd.Series(np.arange(len(frame)), index=pd.MultiIndex.from_frame(frame[["test_id", "cell_id"]]))
        self.test_of, self.position = test_of, position
        active = np.zeros(shape, dtype=bool)
        active[test_of, position] = True
        self.rate = np.zeros(shape)
        self.rate[test_of, position] = frame["rate"].to_numpy(float)
        prior_plays, prior_misses = np.ones(shape), np.ones(shape)
        if priors is not None:
            prior_plays, prior_misses = _cell_priors(priors, frame, test_of, position, shape)
        self.policy, self.rng, self.refresh_column = policy, rng, refresh_column
        self.state = policy.start(active=active, prior_plays=prior_plays, prior_misses=prior_misses)
        self.pending = (np.zeros(shape), np.zeros(shape))
        self.current: Any = None
        self.refreshes = 0
        self.shares = np.zeros(shape)
        self.direct = np.zeros(shape[0])
        self.kept = np.zeros(0, dtype=bool)

    def walk(self, chunk: pd.DataFrame, p_log: np.ndarray, r: np.ndarray,
             bound: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The target's probability of each row's cell, the direct method's value and the cell's
        take rate (and replay's kept rows); the policy learns at each change of refresh."""
        flat = self.where.reindex(pd.MultiIndex.from_frame(chunk[["test_id", "cell_id"]])).to_numpy()
        t, c = self.test_of[flat], self.position[flat]
        stamp = (chunk[self.refresh_column].to_numpy() if self.refresh_column
                 else np.zeros(len(chunk), dtype=np.int64))
        if len(stamp) and ((stamp[1:] < stamp[:-1]).any() or (self.current is not None and stamp[0] < self.current)):
            raise ExperimentDataError(f"the log's {self.refresh_column!r} column goes back in time; sort the log by it "
                                      "so a learning policy sees the refreshes in order.")
        pi, dm, keep = np.empty(len(chunk)), np.empty(len(chunk)), np.zeros(len(chunk), dtype=bool)
        starts = np.r_[0, np.flatnonzero(stamp[1:] != stamp[:-1]) + 1]
        for s, e in zip(starts, np.r_[starts[1:], len(chunk)]):
            if s == e:
                continue
            if self.current is None or stamp[s] != self.current:
                if self.current is not None:
                    self.state = self.policy.update(self.state, *self.pending)
                    self.pending = (np.zeros_like(self.rate), np.zeros_like(self.rate))
                self.shares = self.policy.shares(self.state, self.rng)
                self.direct = (self.shares * self.rate).sum(axis=-1)
                self.current = stamp[s]
                self.refreshes += 1
            pi[s:e] = self.shares[t[s:e], c[s:e]]
            dm[s:e] = self.direct[t[s:e]]
            keep[s:e] = self.rng.random(e - s) < pi[s:e] / p_log[s:e] / bound
            # importance-weighted feedback: in expectation the impressions and plays the target would have
            # had, at the log's pace (learning from replay's kept rows alone would slow it by the keep rate)
            w = pi[s:e] / p_log[s:e]
            np.add.at(self.pending[0], (t[s:e], c[s:e]), w)
            np.add.at(self.pending[1], (t[s:e], c[s:e]), w * r[s:e])
        self.kept = keep
        return pi, dm, self.rate[t, c]

    def description(self) -> str:
        if self.refreshes <= 1:
            return f"{self.policy} as it stands at the start"
        return f"{self.policy} learning over {self.refreshes} refreshes"


def _cell_priors(priors: pd.DataFrame, frame: pd.DataFrame, test_of: np.ndarray, position: np.ndarray,
                 shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    need = {"test_id", "cell_id", "prior_plays", "prior_misses"}
    if not isinstance(priors, pd.DataFrame) or not need <= set(priors):
        raise InvalidParameterError(f"priors must be a DataFrame with {sorted(need)} (one row per test and cell).")
    table = priors.assign(test_id=priors["test_id"].astype(str), cell_id=priors["cell_id"].astype(str))
    table = table.drop_duplicates(["test_id", "cell_id"], keep="last").set_index(["test_id", "cell_id"])
    index = pd.MultiIndex.from_frame(frame[["test_id", "cell_id"]])
    plays, misses = np.ones(shape), np.ones(shape)
    plays[test_of, position] = table["prior_plays"].reindex(index).fillna(1.0).to_numpy(float)
    misses[test_of, position] = table["prior_misses"].reindex(index).fillna(1.0).to_numpy(float)
    if np.any(~np.isfinite(plays) | (plays <= 0)) or np.any(~np.isfinite(misses) | (misses <= 0)):
        raise InvalidParameterError("priors' prior_plays and prior_misses must be positive and finite.")
    return plays, misses


def _propensity_column(log: Any, propensity: str, names: list[str]) -> str:
    if propensity in names:
        return propensity
    if "planned_share" in names:
        return "planned_share"
    raise ExperimentDataError(f"{'impression log' if isinstance(log, pd.DataFrame) else log}: has no {propensity!r} "
                              "column (the logging policy's probability of the logged cell) and no 'planned_share'; "
                              "add one: for an A/B test, each cell's planned share of impressions.")


def _header(path: Any) -> list[str]:
    from pathlib import Path

    path = Path(path)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    return list(pd.read_csv(path, nrows=0, sep=None, engine="python", encoding="utf-8-sig").columns)


def _clean(chunk: pd.DataFrame, keys: list[str], prop_column: str, source: str) -> pd.DataFrame:
    chunk = chunk.copy()
    for k in keys:
        chunk[k] = chunk[k].astype(str)
    played = pd.to_numeric(chunk["played"], errors="coerce")
    bad = ~played.isin([0, 1])
    if bad.any():
        raise ExperimentDataError(f"{source}: 'played' must be 0 or 1; row {int(np.flatnonzero(bad.to_numpy())[0])} "
                                  f"of a chunk holds {chunk['played'].iloc[int(np.flatnonzero(bad.to_numpy())[0])]!r}.")
    chunk["played"] = played.astype(float)
    p = pd.to_numeric(chunk[prop_column], errors="coerce")
    bad = ~((p > 0) & (p <= 1))
    if bad.any():
        raise ExperimentDataError(f"{source}: '{prop_column}' must be a probability in (0, 1]; {int(bad.sum())} rows are "
                                  "not (a logged impression had a positive chance of its cell).")
    chunk[prop_column] = p.astype(float)
    return chunk


def _lookup(series: pd.Series, chunk: pd.DataFrame, keys: list[str]) -> np.ndarray:
    index = pd.MultiIndex.from_frame(chunk[keys]) if len(keys) > 1 else pd.Index(chunk[keys[0]])
    return series.reindex(index).fillna(0.0).to_numpy(float)


def _direct_method(target: pd.DataFrame, cells: pd.DataFrame, keys: list[str]) -> tuple[pd.Series, float]:
    """Per (test, segment): sum over cells of target probability x the log's take rate (the test's
    mean where the log has no data for a cell), and the target mass on such cells."""
    group = keys[:-1]
    rates = cells["rate"].rename("rate").reset_index()
    merged = target.merge(rates, on=keys, how="left")
    test_mean = cells["sum"].groupby(level=list(range(len(group)))).sum() / cells["size"].groupby(
        level=list(range(len(group)))).sum()
    fallback = merged.set_index(group).index.map(test_mean.to_dict() if len(group) > 1 else test_mean)
    missing = merged["rate"].isna().to_numpy()
    merged["rate"] = np.where(missing, np.asarray(fallback, dtype=float), merged["rate"])
    merged["rate"] = merged["rate"].fillna(0.0)
    unsupported = float((merged["probability"] * missing).sum() / max(merged.groupby(group).ngroups, 1))
    dm = (merged["probability"] * merged["rate"]).groupby([merged[g] for g in group]).sum()
    return dm, unsupported


def _values(method: str, r: np.ndarray, w: np.ndarray, keep: np.ndarray, dm_value: np.ndarray | None,
            rate: np.ndarray | None, threshold: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-impression values whose mean is the estimate (NaN: not used), and for the direct
    method the point values apart from the influence values its standard error comes from."""
    if method in ("ips", "snips"):
        return w * r, None
    if method == "replay":
        # rejection sampling (Li et al. 2011, for any logging policy): an impression is kept with
        # probability w / max w, so the kept ones are distributed as the target would serve them
        return np.where(keep, r, np.nan), None
    correction = w * (r - rate)
    if method == "dm":  # its uncertainty is that of the take rates it averages: the DR influence
        return dm_value + correction, dm_value
    if method == "switch_dr":
        correction = np.where(w <= threshold, correction, 0.0)
    return dm_value + correction, None


def _sum_by_cluster(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(z2=frame["z"] ** 2)
    agg = {"n": ("z", "size"), "sum": ("z", "sum"), "sum2": ("z2", "sum")}
    if "w" in frame:
        frame = frame.assign(wz=frame["w"] * frame["z"], w2=frame["w"] ** 2)
        agg.update(w=("w", "sum"), w2=("w2", "sum"), wz=("wz", "sum"))
    if "point" in frame:
        agg.update(point=("point", "sum"))
    return frame.groupby("cluster", sort=False).agg(**agg)


def _bootstrap(clusters: pd.DataFrame, method: str, level: float, n_boot: int,
               rng: np.random.Generator) -> tuple[float, float, float]:
    """Percentile interval and standard error from Poisson resamples of the clusters' sums
    (each cluster counted Poisson(1) times: the streaming bootstrap, no need to hold rows)."""
    numerator = clusters["point" if method == "dm" else "sum"].to_numpy(float)
    denominator = clusters["w" if method == "snips" else "n"].to_numpy(float)
    block = max(1, _BOOT_BLOCK // len(clusters))
    replicates = []
    for start in range(0, n_boot, block):
        times = rng.poisson(1.0, size=(min(block, n_boot - start), len(clusters))).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            replicates.append((times @ numerator) / (times @ denominator))
    values = np.concatenate(replicates)
    values = values[np.isfinite(values)]
    low, high = np.quantile(values, [0.5 - level / 2, 0.5 + level / 2])
    return float(low), float(high), float(values.std(ddof=1))


def _estimate(tests: pd.DataFrame, method: str, interval: str) -> tuple[float, float]:
    """The estimate and its standard error from per-test sums."""
    n = tests["n"].to_numpy(float)
    total = n.sum()
    if total == 0:
        raise InvalidParameterError("no logged impression is usable for this target policy (replay kept none).")
    if method == "snips":
        # ratio sum(w r) / sum(w); here z = w r, and its influence per row is (w r - V w) / mean(w)
        value = tests["sum"].sum() / tests["w"].sum()
        mean_w = tests["w"].sum() / total
        # per-test sums of the influence u = z - V w: sum u = S_z - V S_w, sum u^2 = S_z2 - 2 V S_wz + V^2 S_w2,
        # where S_wz = sum w z (z = w r, so w z = w^2 r)
        s_u = tests["sum"] - value * tests["w"]
        s_u2 = tests["sum2"] - 2 * value * tests["wz"] + value**2 * tests["w2"]
        return float(value), _stratified_se(n, s_u.to_numpy(), s_u2.to_numpy(), interval, scale=mean_w)
    value = tests["sum"].sum() / total
    s_u = tests["sum"] - value * n
    if "point" in tests:  # the direct method: its own point estimate, the DR influence's spread
        point = float(tests["point"].sum() / total)
        return point, _stratified_se(n, s_u.to_numpy(), (tests["sum2"] - 2 * value * tests["sum"] + value**2 * n).to_numpy(),
                                     interval)
    s_u2 = tests["sum2"] - 2 * value * tests["sum"] + value**2 * n
    return float(value), _stratified_se(n, s_u.to_numpy(), s_u2.to_numpy(), interval)


def _stratified_se(n: np.ndarray, s_u: np.ndarray, s_u2: np.ndarray, interval: str, scale: float = 1.0) -> float:
    """Standard error of mean(u) + V from per-test sums of the centred values u."""
    total = n.sum()
    if interval == "tests":
        g = len(n)
        var = (s_u**2).sum() / total**2 * (g / (g - 1) if g > 1 else np.inf)
    else:
        # within each test the rows are independent: var = sum_t n_t var_t(u) / N^2
        within = np.where(n > 1, (s_u2 - s_u**2 / np.maximum(n, 1)) / np.maximum(n - 1, 1), 0.0)
        var = (n * within).sum() / total**2
    return float(np.sqrt(max(var, 0.0)) / scale)


__all__ = ["evaluate_policy", "PolicyValue", "OffPolicyWarning", "METHODS", "TINY_PROPENSITY"]

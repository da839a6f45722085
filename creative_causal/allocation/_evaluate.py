"""Off-policy evaluation: what take rate would another split of impressions have reached, judged
on the impressions already logged?

Every estimator is a mean of per-impression values ``z_i``, so one streaming pass keeps, per
test, the count and the sums of ``z`` and ``z²``; intervals come from those sums (impressions
independent within each test, or clustered by test). A log larger than memory is read from
Parquet in batches; memory grows with the number of cells, not of impressions.
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
from ..experiments import iter_log_chunks

METHODS = ("replay", "ips", "snips", "dm", "dr", "switch_dr")
INTERVALS = ("impressions", "tests")
METHOD_TEXT = {
    "replay": "replay (impressions kept by rejection sampling so that they follow the target policy)",
    "ips": "inverse propensity scoring",
    "snips": "self-normalised inverse propensity scoring",
    "dm": "direct method (the log's take rate per test and cell, averaged under the target policy)",
    "dr": "doubly robust (direct method plus the propensity-weighted error of its take rates)",
    "switch_dr": "switch doubly robust (the doubly robust correction only where the weight is at most the threshold)",
}
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

    def to_frame(self) -> pd.DataFrame:
        row = {k: getattr(self, k) for k in ("method", "value", "ci_low", "ci_high", "level", "std_error", "interval",
                                              "n_impressions", "n_tests", "effective_sample_size", "logged_value",
                                              "tiny_propensities", "unsupported_target_mass")}
        row["warnings"] = "; ".join(self.warnings)
        return pd.DataFrame([row])

    def to_dict(self) -> dict[str, Any]:
        return json_safe(self.to_frame().iloc[0].to_dict())

    def summary(self) -> str:
        lines = [f"Target policy's take rate by {METHOD_TEXT[self.method]}: {self.value:.4%} "
                 f"({self.level:.0%} CI {self.ci_low:.4%} to {self.ci_high:.4%})",
                 f"  against {self.logged_value:.4%} for the logging policy on the same {self.n_impressions:,} "
                 f"impressions in {self.n_tests} tests; effective sample size {self.effective_sample_size:,.0f}",
                 f"  interval: normal, from per-impression values, {_INTERVAL_TEXT[self.interval]}"]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        from ..plotting import interval_plot

        return interval_plot(["target policy", "logging policy"], [self.value, self.logged_value],
                             [self.ci_low, self.logged_value], [self.ci_high, self.logged_value], ax, level=self.level,
                             xlabel="take rate", title=f"Off-policy value ({self.method})")


_INTERVAL_TEXT = {"impressions": "impressions independent within each test (the value on these tests)",
                  "tests": "clustered by test (the value on tests like these)"}


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
                    chunk_rows: int = 1_000_000, random_state: Any = None) -> PolicyValue:
    """Estimate the take rate a target policy would have reached on logged impressions.

    Parameters
    ----------
    log : DataFrame or path
        One row per impression: ``test_id``, ``cell_id``, ``played`` (0/1), the logging
        policy's probability of the logged cell (``propensity``; for an A/B test, the cell's
        planned share: a ``planned_share`` column is used when ``propensity`` is absent), and
        any ``segments`` columns. CSV or Parquet files are read in chunks.
    policy : DataFrame, array or str
        The target policy: a table with ``test_id``, ``cell_id``, the ``segments`` columns and
        ``probability`` (all methods), or the target's probability of each logged row's cell
        as an array or a column of the log (``"ips"`` and ``"snips"`` only, the others need
        every cell's probability).
    method : {"dr", "switch_dr", "dm", "ips", "snips", "replay"}
    level : float
        Interval level.
    interval : {"impressions", "tests"}
        ``"impressions"``: impressions independent within each test, the value on these
        tests; ``"tests"``: clustered by test, the value on tests like these (wider).
    switch_threshold : float
        For ``"switch_dr"``: importance weights above it get the direct method only.
    random_state : None, int or Generator
        Draws of the target policy for ``"replay"``.

    Returns
    -------
    PolicyValue

    Examples
    --------
    >>> log = pd.DataFrame({"test_id": ["t"] * 4, "cell_id": ["a", "b", "a", "b"], "played": [1, 0, 0, 0],
    ...                     "propensity": [0.5] * 4})
    >>> target = pd.DataFrame({"test_id": ["t", "t"], "cell_id": ["a", "b"], "probability": [1.0, 0.0]})
    >>> evaluate_policy(log, target, method="ips").value
    0.5
    """
    method = check_choice(method, "method", METHODS)
    interval = check_choice(interval, "interval", INTERVALS)
    level = check_level(level)
    switch_threshold = check_positive(switch_threshold, "switch_threshold")
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    rng = check_random_state(random_state)
    segments = list(segments)
    keys = ["test_id", *segments, "cell_id"]
    per_row = not isinstance(policy, pd.DataFrame)
    if per_row and method not in ("ips", "snips"):
        raise InvalidParameterError(f"method={method!r} needs the target's probability of every cell, not only of the "
                                    "logged one: pass a table with test_id, cell_id and probability, or use "
                                    "method='ips' or 'snips'.")
    target = None if per_row else _target_table(policy, keys)
    source = "impression log" if isinstance(log, pd.DataFrame) else str(log)
    prop_column = _propensity_column(log, propensity)
    row_target = policy if isinstance(policy, str) else None
    columns = [*keys, "played", prop_column, *([row_target] if row_target else [])]

    # pass 1: the log's take rate per (test, segment, cell), the direct method's reward model
    counts: list[pd.DataFrame] = []
    largest_weight = 0.0
    target_prob = None if target is None else target.set_index(keys)["probability"]
    for chunk in iter_log_chunks(log, columns, chunk_rows, keys):
        chunk = _clean(chunk, keys, prop_column, source)
        counts.append(chunk.groupby(keys, sort=False, observed=True)["played"].agg(["size", "sum"]))
        if method == "replay":  # rejection sampling needs the largest weight before the second pass
            largest_weight = max(largest_weight, float(np.max(_lookup(target_prob, chunk, keys)
                                                              / chunk[prop_column].to_numpy(float))))
    cells = pd.concat(counts).groupby(level=list(range(len(keys)))).sum()
    cells["rate"] = cells["sum"] / cells["size"]

    array_target = None
    if per_row and row_target is None:
        array_target = np.asarray(policy, dtype=float)
        if array_target.ndim != 1 or len(array_target) != int(cells["size"].sum()):
            raise InvalidParameterError(f"the target probabilities have {array_target.size} values for "
                                        f"{int(cells['size'].sum())} logged impressions; give one per row, in order.")
    dm_per_group, unsupported = (None, 0.0) if target is None else _direct_method(target, cells, keys)
    if method == "replay" and largest_weight <= 0:
        raise InvalidParameterError("the target policy never serves a cell this log shows: replay has nothing to keep.")

    # pass 2: per-impression values, summed per test
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
        if array_target is not None:
            pi = array_target[offset:offset + n]
        elif row_target is not None:
            pi = pd.to_numeric(chunk[row_target], errors="coerce").to_numpy(float)
        else:
            pi = _lookup(target_prob, chunk, keys)
        offset += n
        if np.any(~np.isfinite(pi)) or np.any((pi < 0) | (pi > 1)):
            raise InvalidParameterError("the target probabilities must lie in [0, 1] for every logged row.")
        w = pi / p_log
        weight_sums += [w.sum(), (w**2).sum()]
        z, point = _values(method, chunk, keys, r, w, cells, dm_per_group, switch_threshold, largest_weight, rng)
        valid = ~np.isnan(z)
        frame = pd.DataFrame({"test_id": chunk["test_id"].to_numpy()[valid], "z": z[valid]})
        if method == "snips":
            frame["w"] = w[valid]
        if point is not None:
            frame["point"] = point[valid]
        sums["z"].append(_sum_by_test(frame))
        sums["logged"].append(_sum_by_test(pd.DataFrame({"test_id": chunk["test_id"].to_numpy(), "z": r})))
    tests = pd.concat(sums["z"]).groupby(level=0).sum()
    logged = pd.concat(sums["logged"]).groupby(level=0).sum()
    value, se = _estimate(tests, method, interval)
    t_crit = stats.norm.ppf(0.5 + level / 2)
    ess = float(weight_sums[0] ** 2 / weight_sums[1]) if weight_sums[1] > 0 else 0.0
    notes = []
    if tiny:
        notes.append(f"{tiny:,} impressions were logged with a propensity below {TINY_PROPENSITY}: their weights "
                     "make IPS-type estimates erratic; prefer 'dr' or 'switch_dr'.")
    if unsupported > 0.001:
        notes.append(f"the target policy puts {unsupported:.1%} of its impressions on cells the log never showed; "
                     "no estimator can see their take rate (the direct method uses the test's mean there).")
    kept = int(tests["n"].sum())
    if method == "replay" and kept < 0.1 * int(cells["size"].sum()):
        notes.append(f"replay kept {kept:,} of {int(cells['size'].sum()):,} impressions (the target differs much from "
                     "the logging policy somewhere); its interval is wide. Prefer 'dr'.")
    for note in notes:
        warnings.warn(note, OffPolicyWarning, stacklevel=2)
    return PolicyValue(value, value - t_crit * se, value + t_crit * se, level, method, se, interval,
                       int(cells["size"].sum()), int(len(logged)), ess,
                       float(logged["sum"].sum() / logged["n"].sum()), tiny, float(unsupported), tuple(notes))


def _propensity_column(log: Any, propensity: str) -> str:
    names = list(log.columns) if isinstance(log, pd.DataFrame) else _header(log)
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


def _values(method: str, chunk: pd.DataFrame, keys: list[str], r: np.ndarray, w: np.ndarray, cells: pd.DataFrame,
            dm: pd.Series | None, threshold: float, largest_weight: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-impression values whose mean is the estimate (NaN: not used), and for the direct
    method the point values apart from the influence values its standard error comes from."""
    if method in ("ips", "snips"):
        return w * r, None
    if method == "replay":
        # rejection sampling (Li et al. 2011, for any logging policy): keep an impression with
        # probability w / max w, so the kept ones are distributed as the target would serve them
        keep = rng.random(len(r)) < w / largest_weight
        return np.where(keep, r, np.nan), None
    dm_value = _lookup(dm, chunk, keys[:-1])
    correction = w * (r - _lookup(cells["rate"], chunk, keys))
    if method == "dm":  # its uncertainty is that of the take rates it averages: the DR influence
        return dm_value + correction, dm_value
    if method == "switch_dr":
        correction = np.where(w <= threshold, correction, 0.0)
    return dm_value + correction, None


def _sum_by_test(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(z2=frame["z"] ** 2)
    agg = {"n": ("z", "size"), "sum": ("z", "sum"), "sum2": ("z2", "sum")}
    if "w" in frame:
        frame = frame.assign(wz=frame["w"] * frame["z"], w2=frame["w"] ** 2)
        agg.update(w=("w", "sum"), w2=("w2", "sum"), wz=("wz", "sum"))
    if "point" in frame:
        agg.update(point=("point", "sum"))
    return frame.groupby("test_id", sort=False).agg(**agg)


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

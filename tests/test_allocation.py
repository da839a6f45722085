"""Allocation policies and their simulation against the simulator's true take rates: each
policy does what its definition says on hand-made states, the simulation's bookkeeping is
exact, and the regret ordering the bandit literature predicts shows up on a programme."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from creative_causal import InvalidParameterError, UnknownNameError, simulate_program
from creative_causal.allocation import (
    KLUCB,
    METHODS,
    POLICIES,
    UCB1,
    AllocationState,
    Contextual,
    EpsilonGreedy,
    ExploreThenCommit,
    FixedSplit,
    Thompson,
    TopTwoThompson,
    compare_policies,
    evaluate_policy,
    policy_from_dict,
    posterior_draws,
    prior_from_study,
    probability_best,
    simulate_allocation,
    simulate_impression_log,
    true_take_rates,
)


@pytest.fixture(scope="module")
def program():
    return simulate_program(120, random_state=3)


def _state(impressions, plays, **kw):
    impressions = np.asarray(impressions, float)
    return AllocationState.new(impressions.shape[-1], shape=impressions.shape[:-1], **kw).update(impressions, plays)


# ---------------------------------------------------------------------------- the state
def test_state_is_a_value_and_round_trips_through_json():
    empty = AllocationState.new(3)
    later = empty.update([10, 20, 0], [1, 2, 0])
    assert empty.impressions.sum() == 0 and later.impressions.tolist() == [10, 20, 0]
    back = AllocationState.from_dict(json.loads(json.dumps(later.to_dict())))
    assert back.plays.tolist() == [1, 2, 0] and back.refreshes == 1
    with pytest.raises(InvalidParameterError, match="plays cannot exceed"):
        empty.update([1, 1, 1], [2, 0, 0])
    with pytest.raises(InvalidParameterError, match="shape"):
        empty.update([1, 1], [0, 0])
    with pytest.raises(InvalidParameterError, match="active"):
        AllocationState.new(active=[[True, False], [False, False]])
    padded = AllocationState.new(active=[True, True, False])
    with pytest.raises(InvalidParameterError, match="not active"):
        padded.update([1, 1, 1], [0, 0, 0])


def test_posterior_draws_follow_the_beta_posterior():
    """Wilson-Hilferty gamma ratios above EXACT_BELOW, exact Beta draws below: both within a
    Kolmogorov-Smirnov distance of 0.01 of the Beta, at small and large counts."""
    rng = np.random.default_rng(0)
    for a, b in [(1, 1), (2, 40), (3, 1000), (40, 900), (600, 20_000)]:
        state = AllocationState.new(1, prior_plays=a, prior_misses=b)
        sample = posterior_draws(state, 50_000, rng)[:, 0]
        assert stats.kstest(sample, stats.beta(a, b).cdf).statistic < 0.01, (a, b)


def test_probability_best_matches_the_normal_calculation():
    state = _state([20_000, 20_000], [800, 880])
    a, b = state.posterior()
    mean, var = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    exact = stats.norm.cdf((mean[1] - mean[0]) / np.sqrt(var.sum()))
    p = probability_best(state, draws=200_000, random_state=1)
    assert p[1] == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 200_000) + 0.002)
    assert p.sum() == pytest.approx(1)


# ---------------------------------------------------------------------------- each policy, by its definition
def test_fixed_split_ignores_the_data():
    state = _state([1000, 1000, 1000], [10, 90, 50])
    assert FixedSplit().shares(state).tolist() == pytest.approx([1 / 3] * 3)
    assert FixedSplit(weights=(2, 1, 1)).shares(state).tolist() == pytest.approx([0.5, 0.25, 0.25])
    with pytest.raises(InvalidParameterError, match="one weight per cell"):
        FixedSplit(weights=(1, 1)).shares(state)


def test_epsilon_greedy_and_the_floor():
    state = _state([1000, 1000, 1000], [10, 90, 50])
    assert EpsilonGreedy(epsilon=0.3).shares(state).tolist() == pytest.approx([0.1, 0.8, 0.1])
    floored = EpsilonGreedy(epsilon=0.0, min_share=0.05).shares(state)
    assert floored.tolist() == pytest.approx([0.05, 0.9, 0.05])
    padded = _state([1000, 1000, 0], [10, 90, 0], active=[True, True, False])
    assert EpsilonGreedy(epsilon=0.2).shares(padded).tolist() == pytest.approx([0.1, 0.9, 0.0])


def test_ucb_indices_are_the_textbook_ones():
    state = _state([100, 400], [5, 30])
    n, mean = state.impressions, state.plays / state.impressions
    ucb = mean + np.sqrt(2 * np.log(n.sum()) / n)
    assert UCB1()._index(state) == pytest.approx(ucb)
    kl = KLUCB()._index(state)
    for q, p_hat, n_cell in zip(kl, mean, n):  # n kl(p, q) = ln N, q above the mean
        assert q > p_hat
        assert n_cell * (p_hat * np.log(p_hat / q) + (1 - p_hat) * np.log((1 - p_hat) / (1 - q))) == pytest.approx(
            np.log(n.sum()), rel=1e-6)
    assert np.all(kl < ucb)  # KL-UCB's bound is the tighter one for small rates
    fresh = _state([100, 0], [5, 0])
    assert UCB1().shares(fresh).tolist() == [0.0, 1.0]  # an untried cell first


def test_thompson_shares_are_the_probability_of_being_best():
    state = _state([5000, 5000, 5000], [200, 230, 150])
    p = probability_best(state, draws=100_000, random_state=0)
    shares = Thompson(draws=20_000).shares(state, np.random.default_rng(1))
    assert shares == pytest.approx(p, abs=0.02)
    top_two = TopTwoThompson(beta=0.5).shares(state, np.random.default_rng(1))
    assert top_two.sum() == pytest.approx(1)
    assert top_two[np.argmax(p)] < shares[np.argmax(p)]  # the leader gives up some traffic to its challenger
    assert top_two[np.argmax(p)] >= 0.5 * shares[np.argmax(p)] - 1e-12


def test_choose_one_gives_a_cell_and_its_propensity():
    state = _state([5000, 5000], [200, 260])
    rng = np.random.default_rng(0)
    picks = [Thompson().choose_one(state, rng) for _ in range(400)]
    share = np.mean([cell for cell, _ in picks])
    propensity = picks[0][1] if picks[0][0] == 1 else 1 - picks[0][1]
    assert share == pytest.approx(propensity, abs=4 * np.sqrt(propensity * (1 - propensity) / 400) + 0.01)
    cell, p = EpsilonGreedy(epsilon=0.2).choose_one(state, rng)
    assert p == pytest.approx(0.9 if cell == 1 else 0.1)
    with pytest.raises(InvalidParameterError, match="one test"):
        Thompson().choose_one(_state([[1, 1], [1, 1]], [[0, 0], [0, 0]]))


def test_choose_splits_every_impression_and_batches_tests():
    state = _state([[100, 100, 0], [50, 50, 50]], [[5, 9, 0], [1, 2, 3]], active=[[True, True, False], [True] * 3])
    counts = Thompson().choose(1000, state, np.random.default_rng(0))
    assert counts.sum(axis=-1).tolist() == [1000, 1000] and counts[0, 2] == 0
    with pytest.raises(InvalidParameterError, match="whole number"):
        Thompson().choose(-1, state)


def test_explore_then_commit_commits_after_the_budget_or_the_stopping_rule():
    policy = ExploreThenCommit(explore=1000)
    state = policy.update(policy.start(3), [999, 999, 999], [30, 50, 40])
    assert state.committed == -1 and policy.shares(state).tolist() == pytest.approx([1 / 3] * 3)
    state = policy.update(state, [1, 1, 1], [0, 0, 0])
    assert state.committed == 1 and policy.shares(state).tolist() == [0.0, 1.0, 0.0]
    early = ExploreThenCommit(explore=10**9, stop_level=0.95)
    clear = early.update(early.start(2), [5000, 5000], [100, 300])
    close = early.update(early.start(2), [5000, 5000], [200, 210])
    assert clear.committed == 1 and close.committed == -1


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_saves_as_json_and_checks_its_settings(name):
    policy = POLICIES[name](min_share=0.02)
    assert policy_from_dict(policy.to_json()) == policy
    with pytest.raises(InvalidParameterError, match="min_share"):
        POLICIES[name](min_share=0.7)
    with pytest.raises(UnknownNameError, match="known"):
        policy_from_dict({"policy": "softmax"})


# ---------------------------------------------------------------------------- simulation
def test_true_take_rates_come_from_the_programme(program):
    tests, rates, active = true_take_rates(program)
    cells = program.cells
    assert len(tests) == cells["test_id"].nunique() and active.sum() == len(cells)
    first = cells[cells["test_id"] == tests[0]]
    assert rates[0, : len(first)] == pytest.approx(np.exp(program.latent.loc[first["artwork_id"], "eta"]))
    with pytest.raises(InvalidParameterError, match="simulate_program"):
        true_take_rates(cells)


def test_simulation_bookkeeping_is_exact(program):
    result = simulate_allocation(program, FixedSplit(), horizon=10_000, batch=3_000, replications=2, random_state=0)
    assert result.impressions.tolist() == [3000, 6000, 9000, 10_000]  # the last refresh is the remainder
    _, rates, active = true_take_rates(program)
    expected = ((rates.max(axis=1, keepdims=True) - rates) * active).sum(axis=1) / active.sum(axis=1) * 10_000
    # a fixed split's regret differs from its expectation only by the multinomial split of each refresh
    assert result.regret[..., -1].mean(axis=0) == pytest.approx(expected, rel=0.05, abs=2)
    table = result.to_frame()
    assert set(table.columns) >= {"test_id", "regret", "regret_ci_low", "take_rate", "share_to_best", "p_correct"}
    assert (table["share_to_best"] > 0).all() and "95% CI" in result.summary()
    assert result.plot() is not None


def test_delayed_feedback_costs_regret(program):
    kw = dict(horizon=40_000, batch=2_000, replications=4, random_state=0)
    prompt = simulate_allocation(program, Thompson(), **kw).totals().loc[0, "regret"]
    late = simulate_allocation(program, Thompson(), delay=5, **kw).totals().loc[0, "regret"]
    assert late > prompt


def test_regret_ordering_on_a_programme(program):
    """Over 8 replications, with 95% intervals: adaptive policies lose far fewer plays than
    the fixed split; Thompson sampling beats UCB1; top-two Thompson finds the winner at
    least as often as Thompson."""
    policies = {"fixed": FixedSplit(), "ucb1": UCB1(), "thompson": Thompson(), "top_two": TopTwoThompson(),
                "etc": ExploreThenCommit(explore=20_000)}
    table = compare_policies(program, policies, horizon=200_000, batch=10_000, replications=8,
                             random_state=0).to_frame().set_index("policy")
    assert table.loc["thompson", "regret_ci_high"] < table.loc["fixed", "regret_ci_low"] / 2
    assert table.loc["thompson", "regret_ci_high"] < table.loc["ucb1", "regret_ci_low"]
    assert table.loc["etc", "regret_ci_high"] < table.loc["fixed", "regret_ci_low"]
    assert table.loc["top_two", "p_correct"] >= table.loc["thompson", "p_correct"] - 0.03
    assert table.loc["thompson", "share_to_best"] > table.loc["fixed", "share_to_best"]


def test_simulation_checks_its_arguments(program):
    with pytest.raises(InvalidParameterError, match="policy"):
        simulate_allocation(program, "thompson")
    with pytest.raises(InvalidParameterError, match="batch"):
        simulate_allocation(program, Thompson(), batch=0)
    with pytest.raises(InvalidParameterError, match="empty"):
        compare_policies(program, [])


def test_same_seed_same_result(program):
    a = simulate_allocation(program, Thompson(), horizon=10_000, batch=2_000, random_state=5)
    b = simulate_allocation(program, Thompson(), horizon=10_000, batch=2_000, random_state=5)
    assert np.array_equal(a.regret, b.regret) and np.array_equal(a.correct, b.correct)


# ---------------------------------------------------------------------------- causal priors
def _effects(**kw):
    import pandas as pd

    base = {"feature": ["has_face", "brightness"], "effect": [0.12, 0.5], "std_error": [0.01, 0.2],
            "discovery": [True, False]}
    return pd.DataFrame({**base, **kw})


def test_prior_is_centred_on_the_predicted_rate_and_weighted_by_its_uncertainty():
    import pandas as pd

    art = pd.DataFrame({"artwork_id": ["a", "b", "c", "d"], "test_id": ["t1", "t1", "t2", "t2"],
                        "has_face": [1, 0, 1, 1], "brightness": [0.9, 0.1, 0.5, 0.5]})
    prior = prior_from_study(_effects(), art, baseline_rate=pd.Series({"t1": 0.04, "t2": 0.08}), residual_sd=0.1)
    assert prior.attrs["features"] == ["has_face"]  # brightness is not a discovery
    assert prior["predicted_log_ratio"].tolist() == pytest.approx([0.06, -0.06, 0.0, 0.0])  # centred within the test
    assert prior["predicted_rate"].tolist() == pytest.approx([0.04 * np.exp(0.06), 0.04 * np.exp(-0.06), 0.08, 0.08])
    se = np.sqrt(0.5**2 * 0.01**2 + 0.1**2)
    assert prior.loc[0, "log_ratio_se"] == pytest.approx(se)
    rate = prior.loc[0, "predicted_rate"]
    assert prior.loc[0, "prior_weight"] == pytest.approx((1 - rate) / (rate * se**2) - 1)
    a, b = prior.loc[0, "prior_plays"], prior.loc[0, "prior_misses"]
    assert a / (a + b) == pytest.approx(rate)
    assert np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))) == pytest.approx(rate * se, rel=1e-6)  # the delta method's sd
    weak = prior_from_study(_effects(), art, baseline_rate=pd.Series({"t1": 0.04, "t2": 0.08}), strength=0.1)
    assert weak["prior_weight"].to_numpy() == pytest.approx(0.1 * prior["prior_weight"].to_numpy(), rel=0.01)
    flat = prior_from_study(_effects(), art, baseline_rate=pd.Series({"t1": 0.04, "t2": 0.08}), strength=0)
    assert (flat["prior_weight"] == 2).all()  # a flat prior's weight, centred on the prediction
    chosen = prior_from_study(_effects(), art, baseline_rate=0.05, features=["brightness"])
    assert chosen.attrs["features"] == ["brightness"]


def test_prior_from_study_says_what_is_wrong():
    import pandas as pd

    art = pd.DataFrame({"artwork_id": ["a", "b"], "has_face": [1, None]})
    with pytest.raises(InvalidParameterError, match="std_error"):
        prior_from_study(_effects().drop(columns="std_error"), art, baseline_rate=0.05)
    with pytest.raises(InvalidParameterError, match="missing or non-numeric"):
        prior_from_study(_effects(), art, baseline_rate=0.05)
    with pytest.raises(InvalidParameterError, match="between 0 and 1"):
        prior_from_study(_effects(), art.fillna(0), baseline_rate=5)
    with pytest.raises(InvalidParameterError, match="not in the effects table"):
        prior_from_study(_effects(), art.fillna(0), baseline_rate=0.05, features=["smile"])


def test_a_right_prior_helps_early_and_a_wrong_one_costs(program):
    """Priors from the truth (the programme's own true log rates, with an honest uncertainty)
    lower early regret; the same priors with the ranking reversed raise it; over a long test
    the data overrule both."""
    import pandas as pd

    tests, rates, active = true_take_rates(program)
    cells = program.cells
    eta = program.latent.loc[cells["artwork_id"], "eta"].to_numpy()
    centred = eta - pd.Series(eta).groupby(cells["test_id"].to_numpy()).transform("mean").to_numpy()
    base = np.exp(pd.Series(eta).groupby(cells["test_id"].to_numpy()).transform("mean").to_numpy())
    frame = pd.DataFrame({"artwork_id": cells["artwork_id"], "test_id": cells["test_id"], "signal": centred})
    right = prior_from_study(pd.DataFrame({"feature": ["signal"], "effect": [1.0], "std_error": [0.0]}), frame,
                             baseline_rate=base, residual_sd=0.05)
    wrong = prior_from_study(pd.DataFrame({"feature": ["signal"], "effect": [-1.0], "std_error": [0.0]}), frame,
                             baseline_rate=base, residual_sd=0.05)
    kw = dict(horizon=100_000, batch=5_000, replications=6, random_state=0)
    runs = {name: simulate_allocation(program, Thompson(), priors=p, **kw) for name, p in
            {"flat": None, "right": right, "wrong": wrong}.items()}
    early = {name: r.regret[..., 3].sum(axis=1) for name, r in runs.items()}  # after 20 000 impressions per test
    assert early["right"].max() < early["flat"].min() < early["wrong"].min()
    assert runs["right"].correct[..., 0].mean() > runs["flat"].correct[..., 0].mean()
    late = {name: r.regret[..., -1].sum(axis=1) - r.regret[..., 3].sum(axis=1) for name, r in runs.items()}
    assert late["wrong"].mean() < 3 * early["wrong"].mean()  # the data take over: regret grows slower than at first


# ---------------------------------------------------------------------------- the command line
def test_allocate_simulate_writes_the_table_and_the_curves(tmp_path, capsys):
    import pandas as pd

    from creative_causal.cli import main

    assert main(["allocate", "simulate", "--titles", "30", "--replications", "3", "--horizon", "30000", "--batch",
                 "5000", "--policy", "fixed", "--policy", "thompson", "--random-state", "4", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 policies on 30 tests x 3 replications" in out and "95% intervals" in out
    table = pd.read_csv(tmp_path / "policies.csv")
    assert table["policy"].tolist() == ["thompson", "fixed"]  # lowest regret first
    assert len(pd.read_csv(tmp_path / "tests.csv")) == 2 * 30
    assert (tmp_path / "regret.png").stat().st_size > 10_000
    assert main(["allocate", "simulate", "--policy", "softmax", "--titles", "5"]) == 1
    assert "unknown policy 'softmax'" in capsys.readouterr().err
    assert main(["allocate", "simulate", "--titles", "5", "--batch", "0"]) == 1
    assert "batch" in capsys.readouterr().err


def test_the_guide_runs_as_written():
    """docs/allocation.md's example, and the how-to's two, run as they stand."""
    import re
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    root = Path(__file__).resolve().parents[1]
    blocks = [b for page in ("docs/allocation.md", "docs/howto.md")
              for b in re.findall(r"```python\n(.*?)```", (root / page).read_text(encoding="utf-8"), re.S)
              if "creative_causal.allocation" in b]
    assert len(blocks) == 3
    for block in blocks:
        exec(compile(block, "guide", "exec"), {"__name__": "guide"})  # noqa: S102


# ---------------------------------------------------------------------------- off-policy evaluation
def _target(program, lead=0.7):
    import pandas as pd

    cells = program.cells[["test_id", "cell_id"]].astype(str)
    k = cells.groupby("test_id")["cell_id"].transform("size").to_numpy()
    first = (cells.groupby("test_id").cumcount() == 0).to_numpy()
    target = cells.assign(probability=np.where(first, lead, (1 - lead) / (k - 1)))
    _, rates, active = true_take_rates(program)
    rate = pd.Series(rates[active], index=pd.MultiIndex.from_frame(cells))
    return target, (target.set_index(["test_id", "cell_id"])["probability"] * rate).groupby(level=0).sum()


def _truth(log, value_of_test):
    n = log.groupby("test_id").size()
    return float((n * value_of_test.reindex(n.index)).sum() / n.sum())


def test_the_log_simulator_logs_what_the_policy_did(program):
    log = simulate_impression_log(program, impressions=2000, random_state=0)
    assert len(log) == 2000 * program.cells["test_id"].nunique()
    planned = program.cells.assign(cell_id=program.cells["cell_id"].astype(str)).set_index(["test_id", "cell_id"])
    assert np.allclose(log["propensity"], planned.loc[pd_index(log), "planned_share"].to_numpy())
    adaptive = simulate_impression_log(program, Thompson(min_share=0.05), impressions=2000, batch=500, random_state=0)
    assert adaptive["refresh"].nunique() == 4 and adaptive["propensity"].min() >= 0.05 - 1e-12
    assert adaptive.groupby("refresh")["propensity"].std().iloc[-1] > 0  # the split changed as it learned


def pd_index(log):
    import pandas as pd

    return pd.MultiIndex.from_frame(log[["test_id", "cell_id"]])


def test_every_estimator_recovers_the_on_policy_value_when_target_is_logger(program):
    """Target = logging policy (the planned split): weights are 1, so IPS, SNIPS and replay
    return the logged take rate exactly, DM and DR the same up to the cells' rounding."""
    log = simulate_impression_log(program, impressions=3000, random_state=1)
    cells = program.cells.assign(cell_id=program.cells["cell_id"].astype(str))
    target = cells[["test_id", "cell_id"]].assign(probability=cells["planned_share"].to_numpy())
    on_policy = log["played"].mean()
    for method in ("ips", "snips", "replay"):
        assert evaluate_policy(log, target, method=method, random_state=0).value == pytest.approx(on_policy, abs=1e-12)
    for method in ("dm", "dr", "switch_dr"):
        assert evaluate_policy(log, target, method=method).value == pytest.approx(on_policy, abs=2e-4)


def test_off_policy_intervals_cover_the_truth():
    """20 fresh logs under an A/B split and 20 under adaptive logging: every method's 95%
    interval covers the target's true take rate in at least 17 of 20 (4 or more misses has
    probability 0.016 at 95% coverage), with mean error under 0.6 standard errors; except the
    direct method and switch-DR on adaptively logged data, whose bias the test pins instead."""
    import warnings

    from creative_causal.allocation import OffPolicyWarning

    program = simulate_program(40, random_state=8)
    target, value_of_test = _target(program)
    for logger in (None, Thompson(min_share=0.05)):
        covered = {m: 0 for m in METHODS}
        z = {m: [] for m in METHODS}
        for r in range(20):
            log = simulate_impression_log(program, logger, impressions=2000, batch=500, random_state=100 + r)
            truth = _truth(log, value_of_test)
            for method in METHODS:
                with warnings.catch_warnings():  # replay keeps few impressions under adaptive logging, and says so
                    warnings.simplefilter("ignore", OffPolicyWarning)
                    v = evaluate_policy(log, target, method=method, random_state=r)
                covered[method] += v.ci_low <= truth <= v.ci_high
                z[method].append((v.value - truth) / v.std_error)
        for method in METHODS:
            if logger is not None and method in ("dm", "switch_dr"):
                # adaptive logging starves cells that looked bad early, so their logged take rates
                # stay too low (the sampling bias of bandit data): the direct method inherits it,
                # the doubly robust correction removes it, and switch-DR, which drops the correction
                # where weights exceed its threshold (here up to 0.7 / 0.05 = 14), keeps part of it.
                # docs/allocation.md has the figures.
                assert np.mean(z[method]) < np.mean(z["dr"]) - 0.3
                continue
            assert covered[method] >= 17, (logger, method, covered)
            assert abs(np.mean(z[method])) < 0.6, (logger, method, np.mean(z[method]))  # sd of a mean of 20: 0.22


def test_per_row_target_probabilities_and_errors(program, tmp_path):
    log = simulate_impression_log(program, impressions=1000, random_state=2)
    target, _ = _target(program)
    by_table = evaluate_policy(log, target, method="ips")
    per_row = target.set_index(["test_id", "cell_id"])["probability"].reindex(pd_index(log)).to_numpy()
    assert evaluate_policy(log, per_row, method="ips").value == pytest.approx(by_table.value)
    as_column = evaluate_policy(log.assign(target_p=per_row), "target_p", method="snips")
    assert as_column.method == "snips" and 0 < as_column.value < 1
    path = tmp_path / "log.parquet"
    log.to_parquet(path)
    assert evaluate_policy(path, target, chunk_rows=10_000).value == pytest.approx(
        evaluate_policy(log, target).value, rel=1e-9)
    with pytest.raises(InvalidParameterError, match="every cell"):
        evaluate_policy(log, per_row, method="dr")
    with pytest.raises(InvalidParameterError, match="sum to 1"):
        evaluate_policy(log, target.assign(probability=0.9))
    from creative_causal import ExperimentDataError

    with pytest.raises(ExperimentDataError, match="planned_share"):
        evaluate_policy(log.drop(columns="propensity"), target)
    with pytest.raises(ExperimentDataError, match="'played' must be 0 or 1"):
        evaluate_policy(log.assign(played=2), target)
    tiny = log.assign(propensity=np.where(log.index < 10, 0.001, log["propensity"]))
    with pytest.warns(UserWarning, match="propensity below"):
        result = evaluate_policy(tiny, target, method="ips")
    assert result.tiny_propensities == 10 and "warning" in result.summary()


def test_allocate_evaluate_from_files(program, tmp_path, capsys):
    from creative_causal.cli import main

    log = simulate_impression_log(program, impressions=500, random_state=3)
    log.to_parquet(tmp_path / "log.parquet")
    target, _ = _target(program)
    target.to_csv(tmp_path / "target.csv", index=False)
    assert main(["allocate", "evaluate", str(tmp_path / "log.parquet"), "--target", str(tmp_path / "target.csv"),
                 "--method", "dr", "--method", "ips", "--json"]) == 0
    import json

    estimates = json.loads(capsys.readouterr().out)["estimates"]
    assert [e["method"] for e in estimates] == ["dr", "ips"] and all(0 < e["value"] < 1 for e in estimates)
    assert main(["allocate", "evaluate", str(tmp_path / "log.parquet"), "--target", str(tmp_path / "missing.csv")]) == 1
    assert main(["allocate", "evaluate", str(tmp_path / "log.parquet"), "--policy", "kl_ucb", "--interval",
                 "bootstrap_tests", "--random-state", "0"]) == 0
    assert "Target policy (kl_ucb() as it stands at the start)" in capsys.readouterr().out  # the log has one refresh
    assert main(["allocate", "evaluate", str(tmp_path / "log.parquet"), "--policy", "nope"]) == 1


def test_a_per_segment_target(program):
    """A target that differs by segment: the estimate averages each segment's own split, and a
    target that is the same in every segment gives the same value as without segments."""
    import pandas as pd

    log = simulate_impression_log(program, impressions=1000, random_state=4)
    log["segment"] = np.where(np.random.default_rng(0).random(len(log)) < 0.5, "kids", "adults")
    target, _ = _target(program)
    both = pd.concat([target.assign(segment=s) for s in ("kids", "adults")], ignore_index=True)
    same = evaluate_policy(log, both, segments=["segment"])
    assert same.value == pytest.approx(evaluate_policy(log, target).value, abs=5 * same.std_error)
    uniform, _ = _target(program, lead=1 / 2)
    mixed = pd.concat([target.assign(segment="kids"), uniform.assign(segment="adults")], ignore_index=True)
    value = evaluate_policy(log, mixed, segments=["segment"], method="ips").value
    kids = evaluate_policy(log[log["segment"] == "kids"], target, method="ips").value
    adults = evaluate_policy(log[log["segment"] == "adults"], uniform, method="ips").value
    share = (log["segment"] == "kids").mean()
    assert value == pytest.approx(share * kids + (1 - share) * adults, rel=1e-9)


def test_a_policy_object_is_judged_along_the_log():
    """A learning policy (Thompson) run along an A/B log, learning at each of the log's
    refreshes: its doubly robust value agrees with its on-policy take rate from simulating it on
    the same tests (within 3 combined standard errors); a policy that does not learn equals the
    same split given as a table; the log must be in refresh order."""
    import pandas as pd

    from creative_causal import ExperimentDataError
    from creative_causal.allocation import OffPolicyWarning

    program = simulate_program(40, random_state=8)
    log = simulate_impression_log(program, impressions=20_000, batch=2_000, random_state=5)
    on_policy = simulate_allocation(program, Thompson(), horizon=20_000, batch=2_000, replications=20,
                                    random_state=6).totals().iloc[0]
    judged = evaluate_policy(log, Thompson(), method="dr", random_state=7)
    assert judged.target == "thompson() learning over 10 refreshes"
    truth_se = (on_policy.take_rate_ci_high - on_policy.take_rate_ci_low) / (2 * 1.96)
    assert abs(judged.value - on_policy.take_rate) < 3 * np.hypot(judged.std_error, truth_se)
    assert judged.value > judged.logged_value + 3 * judged.std_error  # it learned to serve the better cells

    cells = program.cells[["test_id", "cell_id"]].astype(str)
    equal = cells.assign(probability=1 / cells.groupby("test_id")["cell_id"].transform("size"))
    as_object = evaluate_policy(log, FixedSplit(), method="ips")
    assert as_object.value == pytest.approx(evaluate_policy(log, equal, method="ips").value, rel=1e-12)
    with pytest.raises(ExperimentDataError, match="goes back in time"):
        evaluate_policy(log.iloc[::-1], Thompson(), random_state=0)
    # without refreshes the policy is judged as it starts: a prior that backs each test's first cell
    first = cells.groupby("test_id").cumcount().to_numpy() == 0
    priors = cells.assign(prior_plays=np.where(first, 5_000.0, 1.0), prior_misses=np.where(first, 5_000.0, 1e4))
    with pytest.warns(OffPolicyWarning, match="as it stands at the start"):
        frozen = evaluate_policy(log.drop(columns="refresh"), Thompson(), priors=priors, method="ips")
    lead_only = cells.assign(probability=first.astype(float))
    assert frozen.value == pytest.approx(evaluate_policy(log, lead_only, method="ips").value, rel=1e-9)
    with pytest.raises(InvalidParameterError, match="whole tests"):
        evaluate_policy(log.assign(segment="a"), Thompson(), segments=["segment"])
    assert isinstance(pd.DataFrame(frozen.to_frame()), pd.DataFrame)


def test_bootstrap_intervals_over_tests_and_members(program):
    """The Poisson bootstrap over tests agrees with the analytic test-clustered interval (widths
    within 25%), and over members it needs a member_id column."""
    from creative_causal import ExperimentDataError

    log = simulate_impression_log(program, impressions=1000, random_state=9)
    target, _ = _target(program)
    analytic = evaluate_policy(log, target, interval="tests")
    boot = evaluate_policy(log, target, interval="bootstrap_tests", random_state=0)
    assert boot.value == analytic.value and boot.n_boot == 1000
    assert boot.ci_high - boot.ci_low == pytest.approx(analytic.ci_high - analytic.ci_low, rel=0.25)
    assert "percentile bootstrap, 1,000 Poisson resamples of tests" in boot.summary()
    with pytest.raises(ExperimentDataError, match="member_id"):
        evaluate_policy(log, target, interval="bootstrap_members")
    members = log.assign(member_id=np.random.default_rng(0).integers(0, 20_000, len(log)))
    by_member = evaluate_policy(members, target, interval="bootstrap_members", method="snips", random_state=0)
    impressions = evaluate_policy(members, target, method="snips")
    assert by_member.ci_low < by_member.value < by_member.ci_high
    assert by_member.std_error == pytest.approx(impressions.std_error, rel=0.3)  # members here are independent


def test_a_contextual_policy_pools_segments_that_agree_and_separates_those_that_differ():
    """Eight segments, 120 tests, 6 replications. Segments identical: the pooled contextual
    policy's regret is within 15% of one Thompson policy for all, and at most 70% of separate
    per-segment policies (pooling=0). Segments that want different artwork: it beats the single
    policy by at least 15% and is within 15% of the separate ones. (Measured: 16.3k vs 15.8k and
    31.1k; 31.9k vs 43.8k and 31.5k; interval half-widths about 1-2%.)"""
    program = simulate_program(120, random_state=0)
    rng = np.random.default_rng(0)
    same = {f"c{i}": {"share": 1 / 8} for i in range(8)}
    rng.normal(size=16)  # the draws of the milder world in docs/allocation.md
    differ = {f"c{i}": {"share": 1 / 8, "has_face": float(rng.normal(0, 0.5)), "text_area": float(rng.normal(0, 2))}
              for i in range(8)}
    policies = {"single": Thompson(), "pooled": Contextual(), "separate": Contextual(pooling=0)}
    for segments, close, far in ((same, "single", "separate"), (differ, "separate", "single")):
        regret = {name: compare_policies(program, {name: p}, horizon=40_000, batch=2_000, replications=6,
                                         segments=segments, random_state=1).to_frame().loc[0, "regret"]
                  for name, p in policies.items()}
        assert abs(regret["pooled"] / regret[close] - 1) < 0.15, regret
        assert regret["pooled"] < 0.85 * regret[far], regret


def test_contextual_policy_state_serialisation_and_errors():
    policy = Contextual(base=TopTwoThompson(beta=0.6), pooling=50.0, min_share=0.02)
    assert policy_from_dict(policy.to_json()) == policy
    assert str(policy) == "contextual(top_two_thompson(beta=0.6), pooling=50.0, min_share=0.02)"
    with pytest.raises(InvalidParameterError, match="segment axis"):
        policy.shares(policy.start(3), 0)
    with pytest.raises(InvalidParameterError, match="pooling"):
        Contextual(pooling=-1)
    with pytest.raises(InvalidParameterError, match="non-contextual"):
        Contextual(base=Contextual())
    with pytest.raises(InvalidParameterError, match="name the base policy"):
        Contextual(Thompson())
    program = simulate_program(20, random_state=0)
    with pytest.raises(UnknownNameError, match="not a feature"):
        simulate_allocation(program, policy, horizon=100, batch=100, segments={"a": {"share": 1, "hat": 1.0}})
    with pytest.raises(InvalidParameterError, match="share"):
        simulate_allocation(program, policy, horizon=100, batch=100, segments={"a": {"has_face": 1.0}})
    # without segments a contextual policy is its base policy, draw for draw
    alone = simulate_allocation(program, Contextual(), horizon=4_000, batch=500, random_state=2)
    base = simulate_allocation(program, Thompson(), horizon=4_000, batch=500, random_state=2)
    assert np.array_equal(alone.regret, base.regret)
    log = simulate_impression_log(program, impressions=200, random_state=0)
    with pytest.raises(InvalidParameterError, match="segment by segment"):
        evaluate_policy(log, Contextual())


def test_replaying_finished_tests_under_an_adaptive_split():
    """A test whose winner is clear: the adaptive split shows it far more than the even split
    did, gains plays and keeps the same winner. A test whose cells measured the same: the gain's
    interval covers zero. One-cell tests are left out and counted; bad counts name their row."""
    import pandas as pd

    from creative_causal import ExperimentDataError
    from creative_causal.allocation import replay_tests

    cells = pd.DataFrame({"test_id": ["clear"] * 3 + ["tie"] * 2 + ["alone"],
                          "cell_id": ["a", "b", "c", "a", "b", "a"],
                          "impressions": [50_000] * 3 + [40_000] * 2 + [1_000],
                          "plays": [2_000, 3_000, 2_100, 1_600, 1_600, 40]})
    replay = replay_tests(cells, replications=100, random_state=0)
    table = replay.to_frame().set_index("test_id")
    clear, tie = table.loc["clear"], table.loc["tie"]
    assert clear.winner == "b" and clear.ab_winner_share == pytest.approx(1 / 3)
    assert clear.adaptive_winner_share_ci_low > 0.8 and clear.same_winner > 0.95
    # serving b alone from the first impression would gain (0.06 - 0.041) * 100 000 = 1 900 plays at
    # the measured rates; exploring costs part of that
    assert 0 < clear.extra_plays_ci_low and 1_000 < clear.extra_plays < 1_900
    assert tie.extra_plays_ci_low < 0 < tie.extra_plays_ci_high
    assert replay.skipped_tests == 1 and "1 tests with fewer than two cells" in replay.summary()
    assert "instead of" in replay.sentences()[0] and "95% interval" in replay.sentences()[0]
    assert replay.to_dict()["tests"] == 2
    with pytest.raises(ExperimentDataError, match="row 4"):
        replay_tests(cells.assign(plays=[2_000, 3_000, 2_100, 1_600, 50_000, 40]))
    with pytest.raises(ExperimentDataError, match="no test has two or more cells"):
        replay_tests(cells[cells["test_id"] == "alone"])


def test_few_plays_are_warned_and_replay_keeps_an_honest_interval():
    """With no plays among the kept rows a normal interval collapses to a point; replay's
    Wilson interval does not, and a log with few plays says so."""
    import pandas as pd

    from creative_causal.allocation import OffPolicyWarning

    log = pd.DataFrame({"test_id": "t", "cell_id": ["a", "b"] * 200, "played": [0] * 399 + [1],
                        "propensity": 0.5})
    target = pd.DataFrame({"test_id": "t", "cell_id": ["a", "b"], "probability": [1.0, 0.0]})
    with pytest.warns(OffPolicyWarning, match="only 1 plays"):
        value = evaluate_policy(log, target, method="replay", random_state=0)
    assert value.value == 0 and value.ci_low == pytest.approx(0, abs=1e-12) and 0.005 < value.ci_high < 0.05
    assert "Wilson score interval" in value.summary()

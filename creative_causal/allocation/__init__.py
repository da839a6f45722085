"""Explore and exploit: split a test's impressions between its artworks while it runs.

Policies (:class:`FixedSplit`, :class:`ExploreThenCommit`, :class:`EpsilonGreedy`,
:class:`UCB1`, :class:`KLUCB`, :class:`Thompson`, :class:`TopTwoThompson`, and
:class:`Contextual`, one per segment pooled across segments) are small frozen
values; what they learn lives in an :class:`AllocationState` of plain arrays, batched over
tests. :func:`simulate_allocation` and :func:`compare_policies` replay them against the
simulator's true take rates; :func:`replay_tests` tells what an adaptive split would have done
in tests that already ran.

This package reads A/B data and the simulator only; it never imports the estimators.
"""

from ._evaluate import METHODS, OffPolicyWarning, PolicyValue, evaluate_policy
from ._policies import (
    EXACT_BELOW,
    KLUCB,
    POLICIES,
    UCB1,
    Contextual,
    EpsilonGreedy,
    ExploreThenCommit,
    FixedSplit,
    Policy,
    Thompson,
    TopTwoThompson,
    policy_from_dict,
    posterior_draws,
    probability_best,
)
from ._priors import prior_from_study
from ._replay import SplitReplay, replay_tests
from ._simulate import (
    AllocationResult,
    PolicyComparison,
    compare_policies,
    simulate_allocation,
    simulate_impression_log,
    true_take_rates,
)
from ._state import AllocationState, pooled_prior_weight

__all__ = [
    "AllocationResult",
    "AllocationState",
    "Contextual",
    "EpsilonGreedy",
    "ExploreThenCommit",
    "FixedSplit",
    "KLUCB",
    "METHODS",
    "EXACT_BELOW",
    "OffPolicyWarning",
    "POLICIES",
    "Policy",
    "PolicyComparison",
    "PolicyValue",
    "SplitReplay",
    "Thompson",
    "TopTwoThompson",
    "UCB1",
    "compare_policies",
    "evaluate_policy",
    "policy_from_dict",
    "posterior_draws",
    "pooled_prior_weight",
    "prior_from_study",
    "probability_best",
    "replay_tests",
    "simulate_allocation",
    "simulate_impression_log",
    "true_take_rates",
]

"""The trust layer: refutations with plain verdicts and sensitivity to unobserved confounding.

Mediation and moderation are estimation (:mod:`creative_causal.estimation`): they estimate
effects, they do not try to break them.
"""

from ._dowhy import dowhy_refutations
from ._refute import QUESTIONS, TESTS, refute, significance
from ._result import RefutationReport, RefutationResult
from ._sensitivity import SensitivityResult, benchmark_bounds, bias_bound, e_value, robustness_value, sensitivity

__all__ = ["refute", "RefutationReport", "RefutationResult", "TESTS", "QUESTIONS", "significance",
           "dowhy_refutations", "sensitivity", "SensitivityResult", "e_value", "robustness_value", "bias_bound",
           "benchmark_bounds"]

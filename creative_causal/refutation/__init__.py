"""The trust layer: refutations with plain verdicts, sensitivity to unobserved confounding,
mediation and moderation."""

from ._dowhy import dowhy_refutations
from ._mediation import MediationResult, mediation, moderation
from ._refute import TESTS, refute, significance
from ._result import RefutationReport, RefutationResult
from ._sensitivity import SensitivityResult, benchmark_bounds, bias_bound, e_value, robustness_value, sensitivity

__all__ = ["refute", "RefutationReport", "RefutationResult", "TESTS", "significance", "dowhy_refutations",
           "sensitivity", "SensitivityResult", "e_value", "robustness_value", "bias_bound", "benchmark_bounds",
           "mediation", "MediationResult", "moderation"]

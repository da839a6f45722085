"""A/B results: validation, take rates with intervals, title-adjusted outcomes, lifts,
sample-ratio checks, impression-log aggregation and the join with image features.

This package knows nothing of graphs or estimators.
"""

from ._impressions import aggregate_impressions
from ._rates import CONTINUITY, holm, log_rate_ratio, log_take_rate, two_proportion_test, wilson_interval
from ._results import DIFF_PP, LOG_RATE, LOG_RATIO, ABResults, read_ab_results
from ._study import StudyData

__all__ = [
    "ABResults",
    "StudyData",
    "read_ab_results",
    "aggregate_impressions",
    "wilson_interval",
    "log_take_rate",
    "log_rate_ratio",
    "two_proportion_test",
    "holm",
    "CONTINUITY",
    "LOG_RATIO",
    "LOG_RATE",
    "DIFF_PP",
]

"""A/B results: validation, take rates with intervals, title-adjusted outcomes, lifts,
sample-ratio checks, impression-log aggregation and the join with image features.

This package knows nothing of graphs or estimators.
"""

from ._files import read_table
from ._impressions import aggregate_impressions, iter_log_chunks
from ._rates import CONTINUITY, adjust_p_values, holm, log_rate_ratio, log_take_rate, two_proportion_test, wilson_interval
from ._results import DIFF_PP, LOG_RATE, LOG_RATIO, ABResults, read_ab_results
from ._study import LOG_OUTCOMES, StudyData, as_study_data

__all__ = [
    "ABResults",
    "StudyData",
    "as_study_data",
    "LOG_OUTCOMES",
    "read_ab_results",
    "read_table",
    "aggregate_impressions",
    "iter_log_chunks",
    "wilson_interval",
    "log_take_rate",
    "log_rate_ratio",
    "two_proportion_test",
    "holm",
    "adjust_p_values",
    "CONTINUITY",
    "LOG_RATIO",
    "LOG_RATE",
    "DIFF_PP",
]

"""Causal graphs: build, validate, identify adjustment sets, test implications, draw.

Knows nothing of estimators; DoWhy is imported only inside identification.
"""

from ._graph import CausalGraph
from ._identify import AdjustmentSet, is_valid_backdoor
from ._implications import partial_correlation, testable_implications
from ._template import ARTWORK_STYLE, CATALOG_PARENTS, creative_graph

__all__ = ["CausalGraph", "AdjustmentSet", "creative_graph", "testable_implications", "partial_correlation",
           "is_valid_backdoor", "CATALOG_PARENTS", "ARTWORK_STYLE"]

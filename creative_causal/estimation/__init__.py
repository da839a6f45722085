"""Effect estimation: double ML with the within-test design and test-clustered errors, OLS
with test fixed effects, the naive difference of means, heterogeneity and overlap.

econml is imported only when an estimator runs.
"""

from ._cate import CATEResult, estimate_cate
from ._difference import Difference, difference_in_means
from ._estimate import estimate_effect
from ._inference import LinearFit, wls_cluster
from ._overlap import OverlapDiagnostics, overlap
from ._result import EffectEstimate

__all__ = ["estimate_effect", "EffectEstimate", "estimate_cate", "CATEResult", "overlap", "OverlapDiagnostics",
           "Difference", "difference_in_means", "LinearFit", "wls_cluster"]

"""Effect estimation: double ML with the within-test design and test-clustered errors, OLS
with test fixed effects, the naive difference of means, heterogeneity, overlap, mediation
and moderation.

The building blocks that refutation, the insight sweep and studies reuse are public here:
the fitted final stage (:class:`FittedStage`), residualising and demeaning, segment effects,
cross-fitting (:func:`fit_dml`), the default nuisance models and the cluster bootstrap.
econml is imported only when an estimator runs.
"""

from ._cate import CATEResult, estimate_cate, segment_effects
from ._difference import Difference, difference_in_means
from ._dml import DMLFit, fit_dml, group_folds
from ._estimate import estimate_effect
from ._inference import (
    ClusterSums,
    LinearFit,
    bootstrap_counts,
    demean,
    group_means,
    residualize,
    subset_counts,
    wls_cluster,
)
from ._mediation import MediationResult, mediation, moderation
from ._models import default_model
from ._overlap import OverlapDiagnostics, overlap
from ._prepare import Prepared, prepare
from ._result import EffectEstimate, FittedStage

__all__ = ["estimate_effect", "EffectEstimate", "FittedStage", "estimate_cate", "CATEResult", "segment_effects",
           "overlap", "OverlapDiagnostics", "mediation", "MediationResult", "moderation", "Difference",
           "difference_in_means", "LinearFit", "wls_cluster", "demean", "group_means", "residualize", "ClusterSums",
           "bootstrap_counts", "subset_counts", "fit_dml", "DMLFit", "group_folds", "default_model", "prepare",
           "Prepared"]

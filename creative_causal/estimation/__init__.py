"""Effect estimation: double ML (doubly robust ATE/ATT/ATO for on/off components, the
partially linear coefficient otherwise) with the within-test design and test-clustered
errors, OLS with test fixed effects, the naive difference of means, heterogeneity, overlap,
mediation and moderation.

The building blocks that refutation, the insight sweep and studies reuse are public here:
the fitted scores (:class:`FittedStage`, :class:`DRScores`), residualising and demeaning,
segment effects, cross-fitting (:func:`fit_dml`, :func:`fit_aipw`), the nuisance library
and its diagnostics, and the cluster bootstrap. econml is imported only by the causal forest.
"""

from ._aipw import DR_ESTIMANDS, AIPWFit, DRScores, fit_aipw, score_parts, within_test_inputs
from ._cate import CATEResult, estimate_cate, segment_effects
from ._diagnostics import NuisanceDiagnostics
from ._difference import Difference, difference_in_means
from ._dml import DMLFit, fit_dml, group_folds
from ._estimate import ESTIMANDS, estimate_effect
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
from ._models import PROPENSITY_FLOOR, RACE_Z, Nuisance, candidates, cell_loss, clustered_z, default_model, fit_nuisance
from ._overlap import OverlapDiagnostics, overlap
from ._prepare import Prepared, is_binary, prepare, resolve_confounders
from ._result import ESTIMAND_TEXT, EffectEstimate, FittedStage

__all__ = ["estimate_effect", "EffectEstimate", "FittedStage", "estimate_cate", "CATEResult", "segment_effects",
           "overlap", "OverlapDiagnostics", "mediation", "MediationResult", "moderation", "Difference",
           "difference_in_means", "LinearFit", "wls_cluster", "demean", "group_means", "residualize", "ClusterSums",
           "bootstrap_counts", "subset_counts", "fit_dml", "DMLFit", "group_folds", "default_model", "prepare",
           "Prepared", "ESTIMANDS", "ESTIMAND_TEXT", "DR_ESTIMANDS", "fit_aipw", "AIPWFit", "DRScores",
           "NuisanceDiagnostics", "Nuisance", "fit_nuisance", "candidates", "score_parts", "PROPENSITY_FLOOR",
           "RACE_Z", "clustered_z", "cell_loss", "is_binary", "within_test_inputs", "resolve_confounders"]

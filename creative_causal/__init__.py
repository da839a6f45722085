"""creative_causal: which visual components of artwork cause people to choose a title.

Subpackages
-----------
datasets     ground-truth simulator of an artwork-testing programme; bundled demo data
experiments  A/B results: validation, take rates, lifts, sample-ratio checks, join -> StudyData
features     image features: safe decoding, faces, colour, quality, composition, text; batch extraction
graph        causal graphs: the artwork template, adjustment sets, testable implications, plots
estimation   double ML with the within-test design and test-clustered errors; heterogeneity; overlap
estimation   also mediation and moderation (effects through a mediator, effects that vary)
refutation   refutations with plain verdicts, sensitivity to unobserved confounding
insights     the sweep over many features with false-discovery control, in plain language
study        CreativeStudy: the whole analysis in one call, kept as plain tables (StudyResult)
report       the HTML and Markdown reports for creatives, of a study or of any result
demo         the whole pipeline on the bundled programme (posters -> features -> report)
allocation   explore/exploit policies that split a running test's impressions, simulated against the truth
frames       candidate stills found in video: shots, per-frame signals, a gate with reasons, a diverse choice
plotting     every chart, for notebooks and reports
exceptions   the error and warning tree

``set_config`` / ``config_context`` cap native thread pools inside model fits (default: one
thread per fit, robust on shared machines).

Names are imported lazily on first use, so ``import creative_causal`` stays fast and never
imports econml or DoWhy.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

# Public name -> module that defines it.
_LAZY = {
    "ABResults": "creative_causal.experiments",
    "StudyData": "creative_causal.experiments",
    "read_ab_results": "creative_causal.experiments",
    "simulate_program": "creative_causal.datasets",
    "load_demo_program": "creative_causal.datasets",
    "extract_features": "creative_causal.features",
    "discover_frames": "creative_causal.frames",
    "FeatureExtractor": "creative_causal.features",
    "CausalGraph": "creative_causal.graph",
    "creative_graph": "creative_causal.graph",
    "estimate_effect": "creative_causal.estimation",
    "estimate_cate": "creative_causal.estimation",
    "overlap": "creative_causal.estimation",
    "EffectEstimate": "creative_causal.estimation",
    "refute": "creative_causal.refutation",
    "RefutationReport": "creative_causal.refutation",
    "sensitivity": "creative_causal.refutation",
    "SensitivityResult": "creative_causal.refutation",
    "e_value": "creative_causal.refutation",
    "mediation": "creative_causal.estimation",
    "MediationResult": "creative_causal.estimation",
    "moderation": "creative_causal.estimation",
    "discover_insights": "creative_causal.insights",
    "InsightTable": "creative_causal.insights",
    "CreativeStudy": "creative_causal.study",
    "StudyResult": "creative_causal.study",
    "run_demo": "creative_causal.demo",
    "set_config": "creative_causal._config",
    "get_config": "creative_causal._config",
    "config_context": "creative_causal._config",
    "CreativeCausalError": "creative_causal.exceptions",
    "InvalidParameterError": "creative_causal.exceptions",
    "UnknownNameError": "creative_causal.exceptions",
    "StudyFileError": "creative_causal.exceptions",
    "OutputPathError": "creative_causal.exceptions",
    "ExperimentDataError": "creative_causal.exceptions",
    "FeatureError": "creative_causal.exceptions",
    "ImageReadError": "creative_causal.exceptions",
    "FrameError": "creative_causal.exceptions",
    "GraphError": "creative_causal.exceptions",
    "IdentificationError": "creative_causal.exceptions",
    "EstimationError": "creative_causal.exceptions",
    "NotFittedError": "creative_causal.exceptions",
    "CreativeCausalWarning": "creative_causal.exceptions",
    "SampleRatioMismatchWarning": "creative_causal.exceptions",
    "OverlapWarning": "creative_causal.exceptions",
    "LowPowerWarning": "creative_causal.exceptions",
    "GraphWarning": "creative_causal.exceptions",
    "DataQualityWarning": "creative_causal.exceptions",
    "NuisanceWarning": "creative_causal.exceptions",
    "OffPolicyWarning": "creative_causal.exceptions",
    "MissingDependencyError": "creative_causal.exceptions",
}
_SUBPACKAGES = ("datasets", "experiments", "features", "graph", "estimation", "refutation", "insights", "study", "report",
                "demo", "allocation", "frames", "plotting", "exceptions")

__all__ = ["__version__", *_LAZY, *_SUBPACKAGES]

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:  # pragma: no cover
    from . import (  # noqa: F401
        allocation,
        datasets,
        demo,
        estimation,
        exceptions,
        experiments,
        features,
        graph,
        insights,
        plotting,
        refutation,
        report,
        study,
    )
    from ._config import config_context, get_config, set_config  # noqa: F401
    from .datasets import load_demo_program, simulate_program  # noqa: F401
    from .demo import run_demo  # noqa: F401
    from .estimation import (  # noqa: F401
        EffectEstimate,
        MediationResult,
        estimate_cate,
        estimate_effect,
        mediation,
        moderation,
        overlap,
    )
    from .exceptions import *  # noqa: F401,F403
    from .experiments import ABResults, StudyData, read_ab_results  # noqa: F401
    from .features import FeatureExtractor, extract_features  # noqa: F401
    from .graph import CausalGraph, creative_graph  # noqa: F401
    from .insights import InsightTable, discover_insights  # noqa: F401
    from .refutation import RefutationReport, SensitivityResult, e_value, refute, sensitivity  # noqa: F401
    from .study import CreativeStudy, StudyResult  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'creative_causal' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

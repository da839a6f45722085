"""Errors and warnings raised by creative_causal.

Every error derives from one root, so ``except CreativeCausalError`` catches anything the
library raises on purpose; each also derives from the matching builtin, so code that
already catches ``ValueError`` or ``OSError`` keeps working::

    CreativeCausalError
    ├── InvalidParameterError (ValueError, TypeError)  an argument whose value or type is not allowed
    │   └── UnknownNameError  (KeyError)              a name that is not there (column, feature, test ...)
    ├── ExperimentDataError   (ValueError)   A/B results that fail validation
    ├── FeatureError          (ValueError)   unknown feature names, bad feature functions, no images
    ├── ImageReadError        (OSError)      an image that cannot be read or decoded safely
    ├── FrameError            (OSError)      a video that cannot be opened or decoded
    ├── GraphError            (ValueError)   a causal graph that is malformed or does not fit the data
    ├── IdentificationError   (ValueError)   no valid adjustment set exists
    ├── EstimationError       (RuntimeError) an estimator that cannot run on the data given
    ├── StudyFileError        (ValueError)   a saved study folder that is incomplete or was changed
    ├── OutputPathError       (OSError)      a file or folder that cannot be written where asked
    ├── NotFittedError        (ValueError, AttributeError)
    └── MissingDependencyError (ImportError) a public data set's package is not installed

    CreativeCausalWarning     (UserWarning)
    ├── SampleRatioMismatchWarning           impressions do not split as planned
    ├── OverlapWarning                       strata without treatment variation were trimmed
    ├── LowPowerWarning                      too few informative tests for a reliable answer
    ├── GraphWarning                         a graph that is valid but probably not what was meant
    ├── DataQualityWarning                   rows were excluded from an analysis (counted), or were
    │                                        changed to load (ids stripped of spaces)
    ├── NuisanceWarning                      a nuisance model no better than a constant, or a badly
    │                                        calibrated propensity
    └── OffPolicyWarning                     tiny logging propensities, or a target policy the log
                                             barely supports

Messages say what failed, the offending value (file, column, row, test id), what is
allowed, and how to fix it. A bad argument (``level=95``, an unknown method, a negative
count) is an :class:`InvalidParameterError`, as scikit-learn's ``InvalidParameterError``:
both a ``ValueError`` and a ``TypeError``, with the allowed values in the message.
"""

from __future__ import annotations

__all__ = [
    "CreativeCausalError",
    "InvalidParameterError",
    "UnknownNameError",
    "ExperimentDataError",
    "FeatureError",
    "ImageReadError",
    "GraphError",
    "IdentificationError",
    "EstimationError",
    "StudyFileError",
    "OutputPathError",
    "NotFittedError",
    "CreativeCausalWarning",
    "SampleRatioMismatchWarning",
    "OverlapWarning",
    "LowPowerWarning",
    "GraphWarning",
    "DataQualityWarning",
    "NuisanceWarning",
    "OffPolicyWarning",
    "FrameError",
    "MissingDependencyError",
]


class CreativeCausalError(Exception):
    """Root of every error that creative_causal raises on purpose."""


class InvalidParameterError(CreativeCausalError, ValueError, TypeError):
    """An argument whose value (or type) is not allowed; the message names the allowed values."""


class UnknownNameError(InvalidParameterError, KeyError):
    """A name that is not there (a column, feature, segment, test, genre), with a did-you-mean."""

    # KeyError quotes its message; this one is a sentence.
    __str__ = Exception.__str__


class ExperimentDataError(CreativeCausalError, ValueError):
    """A/B results (or impression logs) that fail validation."""


class FeatureError(CreativeCausalError, ValueError):
    """An unknown feature or feature group, a feature function that misbehaves, or no images."""


class ImageReadError(CreativeCausalError, OSError):
    """An image file that cannot be read or decoded safely."""


class FrameError(CreativeCausalError, OSError):
    """A video that cannot be opened or decoded (missing, not a video, no frames, a broken stream)."""


class GraphError(CreativeCausalError, ValueError):
    """A causal graph that is malformed (a cycle, bad DOT/GML) or does not match the data."""


class IdentificationError(CreativeCausalError, ValueError):
    """No valid back-door adjustment set exists for the requested effect."""


class EstimationError(CreativeCausalError, RuntimeError):
    """An estimator that cannot run on the data it was given."""


class StudyFileError(CreativeCausalError, ValueError):
    """A saved study folder (:meth:`StudyResult.save`) that is incomplete or was changed by hand."""


class OutputPathError(CreativeCausalError, OSError):
    """A file or folder that cannot be written where it was asked to go."""


class NotFittedError(CreativeCausalError, ValueError, AttributeError):
    """A fitted attribute was read before ``fit`` was called."""


class MissingDependencyError(CreativeCausalError, ImportError):
    """An optional package a function needs (a public data set's) is not installed."""


class CreativeCausalWarning(UserWarning):
    """Root of every warning that creative_causal issues."""


class SampleRatioMismatchWarning(CreativeCausalWarning):
    """Impressions in one or more tests do not split across cells as planned."""


class OverlapWarning(CreativeCausalWarning):
    """Strata where the treatment never varies were trimmed from an estimate."""


class LowPowerWarning(CreativeCausalWarning):
    """Too few informative tests or cells for a reliable estimate."""


class GraphWarning(CreativeCausalWarning):
    """A causal graph that is valid but probably not what was meant (e.g. no path to the outcome)."""


class DataQualityWarning(CreativeCausalWarning):
    """Rows were excluded from an analysis, or changed to load; they are counted in the result's report."""


class NuisanceWarning(CreativeCausalWarning):
    """A nuisance model that predicts no better than a constant, or a badly calibrated propensity."""


class OffPolicyWarning(CreativeCausalWarning):
    """Off-policy evaluation on thin ground: logging propensities below 0.01, target weight on
    cells the log never showed, or a replay that kept few impressions."""

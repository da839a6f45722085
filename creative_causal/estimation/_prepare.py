"""Turn StudyData (or a plain DataFrame) plus a design into arrays an estimator can use."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._validation import check_choice, did_you_mean
from ..exceptions import EstimationError, IdentificationError, InvalidParameterError, OverlapWarning, UnknownNameError
from ..experiments import LOG_RATE, LOG_RATIO, StudyData
from ._inference import demean, group_means

Design = Literal["within_test", "pooled"]
DESIGNS = ("within_test", "pooled")
AUTO = "auto"


@dataclass
class Prepared:
    """Arrays for one (treatment, outcome, design) problem, rows already filtered.

    ``y``, ``t`` and the leading ``n_within`` columns of ``features`` are demeaned within
    tests for the within-test design; ``features`` then also holds the test means (Mundlak
    terms) and the title covariates. ``codes`` are the cluster codes 0..G-1 (or None).
    """

    frame: pd.DataFrame
    treatment: str
    outcome: str
    design: str
    y: np.ndarray
    t: np.ndarray
    features: np.ndarray
    feature_names: list[str]
    weights: np.ndarray
    codes: np.ndarray | None
    binary: bool
    confounders: tuple[str, ...]
    n_tests: int
    n_informative_tests: int
    population: str
    n_within: int = 0  # leading feature columns that are confounders demeaned within tests
    notes: list[str] = field(default_factory=list)

    @property
    def n_cells(self) -> int:
        return len(self.frame)


def is_binary(values: Any) -> bool:
    """Whether the non-missing values are all 0 or 1 (a component that is on or off).

    Examples
    --------
    >>> is_binary(pd.Series([0, 1, None])), is_binary([0, 0.5, 1])
    (True, False)
    """
    values = pd.Series(values).dropna().to_numpy()
    if values.size == 0 or not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        return False
    return bool(set(np.unique(values.astype(float))) <= {0.0, 1.0})


def resolve_confounders(study: StudyData, treatment: str, outcome: str, graph: Any, confounders: Sequence[str] | None
                        ) -> tuple[tuple[str, ...], Any]:
    """Confounders given explicitly (checked against the graph when there is one) or the
    graph's adjustment set (the default creative graph when none is given)."""
    columns = list(study.frame.columns)
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if not isinstance(name, str) or name not in columns:
            raise UnknownNameError(f"{role} {name!r} is not a column of the data.{study.why_missing(str(name))} "
                                   f"Features: {list(study.features)}.")
    if confounders is not None:
        confounders = tuple(confounders)
        for c in confounders:
            if c not in columns:
                raise UnknownNameError(f"confounder {c!r} is not a column of the data.{did_you_mean(c, columns)}")
        if treatment in confounders or outcome in confounders:
            raise InvalidParameterError("the treatment and the outcome cannot be confounders of themselves: remove "
                                        f"{[c for c in confounders if c in (treatment, outcome)]} from confounders=.")
        if graph is not None:
            adjustment = graph.adjustment_set(treatment, outcome)
            roles = adjustment.explanation.set_index("variable")["role"]
            bad = [c for c in confounders if roles.get(c) in {"mediator", "descendant"}]
            if bad:
                raise IdentificationError(
                    f"{bad} {'is a' if len(bad) == 1 else 'are'} descendant{'s' if len(bad) > 1 else ''} of {treatment!r} "
                    f"in the graph ({', '.join(f'{b}: {roles[b]}' for b in bad)}): adjusting for "
                    f"{'it' if len(bad) == 1 else 'them'} would remove part of the effect or bias it. Drop "
                    f"{'it' if len(bad) == 1 else 'them'} from confounders=, or use the graph's set: "
                    f"{list(adjustment.variables)}."
                )
        return confounders, None
    if graph is None:
        from ..graph import creative_graph

        graph = creative_graph(study, treatment, outcome=outcome)
    graph.check_data(columns)
    adjustment = graph.adjustment_set(treatment, outcome)
    return adjustment.variables, adjustment


def prepare(study: StudyData, treatment: str, outcome: str, confounders: Sequence[str], design: str,
            cluster: str | None, weights: str | None, *, keep_constant_tests: bool = False) -> Prepared:
    """The arrays of one estimation problem: rows with missing values, single-cell tests and
    tests (or strata) where the treatment never varies are left out and counted in ``notes``.

    With ``keep_constant_tests`` (the doubly robust estimands of the within-test design) the
    tests where every cell has the same treatment stay in: their cells' contrasts with the rest
    of the test inform the outcome models and keep the propensities away from 0 and 1; only
    segment levels where the treatment never varies at all are trimmed.

    Raises
    ------
    UnknownNameError
        A treatment, outcome, cluster or weight column that is not in the data (with the
        reason when the join dropped it, e.g. a non-numeric feature).
    EstimationError
        A non-numeric treatment or outcome, non-positive weights, a within-test design without
        tests, or a treatment that never varies.
    """
    check_choice(design, "design", DESIGNS)
    frame = study.frame
    for role, col in (("treatment", treatment), ("outcome", outcome), ("cluster", cluster), ("weights", weights)):
        if col is not None and (not isinstance(col, str) or col not in frame):
            raise UnknownNameError(f"{role} {col!r} is not a column of the data.{study.why_missing(str(col))} "
                                   f"Features: {list(study.features)}.")
    for role, col in (("treatment", treatment), ("outcome", outcome)):
        if not (pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col])):
            raise EstimationError(f"{role} {col!r} is not numeric ({frame[col].dtype}); encode it as 0/1 or a number.")

    notes: list[str] = []
    needed = [outcome, treatment, *confounders] + ([weights] if weights else [])
    missing = frame[needed].isna().any(axis=1).to_numpy()
    if missing.any():
        notes.append(f"{int(missing.sum())} cells with missing values in {needed} left out")
        frame = frame.loc[~missing]
    numeric_needed = [c for c in needed if pd.api.types.is_numeric_dtype(frame[c])]
    infinite = np.isinf(frame[numeric_needed].to_numpy(dtype=float))
    if infinite.any():
        columns = [c for c, bad in zip(numeric_needed, infinite.any(axis=0)) if bad]
        raise EstimationError(f"columns {columns} hold infinite values in {int(infinite.any(axis=1).sum())} cells; models "
                              "cannot use them. Fix or drop those values (features from extract_features are always "
                              "finite).")
    if weights is not None and (frame[weights] <= 0).any():
        raise EstimationError(f"weights column {weights!r} has values <= 0; weights must be positive.")
    if design == "within_test":
        if cluster is None:
            raise EstimationError("design='within_test' compares artworks within a test and needs a test (cluster) "
                                  "column; pass cluster='<test id column>' or use design='pooled' for data without tests.")
        sizes = frame.groupby(cluster, sort=False)[treatment].transform("size").to_numpy()
        if (sizes < 2).any():
            notes.append(f"{frame.loc[sizes < 2, cluster].nunique()} single-cell tests left out (no within-test comparison)")
            frame = frame.loc[sizes >= 2]
    binary = is_binary(frame[treatment])
    frame, trimmed, n_tests, n_informative = _trim(frame, study, treatment, design, cluster, notes,
                                                   keep_constant_tests)
    if len(frame) == 0 or (design == "within_test" and n_informative == 0):
        raise EstimationError(f"{treatment!r} never varies {'within a test' if design == 'within_test' else ''} "
                              "in these data: there is nothing to compare. Check the treatment column.")
    w = frame[weights].to_numpy(dtype=float) if weights else np.ones(len(frame))
    codes = pd.factorize(frame[cluster])[0] if cluster else None
    y = frame[outcome].to_numpy(dtype=float)
    t = frame[treatment].to_numpy(dtype=float)
    numeric = [c for c in confounders if pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])]
    categorical = [c for c in confounders if c not in numeric]
    x_num = frame[numeric].to_numpy(dtype=float) if numeric else np.zeros((len(frame), 0))
    x_cat = pd.get_dummies(frame[categorical].astype(str), drop_first=True, dtype=float) if categorical else None
    cat_names = list(x_cat.columns) if x_cat is not None else []
    x_cat_arr = x_cat.to_numpy() if x_cat is not None else np.zeros((len(frame), 0))
    if design == "within_test":
        # Demean outcome, treatment and confounders within each test: everything constant in a
        # test (genre, popularity, star power, the title's baseline) drops out. The test means
        # of the confounders (Mundlak terms) and the title covariates stay in the nuisance
        # models so that within-test relations may differ between kinds of titles.
        y = demean(y, codes, w)
        t = demean(t, codes, w)
        x_within = demean(x_num, codes, w)
        varies = x_within.std(axis=0) > 1e-12 if x_num.shape[1] else np.zeros(0, dtype=bool)
        means = group_means(x_num[:, varies], codes, w)
        features = np.hstack([x_within[:, varies], means, x_num[:, ~varies], x_cat_arr])
        names = ([f"{c}" for c, v in zip(numeric, varies) if v] + [f"mean_{c}" for c, v in zip(numeric, varies) if v]
                 + [c for c, v in zip(numeric, varies) if not v] + cat_names)
        n_within = int(varies.sum())
    else:
        features = np.hstack([x_num, x_cat_arr])
        names = numeric + cat_names
        n_within = 0
    if design == "within_test":
        population = ("cells of tests with two or more cells" if keep_constant_tests
                      else "cells of tests in which " + treatment + " varies")
    else:
        population = "all cells"
    if trimmed:
        population += "; excluding " + ", ".join(trimmed) + " (no variation in " + treatment + ")"
    return Prepared(frame=frame, treatment=treatment, outcome=outcome, design=design, y=y, t=t, features=features,
                    feature_names=names, weights=w, codes=codes, binary=binary, confounders=tuple(confounders),
                    n_tests=n_tests, n_informative_tests=n_informative, population=population, n_within=n_within,
                    notes=notes)


def _trim(frame: pd.DataFrame, study: StudyData, treatment: str, design: str, cluster: str | None,
          notes: list[str], keep_constant_tests: bool = False) -> tuple[pd.DataFrame, list[str], int, int]:
    """Drop tests (within design, unless ``keep_constant_tests``) or segment strata where the
    treatment never varies, with an OverlapWarning naming the strata that disappear entirely."""
    trimmed: list[str] = []
    if cluster is not None:
        varies_in_test = frame.groupby(cluster, sort=False)[treatment].transform("nunique").to_numpy() > 1
    else:
        varies_in_test = np.ones(len(frame), dtype=bool)
    segments = [s for s in study.segments if s in frame.columns]
    if design == "within_test":
        # a segment level without one test in which the treatment varies has no within-test
        # comparison: trimmed (with keep_constant_tests its constant tests go with it)
        keep = varies_in_test.copy() if not keep_constant_tests else np.ones(len(frame), dtype=bool)
        for s in segments:
            levels = set(frame.loc[varies_in_test, s].unique())
            gone = [lvl for lvl in frame[s].unique() if lvl not in levels]
            trimmed += [f"{s}={lvl}" for lvl in gone]
            keep &= frame[s].isin(levels).to_numpy()
        n_dropped = 0 if keep_constant_tests else frame.loc[~varies_in_test, cluster].nunique()
        if n_dropped:
            notes.append(f"{n_dropped} tests where {treatment} does not vary carry no within-test information "
                         "and were left out")
    else:
        keep = np.ones(len(frame), dtype=bool)
        for s in segments:
            spread = frame.groupby(s, sort=False)[treatment].transform("nunique").to_numpy()
            for lvl in frame.loc[spread < 2, s].unique():
                trimmed.append(f"{s}={lvl}")
            keep &= spread > 1
    if trimmed:
        warnings.warn(f"no overlap for {treatment!r} in {', '.join(trimmed)}: every artwork there has the same value, "
                      "so these strata were trimmed and the estimate is about the rest.", OverlapWarning, stacklevel=4)
        notes.append("trimmed for lack of overlap: " + ", ".join(trimmed))
    n_tests = int(frame[cluster].nunique()) if cluster else len(frame)
    n_informative = int(frame.loc[keep & varies_in_test, cluster].nunique()) if cluster else int(keep.sum())
    return frame.loc[keep], trimmed, n_tests, n_informative


def units_text(outcome: str, treatment: str, binary: bool) -> tuple[str, str]:
    scale = "0 -> 1" if binary else "per unit"
    what = f"when {treatment} goes from 0 to 1" if binary else f"per unit of {treatment}"
    if outcome == LOG_RATIO:
        return f"change in log take rate relative to other artwork of the same title, {what}", scale
    if outcome == LOG_RATE:
        return f"change in log take rate, {what}", scale
    return f"change in {outcome}, {what}", scale

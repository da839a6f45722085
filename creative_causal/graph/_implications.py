"""Testable implications: the conditional independences a graph implies, tested on data."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats

from .._config import native_threads_capped

if TYPE_CHECKING:
    from ._graph import CausalGraph


def _design(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Design matrix for the conditioning set: an intercept, one-hot columns for categorical
    variables, and for numeric ones a cubic spline basis (knots at quantiles), so that
    nonlinear dependence on the conditioning variables (a threshold such as closeup =
    face_area >= 5%) is removed before x and y are correlated."""
    from sklearn.preprocessing import SplineTransformer

    parts = [np.ones((len(frame), 1))]
    for c in columns:
        col = frame[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            values = col.to_numpy(dtype=float)[:, None]
            if np.unique(values).size > 12:
                basis = SplineTransformer(n_knots=8, degree=3, knots="quantile", include_bias=False)
                parts.append(basis.fit_transform(values))
                # thresholds and mass points (face_area is exactly 0 without a face; closeup
                # steps at 5%) are not smooth: add indicators of quantile bins and of the mode
                edges = np.unique(np.quantile(values, np.linspace(0.05, 0.95, 19)))
                parts.append((values > edges[None, :]).astype(float))
                mode = pd.Series(values[:, 0]).mode().iloc[0]
                parts.append((values == mode).astype(float))
            else:  # few distinct values (flags, counts): one indicator per value
                parts.append(pd.get_dummies(col.astype(str), drop_first=True, dtype=float).to_numpy())
        else:
            parts.append(pd.get_dummies(col, drop_first=True, dtype=float).to_numpy())
    return np.hstack(parts)


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    col = frame[column]
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=float)
    return None


def partial_correlation(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """Partial correlation of x and y given the columns of z, and its Fisher-z p-value."""
    beta_x, *_ = np.linalg.lstsq(z, x, rcond=None)
    beta_y, *_ = np.linalg.lstsq(z, y, rcond=None)
    rx, ry = x - z @ beta_x, y - z @ beta_y
    denom = np.sqrt((rx @ rx) * (ry @ ry))
    if denom <= 1e-12:
        return 0.0, 1.0
    r = float(np.clip((rx @ ry) / denom, -0.999999, 0.999999))
    dof = len(x) - np.linalg.matrix_rank(z) - 1
    if dof < 2:
        return r, float("nan")
    stat = np.sqrt(dof) * np.arctanh(r)
    return r, float(2 * stats.norm.sf(abs(stat)))


@native_threads_capped
def testable_implications(graph: CausalGraph, data: Any, *, alpha: float = 0.05, max_conditioning: int = 12) -> pd.DataFrame:
    """Test every conditional independence ``x ⊥ y | parents`` that the graph implies.

    For each pair of non-adjacent observed variables, the observed parents of both form the
    candidate conditioning set; when it d-separates them (latent nodes may prevent that) the
    graph implies the independence, and it is tested on the data by a partial correlation
    after regressing x and y on the conditioning set (categorical and few-valued variables
    one-hot encoded, continuous ones expanded in cubic splines) with a Fisher-z test. p-values are
    Benjamini-Hochberg adjusted across the implications tested; ``verdict`` is "violated"
    when the adjusted p-value is below ``alpha``.

    Notes
    -----
    The test detects dependence that is linear in x and y given a flexible function of the
    conditioning set; dependence through interactions of conditioning variables can be missed. Cells of one test share a title,
    so for title-level variables the effective sample size is the number of tests and the
    p-values are optimistic; read a violation as "look here", not as proof.

    Returns
    -------
    DataFrame
        ``x``, ``y``, ``given``, ``n``, ``partial_corr``, ``p_value``, ``q_value``, ``verdict``.
    """
    from .._validation import check_fraction, check_int
    from ..exceptions import InvalidParameterError

    alpha = check_fraction(alpha, "alpha", example="0.05")
    max_conditioning = check_int(max_conditioning, "max_conditioning", minimum=0)
    frame = data.frame if hasattr(data, "frame") else data
    if not isinstance(frame, pd.DataFrame):
        raise InvalidParameterError(f"testable_implications needs a DataFrame or StudyData, got {type(data).__name__}.")
    graph.check_data(frame.columns)
    g = graph.to_networkx()
    observed = [n for n in graph.observed if n in frame.columns]
    rows = []
    for x, y in itertools.combinations(observed, 2):
        if g.has_edge(x, y) or g.has_edge(y, x):
            continue
        given = sorted((set(g.predecessors(x)) | set(g.predecessors(y))) & set(observed) - {x, y})
        if len(given) > max_conditioning or not nx.is_d_separator(g, {x}, {y}, set(given)):
            continue
        xv, yv = _numeric(frame, x), _numeric(frame, y)
        if xv is None or yv is None:
            continue  # a categorical variable as x or y: the linear test does not apply
        sub = frame[[*given]].copy()
        mask = ~(np.isnan(xv) | np.isnan(yv)) & ~sub.isna().any(axis=1).to_numpy()
        r, p = partial_correlation(xv[mask], yv[mask], _design(sub.loc[mask], given))
        rows.append((x, y, tuple(given), int(mask.sum()), r, p))
    out = pd.DataFrame(rows, columns=["x", "y", "given", "n", "partial_corr", "p_value"])
    if len(out):
        from ..experiments import adjust_p_values

        out["q_value"] = adjust_p_values(out["p_value"].fillna(1.0).to_numpy(), "bh")
        out["verdict"] = np.where(out["q_value"] < alpha, "violated", "consistent")
    else:
        out["q_value"] = pd.Series(dtype=float)
        out["verdict"] = pd.Series(dtype=object)
    return out

"""The causal link: what a study of finished artwork predicts for a frame.

A study (``StudyResult``, the ``InsightTable`` of ``discover_insights`` or its table) holds
each feature's causal effect on take rate, per unit of the feature (0 -> 1 for on/off
components), with its standard error. The *reliable* effects are the discoveries (they
survive false-discovery control) whose refutations did not fail. A frame's
``expected_lift`` is the change in take rate the reliable effects predict for it relative to
its title's other candidates::

    expected_lift_i = sum_k effect_k * (x_ik - mean of x_k over the video's frames that passed the gate)

(the gate's quality checks, before near-duplicates are set aside: a frame's lift does not
depend on which of its near-twins scored higher)

with a ``level`` interval from the effects' standard errors, propagated as independent
(each effect is estimated in its own model; their covariance is not kept):
``se_i = sqrt(sum_k (x_ik - mean_k)^2 se_k^2)``. The effects were measured on finished
artwork, so this extrapolates to frames: a frame is not a poster, and the study's contrasts
may not cover what a frame shows. ``extrapolated`` counts the reliable features whose value
in the frame lies outside the range the study's artworks covered (when the study kept them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import InvalidParameterError

#: Columns a study's effects table needs.
EFFECT_COLUMNS = ("feature", "effect", "std_error")


def reliable_effects(study: Any) -> tuple[pd.DataFrame, float, pd.DataFrame | None]:
    """(reliable effects: feature, effect, std_error; the interval level; the study's artworks
    or None) from a StudyResult, an InsightTable or an effects table."""
    artworks = getattr(study, "artworks", None)
    level = float(getattr(study, "level", 0.95))
    table = getattr(study, "insights", None)
    if table is None:
        table = getattr(study, "table", study)
    if not isinstance(table, pd.DataFrame):
        raise InvalidParameterError(f"study must be a StudyResult, the result of discover_insights or its effects table; "
                                    f"got {type(study).__name__}.")
    missing = [c for c in EFFECT_COLUMNS if c not in table]
    if missing:
        raise InvalidParameterError(f"the study's effects table lacks {missing}; pass a StudyResult, the result of "
                                    "discover_insights or a table with feature, effect and std_error.")
    keep = np.ones(len(table), dtype=bool)
    if "discovery" in table:
        keep &= table["discovery"].fillna(False).astype(bool).to_numpy()
    if "refutation" in table:
        keep &= ~table["refutation"].astype(str).str.startswith("failed").to_numpy()
    keep &= np.isfinite(table["effect"].to_numpy(float)) & np.isfinite(table["std_error"].to_numpy(float))
    effects = table.loc[keep, list(EFFECT_COLUMNS)].reset_index(drop=True)
    return effects, level, artworks if isinstance(artworks, pd.DataFrame) else None


def expected_lift(frames: pd.DataFrame, passed: np.ndarray, study: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per frame: ``expected_lift`` with ``lift_low``/``lift_high`` and ``extrapolated`` (NaN
    and 0 for frames that did not pass), and what was used (features, level, the ones the
    frames lack)."""
    effects, level, artworks = reliable_effects(study)
    usable = effects[effects["feature"].isin(frames.columns)]
    lacking = sorted(set(effects["feature"]) - set(usable["feature"]))
    out = pd.DataFrame({"expected_lift": np.nan, "lift_low": np.nan, "lift_high": np.nan, "extrapolated": 0},
                       index=frames.index)
    lift = np.zeros(len(frames))
    variance = np.zeros(len(frames))
    outside = np.zeros(len(frames), dtype=int)
    for row in usable.itertuples():
        values = frames[row.feature].to_numpy(float)
        centred = np.zeros(len(frames))
        for rows in frames.groupby("video").indices.values():
            mask = passed[rows]
            if mask.any():
                centred[rows] = values[rows] - values[rows][mask].mean()
        lift += row.effect * centred
        variance += centred**2 * row.std_error**2
        if artworks is not None and row.feature in artworks:
            seen = artworks[row.feature].to_numpy(float)
            outside += (values < np.nanmin(seen)) | (values > np.nanmax(seen))
    z = stats.norm.ppf(0.5 + level / 2)
    se = np.sqrt(variance)
    out.loc[passed, "expected_lift"] = lift[passed]
    out.loc[passed, "lift_low"] = (lift - z * se)[passed]
    out.loc[passed, "lift_high"] = (lift + z * se)[passed]
    out.loc[passed, "extrapolated"] = outside[passed]
    used = dict(features=usable["feature"].tolist(), level=level, lacking=lacking)
    return out, used


__all__ = ["expected_lift", "reliable_effects"]

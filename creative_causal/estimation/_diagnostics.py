"""How good the nuisance models of an estimate were, out of fold.

Every estimate carries these figures: the models used and the losses of every candidate,
the outcome model's out-of-fold R², the propensity model's log loss, AUC and calibration (for
a binary treatment) or the treatment model's R², and how many propensities were clipped. A
nuisance that predicts worse than a constant, or a badly calibrated propensity, raises a
:class:`NuisanceWarning`, when the shortfall is both material (the thresholds below) and
more than sampling noise: the per-cell loss difference against the constant is more than
two test-clustered standard errors above zero (the cells of a test move together), or the
Hosmer-Lemeshow test of calibration has p < 0.01. (A model with no predictive value lands
just below R² 0 by chance; 150 perfectly calibrated propensities have an expected
calibration error near 0.1.)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from .._display import ResultMixin, json_safe
from ..exceptions import NuisanceWarning
from ._models import PROPENSITY_FLOOR, Nuisance, cell_loss, clustered_z

if TYPE_CHECKING:
    import matplotlib.axes

#: A propensity whose expected calibration error exceeds this is called badly calibrated.
MAX_CALIBRATION_ERROR = 0.10
#: R² below this (a model worse than predicting the mean) is called no better than a constant.
MIN_R2 = -0.005
#: A propensity whose out-of-fold log loss exceeds the base rate's by this share predicts worse
#: than the base rate (a model fitted to a randomised treatment lands just above it by chance).
MAX_LOG_LOSS_EXCESS = 0.01
#: An arm whose score weights leave fewer effective cells than this share of its cells is said
#: to carry the estimate on a few cells (fifteen simulator programmes, three per validation
#: setting, stayed above 16%; LaLonde's survey controls, weighted toward the trained men, fall
#: to 0.7-1.5%).
FEW_EFFECTIVE_CELLS = 0.05


def effective_cells(weights: np.ndarray) -> float:
    """Kish's effective number of cells behind ``weights``: ``(sum |w|)^2 / sum w^2``."""
    w = np.abs(np.asarray(weights, dtype=float))
    total = float(np.sum(w ** 2))
    return float(np.sum(w) ** 2 / total) if total > 0 else 0.0


def r2(y: np.ndarray, prediction: np.ndarray) -> float:
    """Out-of-fold R²: 1 - SSE / SST around the mean (negative when worse than the mean)."""
    sst = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - prediction) ** 2)) / sst if sst > 0 else float("nan")


def _r2_against(y: np.ndarray, prediction: np.ndarray, baseline: np.ndarray) -> float:
    sst = float(np.sum((y - baseline) ** 2))
    return 1.0 - float(np.sum((y - prediction) ** 2)) / sst if sst > 0 else float("nan")


def auc(t: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (the Mann-Whitney statistic), NaN with one class."""
    positive, negative = score[t == 1], score[t == 0]
    if not len(positive) or not len(negative):
        return float("nan")
    ranks = pd.Series(np.concatenate([positive, negative])).rank().to_numpy()
    return float((ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2) / (len(positive) * len(negative)))


def calibration(t: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[float, pd.DataFrame]:
    """Expected calibration error over equal-count bins of the predicted probability, and the bins."""
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, min(bins, max(len(p), 1)))
    rows = [dict(predicted=float(p[g].mean()), observed=float(t[g].mean()), n=len(g)) for g in groups if len(g)]
    table = pd.DataFrame(rows, columns=["predicted", "observed", "n"])
    ece = float(np.sum(table["n"] * (table["predicted"] - table["observed"]).abs()) / max(len(p), 1))
    return ece, table


def hosmer_lemeshow(bins: pd.DataFrame) -> float:
    """p-value of the Hosmer-Lemeshow test that the binned probabilities are calibrated (chi²
    with one degree of freedom per bin: the probabilities were predicted out of fold)."""
    n = bins["n"].to_numpy(dtype=float)
    expected = bins["predicted"].to_numpy(dtype=float) * n
    observed = bins["observed"].to_numpy(dtype=float) * n
    variance = expected * (1 - expected / np.maximum(n, 1))
    keep = variance > 0
    statistic = float(np.sum((observed[keep] - expected[keep]) ** 2 / variance[keep]))
    return float(stats.chi2.sf(statistic, max(int(keep.sum()), 1)))


@dataclass(frozen=True)
class NuisanceDiagnostics(ResultMixin):
    """The nuisance models of one estimate, judged out of fold.

    Attributes
    ----------
    outcome_model, treatment_model : str
        The models used (a library name, or the class of a model passed in); the outcome's
        per arm when the arms' models differ.
    outcome_r2 : float
        Out-of-fold R² of the outcome model(s) (against each arm's mean when they are fitted
        per arm, as for a doubly robust estimand).
    treatment_r2 : float
        Out-of-fold R² of a continuous treatment's model (NaN for a propensity).
    log_loss, constant_log_loss, auc, calibration_error : float
        The propensity's out-of-fold log loss, that of the base rate, its AUC and its expected
        calibration error (NaN for a continuous treatment).
    n_clipped : int
        Propensities moved to [0.01, 0.99] (their cells' weights would otherwise explode).
    share_clipped : float
    clipped_tests : tuple of str
        Tests holding a clipped cell (the first ten).
    candidates : DataFrame
        Every candidate's out-of-fold loss per nuisance (``role``, ``model``, ``loss``,
        ``criterion``: the loss it is, "squared error", "log loss" or, for an ATE's or ATT's
        propensity, "ATE-tailored loss" or "ATT-tailored loss" (:func:`cell_loss`); ``chosen``;
        and ``folds``: the folds it was fitted on, fewer than all when the race dropped it, its
        loss then over those folds' cells).
    calibration_bins : DataFrame
        Predicted against observed treatment share by propensity decile.
    warnings : tuple of str
        What the checks found (also issued as NuisanceWarning).
    n_untreated, n_treated : int
        Cells in each arm (0 for a continuous treatment).
    effective_untreated, effective_treated : float
        Kish's effective number of cells behind the weights the doubly robust score puts on
        each arm's outcome residuals, impression weights included (NaN for the partially
        linear coefficient). Far below the arm's cells, the estimate rests on a few of them.
    """

    outcome_model: str
    treatment_model: str
    outcome_r2: float
    treatment_r2: float
    log_loss: float
    constant_log_loss: float
    auc: float
    calibration_error: float
    n_clipped: int
    share_clipped: float
    clipped_tests: tuple[str, ...]
    candidates: pd.DataFrame
    calibration_bins: pd.DataFrame
    warnings: tuple[str, ...]
    n_untreated: int = 0
    n_treated: int = 0
    effective_untreated: float = float("nan")
    effective_treated: float = float("nan")

    @property
    def effective_cells_note(self) -> str:
        """A sentence naming each arm whose weights leave under 5% of its cells effective
        (:data:`FEW_EFFECTIVE_CELLS`), or ``""`` (the estimate's notes carry it)."""
        arms = [(name, effective, n) for name, effective, n in
                (("untreated", self.effective_untreated, self.n_untreated),
                 ("treated", self.effective_treated, self.n_treated))
                if n and np.isfinite(effective) and effective < FEW_EFFECTIVE_CELLS * n]
        if not arms:
            return ""
        parts = " and ".join(f"{effective:.0f} effective {name} cells of {n:,}" for name, effective, n in arms)
        return (f"the score's weights leave {parts}: the estimate rests on the few cells that resemble the other arm "
                "(see est.diagnostics; the ATO, or a narrower population, asks less of them)")

    def row(self) -> dict[str, Any]:
        """The headline figures, as columns of an estimate's table."""
        return dict(outcome_model=self.outcome_model, treatment_model=self.treatment_model, outcome_r2=self.outcome_r2,
                    treatment_r2=self.treatment_r2, propensity_log_loss=self.log_loss, propensity_auc=self.auc,
                    propensity_calibration_error=self.calibration_error, share_clipped=self.share_clipped)

    def to_frame(self) -> pd.DataFrame:
        """Every candidate's out-of-fold loss, the chosen ones marked."""
        return self.candidates.copy()

    def to_dict(self) -> dict[str, Any]:
        return json_safe({**self.row(), "constant_log_loss": self.constant_log_loss, "n_clipped": self.n_clipped,
                          "clipped_tests": list(self.clipped_tests), "n_untreated": self.n_untreated,
                          "n_treated": self.n_treated, "effective_untreated": self.effective_untreated,
                          "effective_treated": self.effective_treated, "candidates": self.candidates,
                          "calibration_bins": self.calibration_bins, "warnings": list(self.warnings)})

    def summary(self) -> str:
        parts = [f"outcome model {self.outcome_model} (out-of-fold R² {self.outcome_r2:.3f})"]
        if np.isfinite(self.log_loss):
            chosen_by = self._propensity_criterion()
            parts.append(f"propensity {self.treatment_model}"
                         + (f", chosen by the {chosen_by}" if chosen_by not in ("", "log loss") else "")
                         + f" (log loss {self.log_loss:.3f} against {self.constant_log_loss:.3f} "
                         f"for the base rate, AUC {self.auc:.2f}, calibration error {self.calibration_error:.3f})")
        else:
            parts.append(f"treatment model {self.treatment_model} (out-of-fold R² {self.treatment_r2:.3f})")
        if self.n_clipped:
            parts.append(f"{self.n_clipped} propensities clipped to [0.01, 0.99] ({self.share_clipped:.1%} of cells)")
        if np.isfinite(self.effective_untreated) and np.isfinite(self.effective_treated):
            parts.append(f"effective cells behind the weights {self.effective_untreated:,.0f} of {self.n_untreated:,} "
                         f"untreated, {self.effective_treated:,.0f} of {self.n_treated:,} treated")
        lines = ["Nuisance models: " + "; ".join(parts)]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _propensity_criterion(self) -> str:
        rows = self.candidates[self.candidates["role"] == "propensity"] if "criterion" in self.candidates else ()
        return str(rows["criterion"].iloc[0]) if len(rows) else ""

    def _card_title(self) -> str:
        return "Nuisance models"

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """The propensity's calibration (observed against predicted by decile), or the candidates'
        losses for a continuous treatment."""
        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.subplots(figsize=(4.2, 3.6), layout="constrained")[1]
        if len(self.calibration_bins):
            b = self.calibration_bins
            ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8)
            ax.plot(b["predicted"], b["observed"], "o-", color="#1b6ca8")
            ax.set_xlabel("predicted propensity (out of fold)")
            ax.set_ylabel("observed share treated")
            ax.set_title(f"Propensity calibration (error {self.calibration_error:.3f})", fontsize=9)
        else:
            table = self.candidates
            labels = [f"{r.role}: {r.model}" for r in table.itertuples()]
            ax.barh(labels[::-1], table["loss"].to_numpy()[::-1],
                    color=["#1b6ca8" if c else "#aaaaaa" for c in table["chosen"]][::-1])
            ax.set_xlabel("out-of-fold loss (chosen in blue)")
        return ax


def diagnose(outcome: Nuisance | list[Nuisance], treatment: Nuisance, *, y: np.ndarray, t: np.ndarray,
             outcome_prediction: np.ndarray, clipped: np.ndarray | None = None,
             tests: np.ndarray | None = None, feature: str = "",
             score_weights: np.ndarray | None = None) -> NuisanceDiagnostics:
    """Judge the fitted nuisances and issue a NuisanceWarning for each problem found.

    ``score_weights``: each cell's weight on its outcome residual in a doubly robust score
    (impression weights included), for the effective cells per arm."""
    outcomes = outcome if isinstance(outcome, list) else [outcome]
    # against each arm's mean when the outcome is modelled per arm (the constants of the library)
    baseline = (np.where(t == 1, y[t == 1].mean(), y[t == 0].mean()) if len(outcomes) == 2 and (t == 1).any()
                and (t == 0).any() else np.full(len(y), y.mean()))
    outcome_r2 = _r2_against(y, outcome_prediction, baseline)
    found: list[str] = []
    if outcome_r2 < MIN_R2 and clustered_z((y - outcome_prediction) ** 2 - (y - baseline) ** 2, tests) > 2:
        found.append(f"the outcome model predicts worse than a constant (out-of-fold R² {outcome_r2:.3f}): the adjustment "
                     "adds noise; pass a simpler model_y")
    if treatment.task == "classification":
        p = np.clip(treatment.prediction, PROPENSITY_FLOOR, 1 - PROPENSITY_FLOOR)  # as the score uses it
        area = auc(t, p)
        ece, bins = calibration(t, p)
        treatment_r2 = float("nan")
        rate = float(np.mean(t))
        # the log loss, whatever loss chose the model (an ATE's or ATT's propensity is chosen by its own)
        per_cell = cell_loss(t, treatment.prediction, "classification")  # clipped as p
        per_cell_base = -(t * np.log(rate) + (1 - t) * np.log(1 - rate)) if 0 < rate < 1 else np.zeros(len(t))
        log_loss, base = float(np.mean(per_cell)), float(np.mean(per_cell_base))
        if log_loss > base * (1 + MAX_LOG_LOSS_EXCESS) and clustered_z(per_cell - per_cell_base, tests) > 2:
            found.append(f"the propensity model predicts worse than the base rate (log loss {log_loss:.3f} against "
                         f"{base:.3f})")
        if ece > MAX_CALIBRATION_ERROR and hosmer_lemeshow(bins) < 0.01:
            found.append(f"the propensity is badly calibrated (expected calibration error {ece:.3f} > "
                         f"{MAX_CALIBRATION_ERROR}): inverse-propensity weights will be off")
    else:
        log_loss = base = area = ece = float("nan")
        bins = pd.DataFrame(columns=["predicted", "observed", "n"])
        treatment_r2 = r2(t, treatment.prediction)
        if treatment_r2 < MIN_R2 and clustered_z((t - treatment.prediction) ** 2 - (t - t.mean()) ** 2, tests) > 2:
            found.append(f"the treatment model predicts worse than a constant (out-of-fold R² {treatment_r2:.3f}); pass "
                         "a simpler model_t")
    n_clipped = int(clipped.sum()) if clipped is not None else 0
    clipped_tests = tuple(sorted({str(v) for v in tests[clipped]})[:10]) if n_clipped and tests is not None else ()
    for text in found:
        warnings.warn(f"{feature}: {text}" if feature else text, NuisanceWarning, stacklevel=4)
    candidates = pd.concat([n.table() for n in [*outcomes, treatment]], ignore_index=True)
    models = {n.model for n in outcomes}
    # per arm when the arms' models differ: "linear (untreated), other arm + boosting (treated)"
    outcome_model = (models.pop() if len(models) == 1
                     else ", ".join(f"{n.model} ({n.role.removeprefix('outcome').strip(' ()')})" for n in outcomes))
    return NuisanceDiagnostics(
        outcome_model=outcome_model, treatment_model=treatment.model, outcome_r2=outcome_r2,
        treatment_r2=treatment_r2, log_loss=log_loss, constant_log_loss=base, auc=area, calibration_error=ece,
        n_clipped=n_clipped, share_clipped=n_clipped / max(len(t), 1), clipped_tests=clipped_tests,
        candidates=candidates, calibration_bins=bins, warnings=tuple(found), **_arms(t, score_weights))


def _arms(t: np.ndarray, score_weights: np.ndarray | None) -> dict[str, Any]:
    """Cells and effective cells per arm, when the score's weights are known."""
    if score_weights is None:
        return {}
    treated = t == 1
    return dict(n_untreated=int((~treated).sum()), n_treated=int(treated.sum()),
                effective_untreated=effective_cells(score_weights[~treated]),
                effective_treated=effective_cells(score_weights[treated]))


__all__ = ["NuisanceDiagnostics", "diagnose", "effective_cells", "FEW_EFFECTIVE_CELLS", "auc", "calibration",
           "hosmer_lemeshow", "r2"]

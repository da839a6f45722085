"""RefutationResult and RefutationReport: what refute() returns."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..estimation import EffectEstimate

if TYPE_CHECKING:
    import matplotlib.figure

STATUSES = ("passed", "failed", "skipped")


def result_card(title: str, sentence: str, frame: pd.DataFrame) -> str:
    """A result's notebook view: a bold title, its plain-language sentence and its table,
    every user string escaped."""
    return (f"<p><b>{html.escape(title)}</b>: {html.escape(sentence)}</p>"
            + frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", escape=True))


def effect_text(value: float, estimate: EffectEstimate) -> str:
    """An effect in the estimate's reporting units: a take-rate % change for log outcomes."""
    if not np.isfinite(value):
        return "n/a"
    if np.isfinite(estimate.pct_change):
        return f"{100 * np.expm1(value):+.1f}%"
    return f"{value:+.4g}"


@dataclass(frozen=True)
class RefutationResult:
    """One refutation test.

    Attributes
    ----------
    test : str
        ``placebo``, ``random_common_cause``, ``subset`` or ``bootstrap``.
    question : str
        What the test asks, in plain words.
    original : float
        The estimate being checked.
    expected : float
        What the refuted value should be if all is well (0 for the placebo, the original
        estimate for the others).
    refuted : float
        Mean of the simulated estimates.
    spread : float
        Their standard deviation.
    low, high : float
        The middle 95% of the simulated estimates.
    p_value : float
        How surprising ``expected`` (placebo) or ``original`` (the others) is among the
        simulated estimates: two-sided percentile p-value with 100 or more simulations, normal
        approximation with fewer (DoWhy's convention, so verdicts are comparable).
    status : str
        ``passed``, ``failed`` or ``skipped``.
    reason : str
        One sentence in plain words: what was done, what came out, the verdict.
    n_simulations : int
    details : dict
        Test-specific figures (the bootstrap's standard-error ratio, the placebo's
        permutation p-value of the real estimate, ...).
    simulations : ndarray
        Every simulated estimate (not shown in tables).
    """

    test: str
    question: str
    original: float
    expected: float
    refuted: float
    spread: float
    low: float
    high: float
    p_value: float
    status: str
    reason: str
    n_simulations: int
    details: dict[str, Any] = field(default_factory=dict)
    simulations: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (without the simulations)."""
        out = {k: getattr(self, k) for k in ("test", "question", "original", "expected", "refuted", "spread", "low",
                                              "high", "p_value", "status", "reason", "n_simulations")}
        out["details"] = dict(self.details)
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


@dataclass(frozen=True)
class RefutationReport:
    """Every refutation of one estimate, with an overall verdict.

    Attributes
    ----------
    estimate : EffectEstimate
    results : tuple of RefutationResult
    alpha : float
        Significance level of the verdicts.
    nuisance : str
        ``"reused"`` (the fitted nuisance models were reused: fast) or ``"refitted"``.
    seconds : float
        Wall time of all tests.
    """

    estimate: EffectEstimate
    results: tuple[RefutationResult, ...]
    alpha: float
    nuisance: str
    seconds: float

    def __getitem__(self, test: str) -> RefutationResult:
        for r in self.results:
            if r.test == test:
                return r
        raise KeyError(f"no test {test!r}; this report has {[r.test for r in self.results]}.")

    @property
    def passed(self) -> bool:
        """True when no test failed (skipped tests do not count)."""
        return not any(r.status == "failed" for r in self.results)

    @property
    def verdict(self) -> str:
        """One plain sentence for the whole report."""
        failed = [r.test for r in self.results if r.status == "failed"]
        ran = [r for r in self.results if r.status != "skipped"]
        if not ran:
            return "no refutation test could run."
        if failed:
            return (f"{len(failed)} of {len(ran)} checks failed ({', '.join(failed)}): treat the estimate of "
                    f"{self.estimate.treatment} with caution and read the reasons.")
        return f"all {len(ran)} checks passed: nothing in these tests contradicts the estimate of {self.estimate.treatment}."

    def to_frame(self) -> pd.DataFrame:
        """One row per test."""
        rows = []
        for r in self.results:
            row = r.to_dict()
            details = row.pop("details")
            row["details"] = "; ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in details.items())
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"treatment": self.estimate.treatment, "alpha": self.alpha, "nuisance": self.nuisance,
                "seconds": self.seconds, "verdict": self.verdict, "results": [r.to_dict() for r in self.results]}

    def summary(self) -> str:
        e = self.estimate
        lines = [f"Refutation of the effect of {e.treatment} on {e.outcome}: {effect_text(e.value, e)} "
                 f"({e.level:.0%} CI {effect_text(e.ci_low, e)} to {effect_text(e.ci_high, e)})",
                 f"  nuisance models {self.nuisance}; {self.seconds:.1f} s; verdicts at alpha = {self.alpha:g}"]
        for r in self.results:
            p = f", p = {r.p_value:.3g}" if np.isfinite(r.p_value) else ""
            lines.append(f"  {r.test:<20} {r.status:<7}{p}  {r.reason}")
        lines.append(f"  verdict: {self.verdict}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        frame = self.to_frame()[["test", "status", "original", "refuted", "low", "high", "p_value", "reason"]]
        return result_card(f"Refutation of {self.estimate.treatment}", self.verdict, frame)

    def plot(self, fig: matplotlib.figure.Figure | None = None) -> matplotlib.figure.Figure:
        """One panel per test: the simulated estimates, the original and what was expected."""
        import matplotlib.pyplot as plt

        ran = [r for r in self.results if r.simulations.size]
        if fig is None:
            fig = plt.figure(figsize=(3.2 * max(len(ran), 1), 2.6), layout="constrained")
        axes = fig.subplots(1, max(len(ran), 1), squeeze=False)[0]
        for ax, r in zip(axes, ran):
            ax.hist(r.simulations, bins=30, color="#9ecae1" if r.status == "passed" else "#fc9272")
            ax.axvline(r.original, color="#1b6ca8", label="estimate")
            if r.expected != r.original:
                ax.axvline(r.expected, color="#d95f02", linestyle="--", label="expected")
            ax.set_title(f"{r.test}: {r.status}", fontsize=9)
            ax.set_xlabel(f"effect of {self.estimate.treatment}", fontsize=8)
            ax.tick_params(labelsize=7)
        if ran:
            axes[0].legend(fontsize=7, frameon=False)
        return fig

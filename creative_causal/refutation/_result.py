"""RefutationResult and RefutationReport: what refute() returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._display import ResultMixin, json_safe
from .._validation import did_you_mean
from ..estimation import EffectEstimate
from ..exceptions import UnknownNameError
from ..plotting import histogram_plot, interval_plot

if TYPE_CHECKING:
    import matplotlib.axes
    import matplotlib.figure

STATUSES = ("passed", "failed", "skipped")


def effect_text(value: float, estimate: EffectEstimate) -> str:
    """An effect in the estimate's reporting units: a take-rate % change for log outcomes."""
    if not np.isfinite(value):
        return "n/a"
    if estimate.logged:
        return f"{100 * np.expm1(value):+.1f}%"
    return f"{value:+.4g}"


@dataclass(frozen=True)
class RefutationResult(ResultMixin):
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
        The middle ``level`` of the simulated estimates.
    level : float
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
    level: float
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
                                              "high", "level", "p_value", "status", "reason", "n_simulations")}
        out["details"] = dict(self.details)
        return json_safe(out)

    def to_frame(self) -> pd.DataFrame:
        """One row: the figures, the verdict and its reason (details as ``k=v`` text)."""
        row = self.to_dict()
        row["details"] = "; ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in self.details.items())
        return pd.DataFrame([row])

    def summary(self) -> str:
        p = f", p = {self.p_value:.3g}" if np.isfinite(self.p_value) else ""
        spread = (f"; {self.n_simulations} simulated estimates, mean {self.refuted:+.4g}, middle {self.level:.0%} "
                  f"{self.low:+.4g} to {self.high:+.4g}" if self.n_simulations else "")
        return f"{self.test}: {self.status}{p}{spread}. {self.reason}"

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """Histogram of the simulated estimates, the original and what was expected."""
        expected = None if self.expected == self.original or not np.isfinite(self.expected) else self.expected
        return histogram_plot(self.simulations, ax, marked=self.original, expected=expected,
                              title=f"{self.test}: {self.status}", xlabel="simulated estimate",
                              passed=self.status != "failed")


@dataclass(frozen=True)
class RefutationReport(ResultMixin):
    """Every refutation of one estimate, with an overall verdict.

    Attributes
    ----------
    estimate : EffectEstimate
    results : tuple of RefutationResult
    level : float
        The simulations' interval level; verdicts are at significance ``1 - level``.
    nuisance : str
        ``"reused"`` (the fitted nuisance models were reused: fast) or ``"refitted"``.
    seconds : float
        Wall time of all tests.
    """

    estimate: EffectEstimate
    results: tuple[RefutationResult, ...]
    level: float
    nuisance: str
    seconds: float

    def __getitem__(self, test: str) -> RefutationResult:
        for r in self.results:
            if r.test == test:
                return r
        names = [r.test for r in self.results]
        raise UnknownNameError(f"no test {test!r} in this report.{did_you_mean(str(test), names)} It has {names}.")

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
        return pd.concat([r.to_frame() for r in self.results], ignore_index=True) if self.results else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"treatment": self.estimate.treatment, "estimand": self.estimate.estimand, "level": self.level,
                          "nuisance": self.nuisance, "seconds": self.seconds, "verdict": self.verdict,
                          "results": [r.to_dict() for r in self.results]})

    def summary(self) -> str:
        e = self.estimate
        lines = [f"Refutation of the effect of {e.treatment} on {e.outcome}: {effect_text(e.value, e)} "
                 f"({e.level:.0%} CI {effect_text(e.ci_low, e)} to {effect_text(e.ci_high, e)}), estimand {e.estimand}",
                 f"  nuisance models {self.nuisance}; {self.seconds:.1f} s; verdicts at {1 - self.level:.0%} "
                 f"significance, middle {self.level:.0%} of the simulations shown"]
        for r in self.results:
            p = f", p = {r.p_value:.3g}" if np.isfinite(r.p_value) else ""
            lines.append(f"  {r.test:<20} {r.status:<7}{p}  {r.reason}")
        lines.append(f"  verdict: {self.verdict}")
        return "\n".join(lines)

    def _card_title(self) -> str:
        return f"Refutation of {self.estimate.treatment}"

    def _card_sentence(self) -> str:
        return self.verdict

    def _repr_html_(self) -> str:
        from .._display import result_card

        frame = self.to_frame()
        frame = frame[[c for c in ("test", "status", "original", "refuted", "low", "high", "p_value", "reason")
                       if c in frame]]
        return result_card(self._card_title(), self.verdict, frame)

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """Each test's simulated estimates (their mean and middle ``level``) on one axis, with
        what each should be if all is well marked by a cross (0 for the placebo, the estimate
        for the others); failed tests in grey."""
        ran = [r for r in self.results if r.status != "skipped"]
        return interval_plot([f"{r.test} ({r.status})" for r in ran], [r.refuted for r in ran], [r.low for r in ran],
                             [r.high for r in ran], ax, level=self.level, truth=[r.expected for r in ran],
                             highlight=[r.status == "passed" for r in ran], percent=self.estimate.logged,
                             xlabel=f"simulated effect of {self.estimate.treatment}"
                             + (", % take-rate change" if self.estimate.logged else ""),
                             title=f"Refutation of {self.estimate.treatment}: crosses mark the expected value")

    def plot_simulations(self, fig: matplotlib.figure.Figure | None = None) -> matplotlib.figure.Figure:
        """Figure-level: one histogram panel per test, with the original and the expected value."""
        ran = [r for r in self.results if r.simulations.size]
        if fig is None:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=(3.2 * max(len(ran), 1), 2.6), layout="constrained")
        for ax, r in zip(fig.subplots(1, max(len(ran), 1), squeeze=False)[0], ran):
            r.plot(ax)
        return fig

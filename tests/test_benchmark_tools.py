"""The statistics the validation scripts judge estimators by (benchmarks/validate_estimands.py):
the paired test of two estimators' coverage and the interval score."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest, norm


@pytest.fixture(scope="module")
def tools():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "validate_estimands.py"
    spec = importlib.util.spec_from_file_location("validate_estimands", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("only_ours, only_reference", [(2, 7), (9, 22), (13, 4), (0, 5), (6, 4), (0, 0)])
def test_sign_flip_test_is_mcnemars_with_one_run_per_programme(tools, only_ours, only_reference):
    differences = np.array([1] * only_ours + [-1] * only_reference + [0] * 30)
    expected = binomtest(only_ours, only_ours + only_reference).pvalue if only_ours + only_reference else 1.0
    assert tools.sign_flip_p(differences) == pytest.approx(expected, rel=1e-9)


def _rows(ours, reference, programmes):
    return [{"replication": p, "ours ate": o, "DoubleML IRM": r} for p, o, r in zip(programmes, ours, reference)]


def test_paired_comparison_keeps_a_programmes_runs_together(tools):
    """Three runs of the same programmes carry no more evidence than one: pooled as independent
    fits (McNemar on 3 against 21) the difference would look significant; kept together it is
    the one run's (1 against 7)."""
    cover, miss = (0.0, 0.01, -1.0, 1.0), (0.0, 0.01, 1.0, 2.0)  # (value, se, low, high) around a truth of 0
    ours = [miss] * 7 + [cover] * 1 + [cover] * 40
    reference = [cover] * 7 + [miss] * 1 + [cover] * 40
    one = tools.paired_comparison(_rows(ours, reference, range(48)), 0.0)
    three = tools.paired_comparison(_rows(ours * 3, reference * 3, list(range(48)) * 3), 0.0)
    assert "only ours ate 1, only DoubleML IRM 7" in one and "only ours ate 3, only DoubleML IRM 21" in three
    assert "p = 0.07" in one and "p = 0.07" in three
    assert binomtest(3, 24).pvalue < 0.001
    # the interval scores: 2 for a covering interval (its width), 1 + 40 * 1 for a missing one
    assert "mean interval score 7.6875 against 2.8125" in one and "difference +4.8750" in three
    assert "difference +4.8750 (SE 2.2109, by programme)" in three  # the one run's SE: 48 programmes, not 144


def test_interval_score_is_smallest_for_the_true_quantiles(tools):
    """A proper scoring rule: over draws of a standard normal truth, the expected score of a 95%
    interval is lowest at (-1.96, 1.96), above it for a narrower or a wider one."""
    truth = np.random.default_rng(0).standard_normal(200_000)
    expected = {half: tools.interval_score(-half, half, truth).mean() for half in (1.5, norm.ppf(0.975), 2.5)}
    best = expected[norm.ppf(0.975)]
    assert best < expected[1.5] and best < expected[2.5]
    assert tools.interval_score(np.array([0.0]), np.array([1.0]), 0.5, level=0.9)[0] == 1.0
    assert tools.interval_score(np.array([0.0]), np.array([1.0]), 1.5, level=0.9)[0] == pytest.approx(1 + 20 * 0.5)

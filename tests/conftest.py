"""Shared fixtures: small valid A/B tables and a simulated programme."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def cells() -> pd.DataFrame:
    """Three tests (one with a single cell), default column names, a genre covariate."""
    return pd.DataFrame({
        "test_id": ["t1", "t1", "t1", "t2", "t2", "t3"],
        "cell_id": [1, 2, 3, 1, 2, 1],
        "artwork_id": ["a", "b", "c", "d", "e", "f"],
        "impressions": [10_000, 10_100, 9_950, 5_000, 5_050, 3_000],
        "plays": [500, 560, 480, 200, 260, 90],
        "genre": ["drama", "drama", "drama", "kids", "kids", "horror"],
    })


@pytest.fixture(scope="session")
def program():
    from creative_causal.datasets import simulate_program

    return simulate_program(300, random_state=7)

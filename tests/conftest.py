"""Shared fixtures: small valid A/B tables, a simulated programme, and a headless browser."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

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


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture
def screenshot(tmp_path):
    """Render an HTML file in headless Chromium: ``screenshot(page, (width, height))`` returns
    (the PNG's path, the console errors, the browser's version). Skips without a browser,
    except under CI=true, where .ci/run installs one and its absence is a broken CI."""
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but no headless Chromium on PATH; .ci/run installs the Debian packages chromium and "
                        "chromium-driver")
        pytest.skip("needs a headless Chromium (Debian: apt-get install chromium chromium-driver); CI installs it")

    def take(page: Path, size: tuple[int, int]) -> tuple[Path, list[str], str]:
        shot = page.with_suffix(".png")
        run = subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                              "--disable-background-networking", "--disable-component-update", "--no-first-run",
                              "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
                              f"--window-size={size[0]},{size[1]}", f"--screenshot={shot}", "--enable-logging=stderr",
                              "--v=0", page.as_uri()], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
        version = subprocess.run([browser, "--version"], capture_output=True, text=True).stdout.strip()
        return shot, console, version

    return take

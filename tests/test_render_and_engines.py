"""Rendered posters with known features, extracted back; Dask and process pool agree."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from creative_causal.datasets import render_posters, simulate_program
from creative_causal.features import extract_features


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("posters")
    artworks = simulate_program(60, random_state=3).artworks.head(200)
    render_posters(artworks, folder, random_state=0, n_jobs=2)
    return artworks, folder


@pytest.mark.slow
def test_extracted_features_recover_the_rendered_ones(rendered):
    artworks, folder = rendered
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = extract_features(folder, n_jobs=2, progress=False)
    assert table.errors.empty and len(table) == len(artworks) >= 200
    got = table.loc[artworks.index]
    assert (got["has_face"] == artworks["has_face"]).mean() >= 0.95
    assert (got["n_faces"] == artworks["n_faces"]).mean() >= 0.90
    faces = artworks["has_face"] == 1
    rho = {c: spearmanr(artworks.loc[faces if c == "face_area" else slice(None), c],
                        got.loc[faces if c == "face_area" else slice(None), c]).statistic
           for c in ("face_area", "brightness", "contrast", "colorfulness", "sharpness", "text_area")}
    for c in ("face_area", "brightness", "contrast", "colorfulness", "sharpness", "text_area"):
        assert rho[c] >= 0.9, (c, rho[c])


def test_rendering_is_deterministic(tmp_path):
    art = simulate_program(4, random_state=1).artworks.head(2)
    a = render_posters(art, tmp_path / "a", size=(200, 300), random_state=5)
    b = render_posters(art, tmp_path / "b", size=(200, 300), random_state=5)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_dask_cluster_matches_serial(rendered):
    distributed = pytest.importorskip("distributed")
    _, folder = rendered
    files = sorted(folder.glob("*.jpg"))[:12]
    serial = extract_features(files, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own deprecation and resource warnings
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            on_dask = extract_features(files, executor=client, progress=False)
    pd.testing.assert_frame_equal(on_dask, serial)
    assert np.array_equal(on_dask.index, serial.index)


def test_render_posters_in_processes_gives_the_same_files(tmp_path):
    from creative_causal.datasets import render_posters, simulate_program

    artworks = simulate_program(3, random_state=2).artworks
    serial = render_posters(artworks, tmp_path / "a", size=(120, 180), random_state=4)
    parallel = render_posters(artworks, tmp_path / "b", size=(120, 180), random_state=4, n_jobs=2)
    assert [p.name for p in serial] == [p.name for p in parallel]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(serial, parallel))


def test_rendered_unit_of_smile_is_the_gap_between_the_two_portraits():
    from creative_causal.datasets import rendered_unit

    artworks = simulate_program(60, random_state=3).artworks
    faces = artworks.loc[artworks["has_face"] == 1, "smile"]
    gap = faces[faces >= 0.5].mean() - faces[faces < 0.5].mean()
    assert rendered_unit(artworks, "smile") == pytest.approx(gap) and 0.2 < gap < 0.6
    assert rendered_unit(artworks, "face_area") == 1.0

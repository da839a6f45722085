"""Extraction accuracy on rendered posters with known features.

Renders N posters (1000x1500 JPEG by default) from a simulated programme, extracts the
default features from the files, and prints, against the rendered values: has_face
accuracy, n_faces exact agreement, and the Spearman correlation of every continuous
feature the renderer controls (face_area and smile on posters with a face).

    python benchmarks/validate_extraction.py [--posters 200] [--size 1000x1500] [--folder DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posters", type=int, default=200)
    parser.add_argument("--size", default="1000x1500")
    parser.add_argument("--folder", help="render into (or reuse) this folder")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from scipy.stats import spearmanr

    from creative_causal.datasets import render_posters, simulate_program
    from creative_causal.features import extract_features

    width, height = (int(v) for v in args.size.split("x"))
    folder = Path(args.folder or tempfile.mkdtemp(prefix="posters-"))
    artworks = simulate_program(args.posters // 4 + 10, random_state=args.seed).artworks.head(args.posters)
    if len(list(folder.glob("*.jpg"))) != len(artworks):
        render_posters(artworks, folder, size=(width, height), random_state=0, n_jobs=2)
    table = extract_features(folder, n_jobs=2, progress=False).loc[artworks.index]
    faces = artworks["has_face"] == 1
    print(f"{len(table)} posters ({width}x{height} JPEG), {int(faces.sum())} with faces:")
    print(f"  has_face accuracy        {(table['has_face'] == artworks['has_face']).mean():.3f}   (bar 0.95)")
    print(f"  n_faces exact            {(table['n_faces'] == artworks['n_faces']).mean():.3f}   (bar 0.90)")
    for col in ("face_area", "smile", "brightness", "contrast", "colorfulness", "sharpness", "text_area"):
        rows = faces if col in ("face_area", "smile") else slice(None)
        rho = spearmanr(artworks.loc[rows, col], table.loc[rows, col]).statistic
        print(f"  Spearman {col:<15} {rho:.3f}" + ("   (bar 0.90)" if col != "smile" else ""))


if __name__ == "__main__":
    main()

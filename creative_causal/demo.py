"""The demo: the whole pipeline on the bundled programme, compared with the simulator's truth.

Posters are rendered from the programme's artworks, features are extracted from their
pixels, the study runs on the A/B results and the features, the report is written, and
every estimate is set beside the effect the simulator put in. ``creative-causal demo`` is
a thin call to :func:`run_demo`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._display import ResultMixin, json_safe
from ._validation import check_int, check_n_jobs, check_output_dir, draw_seed, make_dirs
from .plotting import interval_plot

if TYPE_CHECKING:
    import matplotlib.axes

#: Features the demo tests: ones the renderer draws and the extractor reads back.
DEMO_TREATMENTS = ("has_face", "n_faces", "face_area", "smile", "brightness", "colorfulness", "contrast", "text_area")
#: The renderer does not draw composition: measured from a poster, it is made by the faces and
#: titles placed on it, so in the demo's graph it is their descendant (never adjusted for them).
DEMO_LAYOUT_EDGES = tuple((part, measure) for part in ("has_face", "n_faces", "face_area", "face_thirds", "text_area")
                          for measure in ("thirds", "negative_space", "symmetry", "depth_of_field"))
#: Fewer titles than this leave too few tests with variation for the estimates to mean anything.
MIN_TITLES = 20


@dataclass(frozen=True)
class DemoResult(ResultMixin):
    """What the demo found, beside the truth.

    Attributes
    ----------
    effects : DataFrame
        One row per tested feature: ``feature``, ``scale``, ``truth`` (per rendered unit),
        ``estimate``, ``ci_low``, ``ci_high``, ``q_value``, ``discovery``, ``covered``.
    level : float
    directory, report : Path
        Everything written, and the HTML report.
    study_summary : tuple of str
        The study's executive summary.
    n_images, n_failed : int
        Posters extracted, and those that failed.
    seed : int
    seconds : float
    smile_unit : float
        The mean smile gap between smiling and neutral portraits (smile's rendered unit).
    """

    effects: pd.DataFrame
    level: float
    directory: Path
    report: Path
    study_summary: tuple[str, ...]
    n_images: int
    n_failed: int
    seed: int
    seconds: float
    smile_unit: float

    def to_frame(self) -> pd.DataFrame:
        """The estimates beside the truth (a copy)."""
        return self.effects.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict for ``creative-causal demo --json``."""
        return json_safe({"report": str(self.report), "directory": str(self.directory), "seconds": self.seconds,
                          "level": self.level, "seed": self.seed, "n_images": self.n_images, "n_failed": self.n_failed,
                          "effects": self.effects})

    def summary(self) -> str:
        level = f"{self.level:.0%} CI"
        lines = [f"Report: {self.report.resolve()}", "", *self.study_summary[:4], "",
                 "Estimated from the posters' pixels, beside the simulator's truth (log take rate; +0.10 is about "
                 "+10.5%):",
                 f"  {'feature':<13} {'scale':<9} {'truth':>8} {'estimate':>9}  {level:<20} {'finding':<8} truth in CI"]
        for r in self.effects.itertuples(index=False):
            lines.append(f"  {r.feature:<13} {r.scale:<9} {r.truth:+8.3f} {r.estimate:+9.3f}  "
                         f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]  {'yes' if r.discovery else 'no':<8} "
                         f"{'yes' if r.covered else 'no'}")
        if "smile" in set(self.effects["feature"]):
            lines.append(f"  (smile: the posters show a smiling or a neutral portrait, so its truth is per switch to "
                         f"smiling: the effect per unit x {self.smile_unit:.2f} of mean smile)")
        lines += ["", f"{int(self.effects['covered'].sum())} of {len(self.effects)} intervals cover the truth; "
                  f"{self.n_failed} images failed extraction; {self.seconds:.0f} s in all.",
                  f"Everything is in {self.directory.resolve()}/ (data/, posters/, features.parquet, study/, "
                  "report.html)."]
        return "\n".join(lines)

    def _card_title(self) -> str:
        return "Demo: estimates beside the truth"

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """Each estimate with its interval, and the truth as a cross."""
        e = self.effects
        return interval_plot(list(e["feature"]), e["estimate"], e["ci_low"], e["ci_high"], ax, level=self.level,
                             truth=list(e["truth"]), highlight=list(e["discovery"]),
                             xlabel="effect on log take rate (binary 0 -> 1, continuous per unit)")


def run_demo(output: str | os.PathLike[str] = "creative-causal-demo", *, n_titles: int | None = None,
             random_state: Any = None, n_jobs: int = 2, poster_size: tuple[int, int] = (400, 600),
             progress: Callable[[str], None] | None = None) -> DemoResult:
    """Render, extract, analyse and report the demo programme, and compare with the truth.

    Parameters
    ----------
    output : path, default="creative-causal-demo"
        Folder for everything the demo writes (checked before any work).
    n_titles : int, optional
        Titles of a fresh programme (at least 20). Default: the bundled 300-title programme,
        unless ``random_state`` asks for a fresh one.
    random_state : int, optional
        Seed of a fresh programme (with ``n_titles``, or 300 titles).
    n_jobs : int, default=2
        Processes for rendering, extraction and analysis.
    poster_size : (int, int), default=(400, 600)
        Poster width and height in pixels.
    progress : callable, optional
        Called with a line of text at each step.

    Returns
    -------
    DemoResult
    """
    from .datasets import load_demo_program, render_posters, rendered_unit, simulate_program, write_program
    from .features import extract_features
    from .study import CreativeStudy

    say = progress or (lambda text: None)
    if n_titles is not None:
        n_titles = check_int(n_titles, "n_titles (--titles)", minimum=MIN_TITLES)
    n_jobs = check_n_jobs(n_jobs)
    out = make_dirs(check_output_dir(output, "demo folder"), "demo folder")
    start = time.perf_counter()
    if n_titles is None and random_state is None:
        program = load_demo_program()
    else:
        program = simulate_program(n_titles or 300, random_state=draw_seed(random_state))
    seed = int(program.config["random_state"])
    write_program(program, out / "data")
    say(f"[1/4] simulated {len(program.titles)} titles and {len(program.artworks)} artworks (seed {seed}); "
        "rendering their posters ...")
    posters = out / "posters"
    render_posters(program.artworks, posters, size=poster_size, n_jobs=n_jobs, random_state=seed)
    say(f"[2/4] extracting features from {len(program.artworks)} images ({time.perf_counter() - start:.0f} s) ...")
    features = extract_features(posters, n_jobs=n_jobs, progress=False)
    features.to_file(out / "features.parquet")
    say(f"[3/4] analysing {len(DEMO_TREATMENTS)} features ({time.perf_counter() - start:.0f} s) ...")
    result = CreativeStudy(program.ab_results(check_srm=False), features, treatments=list(DEMO_TREATMENTS),
                           extra_edges=DEMO_LAYOUT_EDGES, images=posters, n_jobs=n_jobs, random_state=seed).run()
    result.save(out / "study")
    report = result.to_html(out / "report.html")
    say(f"[4/4] wrote the report ({time.perf_counter() - start:.0f} s)")
    table = result.insights.set_index("feature")
    rows = []
    for feature in DEMO_TREATMENTS:
        r = table.loc[feature]
        # the truth per unit of what the posters show (smile is drawn as smiling or not)
        truth = program.truth.effect(feature) * rendered_unit(program.artworks, feature)
        rows.append(dict(feature=feature, scale=r["scale"], truth=truth, estimate=r["effect"], ci_low=r["ci_low"],
                         ci_high=r["ci_high"], q_value=r["q_value"], discovery=bool(r["discovery"]),
                         covered=bool(r["ci_low"] <= truth <= r["ci_high"])))
    return DemoResult(effects=pd.DataFrame(rows), level=result.level, directory=out, report=report,
                      study_summary=tuple(result.summary().splitlines()), n_images=len(features),
                      n_failed=int(len(features.errors)), seed=seed, seconds=time.perf_counter() - start,
                      smile_unit=float(rendered_unit(program.artworks, "smile")) if "smile" in DEMO_TREATMENTS
                      else float(np.nan))


__all__ = ["run_demo", "DemoResult", "DEMO_TREATMENTS", "DEMO_LAYOUT_EDGES"]

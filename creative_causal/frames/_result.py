"""The result of frame discovery: every sampled frame with its signals, gate reasons and
score, the shots and transitions, and the chosen candidates."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import matplotlib.axes
import numpy as np
import pandas as pd

from .._display import ResultMixin, json_safe
from .._validation import check_choice, check_output_dir, make_dirs
from ..exceptions import FrameError
from ._video import VideoInfo, decode_at

#: Columns of :attr:`FrameCandidates.errors`.
ERROR_COLUMNS = ["video", "kind", "message"]


def time_code(seconds: float) -> str:
    """``mm-ss.ff`` (``hh-mm-ss.ff`` past an hour), safe in file names."""
    hours, rest = divmod(float(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{int(hours):02d}-" if hours else "") + f"{int(minutes):02d}-{secs:05.2f}"


@dataclass(frozen=True, repr=False)
class FrameCandidates(ResultMixin):
    """Candidate stills found in one or more videos.

    Attributes
    ----------
    videos : tuple of VideoInfo
        The videos read (one per path that could be opened).
    frames : DataFrame
        One row per sampled frame: ``video``, ``frame``, ``time``, ``shot``, the image
        catalog's features, the video signals, the largest face's ``face_turn`` and
        ``eye_openness`` (NaN where not judged) with their verdicts ``turned_away`` and
        ``eyes_closed``, who is in it (``characters``, ``n_characters``,
        ``lead_character``: the largest face's), ``look`` (a group of look-alike frames
        among those that passed, for browsing; 0 for the others), ``reasons`` (why the gate
        rejected it, ``""`` when it passed), ``score``, ``selected`` and ``rank`` (1 for the
        first chosen).
    shots : DataFrame
        One row per shot: ``video``, ``shot``, first and last frame, times, duration, how it
        begins (cut / fade / dissolve), its camera motion (static / pan / zoom) and its shot
        type (close-up / medium / wide, from the largest face of its sampled frames).
    transitions : DataFrame
        Fades and dissolves: ``video``, ``first_frame``, ``last_frame``, ``kind`` and ``guard`` (frames
        around it that the gate rejects too).
    errors : DataFrame
        Videos that could not be read, and streams that broke part-way (what was decoded
        before the break is kept): ``video``, ``kind``, ``message``.
    settings : dict
    faces : DataFrame
        One row per face found in a sampled frame: ``video``, ``frame``, ``time``, ``face``
        (1 = the largest), its box (``x``, ``y``, ``w``, ``h`` as shares of the picture inside
        any letterbox), ``character`` (``character_1``..., ``extra``, or ``""`` when too small
        to tell) and its identity ``descriptor``.
    characters : DataFrame
        One row per character and video, the most present first: ``screen_time`` (seconds
        of sampled frames showing them), ``n_frames``, ``share`` of the frames with faces,
        ``first_time``, and ``best_frame``/``best_time`` (their largest face).
    """

    videos: tuple[VideoInfo, ...]
    frames: pd.DataFrame
    shots: pd.DataFrame
    transitions: pd.DataFrame
    errors: pd.DataFrame
    settings: dict
    faces: pd.DataFrame
    characters: pd.DataFrame

    @property
    def selected(self) -> pd.DataFrame:
        """The chosen frames, best first."""
        return self.frames[self.frames["selected"]].sort_values("rank")

    def to_frame(self) -> pd.DataFrame:
        """Every sampled frame (the ``frames`` table without the layout descriptor)."""
        return self.frames.drop(columns=["layout"], errors="ignore")

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"settings": self.settings, "videos": [v.__dict__ for v in self.videos],
                          "selected": self.selected.drop(columns=["layout"], errors="ignore").to_dict("records"),
                          "shots": self.shots.to_dict("records"), "characters": self.characters.to_dict("records"),
                          "errors": self.errors.to_dict("records")})

    def summary(self) -> str:
        frames = self.frames
        n_pass = int((frames["reasons"] == "").sum()) if len(frames) else 0
        lines = [f"Frame candidates from {len(self.videos)} video(s): {len(frames):,} frames sampled at "
                 f"{self.settings['sample_fps']:g} per second, {len(self.shots)} shots "
                 f"({int((self.shots['begins_with'] == 'cut').sum()) if len(self.shots) else 0} cuts, "
                 f"{int((self.transitions['kind'] == 'fade').sum()) if len(self.transitions) else 0} fades, "
                 f"{int((self.transitions['kind'] == 'dissolve').sum()) if len(self.transitions) else 0} dissolves); "
                 f"{n_pass} passed the gate, {int(frames['selected'].sum()) if len(frames) else 0} chosen"]
        if len(frames):
            reasons = frames["reasons"].str.split("; ").explode()
            reasons = reasons[reasons != ""].str.replace(r" \(.*\)$| of frame \d+$", "", regex=True)
            for reason, n in reasons.value_counts().items():
                lines.append(f"  rejected as {reason}: {n}")
        for video, cast in self.characters.groupby("video", sort=False):
            lines.append(f"  characters in {video}: " + ", ".join(f"{r.character} {r.screen_time:.1f} s"
                                                                for r in cast.itertuples()))
        study = self.settings.get("study")
        if study:
            lines.append(f"  expected lift from the study's {len(study['features'])} reliable effect(s) "
                         f"({', '.join(study['features']) or 'none'}; {study['level']:.0%} intervals; it extrapolates from "
                         "finished artwork to frames)")
        for row in self.selected.head(5).itertuples():
            lift = (f", expected lift {row.expected_lift:+.4f} ({study['level']:.0%} interval {row.lift_low:+.4f} to "
                    f"{row.lift_high:+.4f})" if study else "")
            lines.append(f"  #{row.rank}: {row.video} at {time_code(row.time)} (frame {row.frame}, shot {row.shot}), "
                         f"score {row.score:+.2f}{lift}")
        for row in self.errors.itertuples():
            lines.append(f"  {row.kind}: {row.video}: {row.message}")
        return "\n".join(lines)

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """A timeline per video: the score of every sampled frame (rejected ones grey),
        shot boundaries and the chosen frames."""
        from ..plotting import timeline_plot

        last_sample = self.frames.groupby("video")["time"].max()
        stems = [Path(v.path).stem for v in self.videos]
        durations = {stem: max(v.duration, float(last_sample.get(stem, 0.0))) for stem, v in zip(stems, self.videos)}
        return timeline_plot(self.frames, self.shots, durations, ax)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Write a contact sheet for artists: one self-contained HTML page with the chosen
        frames large (time, shot, score, characters, expected lift), the video shot by shot,
        the characters, look-alike groups, rejected frames with their reasons and the score
        timeline. The pictures are decoded again from the videos. Returns the path."""
        from ._sheet import write_sheet

        return write_sheet(self, path)

    def _decode_again(self, wanted: set[tuple[str, int]]) -> Iterator[tuple[str, int, float, np.ndarray]]:
        """The wanted frames, as (video, frame number) pairs, decoded again from their videos
        (nothing was kept in memory; see :func:`decode_at`: frames in between are skipped or
        sought past): yields (video, frame number, seconds, RGB picture) in video and time order."""
        for info in self.videos:
            stem = Path(info.path).stem
            frames = {frame for video, frame in wanted if video == stem}
            if frames:
                for index, time, rgb in decode_at(info.path, frames, max_pixels=self.settings["max_pixels"]):
                    yield stem, index, time, rgb

    def save_frames(self, folder: str | os.PathLike[str], *, which: str = "selected", quality: int = 95) -> list[Path]:
        """Write frames as JPEGs named ``<video>_<mm-ss.ff>_f<frame>.jpg``, at full
        resolution, by decoding each video once more (nothing was kept in memory).

        ``which``: ``"selected"`` (default), ``"passed"`` (every frame that passed the gate)
        or ``"all"``. Returns the paths written, in rank (or time) order.
        """
        which = check_choice(which, "which", ("selected", "passed", "all"))
        out = check_output_dir(folder, "frames folder")
        make_dirs(out, "frames folder")
        table = {"selected": self.selected, "passed": self.frames[self.frames["reasons"] == ""],
                 "all": self.frames}[which]
        written: dict[tuple[str, int], Path] = {}
        for stem, index, seconds, rgb in self._decode_again({(v, int(f)) for v, f in zip(table["video"], table["frame"])}):
            path = out / f"{stem}_{time_code(seconds)}_f{index}.jpg"
            if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]):
                raise FrameError(f"{path}: could not be written.")
            written[(stem, index)] = path
        return [written[(v, int(f))] for v, f in zip(table["video"], table["frame"]) if (v, int(f)) in written]


__all__ = ["FrameCandidates", "time_code", "ERROR_COLUMNS"]

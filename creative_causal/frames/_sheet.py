"""The contact sheet: one self-contained HTML page for artists (pictures embedded as JPEG,
no scripts, no remote resources).

Sections: the chosen frames large, best first (time, shot, score, who is in it, the
study's expected lift); a strip of the video's shots in order (each shot's best frame, or its
middle sampled frame when none passed, with its time, how it begins, its camera and type);
the characters (each one's largest face's frame and screen time); groups of look-alike
frames; rejected frames with their reasons (at most ``REJECTED_PER_REASON`` per reason,
the rest counted); the score timeline.

The pictures are decoded again from the videos (nothing was kept in memory): one more pass
per video, over the frames shown only.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from .._validation import check_output_file, write_text

if TYPE_CHECKING:
    from ._result import FrameCandidates

#: Widths (pixels) of the chosen frames and of every other picture on the sheet.
LARGE, SMALL = 360, 168
#: Rejected frames shown per reason (the first in time); the rest are counted.
REJECTED_PER_REASON = 8
#: Look-alike groups shown, and frames per group.
LOOKS_SHOWN, PER_LOOK = 12, 6


@dataclass
class Tile:
    key: tuple[str, int]
    lines: list[str]
    style: str = "small"
    reason: str = ""
    alt: str = ""
    uri: str = ""


@dataclass
class Group:
    items: list[Tile]
    label: str = ""
    style: str = "cards"


@dataclass
class SheetSection:
    id: str
    title: str
    text: str = ""
    groups: list[Group] = field(default_factory=list)
    plot: str = ""
    table: Any = None


@dataclass
class SheetTable:
    columns: list[str]
    rows: list[list[str]]


@dataclass
class Sheet:
    title: str
    lede: str
    sections: list[SheetSection]
    notes: list[str]
    large: int = LARGE
    small: int = SMALL


def _tile(row: Any, lines: list[str], style: str = "small", reason: str = "") -> Tile:
    from ._result import time_code

    return Tile((str(row.video), int(row.frame)), lines, style, reason,
                alt=f"{row.video} at {time_code(row.time)} (frame {row.frame})")


def _build(found: FrameCandidates) -> Sheet:
    from ._result import time_code

    frames, shots = found.frames, found.shots
    study = found.settings.get("study")
    level = f"{study['level']:.0%}" if study else ""
    chosen = []
    for row in found.selected.itertuples():
        lines = [f"#{row.rank} · {row.video} at {time_code(row.time)}",
                 f"frame {row.frame}, shot {row.shot} · score {row.score:+.2f}"]
        if row.characters:
            lines.append(row.characters.replace(",", ", ").replace("_", " "))
        if study:
            lines.append(f"expected lift {row.expected_lift:+.4f} ({level} interval {row.lift_low:+.4f} to "
                         f"{row.lift_high:+.4f})")
        chosen.append(_tile(row, lines, "card"))
    sections = [SheetSection("chosen", "Chosen frames", f"{len(chosen)} frames, best first; at most "
                             f"{found.settings['per_shot']} per shot, each unlike those before it.",
                             [Group(chosen, style="cards")])]

    strips = []
    for video, video_shots in shots.groupby("video", sort=False):
        rows = frames[frames["video"] == video]
        tiles = []
        for shot in video_shots.itertuples():
            members = rows[rows["shot"] == shot.shot]
            if members.empty:
                continue
            passed = members[members["reasons"] == ""]
            pick = passed.loc[passed["score"].idxmax()] if len(passed) else members.iloc[len(members) // 2]
            tiles.append(_tile(pick, [f"shot {shot.shot} · {time_code(shot.start)}",
                                      f"{shot.begins_with} · {shot.camera} · {shot.shot_type}",
                                      f"{len(passed)} of {len(members)} passed"]))
        strips.append(Group(tiles, label=str(video) if shots["video"].nunique() > 1 else "", style="strip"))
    sections.append(SheetSection("shots", "The video, shot by shot", "Each shot's best frame (its middle sampled frame "
                                 "when none passed), in order.", strips))

    cast = []
    for row in found.characters.itertuples():
        best = frames[(frames["video"] == row.video) & (frames["frame"] == row.best_frame)].iloc[0]
        chosen_with = int(found.selected["characters"].str.split(",").map(lambda names, c=row.character: c in names).sum())
        cast.append(_tile(best, [f"{row.character.replace('_', ' ')} ({row.video})",
                                 f"{row.screen_time:.1f} s on screen, {row.share:.0%} of frames with faces",
                                 f"in {chosen_with} chosen frame(s)"]))
    sections.append(SheetSection("characters", "Characters", f"Faces clustered by identity ({found.settings['identity']}); "
                                 "the most present first, each shown at their largest face.", [Group(cast, style="cards")]))

    groups = []
    for look, members in frames[frames["look"] > 0].groupby("look"):
        if look > LOOKS_SHOWN:
            break
        top = members.sort_values("score", ascending=False).head(PER_LOOK)
        groups.append(Group([_tile(r, [f"{time_code(r.time)} · score {r.score:+.2f}"]) for r in top.itertuples()],
                            label=f"Look {look}: {len(members)} frame(s)", style="cards"))
    sections.append(SheetSection("looks", "Look-alike groups", "Frames that passed, grouped by colour layout, best "
                                 "first in each group.", groups))

    rejected = frames[frames["reasons"] != ""]
    first_reason = rejected["reasons"].str.split("; ").str[0].str.replace(r" \(.*\)$| of frame \d+$", "", regex=True)
    shown, hidden = [], 0
    for _, members in rejected.groupby(first_reason, sort=False):
        shown += [_tile(r, [f"{r.video} at {time_code(r.time)}"], reason=r.reasons)
                  for r in members.head(REJECTED_PER_REASON).itertuples()]
        hidden += max(len(members) - REJECTED_PER_REASON, 0)
    text = f"{len(rejected)} frames were rejected; {len(shown)} are shown" + (f", {hidden} more are in the table "
                                                                              "(FrameCandidates.to_frame())." if hidden else ".")
    sections.append(SheetSection("rejected", "Rejected, and why", text, [Group(shown, style="cards")]))

    buf = io.BytesIO()
    ax = found.plot()
    ax.figure.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
    sections.append(SheetSection("timeline", "Score along the video", "Every sampled frame's score (rejected ones grey), "
                                 "the chosen ones circled, shot boundaries as lines.",
                                 plot="data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")))
    if len(found.errors):
        sections.append(SheetSection("errors", "Videos with problems", table=SheetTable(
            list(found.errors.columns), [[str(v) for v in r] for r in found.errors.itertuples(index=False)])))
    notes = []
    if study:
        notes.append(f"Expected lift: the change in take rate the study's reliable effects ({', '.join(study['features'])}) "
                     "predict for a frame relative to this video's other candidates. It extrapolates from finished artwork "
                     "to frames; test the frames you pick.")
    names = ", ".join(Path(v.path).name for v in found.videos)
    return Sheet(f"Candidate stills: {names}", found.summary().splitlines()[0], sections, notes)


def _tiles(sheet: Sheet) -> Iterable[Tile]:
    for section in sheet.sections:
        for group in section.groups:
            yield from group.items


def _thumbnails(found: FrameCandidates, widths: dict[tuple[str, int], int]) -> dict[tuple[str, int], str]:
    """JPEG data URIs of the wanted frames, decoded again from each video."""
    out: dict[tuple[str, int], str] = {}
    for stem, index, _, rgb in found._decode_again(set(widths)):
        width = widths[(stem, index)]
        h, w = rgb.shape[:2]
        small = cv2.resize(rgb, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 82])
        if ok:
            out[(stem, index)] = "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")
    return out


def render_sheet(found: FrameCandidates) -> str:
    """The contact sheet as one HTML string."""
    sheet = _build(found)
    widths: dict[tuple[str, int], int] = {}
    for tile in _tiles(sheet):
        widths[tile.key] = max(widths.get(tile.key, 0), 2 * (LARGE if tile.style == "card" else SMALL))  # 2x for sharp screens
    uris = _thumbnails(found, widths)
    for tile in _tiles(sheet):
        tile.uri = uris.get(tile.key, "")
    return _environment().get_template("contact_sheet.html").render(sheet=sheet)


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("creative_causal.frames", "templates"),
                       autoescape=select_autoescape(["html"], default=True), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def write_sheet(found: FrameCandidates, path: str | os.PathLike[str]) -> Path:
    out = check_output_file(path, "contact sheet")
    return write_text(out, render_sheet(found), "contact sheet")


__all__ = ["render_sheet", "write_sheet"]

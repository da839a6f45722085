"""Frame discovery on real footage: the sample videos of Debian's ``opencv-doc`` package.

Our rendered films have known truth but are our own; these clips are not. They ship in a
Debian package (``apt-get install opencv-doc``; nothing is downloaded at run time and no
video is copied into the repository):

* ``Megamind.avi``: 270 frames (11 s, 720 x 528, MPEG-4) of an animated film: two characters
  talking in a dim restaurant, four shots. The truth below was labelled by eye, frame by
  frame: the cuts, who is on screen, and every second frame's eyes (closed: lids shut or a
  slit; three frames too ambiguous to call are left out), looking at the eye region alone.
* ``vtest.avi``: 795 frames of a fixed camera over a pedestrian street: one shot, no faces
  large enough to judge.
* ``tree.avi``: the container says 444 frames; OpenCV decodes 68. Discovery must keep those
  and report the break.

Printed: cuts found (within one frame), character clusters against who is on screen, eyes
closed (precision and recall), how many frames the gate passes and why it rejects the rest,
and what happens to the other two clips. The eye labels were also used to choose
``closed_eyes``' relative rule (0.5 of the character's usual openness), so its figures on
this clip are not held out.

    python benchmarks/real_footage.py [--data /usr/share/doc/opencv-doc/examples/data]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

DEFAULT_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
#: First frame of each shot after the first, labelled by eye.
MEGAMIND_CUTS = (98, 154, 200)
#: Shots (first frame, one past the last) in which the woman is on screen; the man in the others.
MEGAMIND_WOMAN = ((0, 98), (154, 200))
#: Every second frame from 1 was labelled; these had the eyes closed (lids shut or a slit)...
MEGAMIND_CLOSED = (27, 29, 31, 33, 71, 73, 75, 77, 79, 81, 171, 173, 175, 227, 229, 257)
#: ...and these were too ambiguous to call (half-closed, looking down).
MEGAMIND_AMBIGUOUS = (69, 83, 259)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding opencv-doc's sample videos")
    args = parser.parse_args()
    clips = {name: args.data / name for name in ("Megamind.avi", "vtest.avi", "tree.avi")}
    missing = [str(p) for p in clips.values() if not p.exists()]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: install Debian's opencv-doc package (apt-get install opencv-doc) or "
                 "pass --data with the folder that holds its sample videos.")
    warnings.simplefilter("ignore")

    import numpy as np
    import pandas as pd

    from creative_causal.frames import discover_frames

    found = discover_frames(clips["Megamind.avi"], sample_fps=12, top=8, progress=False, random_state=0)
    frames = found.frames.set_index("frame")
    cuts = found.shots.loc[found.shots["begins_with"] == "cut", "first_frame"].tolist()
    hits = sum(any(abs(c - t) <= 1 for c in cuts) for t in MEGAMIND_CUTS)
    print(f"Megamind.avi: {len(frames)} frames sampled (every 2nd); cuts found {hits} of {len(MEGAMIND_CUTS)} within one "
          f"frame, {len(cuts) - hits} false; transitions found {len(found.transitions)} (there are none)")

    faces = found.faces[(found.faces["face"] == 1) & found.faces["character"].str.startswith("character_")]
    woman = np.zeros(len(faces), dtype=bool)
    for first, stop in MEGAMIND_WOMAN:
        woman |= (faces["frame"] >= first).to_numpy() & (faces["frame"] < stop).to_numpy()
    table = pd.crosstab(faces["character"], np.where(woman, "woman", "man"))
    print(f"characters: {len(found.characters)} found for 2; purity of the largest faces' clusters "
          f"{table.max(axis=1).sum() / table.to_numpy().sum():.3f} over {len(faces)} faces")
    print(table.to_string())

    labelled = [f for f in range(1, 270, 2) if f not in MEGAMIND_AMBIGUOUS and f in frames.index]
    truth = np.isin(labelled, MEGAMIND_CLOSED)
    rows = frames.loc[labelled]
    judged = rows["eye_openness"].notna().to_numpy()
    flagged = rows["eyes_closed"].to_numpy(bool)
    tp, fp, fn = int((flagged & truth).sum()), int((flagged & ~truth).sum()), int((~flagged & truth).sum())
    print(f"eyes closed: precision {tp / max(tp + fp, 1):.3f}, recall {tp / max(tp + fn, 1):.3f} ({tp} found, {fp} false, "
          f"{fn} missed) over {len(labelled)} labelled frames, {int(judged.sum())} judged; openness open "
          f"{rows.loc[~truth & judged, 'eye_openness'].median():.2f} (median), closed "
          f"{rows.loc[truth & judged, 'eye_openness'].min():.2f} to {rows.loc[truth & judged, 'eye_openness'].max():.2f}")
    reasons = frames["reasons"].str.split("; ").explode().str.replace(r"frame \d+", "frame N", regex=True)
    print(f"gate: {int((frames['reasons'] == '').sum())} of {len(frames)} frames pass; rejected as "
          + ", ".join(f"{reason} {count}" for reason, count in reasons[reasons != ""].value_counts().items()))

    others = discover_frames([clips["vtest.avi"], clips["tree.avi"]], sample_fps=2, top=4, progress=False, random_state=0)
    for video, rows in others.frames.groupby("video"):
        shots = int((others.shots["video"] == video).sum())
        reasons = rows["reasons"].str.split("; ").explode().str.replace(r"frame \d+", "frame N", regex=True)
        print(f"{video}.avi: {len(rows)} frames sampled, {shots} shot(s), faces in {int((rows['n_faces'] > 0).sum())} "
              f"frames; rejected as " + ", ".join(f"{r} {n}" for r, n in reasons[reasons != ""].value_counts().items()))
    for row in others.errors.itertuples():
        print(f"{row.video}.avi: {row.kind}: {row.message}")


if __name__ == "__main__":
    main()

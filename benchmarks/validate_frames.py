"""Frame discovery against rendered films with known truth.

--films films (``render_video``, --seconds long, --size, 24 fps, fresh seeds) are read with
``discover_frames`` sampling every --every-th frame. Printed: hard cuts found within one frame
(precision, recall, F1), fades and dissolves found (a detected transition overlapping the
true one) and transitions found where there is none, the blur gate's precision and recall
on the sampled frames outside transitions and black frames, and how many chosen frames are
blurred, black, in a transition or with eyes closed. Eyes closed and heads turned away (the
largest face's verdicts): precision and recall on sharp frames whose faces are all in view and
judged, the same on every judged frame outside transitions (motion blur smears open eyes
shut), and the share of frames with a face in view that are judged. Characters: the purity of the identity clusters (each
detected face's true character is the rendered face holding its centre), films whose lead
(the most screen time, by a second or more) is ``character_1``, and characters found per
true character.

    python benchmarks/validate_frames.py [--films 20] [--seconds 12] [--every 2] [--identity-threshold 0.2]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--size", type=int, nargs=2, default=(640, 360))
    parser.add_argument("--every", type=int, default=2, help="sample every n-th frame (24 fps films)")
    parser.add_argument("--identity-threshold", type=float, default=None,
                        help="cosine-distance cut of the default identity model (default: its own)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import numpy as np
    import pandas as pd

    from creative_causal.datasets import render_video
    from creative_causal.frames import APPEARANCE, discover_frames

    identity = APPEARANCE if args.identity_threshold is None else dataclasses.replace(APPEARANCE,
                                                                                       threshold=args.identity_threshold)

    counts = dict(cut_hit=0, cut_false=0, cut_missed=0, fades=0, fades_found=0, dissolves=0, dissolves_found=0,
                  false_transitions=0, blur_tp=0, blur_fp=0, blur_fn=0, chosen=0, chosen_bad=0, faces=0, faces_pure=0,
                  decisive=0, lead_found=0, true_characters=0, found_characters=0, with_face=0, judged=0)
    verdicts = {(name, where): np.zeros(3, int) for name in ("eyes_closed", "turned_away") for where in ("sharp", "any")}
    purities = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.films):
            truth = render_video(Path(folder) / f"film{i}.mp4", seconds=args.seconds, fps=24, size=tuple(args.size),
                                 random_state=5_000 + i)
            found = discover_frames(truth.path, sample_fps=24 / args.every, top=8, progress=False, random_state=i,
                                    identity=identity)
            shots = found.shots
            cuts = shots.loc[(shots["begins_with"] == "cut") & (shots["first_frame"] > 0), "first_frame"].tolist()
            unmatched = list(truth.cuts)
            for cut in cuts:
                match = next((t for t in unmatched if abs(t - cut) <= 1), None)
                if match is None:
                    counts["cut_false"] += 1
                else:
                    unmatched.remove(match)
                    counts["cut_hit"] += 1
            counts["cut_missed"] += len(unmatched)
            tr = found.transitions
            for kind, ranges in (("fades", truth.fades), ("dissolves", truth.dissolves)):
                for first, last in ranges:
                    counts[kind] += 1
                    counts[f"{kind}_found"] += bool(((tr["first_frame"] <= last) & (tr["last_frame"] >= first)).any())
            true_ranges = list(truth.fades) + list(truth.dissolves)
            counts["false_transitions"] += sum(not any(row.first_frame <= last and row.last_frame >= first
                                                       for first, last in true_ranges) for row in tr.itertuples())
            frames = found.frames.set_index("frame")
            known = truth.frames
            usable = np.intersect1d(frames.index.to_numpy(),
                                    np.flatnonzero(~known["transition"].to_numpy() & ~known["black"].to_numpy()))
            flagged = frames.loc[usable, "reasons"].str.contains("blurred").to_numpy()
            actual = known["blurred"].to_numpy()[usable]
            counts["blur_tp"] += int((flagged & actual).sum())
            counts["blur_fp"] += int((flagged & ~actual).sum())
            counts["blur_fn"] += int((~flagged & actual).sum())
            seen = known.loc[frames.index]
            in_view = (seen["faces"].map(len) == frames["n_faces"]) & (frames["n_faces"] > 0) & ~seen["transition"]
            judged = in_view & frames["eye_openness"].notna()
            counts["with_face"] += int(in_view.sum())
            counts["judged"] += int(judged.sum())
            for (name, where), tally in verdicts.items():
                rows = (judged & ~seen["blurred"]) if where == "sharp" else judged
                got, actual = frames.loc[rows, name].to_numpy(bool), seen.loc[rows, name].to_numpy(bool)
                tally += [(got & actual).sum(), (got & ~actual).sum(), (~got & actual).sum()]
            faces = found.faces[found.faces["character"].str.startswith("character_")]
            who = pd.Series([None if known.at[f.frame, "letterbox"] else truth.character_at(f.frame, f.x + f.w / 2,
                                                                                            f.y + f.h / 2)
                             for f in faces.itertuples()], index=faces.index)
            matched = faces[who.notna()].assign(truth=who[who.notna()])
            if len(matched):
                table = pd.crosstab(matched["character"], matched["truth"])
                counts["faces"] += int(table.to_numpy().sum())
                counts["faces_pure"] += int(table.max(axis=1).sum())
                purities.append(table.max(axis=1).sum() / table.to_numpy().sum())
                seconds = truth.screen_time
                if len(seconds) == 1 or seconds.iloc[0] - seconds.iloc[1] >= 1.0:
                    counts["decisive"] += 1
                    counts["lead_found"] += ("character_1" in table.index
                                             and table.loc["character_1"].idxmax() == seconds.index[0])
            counts["true_characters"] += len(truth.screen_time)
            counts["found_characters"] += len(found.characters)
            rows = known.loc[found.selected["frame"]]
            counts["chosen"] += len(rows)
            counts["chosen_bad"] += int((rows["blurred"] | rows["black"] | rows["transition"] | rows["eyes_closed"]).sum())
    c = counts
    precision = c["cut_hit"] / max(c["cut_hit"] + c["cut_false"], 1)
    recall = c["cut_hit"] / max(c["cut_hit"] + c["cut_missed"], 1)
    print(f"{args.films} films of {args.seconds:g} s at {args.size[0]}x{args.size[1]}, every {args.every} frame(s) "
          f"sampled, identity threshold {identity.threshold:g}; {time.perf_counter() - start:.0f} s")
    print(f"hard cuts: precision {precision:.3f}, recall {recall:.3f}, F1 {2 * precision * recall / (precision + recall):.3f} "
          f"({c['cut_hit']} found, {c['cut_false']} false, {c['cut_missed']} missed)")
    print(f"fades found: {c['fades_found']} of {c['fades']}; dissolves found: {c['dissolves_found']} of {c['dissolves']}; "
          f"transitions found where there is none: {c['false_transitions']}")
    blur_p = c["blur_tp"] / max(c["blur_tp"] + c["blur_fp"], 1)
    blur_r = c["blur_tp"] / max(c["blur_tp"] + c["blur_fn"], 1)
    print(f"blur gate: precision {blur_p:.3f}, recall {blur_r:.3f} ({c['blur_tp']} caught, {c['blur_fp']} sharp frames "
          f"rejected, {c['blur_fn']} missed)")
    print(f"chosen frames blurred, black, in a transition or with eyes closed: {c['chosen_bad']} of {c['chosen']}")
    print(f"faces judged (turn, eyes): {c['judged']} of {c['with_face']} frames with all faces in view")
    for (name, where), (hit, false, miss) in verdicts.items():
        print(f"{name.replace('_', ' ')} ({'sharp frames' if where == 'sharp' else 'blurred frames too'}): precision "
              f"{hit / max(hit + false, 1):.3f}, recall {hit / max(hit + miss, 1):.3f} ({hit} found, {false} false, "
              f"{miss} missed)")
    print(f"characters: cluster purity {c['faces_pure'] / max(c['faces'], 1):.3f} over {c['faces']} faces (lowest film "
          f"{min(purities, default=float('nan')):.3f}); lead is character_1 in {c['lead_found']} of {c['decisive']} films "
          f"with a lead; {c['found_characters']} characters found for {c['true_characters']} true ones")


if __name__ == "__main__":
    main()

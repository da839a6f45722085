"""The ``creative-causal`` command: a thin layer over the library.

Subcommands mirror library functions; errors print one line (``ErrorType: message``) and
exit 1 without a traceback unless ``--verbose`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .exceptions import CreativeCausalError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="creative-causal",
        description="Which visual components of artwork cause people to choose a title.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    common.add_argument("--quiet", action="store_true", help="print nothing but errors (and --json output)")
    common.add_argument("--verbose", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("simulate", parents=[common], help="write a synthetic programme with known effects")
    p.add_argument("-o", "--output", required=True, type=Path, help="directory for cells.csv, artworks.csv, truth.json")
    p.add_argument("--titles", type=int, default=300, help="number of titles (one test each); default 300")
    p.add_argument("--random-state", type=int, default=None, help="seed (default: drawn and reported)")
    p.add_argument("--posters", action="store_true", help="also render a poster per artwork into DIR/posters/")
    p.add_argument("--poster-size", type=int, nargs=2, default=(1000, 1500), metavar=("W", "H"),
                   help="poster size in pixels (default 1000 1500)")
    p.add_argument("--n-jobs", type=int, default=1, help="processes for rendering posters (default 1)")

    p = sub.add_parser("validate", parents=[common], help="validate an A/B results file (CSV or Parquet)")
    p.add_argument("ab", type=Path, help="per-cell A/B results: test_id, cell_id, artwork_id, impressions, plays")
    for role in ("test", "cell", "artwork", "impressions", "plays", "control", "title"):
        p.add_argument(f"--{role}", default=None, help=f"column holding the {role} (default: the standard name)")

    p = sub.add_parser("extract", parents=[common], help="extract image features from a folder, glob or files")
    p.add_argument("images", nargs="+", help="a directory (searched recursively), a glob, or image files")
    p.add_argument("-o", "--output", required=True, type=Path, help="features file (.parquet or .csv); failed images "
                   "go to <output stem>_errors.csv")
    p.add_argument("--n-jobs", type=int, default=1, help="processes (default 1)")
    p.add_argument("--features", default="default", help="'default', 'all' or comma-separated groups")

    p = sub.add_parser("analyze", parents=[common], help="find which artwork features cause take rate")
    p.add_argument("--ab", required=True, type=Path, help="per-cell A/B results (CSV, TSV or Parquet)")
    p.add_argument("--features", required=True, type=Path, help="features file with an artwork_id column")
    p.add_argument("-o", "--output", required=True, type=Path, help="directory for the study's tables and report")
    p.add_argument("--graph", type=Path, default=None, help="causal graph as DOT (default: the creative template)")
    p.add_argument("--treatment", action="append", default=None, help="feature to test (repeatable; default: all)")
    p.add_argument("--by", action="append", default=None, help="segment column for per-segment effects (repeatable; "
                   "default: genre when present)")
    p.add_argument("--images", type=Path, default=None, help="folder of the artwork images, for report thumbnails")
    p.add_argument("--fdr", type=float, default=0.05, help="false discovery rate (default 0.05)")
    p.add_argument("--n-jobs", type=int, default=1, help="features analysed in parallel (default 1)")
    p.add_argument("--random-state", type=int, default=0, help="seed (default 0)")

    p = sub.add_parser("report", parents=[common], help="write the report of an analysed study")
    p.add_argument("study", type=Path, help="directory written by `analyze`")
    p.add_argument("--format", choices=("html", "md"), default="html", help="html (default) or md")
    p.add_argument("-o", "--output", type=Path, default=None, help="report path (default: STUDY/report.html|md)")

    p = sub.add_parser("demo", parents=[common], help="the whole pipeline on the bundled programme: posters, "
                       "features, analysis, report")
    p.add_argument("-o", "--output", type=Path, default=Path("creative-causal-demo"),
                   help="directory for everything the demo writes (default ./creative-causal-demo)")
    p.add_argument("--random-state", type=int, default=None, help="simulate a fresh programme with this seed "
                   "instead of the bundled one")
    p.add_argument("--titles", type=int, default=None, help="titles of a fresh programme (default: the bundled 300)")
    p.add_argument("--n-jobs", type=int, default=2, help="processes for rendering, extraction and analysis (default 2)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``creative-causal`` command. Returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _COMMANDS[args.command](args)
        notes = [f"{w.category.__name__}: {w.message}" for w in caught if _ours(w.category)]
    except CreativeCausalError as exc:
        if getattr(args, "verbose", False):
            raise
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**result["data"], "warnings": notes}, indent=2, default=str))
    elif not args.quiet:
        for note in notes:
            print(f"warning: {note}", file=sys.stderr)
        print(result["text"])
    return 0


def _ours(category: type[Warning]) -> bool:
    from .exceptions import CreativeCausalWarning

    return issubclass(category, CreativeCausalWarning)


def _simulate(args: argparse.Namespace) -> dict[str, Any]:
    from .datasets import simulate_program, write_program

    program = simulate_program(args.titles, seed=args.random_state)
    paths = write_program(program, args.output)
    files = {k: str(v) for k, v in paths.items()}
    lines = [f"Simulated {len(program.titles)} titles, {len(program.cells)} cells (seed {program.config['seed']}).",
             *[f"  wrote {p}" for p in paths.values()]]
    if args.posters:
        from .datasets import render_posters

        if not (args.quiet or args.json):
            print(f"rendering {len(program.artworks)} posters ...", file=sys.stderr, flush=True)
        written = render_posters(program.artworks, args.output / "posters", size=tuple(args.poster_size),
                                 n_jobs=args.n_jobs, random_state=program.config["seed"])
        files["posters"] = str(args.output / "posters")
        lines.append(f"  wrote {len(written)} posters to {args.output / 'posters'}/")
    return {"text": "\n".join(lines), "data": {"seed": program.config["seed"], "files": files}}


def _validate(args: argparse.Namespace) -> dict[str, Any]:
    from .experiments import read_ab_results

    mapping = {role: getattr(args, role) for role in ("test", "cell", "artwork", "impressions", "plays",
                                                      "control", "title") if getattr(args, role)}
    ab = read_ab_results(args.ab, **mapping)
    report = ab.report()
    winners = ab.winners()
    text = "\n".join([ab.summary(), f"  tests with a confident winner: {int(winners['confident'].sum())} "
                      f"of {len(winners)}", "OK: the file is valid."])
    data = {"n_tests": ab.n_tests, "n_cells": ab.n_cells, "report": report.to_dict("records"),
            "confident_winners": int(winners["confident"].sum())}
    return {"text": text, "data": data}


#: Features the demo tests: ones the renderer draws and the extractor reads back.
DEMO_TREATMENTS = ("has_face", "n_faces", "face_area", "smile", "brightness", "colorfulness", "contrast", "text_area")
#: The renderer does not draw composition: measured from a poster, it is made by the faces and
#: titles placed on it, so in the demo's graph it is their descendant (never adjusted for them).
DEMO_LAYOUT_EDGES = tuple((part, measure) for part in ("has_face", "n_faces", "face_area", "face_thirds", "text_area")
                          for measure in ("thirds", "negative_space", "symmetry", "depth_of_field"))


def _demo(args: argparse.Namespace) -> dict[str, Any]:
    """The whole pipeline on the bundled programme: render its posters, extract features from
    the images, analyse, write the report, and print the headline findings beside the truth."""
    import time

    from .datasets import load_demo_program, render_posters, rendered_unit, simulate_program, write_program
    from .features import extract_features
    from .graph import creative_graph
    from .study import CreativeStudy

    say = (lambda text: None) if (args.quiet or args.json) else (lambda text: print(text, file=sys.stderr, flush=True))
    start = time.perf_counter()
    out = Path(args.output)
    if args.random_state is None and args.titles is None:
        program = load_demo_program()
    else:
        program = simulate_program(args.titles or 300, seed=args.random_state)
    seed = int(program.config["seed"])
    write_program(program, out / "data")
    say(f"[1/4] simulated {len(program.titles)} titles and {len(program.artworks)} artworks (seed {seed}); "
        f"rendering their posters ...")
    posters = out / "posters"
    render_posters(program.artworks, posters, size=(400, 600), n_jobs=args.n_jobs, random_state=seed)
    say(f"[2/4] extracting features from {len(program.artworks)} images ({time.perf_counter() - start:.0f} s) ...")
    features = extract_features(posters, n_jobs=args.n_jobs, progress=False)
    _with_artwork_column(features).to_parquet(out / "features.parquet", index=False)
    say(f"[3/4] analysing {len(DEMO_TREATMENTS)} features ({time.perf_counter() - start:.0f} s) ...")
    graph = creative_graph(program.ab_results().join(features), extra_edges=DEMO_LAYOUT_EDGES)
    result = CreativeStudy(program.ab_results(), features, graph=graph, treatments=list(DEMO_TREATMENTS),
                           images=posters, n_jobs=args.n_jobs, random_state=seed).run()
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
    seconds = time.perf_counter() - start
    lines = [f"Report: {report.resolve()}", "", *result.summary().splitlines()[:4], "",
             "Estimated from the posters' pixels, beside the simulator's truth (log take rate; +0.10 is about +10.5%):",
             f"  {'feature':<13} {'scale':<9} {'truth':>8} {'estimate':>9}  {'95% CI':<20} {'finding':<8} truth in CI"]
    for r in rows:
        lines.append(f"  {r['feature']:<13} {r['scale']:<9} {r['truth']:+8.3f} {r['estimate']:+9.3f}  "
                     f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]  {'yes' if r['discovery'] else 'no':<8} "
                     f"{'yes' if r['covered'] else 'no'}")
    if "smile" in DEMO_TREATMENTS:
        unit = rendered_unit(program.artworks, "smile")
        lines.append(f"  (smile: the posters show a smiling or a neutral portrait, so its truth is per switch to "
                     f"smiling: {program.truth.effect('smile'):+.3f} x {unit:.2f} of mean smile)")
    lines += ["", f"{sum(r['covered'] for r in rows)} of {len(rows)} intervals cover the truth; "
              f"{int(len(features.errors))} images failed extraction; {seconds:.0f} s in all.",
              f"Everything is in {out.resolve()}/ (data/, posters/, features.parquet, study/, report.html)."]
    return {"text": "\n".join(lines), "data": {"report": str(report), "seconds": seconds, "effects": rows,
                                              "directory": str(out)}}


def _extract(args: argparse.Namespace) -> dict[str, Any]:
    from .features import extract_features

    if len(args.images) == 1:
        images: Any = args.images[0]
    else:
        images = list(args.images)
    groups = args.features if args.features in ("default", "all") else [g.strip() for g in args.features.split(",")]
    table = extract_features(images, features=groups, n_jobs=args.n_jobs, progress=not (args.quiet or args.json))
    out = args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = _with_artwork_column(table)
    if out.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False)
    errors_path = out.with_name(out.stem + "_errors.csv")
    table.errors.to_csv(errors_path, index=False)
    text = f"{table.summary()}\n  wrote {out}\n  wrote {errors_path} ({len(table.errors)} failed images)"
    return {"text": text, "data": {"n_images": len(table), "n_failed": len(table.errors), "features": str(out),
                                   "errors": str(errors_path)}}


def _with_artwork_column(table: Any) -> Any:
    """A feature table indexed by artwork id as a plain frame with an ``artwork_id`` column."""
    return table.reset_index().rename(columns={table.index.name or "index": "artwork_id"})


def _analyze(args: argparse.Namespace) -> dict[str, Any]:
    from .study import CreativeStudy

    graph = None
    if args.graph is not None:
        from .graph import CausalGraph

        graph = CausalGraph.from_dot(args.graph)
    study = CreativeStudy(args.ab, args.features, graph=graph, treatments=args.treatment,
                          by=args.by if args.by else "auto", fdr=args.fdr, images=args.images, n_jobs=args.n_jobs,
                          random_state=args.random_state)
    result = study.run()
    out = result.save(args.output)
    report = result.to_html(out / "report.html")
    found = result.insights[result.insights["discovery"].astype(bool)]
    text = "\n".join([result.summary(), "", f"wrote the study to {out}/ and the report to {report}"])
    data = {"study": str(out), "report": str(report), "insights": result.insights[
        ["feature", "effect", "ci_low", "ci_high", "q_value", "discovery", "sentence"]].to_dict("records"),
        "n_discoveries": len(found)}
    return {"text": text, "data": data}


def _report(args: argparse.Namespace) -> dict[str, Any]:
    from .study import StudyResult

    result = StudyResult.load(args.study)
    path = args.output or args.study / f"report.{args.format}"
    written = result.to_html(path) if args.format == "html" else result.to_markdown(path)
    return {"text": f"wrote {written}", "data": {"report": str(written)}}


_COMMANDS = {"simulate": _simulate, "validate": _validate, "extract": _extract, "analyze": _analyze, "report": _report,
             "demo": _demo}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

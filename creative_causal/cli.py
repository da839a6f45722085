"""The ``creative-causal`` command: a thin layer over the library.

Subcommands mirror library functions. Output paths are checked before any work. Errors
print one line and exit with a status that says what happened:

- 0: done;
- 1: an expected error (bad data, a bad argument, a path that cannot be written):
  ``ErrorType: message`` on one line;
- 2: a usage error (an unknown option);
- 70: an unexpected error, that is a bug in creative_causal: one line that says so and how
  to see the traceback (``--verbose``);
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .exceptions import CreativeCausalError, DataQualityWarning

#: Exit status of an unexpected error (BSD's EX_SOFTWARE: an internal software error).
EXIT_BUG = 70


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="creative-causal",
                     description="Which visual components of artwork cause people to choose a title.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    common.add_argument("--quiet", action="store_true", help="print nothing but errors (and --json output)")
    common.add_argument("--verbose", action="store_true", help="show full tracebacks on errors, and every warning")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("simulate", parents=[common], help="write a synthetic programme with known effects")
    p.add_argument("-o", "--output", required=True, type=Path, help="directory for cells.csv, artworks.csv, truth.json")
    p.add_argument("--titles", type=int, default=300, help="number of titles (one test each); default 300")
    p.add_argument("--random-state", type=int, default=None, help="seed (default: drawn and reported)")
    p.add_argument("--posters", action="store_true", help="also render a poster per artwork into DIR/posters/")
    p.add_argument("--poster-size", type=int, nargs=2, default=(1000, 1500), metavar=("W", "H"),
                   help="poster size in pixels (default 1000 1500)")
    p.add_argument("--n-jobs", type=int, default=1, help="processes for rendering posters (default 1)")

    p = sub.add_parser("validate", parents=[common], help="validate an A/B results file (CSV, TSV or Parquet)")
    p.add_argument("ab", type=Path, help="per-cell A/B results: test_id, cell_id, artwork_id, impressions, plays")
    for role in ("test", "cell", "artwork", "impressions", "plays", "control", "title"):
        p.add_argument(f"--{role}", default=None, help=f"column holding the {role} (default: the standard name)")
    p.add_argument("--sep", default=None, help="field delimiter of a text file: ',', ';', '|' or 'tab' (default: tab "
                   "for .tsv, comma otherwise)")

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
    p.add_argument("--graph", type=Path, default=None, help="causal graph as DOT or GML (default: the creative template)")
    p.add_argument("--treatment", action="append", default=None, help="feature to test (repeatable; default: all)")
    p.add_argument("--by", action="append", default=None, help="segment column for per-segment effects (repeatable; "
                   "default: genre when present)")
    p.add_argument("--images", type=Path, default=None, help="folder of the artwork images, for report thumbnails")
    p.add_argument("--method", default="dml", help="dml (default), ols or naive")
    p.add_argument("--estimand", default="ate", help="what the effect of an on/off feature averages: ate (default, "
                   "over all artwork), att (over artwork that has it), ato (overlap-weighted) or plr (partially linear)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--fdr", type=float, default=0.05, help="false discovery rate (default 0.05)")
    p.add_argument("--n-simulations", type=int, default=100, help="refutation simulations per check (default 100)")
    p.add_argument("--n-jobs", type=int, default=1, help="features analysed in parallel (default 1)")
    p.add_argument("--random-state", type=int, default=None, help="seed (default: drawn and recorded in config.json)")

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
    p.add_argument("--titles", type=int, default=None, help="titles of a fresh programme (at least 20; default: the "
                   "bundled 300)")
    p.add_argument("--n-jobs", type=int, default=2, help="processes for rendering, extraction and analysis (default 2)")
    p = sub.add_parser("frames", parents=[common], help="find candidate stills in video: shots, a gate with reasons, "
                       "a scored and diverse choice")
    p.add_argument("videos", nargs="+", type=Path, help="video files (mp4, mkv, mov, avi, webm)")
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="directory for frames.csv, shots.csv, characters.csv, errors.csv, the contact sheet "
                   "(contact_sheet.html) and the chosen stills (stills/)")
    p.add_argument("--sample-fps", type=float, default=2.0, help="frames sampled per second of video (default 2)")
    p.add_argument("--study", type=Path, default=None, help="a saved study's folder (creative-causal analyze -o): each "
                   "frame gets the lift its reliable effects predict, and the ranking weighs it")
    p.add_argument("--top", type=int, default=24, help="stills to choose (default 24)")
    p.add_argument("--per-shot", type=int, default=2, help="at most this many from one shot (default 2)")
    p.add_argument("--n-jobs", type=int, default=1, help="processes: for the image features of one video, or one video "
                   "per process (default 1)")
    p = sub.add_parser("allocate", help="explore/exploit policies: replay them against a simulated programme's truth")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    a = actions.add_parser("simulate", parents=[common], help="replay policies on a simulated programme: regret "
                           "table and curves")
    a.add_argument("--titles", type=int, default=300, help="titles (one test each) of the simulated programme; "
                   "default 300")
    a.add_argument("--policy", action="append", default=None, metavar="NAME",
                   help="a policy to replay, repeatable: fixed, explore_then_commit, epsilon_greedy, ucb1, kl_ucb, "
                   "thompson, top_two_thompson (default: fixed, explore_then_commit, thompson)")
    a.add_argument("--horizon", type=int, default=200_000, help="impressions per test (default 200000)")
    a.add_argument("--batch", type=int, default=10_000, help="impressions per refresh (default 10000)")
    a.add_argument("--replications", type=int, default=10, help="replications, for intervals (default 10)")
    a.add_argument("--delay", type=int, default=0, help="refreshes before plays are seen (default 0)")
    a.add_argument("--min-share", type=float, default=0.0, help="floor on every cell's share of a refresh")
    a.add_argument("--random-state", type=int, default=None, help="seed (default: drawn and reported)")
    a.add_argument("-o", "--output", type=Path, default=None,
                   help="directory for policies.csv, tests.csv and regret.png (default: print only)")
    a = actions.add_parser("evaluate", parents=[common], help="judge a target policy on a logged impression log "
                           "(off-policy evaluation)")
    a.add_argument("log", type=Path, help="impression log (CSV or Parquet): test_id, cell_id, played, propensity "
                   "(or planned_share)")
    target = a.add_mutually_exclusive_group(required=True)
    target.add_argument("--target", type=Path, help="the target policy as a table: a CSV or Parquet file with "
                        "test_id, cell_id and probability (per test, summing to 1)")
    target.add_argument("--policy", metavar="NAME", help="the target policy by name (thompson, kl_ucb, ...), run "
                        "along the log and learning at each of its refreshes (the 'refresh' column)")
    a.add_argument("--method", action="append", default=None, choices=["dr", "switch_dr", "dm", "ips", "snips", "replay"],
                   help="estimator, repeatable (default: dr)")
    a.add_argument("--interval", default="impressions",
                   choices=["impressions", "tests", "bootstrap_tests", "bootstrap_members"],
                   help="impressions independent within tests (default), clustered by test, or a bootstrap over "
                   "tests or members (member_id)")
    a.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    a.add_argument("--random-state", type=int, default=None, help="seed for replay's draws")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``creative-causal`` command. Returns the exit status."""
    args = _parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _COMMANDS[args.command](args)
    except CreativeCausalError as exc:
        if verbose:
            raise
        print(f"{type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("creative-causal: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one line, never a raw traceback
        if verbose:
            raise
        print(f"creative-causal: unexpected error, a bug in creative_causal ({type(exc).__name__}: {_one_line(exc)}). "
              f"Run the same command with --verbose to see the traceback, and please report it.", file=sys.stderr)
        return EXIT_BUG
    ours, others = _split_warnings(caught)
    if args.json:
        print(json.dumps({**result["data"], "warnings": ours + (others if verbose else [])}, indent=2, default=str))
    elif not args.quiet:
        for note in ours + (others if verbose else []):
            print(f"warning: {note}", file=sys.stderr)
        if others and not verbose:
            print(f"({len(others)} warnings from libraries creative_causal uses; --verbose shows them)", file=sys.stderr)
        print(result["text"])
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _split_warnings(caught: list[warnings.WarningMessage]) -> tuple[list[str], list[str]]:
    from .exceptions import CreativeCausalWarning

    ours: dict[str, None] = {}
    others: dict[str, None] = {}
    for w in caught:
        text = f"{w.category.__name__}: {_one_line(w.message)}"  # type: ignore[arg-type]
        (ours if issubclass(w.category, CreativeCausalWarning) else others).setdefault(text, None)
    return list(ours), list(others)


def _say(args: argparse.Namespace) -> Any:
    if args.quiet or args.json:
        return lambda text: None
    return lambda text: print(text, file=sys.stderr, flush=True)


def _simulate(args: argparse.Namespace) -> dict[str, Any]:
    from ._validation import check_n_jobs, check_output_dir
    from .datasets import check_poster_size, render_posters, simulate_program, write_program

    check_output_dir(args.output, "output folder")
    if args.posters:  # before any work: a bad size must not leave half a programme behind
        check_poster_size(tuple(args.poster_size))
        check_n_jobs(args.n_jobs)
    program = simulate_program(args.titles, random_state=args.random_state)
    paths = write_program(program, args.output)
    files = {k: str(v) for k, v in paths.items()}
    lines = [f"Simulated {len(program.titles)} titles, {len(program.cells)} cells (seed {program.config['random_state']}).",
             *[f"  wrote {p}" for p in paths.values()]]
    if args.posters:
        _say(args)(f"rendering {len(program.artworks)} posters ...")
        written = render_posters(program.artworks, args.output / "posters", size=tuple(args.poster_size),
                                 n_jobs=args.n_jobs, random_state=program.config["random_state"])
        files["posters"] = str(args.output / "posters")
        lines.append(f"  wrote {len(written)} posters to {args.output / 'posters'}/")
    return {"text": "\n".join(lines), "data": {"seed": program.config["random_state"], "files": files}}


_SEPARATORS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _validate(args: argparse.Namespace) -> dict[str, Any]:
    from .experiments import read_ab_results

    mapping = {role: getattr(args, role) for role in ("test", "cell", "artwork", "impressions", "plays",
                                                      "control", "title") if getattr(args, role)}
    sep = _SEPARATORS.get(args.sep, args.sep) if args.sep else None
    ab = read_ab_results(args.ab, sep=sep, **mapping)
    report = ab.report()
    winners = ab.winners()
    text = "\n".join([ab.summary(), f"  tests with a confident winner: {int(winners['confident'].sum())} "
                      f"of {len(winners)}", "OK: the file is valid."])
    data = {"n_tests": ab.n_tests, "n_cells": ab.n_cells, "report": report.to_dict("records"),
            "confident_winners": int(winners["confident"].sum())}
    return {"text": text, "data": data}


def _demo(args: argparse.Namespace) -> dict[str, Any]:
    from .demo import run_demo

    result = run_demo(args.output, n_titles=args.titles, random_state=args.random_state, n_jobs=args.n_jobs,
                      progress=_say(args))
    return {"text": result.summary(), "data": result.to_dict()}


def _extract(args: argparse.Namespace) -> dict[str, Any]:
    from ._validation import check_output_file
    from .features import extract_features

    check_output_file(args.output, "features file")
    images: Any = args.images[0] if len(args.images) == 1 else list(args.images)
    groups = args.features if args.features in ("default", "all") else [g.strip() for g in args.features.split(",")]
    table = extract_features(images, features=groups, n_jobs=args.n_jobs, progress=not (args.quiet or args.json))
    out = table.to_file(args.output)
    errors = table.errors_path(out)
    text = f"{table.summary()}\n  wrote {out}\n  wrote {errors} ({len(table.errors)} failed images)"
    return {"text": text, "data": {"n_images": len(table), "n_failed": len(table.errors), "features": str(out),
                                   "errors": str(errors)}}


def _analyze(args: argparse.Namespace) -> dict[str, Any]:
    from ._validation import check_output_dir
    from .graph import CausalGraph
    from .study import CreativeStudy, not_estimated

    out = check_output_dir(args.output, "study folder")
    graph = CausalGraph.read(args.graph) if args.graph is not None else None
    study = CreativeStudy(args.ab, args.features, graph=graph, treatments=args.treatment,
                          by=args.by if args.by else "auto", method=args.method, estimand=args.estimand,
                          level=args.level, fdr=args.fdr,
                          n_simulations=args.n_simulations, images=args.images, n_jobs=args.n_jobs,
                          random_state=args.random_state)
    result = study.run()
    result.save(out)
    report = result.to_html(out / "report.html")
    found = result.insights[result.insights["discovery"].astype(bool)]
    failed = not_estimated(result)
    for row in failed.itertuples(index=False):
        warnings.warn(str(row.sentence), DataQualityWarning, stacklevel=1)
    lines = [result.summary(), "", f"wrote {out}/ (tables, graph.dot, config.json) and {report}"]
    data = {"directory": str(out), "report": str(report), "seed": result.config["random_state"],
            "discoveries": [str(f) for f in found["feature"]], "not_estimated": [str(f) for f in failed["feature"]],
            "insights": result.insights[[c for c in ("feature", "effect", "ci_low", "ci_high", "q_value", "discovery",
                                                     "sentence") if c in result.insights]].to_dict("records")}
    return {"text": "\n".join(lines), "data": data}


def _report(args: argparse.Namespace) -> dict[str, Any]:
    from ._validation import check_output_file
    from .study import StudyResult

    path = args.output or args.study / f"report.{args.format}"
    check_output_file(path, "report")
    result = StudyResult.load(args.study)
    written = result.to_html(path) if args.format == "html" else result.to_markdown(path)
    return {"text": f"wrote {written}", "data": {"report": str(written)}}


def _allocate(args: argparse.Namespace) -> dict[str, Any]:
    import pandas as pd

    from ._validation import check_output_dir, check_random_state, draw_seed
    from .allocation import compare_policies
    from .datasets import simulate_program

    out = check_output_dir(args.output, "output folder") if args.output is not None else None
    names = args.policy or ["fixed", "explore_then_commit", "thompson"]
    policies = {name: _policy_named(name, min_share=args.min_share) for name in dict.fromkeys(names)}
    seed = draw_seed(check_random_state(args.random_state)) if args.random_state is None else args.random_state
    program = simulate_program(args.titles, random_state=seed)
    comparison = compare_policies(program, policies, horizon=args.horizon, batch=args.batch,
                                  replications=args.replications, delay=args.delay, random_state=seed)
    table = comparison.to_frame()
    lines = [comparison.summary(), f"  seed {seed}"]
    files = {}
    if out is not None:
        import matplotlib

        matplotlib.use("Agg")
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "policies.csv", index=False)
        tests = [r.to_frame().assign(policy=name) for name, r in comparison.results.items()]
        pd.concat(tests, ignore_index=True).to_csv(out / "tests.csv", index=False)
        ax = comparison.plot()
        ax.figure.savefig(out / "regret.png", dpi=120)
        files = {k: str(out / k) for k in ("policies.csv", "tests.csv", "regret.png")}
        lines += [f"  wrote {f}" for f in files.values()]
    return {"text": "\n".join(lines), "data": {"seed": seed, "policies": table.to_dict("records"), "files": files}}


def _frames(args: argparse.Namespace) -> dict[str, Any]:
    from ._validation import check_output_dir, make_dirs
    from .frames import discover_frames

    out = check_output_dir(args.output, "frames folder")
    study = None
    if args.study is not None:
        from .study import StudyResult

        study = StudyResult.load(args.study)
    found = discover_frames(list(args.videos), sample_fps=args.sample_fps, top=args.top, per_shot=args.per_shot,
                            study=study, n_jobs=args.n_jobs, progress=not (args.quiet or args.json))
    make_dirs(out, "frames folder")
    found.to_frame().to_csv(out / "frames.csv", index=False)
    found.shots.to_csv(out / "shots.csv", index=False)
    found.characters.to_csv(out / "characters.csv", index=False)
    found.errors.to_csv(out / "errors.csv", index=False)
    sheet = found.to_html(out / "contact_sheet.html")
    stills = found.save_frames(out / "stills")
    text = "\n".join([found.summary(), f"  wrote {out / 'frames.csv'}, shots.csv, characters.csv, errors.csv, {sheet.name} "
                      f"and {len(stills)} stills in {out / 'stills'}"])
    return {"text": text, "data": {"selected": [str(p) for p in stills], "frames": len(found.frames),
                                   "shots": len(found.shots), "characters": found.characters.to_dict("records"),
                                   "contact_sheet": str(sheet), "errors": found.errors.to_dict("records")}}


def _policy_named(name: str, **settings: Any) -> Any:
    from .allocation import POLICIES
    from .exceptions import UnknownNameError

    if name not in POLICIES:
        raise UnknownNameError(f"unknown policy {name!r}; choose from {sorted(POLICIES)}.")
    return POLICIES[name](**settings)


def _evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from .allocation import evaluate_policy
    from .experiments import read_table

    if args.policy is not None:
        target = _policy_named(args.policy)
    else:
        target, _ = read_table(args.target, what="target policy", id_columns=["test_id", "cell_id"],
                               required=["test_id", "cell_id", "probability"])
    values = [evaluate_policy(args.log, target, method=m, interval=args.interval, level=args.level,
                              random_state=args.random_state) for m in (args.method or ["dr"])]
    text = "\n".join(v.summary() for v in values)
    return {"text": text, "data": {"estimates": [v.to_dict() for v in values]}}


def _allocate_command(args: argparse.Namespace) -> dict[str, Any]:
    return {"simulate": _allocate, "evaluate": _evaluate}[args.action](args)


_COMMANDS = {"allocate": _allocate_command, "frames": _frames,
             "simulate": _simulate, "validate": _validate, "extract": _extract, "analyze": _analyze, "report": _report,
             "demo": _demo}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

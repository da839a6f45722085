"""Property-based fuzzing of every entry point that reads what users hand us.

The property is the same everywhere: bad input gives a CreativeCausalError (one line in the
CLI, with what to do), never another exception. Any other exception is a bug; each one found
has a regression test in tests/test_hostile_inputs.py. Runs are derandomized so CI is
repeatable; raise ``max_examples`` locally to search longer (``--hypothesis-seed`` or
``HYPOTHESIS_PROFILE=long``).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creative_causal import ABResults, CausalGraph, read_ab_results
from creative_causal.exceptions import CreativeCausalError
from creative_causal.features import decode_file, extract_features
from creative_causal.study import StudyResult

settings.register_profile("ci", max_examples=120, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("long", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _only_our_errors(call):
    """Run ``call``; a CreativeCausalError is an acceptable answer to bad input, anything else is a bug."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings about the data are answers too
        try:
            return call()
        except CreativeCausalError:
            return None


# ---------------------------------------------------------------------------- A/B tables
_cells = st.one_of(
    st.integers(min_value=-3, max_value=10**6), st.integers(min_value=2**62, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e300, -0.5, 2.5, 0.0]),
    st.text(max_size=6), st.sampled_from(["NA", "null", "None", " t1", "t1 ", "", "1e400", "0x10"]),
    st.none(), st.booleans(), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(),
                                                                                    max_size=1),
)
_COLUMNS = ["test_id", "cell_id", "artwork_id", "impressions", "plays", "genre", "is_control", "planned_share"]


@st.composite
def ab_frames(draw):
    n = draw(st.integers(min_value=0, max_value=6))
    columns = draw(st.lists(st.sampled_from(_COLUMNS), min_size=3, max_size=len(_COLUMNS), unique=True))
    data = {c: draw(st.lists(_cells, min_size=n, max_size=n)) for c in columns}
    # half the time, plausible counts so validation gets past the first checks
    if "impressions" in data and draw(st.booleans()):
        data["impressions"] = draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n))
    if "plays" in data and draw(st.booleans()):
        data["plays"] = draw(st.lists(st.integers(0, 50), min_size=n, max_size=n))
    return pd.DataFrame(data, dtype=object) if draw(st.booleans()) else pd.DataFrame(data)


@given(ab_frames())
def test_from_frame_answers_with_our_errors_only(frame):
    result = _only_our_errors(lambda: ABResults.from_frame(frame))
    if result is not None:  # what loads is sane: counts exact and positive, rates in [0, 1]
        cells = result.to_frame()
        assert (cells["impressions"] > 0).all() and (cells["plays"] >= 0).all()
        assert cells["take_rate"].between(0, 1).all()
        _only_our_errors(result.report)
        _only_our_errors(result.lifts)


_GOOD_CSV = ("test_id,cell_id,artwork_id,impressions,plays,genre\n"
             "t1,1,a,1000,50,drama\nt1,2,b,1000,60,drama\nt2,1,c,800,20,kids\nt2,2,d,820,31,kids\n")


@st.composite
def mutated_bytes(draw, base: bytes):
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "prefix"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[at:at + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del data[at:]
        else:
            data[:0] = draw(st.sampled_from([b"PK\x03\x04", b"\x1f\x8b", b"PAR1", b"\xef\xbb\xbf", b"\xff\xfe"]))
    return bytes(data)


def _parquet_bytes() -> bytes:
    buf = io.BytesIO()
    pd.read_csv(io.StringIO(_GOOD_CSV)).to_parquet(buf, index=False)
    return buf.getvalue()


@given(st.one_of(mutated_bytes(_GOOD_CSV.encode()), mutated_bytes(_GOOD_CSV.replace(",", "\t").encode()),
                 mutated_bytes(_GOOD_CSV.replace(",", ";").encode()), mutated_bytes(_parquet_bytes()),
                 st.binary(max_size=200)),
       st.sampled_from([".csv", ".tsv", ".parquet", ".csv.gz", ".txt"]))
def test_read_ab_results_answers_with_our_errors_only(tmp_path_factory, content, suffix):
    path = tmp_path_factory.mktemp("ab") / f"results{suffix}"
    path.write_bytes(content)
    _only_our_errors(lambda: read_ab_results(path))


@given(mutated_bytes(_GOOD_CSV.encode()))
def test_impression_logs_answer_with_our_errors_only(tmp_path_factory, content):
    log = "test_id,cell_id,artwork_id,played\n" + "".join(f"t{i % 2},{i % 3},a{i % 3},{i % 2}\n" for i in range(12))
    path = tmp_path_factory.mktemp("log") / "log.csv"
    path.write_bytes(content if content != _GOOD_CSV.encode() else log.encode())
    _only_our_errors(lambda: ABResults.from_impressions(path))


# ---------------------------------------------------------------------------- graphs
_dot_tokens = st.one_of(
    st.sampled_from(["digraph", "graph", "strict", "subgraph", "node", "edge", "{", "}", "[", "]", ";", ",", "=", ":",
                     "->", "--", '"', "<", ">", "/*", "*/", "//", "#", "\n", " ", "\\"]),
    st.from_regex(r"[A-Za-z_][A-Za-z_0-9]{0,6}", fullmatch=True), st.text(max_size=4),
    st.from_regex(r'"[^"\\]{0,5}"', fullmatch=True), st.sampled_from(["ünï", "数据", "a b", "-1.5", ".5"]),
)


@given(st.lists(_dot_tokens, max_size=30).map(" ".join), st.booleans())
def test_dot_parsing_answers_with_our_errors_only(text, wrap):
    source = f"digraph {{ {text} }}" if wrap else text
    graph = _only_our_errors(lambda: CausalGraph.from_dot(source))
    if graph is not None:  # what parses round-trips
        assert CausalGraph.from_dot(graph.to_dot()) == graph


_names = st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z_0-9]{0,5}", fullmatch=True), st.text(min_size=1, max_size=6),
                   st.sampled_from(["node", "edge", "Graph", "a b", 'quo"te', "back\\slash", "ünïcødé", "-1"]))


@given(st.lists(st.tuples(_names, _names), max_size=12), st.lists(_names, max_size=3))
def test_any_acyclic_graph_round_trips_through_dot(edges, latent):
    import networkx as nx

    g = nx.DiGraph()
    for a, b in edges:
        if a.strip() and b.strip() and a != b:
            g.add_edge(a, b)
            if not nx.is_directed_acyclic_graph(g):
                g.remove_edge(a, b)
    latent = [n for n in latent if n in g]
    graph = CausalGraph(g, latent=latent)
    assert CausalGraph.from_dot(graph.to_dot()) == graph
    assert CausalGraph.from_gml(graph.to_gml()) == graph


@given(st.one_of(st.text(max_size=80), mutated_bytes(b'graph [ directed 1 node [ id 0 label "a" ] node [ id 1 label '
                                                      b'"b" ] edge [ source 0 target 1 ] ]').map(
    lambda b: b.decode("utf-8", errors="replace"))))
def test_gml_parsing_answers_with_our_errors_only(text):
    _only_our_errors(lambda: CausalGraph.from_gml("graph [ " + text if not text.startswith("graph") else text))


@given(st.binary(max_size=64), st.sampled_from([".dot", ".gml", ".gv"]))
def test_graph_files_answer_with_our_errors_only(tmp_path_factory, content, suffix):
    path = tmp_path_factory.mktemp("g") / f"graph{suffix}"
    path.write_bytes(content)
    _only_our_errors(lambda: CausalGraph.read(path))


# ---------------------------------------------------------------------------- saved studies
@pytest.fixture(scope="module")
def saved_study(tmp_path_factory):
    from sklearn.linear_model import LinearRegression

    from creative_causal import CreativeStudy, simulate_program

    program = simulate_program(40, random_state=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CreativeStudy(program.ab_results(check_srm=False), program.artworks, treatments=["has_face", "smile"],
                               model_y=LinearRegression(), model_t=LinearRegression(), estimand="plr", n_simulations=20,
                               random_state=0).run()
    return result.save(tmp_path_factory.mktemp("study") / "study")


_TAMPER = st.sampled_from(["delete", "empty", "garbage", "cell", "header", "json_type", "json_drop", "json_text",
                           "directory"])


# each example loads a study and renders its reports: the slowest property, a tenth of the others' examples
@settings(max_examples=max(settings.default.max_examples // 3, 40) if os.environ.get("HYPOTHESIS_PROFILE") else 40)
@given(st.lists(st.tuples(_TAMPER, st.integers(0, 10**6), st.one_of(st.text(max_size=8), st.integers(), st.none(),
                                                                      st.floats(), st.lists(st.integers(), max_size=2))),
                min_size=1, max_size=3))
def test_loading_a_tampered_study_answers_with_our_errors_only(saved_study, tmp_path_factory, edits):
    folder = tmp_path_factory.mktemp("tampered") / "study"
    shutil.copytree(saved_study, folder)
    files = sorted(folder.iterdir())
    for kind, pick, value in edits:
        target = files[pick % len(files)]
        if not target.is_file():
            continue  # an earlier edit deleted it or made it a directory
        if kind == "delete":
            target.unlink()
        elif kind == "empty":
            target.write_bytes(b"")
        elif kind == "garbage":
            target.write_bytes(str(value).encode() + b"\x00\xff\xfe garbage")
        elif kind == "directory":
            target.unlink()
            target.mkdir()
        elif kind in ("cell", "header") and target.suffix == ".csv" and target.read_bytes().strip():
            try:
                frame = pd.read_csv(target, dtype=str, keep_default_na=False)
            except (pd.errors.ParserError, UnicodeDecodeError):
                continue  # an earlier edit already broke it
            if len(frame.columns):
                column = frame.columns[pick % len(frame.columns)]
                if kind == "header":
                    frame = frame.rename(columns={column: str(value)})
                elif len(frame):
                    frame.loc[pick % len(frame), column] = str(value)
                frame.to_csv(target, index=False)
        elif kind.startswith("json"):
            config_path = folder / "config.json"
            if config_path.is_file():
                try:
                    config = json.loads(config_path.read_text(encoding="utf-8"))
                except (ValueError, UnicodeDecodeError):
                    continue
                if not isinstance(config, dict) or not config:
                    continue
                key = sorted(config)[pick % len(config)]
                if kind == "json_drop":
                    config.pop(key)
                elif kind == "json_type":
                    config[key] = value if not isinstance(value, float) or np.isfinite(value) else None
                config_path.write_text(json.dumps(config) if kind != "json_text" else "{not json", encoding="utf-8")
    loaded = _only_our_errors(lambda: StudyResult.load(folder))
    if loaded is not None:  # a folder that loads renders a report, or says why it cannot
        _only_our_errors(lambda: loaded.to_html(folder.parent / "report.html"))
        _only_our_errors(lambda: loaded.to_markdown(folder.parent / "report.md"))
        _only_our_errors(loaded.summary)


# ---------------------------------------------------------------------------- images
def _image_bytes(fmt: str) -> bytes:
    import cv2

    rng = np.random.default_rng(0)
    pixels = cv2.GaussianBlur((rng.random((96, 64, 3)) * 255).astype(np.uint8), (9, 9), 3)
    ok, buf = cv2.imencode(fmt, pixels)
    assert ok
    return buf.tobytes()


_IMAGES = {fmt: _image_bytes(fmt) for fmt in (".jpg", ".png", ".webp")}


@given(st.sampled_from(sorted(_IMAGES)).flatmap(lambda fmt: st.tuples(st.just(fmt), mutated_bytes(_IMAGES[fmt]))))
def test_decoding_mutated_images_answers_with_our_errors_only(tmp_path_factory, case):
    fmt, content = case
    path = tmp_path_factory.mktemp("img") / f"poster{fmt}"
    path.write_bytes(content)
    image = _only_our_errors(lambda: decode_file(path))
    if image is not None:
        assert image.rgb.dtype == np.uint8 and image.rgb.ndim == 3 and min(image.rgb.shape[:2]) >= 1


@settings(max_examples=max(settings.default.max_examples // 10, 25))
@given(st.lists(st.sampled_from(sorted(_IMAGES)).flatmap(
    lambda fmt: st.tuples(st.just(fmt), mutated_bytes(_IMAGES[fmt]))), min_size=1, max_size=5))
def test_extraction_never_loses_the_batch(tmp_path_factory, cases):
    folder = tmp_path_factory.mktemp("posters")
    for i, (fmt, content) in enumerate(cases):
        (folder / f"p{i}{fmt}").write_bytes(content)
    (folder / "good.png").write_bytes(_IMAGES[".png"])
    table = extract_features(folder, features=["color", "text"], progress=False)
    assert "good" in table.index
    assert len(table) + len(table.errors) == len(cases) + 1  # every file is a row or an error row


def test_the_fuzz_targets_accept_good_input(tmp_path):
    """The properties are not vacuous: the unmutated inputs load."""
    path = tmp_path / "good.csv"
    path.write_text(_GOOD_CSV)
    assert read_ab_results(path).n_cells == 4
    for fmt, content in _IMAGES.items():
        (tmp_path / f"x{fmt}").write_bytes(content)
        assert decode_file(tmp_path / f"x{fmt}").rgb.shape == (96, 64, 3)
    assert Path(tmp_path).exists()

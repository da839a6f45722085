"""The report's content as a page of sections, independent of the output format.

Every result object becomes a :class:`Page`: a :class:`StudyResult` (or an
:class:`InsightTable`) the full report for creatives; any other result (an
:class:`EffectEstimate`, a :class:`RefutationReport`, a :class:`SensitivityResult` ...) a
section with its summary, table and chart; a list of results one section each. The HTML
template and the Markdown writer both render pages, so they never disagree.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError
from ..study import TOP, StudyResult, discoveries, executive_summary, not_estimated

THUMB_WIDTH = 150
#: How a refutation status reads in the grid.
_MARKS = {"passed": "✓", "failed": "✗", "skipped": "–"}


# ---------------------------------------------------------------------------- the model
@dataclass
class Paragraphs:
    texts: list[str]
    style: str = ""
    kind: str = "paragraphs"


@dataclass
class Sentences:
    texts: list[str]
    kind: str = "list"


@dataclass
class Table:
    frame: pd.DataFrame
    caption: str = ""
    anchor: str = ""
    kind: str = "table"

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    @property
    def rows(self) -> list[list[str]]:
        return [[_text(v) for v in row] for row in self.frame.itertuples(index=False)]


@dataclass
class Figure:
    name: str
    alt: str
    png: bytes
    kind: str = "figure"

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class GridCell:
    status: str
    reason: str

    @property
    def mark(self) -> str:
        return _MARKS.get(self.status, "?")


@dataclass
class Grid:
    """Rows (features) by columns (checks); each cell a status with its reason one click away."""

    row_label: str
    checks: list[str]
    rows: list[tuple[str, list[GridCell | None]]]
    caption: str = ""
    anchor: str = ""
    note: str = ""
    kind: str = "grid"


@dataclass
class Thumbnail:
    artwork_id: str
    caption: str
    jpeg: bytes | None  # None when the image could not be read

    @property
    def data_uri(self) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(self.jpeg).decode("ascii") if self.jpeg else ""


@dataclass
class ThumbGroup:
    label: str
    items: list[Thumbnail]


@dataclass
class Thumbnails:
    feature: str
    groups: list[ThumbGroup]
    kind: str = "thumbnails"


@dataclass
class Section:
    id: str
    title: str
    items: list[Any] = field(default_factory=list)
    nav: str = ""


@dataclass
class Page:
    title: str
    lede: str
    sections: list[Section]
    footer: str = ("Made by creative_causal. Estimates compare artworks within the same test (double machine learning: "
                   "doubly robust average effects for on/off features, partially linear coefficients for continuous "
                   "ones; errors clustered by test); see the documentation for the methods and their assumptions.")

    def figures(self) -> list[Figure]:
        return [item for s in self.sections for item in s.items if isinstance(item, Figure)]


#: The estimand column of the insight table, for readers.
ESTIMAND_LABELS = {"ate": "over all artwork (ATE)", "att": "where used (ATT)", "ato": "overlap-weighted (ATO)",
                   "plr": "weighted (partially linear)", "difference": "unadjusted"}


def _text(value: Any) -> str:
    """A table cell as text: numbers to 4 significant digits, missing values empty."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


# ---------------------------------------------------------------------------- figures
def draw(name: str, alt: str, painter: Callable[[Any], None], size: tuple[float, float]) -> Figure:
    """Draw with ``painter(fig)`` on a figure of its own and keep the PNG. Uses
    matplotlib's object API (no pyplot): the caller's backend and open figures are untouched."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=size, layout="constrained")
    painter(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return Figure(name, alt, buf.getvalue())


# ---------------------------------------------------------------------------- pages
def build_page(result: Any) -> Page:
    """The page of any result object (or of a list of them)."""
    from ..insights import InsightTable

    if isinstance(result, StudyResult):
        return study_page(result)
    if isinstance(result, InsightTable):
        return study_page(StudyResult.from_insights(result))
    results = list(result) if isinstance(result, (list, tuple)) else [result]
    if not results:
        raise InvalidParameterError("nothing to report: pass a result object or a non-empty list of them.")
    sections = [result_section(r, f"result-{i + 1}") for i, r in enumerate(results)]
    levels = sorted({_level(r) for r in results if _level(r) is not None})
    lede = (f"{len(results)} results. " if len(results) > 1 else "") + (
        f"{', '.join(f'{lv:.0%}' for lv in levels)} intervals." if levels else "")
    return Page("Causal analysis of artwork features", lede.strip(), sections)


def _level(result: Any) -> float | None:
    level = getattr(result, "level", None)
    if level is None and getattr(result, "estimate", None) is not None:
        level = getattr(result.estimate, "level", None)
    return float(level) if isinstance(level, (int, float)) else None


def result_section(result: Any, anchor: str) -> Section:
    """One result: its summary, its table and its chart."""
    for method in ("summary", "to_frame", "plot"):
        if not callable(getattr(result, method, None)):
            raise InvalidParameterError(f"cannot report a {type(result).__name__}: results need summary(), to_frame() "
                                        "and plot() (pass an EffectEstimate, RefutationReport, SensitivityResult, "
                                        "MediationResult, CATEResult, OverlapDiagnostics, InsightTable or StudyResult).")
    lines = result.summary().splitlines()
    title = getattr(result, "_card_title", lambda: type(result).__name__)()
    items: list[Any] = [Paragraphs([line.strip() for line in lines if line.strip()])]
    from ..refutation import RefutationReport

    if isinstance(result, RefutationReport):
        items.append(refutation_grid(pd.concat([result.to_frame().assign(feature=result.estimate.treatment)]), ""))
    else:
        items.append(Table(result.to_frame()))
    items.append(draw(anchor, f"{title}: chart", lambda fig: result.plot(fig.add_subplot()), (7, 3.2)))
    return Section(anchor, title, items)


def study_page(result: StudyResult) -> Page:
    """The full report for creatives."""
    cfg = result.config
    level = result.level
    summary = executive_summary(result)
    sections = [
        Section("summary", "Executive summary", [Paragraphs(summary[:-1]), Paragraphs([summary[-1]], style="caveat")],
                nav="Summary"),
        _insights_section(result),
        _examples_section(result),
        _allocation_section(result),
        _graph_section(result),
        _checks_section(result),
        _quality_section(result),
    ]
    lede = (f"Causal insights from {cfg.get('n_cells', '?')} artworks in {cfg.get('n_tests', '?')} A/B tests. "
            f"{level:.0%} intervals throughout.")
    return Page("What in the artwork makes people choose a title?", lede, sections)


def _insights_section(result: StudyResult) -> Section:
    level = result.level
    items: list[Any] = [Table(insight_columns(result.insights, level))]
    if "sentence" in result.insights:
        items.append(Sentences([str(s) for s in result.insights["sentence"]]))
    table = result.insights
    if "effect_per_sd" in table and table["effect_per_sd"].notna().any():
        from ..plotting import forest_plot

        n = int(table["effect_per_sd"].notna().sum())
        items.append(draw("forest", "Forest plot of every feature's effect with its interval",
                          lambda fig: forest_plot(table, fig.add_subplot(), level=level), (7, 0.35 * n + 1.4)))
    segments = _segments_figure(result)
    if segments is not None:
        items.append(segments)
    return Section("insights", "Ranked insights", items, nav="Insights")


def insight_columns(table: pd.DataFrame, level: float) -> pd.DataFrame:
    """The ranked insight table as shown to readers: binary features 0 -> 1, continuous ones
    per within-test standard deviation (the same scale as the sentences)."""
    if table.empty or "effect_per_sd" not in table:
        return table[[c for c in ("feature", "sentence") if c in table]]
    out = pd.DataFrame({"rank": np.arange(1, len(table) + 1), "feature": table["feature"].to_numpy()})
    logged = "pct_change" in table and table["pct_change"].notna().any()
    mid, low, high = (table[c].to_numpy(dtype=float) for c in ("effect_per_sd", "per_sd_ci_low", "per_sd_ci_high"))
    if logged:
        # percent to one decimal; values that round to zero print as +0.0%, never -0.0%
        mid, low, high = (np.where(np.abs(p) < 0.05, 0.0, p) for p in (100 * np.expm1(v) for v in (mid, low, high)))
        fmt = "{:+.1f}%"
    else:
        fmt = "{:+.3g}"
    out["effect on take rate" if logged else "effect"] = [fmt.format(v) if np.isfinite(v) else "not estimated"
                                                           for v in mid]
    out[f"{level:.0%} CI"] = [f"{fmt.format(lo)} to {fmt.format(hi)}" if np.isfinite(lo) else ""
                              for lo, hi in zip(low, high)]
    scale = table["scale"].astype(str).to_numpy() if "scale" in table else np.full(len(table), "")
    sd = table["sd"].to_numpy(dtype=float) if "sd" in table else np.full(len(table), np.nan)
    out["for a change of"] = ["0 -> 1" if s == "0 -> 1" else (f"+1 within-test SD ({d:.3g})" if np.isfinite(d) else "")
                              for s, d in zip(scale, sd)]
    if "estimand" in table:
        out["averaged"] = [ESTIMAND_LABELS.get(str(e), _text(e)) for e in table["estimand"]]
    out["q-value"] = [f"{q:.2g}" if np.isfinite(q) else "" for q in table["q_value"].to_numpy(dtype=float)]
    out["finding"] = np.where(table["discovery"].astype(bool).to_numpy(), "yes", "no")
    if "refutation" in table:
        out["refutation"] = [_text(v) for v in table["refutation"]]
    if "robustness_value" in table:
        out["robustness value"] = [f"{v:.0%}" if np.isfinite(v) else ""
                                   for v in table["robustness_value"].to_numpy(dtype=float)]
    return out


def _segments_figure(result: StudyResult) -> Figure | None:
    seg = result.segments
    top = list(discoveries(result)["feature"].head(TOP))
    if seg.empty or not top or "feature" not in seg:
        return None
    from ..plotting import interval_plot

    logged = bool(result.config.get("outcome", "log_take_rate_ratio") in ("log_take_rate_ratio", "log_take_rate"))

    table = result.insights.set_index("feature")

    def paint(fig: Any) -> None:
        for ax, feature in zip(fig.subplots(1, len(top), squeeze=False)[0], top):
            rows = seg[seg["feature"] == feature]
            # the same scale as the table and the sentences: 0 -> 1, or per within-test SD
            binary = str(table.loc[feature, "scale"]) == "0 -> 1"
            sd = 1.0 if binary else float(table.loc[feature, "sd"])
            labels = [str(s) if len(str(s)) <= 24 else str(s)[:22] + "..." for s in rows["segment"]]
            interval_plot(labels, rows["value"] * sd, rows["ci_low"] * sd, rows["ci_high"] * sd, ax,
                          level=result.level, percent=logged, title=f"{feature} ({'0 -> 1' if binary else 'per SD'})",
                          xlabel="take-rate change, %" if logged else "effect")

    return draw("segments", "Effects of the top findings in each segment (binary 0 -> 1, continuous per within-test "
                "SD)", paint, (4.2 * len(top), 3.4))


def _examples_section(result: StudyResult) -> Section:
    groups = thumbnails(result)
    if not groups:
        items: list[Any] = [Paragraphs(["No images were given: pass images= to CreativeStudy (or --images to the CLI) "
                                        "to see the best and worst artworks with and without each finding."],
                                       style="note")]
    else:
        items = groups
    return Section("examples", "Examples from the tests", items, nav="Examples")


def thumbnails(result: StudyResult) -> list[Thumbnails]:
    """For each top finding: the highest- and lowest-performing artworks with and without the
    component (binary: with/without; continuous: top and bottom quarter)."""
    art = result.artworks
    outcome = result.config.get("outcome", "log_take_rate_ratio")
    if art.empty or "image" not in art or outcome not in art:
        return []
    out = []
    for feature in discoveries(result)["feature"].head(TOP):
        if feature not in art:
            continue
        values = pd.to_numeric(art[feature], errors="coerce")
        if set(values.dropna().unique()) <= {0.0, 1.0}:
            split = [(f"with {feature}", art[values == 1]), (f"without {feature}", art[values == 0])]
        else:
            lo, hi = values.quantile([0.25, 0.75])
            split = [(f"high {feature} (top quarter)", art[values >= hi]),
                     (f"low {feature} (bottom quarter)", art[values <= lo])]
        groups = []
        for label, rows in split:
            rows = rows.dropna(subset=["image", outcome]).sort_values(outcome)
            items = []
            for kind, pick in (("best", rows.iloc[::-1].head(2)), ("worst", rows.head(2))):
                for r in pick.to_dict("records"):
                    caption = f"{kind}: {100 * np.expm1(float(r[outcome])):+.0f}% vs its test; {feature} = {r[feature]:.3g}"
                    items.append(Thumbnail(str(r.get("artwork_id", "")), caption, _thumbnail(str(r["image"]))))
            groups.append(ThumbGroup(label, items))
        out.append(Thumbnails(str(feature), groups))
    return out


def _thumbnail(path: str) -> bytes | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((THUMB_WIDTH, int(THUMB_WIDTH * 1.6)))
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=80)
            return buf.getvalue()
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None  # a missing or broken image is shown as such, never fatal


#: Replays behind the report's adaptive-split section (percentile intervals over them), with a
#: fixed seed so the same study always reads the same.
SPLIT_REPLAYS = 100


def _allocation_section(result: StudyResult) -> Section:
    from ..allocation import replay_tests
    from ..exceptions import ExperimentDataError

    cells = result.artworks
    note = ("An adaptive split (Thompson sampling) moves impressions towards the artwork that is doing best while the "
            "test runs: more plays during the test, less evidence about the others.")
    if cells.empty or not {"test_id", "impressions", "plays"} <= set(cells):
        return Section("adaptive-split", "If the tests had split adaptively",
                       [Paragraphs([note, "These results carry no impressions and plays per artwork, so the tests "
                                          "cannot be replayed."], style="note")], nav="Adaptive split")
    try:
        replay = replay_tests(cells, replications=SPLIT_REPLAYS, random_state=0)
    except ExperimentDataError as exc:
        return Section("adaptive-split", "If the tests had split adaptively",
                       [Paragraphs([note, f"The tests cannot be replayed: {exc}"], style="note")], nav="Adaptive split")
    table = replay.to_frame().nlargest(10, "extra_plays")
    shown = pd.DataFrame({
        "test": table["test_id"], "winning artwork": table["winner"], "impressions": table["impressions"].map("{:,}".format),
        "winner's share as run": table["ab_winner_share"].map("{:.0%}".format),
        f"winner's share, adaptive ({replay.level:.0%} interval)": [
            f"{m:.0%} ({lo:.0%} to {hi:.0%})" for m, lo, hi in zip(table["adaptive_winner_share"],
                                                                 table["adaptive_winner_share_ci_low"],
                                                                 table["adaptive_winner_share_ci_high"])],
        "extra plays": table["extra_plays"].map("{:,.0f}".format),
        "same winner": table["same_winner"].map("{:.0%}".format)})
    how = (f"Each test replayed {replay.replications} times with its own impressions in {replay.refreshes} refreshes, "
           "its artworks' take rates drawn from what the test measured; intervals over the replays.")
    items: list[Any] = [Paragraphs([note]), Sentences(replay.sentences()),
                        Table(shown, caption="The 10 tests where adaptive splitting would have gained most",
                              anchor="adaptive-split-table"),
                        draw("adaptive-split", "Share of impressions to the winning artwork, as run and adaptive",
                             lambda fig: replay.plot(fig.add_subplot()), (7, 2.4)),
                        Paragraphs([how + (f" {replay.skipped_tests} tests with fewer than two artworks were left out."
                                           if replay.skipped_tests else "")], style="note")]
    return Section("adaptive-split", "If the tests had split adaptively", items, nav="Adaptive split")


def _graph_section(result: StudyResult) -> Section:
    items: list[Any] = [Paragraphs(["Arrows are the causal assumptions: what is adjusted for comes from this graph. "
                                    "Features are grouped by family; an arrow into a family reaches its features, and "
                                    "dashed arrows come from a hidden cause (the artist's style)."])]
    if result.graph_dot.strip():
        from ..graph import CausalGraph

        graph = CausalGraph.from_dot(result.graph_dot)
        families = feature_families(graph, result.config.get("outcome", "log_take_rate_ratio"))
        items.append(draw("graph", "The causal graph the analysis assumed, features grouped by family",
                          lambda fig: family_graph(graph, families, fig.add_subplot()), (10, 5.8)))
        items.append(Table(pd.DataFrame([dict(family=FAMILY_NAMES.get(name, name), features=", ".join(members),
                                              within=", ".join(f"{a} -> {b}" for a, b in graph.edges
                                                               if a in members and b in members))
                                         for name, members in families.items() if name not in ("title", "outcome",
                                                                                                "hidden")]),
                           caption="Families and the edges inside them", anchor="families"))
    return Section("graph", "The causal graph", items, nav="Graph")


#: Display names of the feature families (the feature catalog's groups).
FAMILY_NAMES = {"faces": "Faces", "color": "Colour", "quality": "Quality", "composition": "Composition",
                "text": "Text", "embedding": "Look (embedding)", "custom": "Your features", "other": "Other features"}


def feature_families(graph: Any, outcome: str) -> dict[str, list[str]]:
    """Nodes by family: ``title`` (title covariates), ``hidden`` (latent), ``outcome`` and the
    feature catalog's groups (unknown features: ``other``)."""
    from ..features import catalog

    group_of = {column: group for column, group, _, _ in catalog()}
    out: dict[str, list[str]] = {}
    for node in graph.nodes:
        role = graph.role(node)
        if node == outcome or role == "outcome":
            family = "outcome"
        elif node in graph.latent:
            family = "hidden"
        elif role == "title" or (role not in ("feature",) and node not in group_of and not graph.parents(node)):
            family = "title"
        else:
            family = group_of.get(node, "other")
        out.setdefault(family, []).append(str(node))
    return out


def family_graph(graph: Any, families: dict[str, list[str]], ax: Any) -> Any:
    """Draw the graph with one box per family and one arrow per pair of connected families."""
    from ..plotting import grouped_graph_plot

    family_of = {n: f for f, members in families.items() for n in members}
    links: dict[tuple[str, str], str] = {}
    for a, b in graph.edges:
        fa, fb = family_of.get(a), family_of.get(b)
        if fa and fb and fa != fb:
            links[(fa, fb)] = "dashed" if fa == "hidden" else "solid"
    labels = {f: ("Title (" + ", ".join(m[:4]) + (" ..." if len(m) > 4 else "") + ")" if f == "title" else
                  "Take rate" if f == "outcome" else "Hidden artist style" if f == "hidden" else
                  FAMILY_NAMES.get(f, f.title()) + "\n" + "\n".join(m[:6]) + (f"\n+{len(m) - 6} more" if len(m) > 6 else ""))
              for f, m in families.items()}
    return grouped_graph_plot(labels, list(links.items()), ax, top=[f for f in ("title", "hidden") if f in families],
                              bottom=["outcome"] if "outcome" in families else [])


def refutation_grid(refutations: pd.DataFrame, caption: str) -> Grid:
    """Feature by check: each cell's status, and its reason one click away."""
    checks = list(dict.fromkeys(refutations["test"])) if "test" in refutations else []
    rows = []
    for feature, group in refutations.groupby("feature", sort=False) if "feature" in refutations else []:
        by_test = {r["test"]: GridCell(str(r.get("status", "")), str(r.get("reason", "")))
                   for r in group.to_dict("records")}
        rows.append((str(feature), [by_test.get(c) for c in checks]))
    return Grid("feature", [c.replace("_", " ") for c in checks], rows, caption=caption, anchor="refutations",
                note="Each check tries to break the estimate; click a verdict for what was done and what came out. A "
                     "passed check found nothing wrong, it does not prove the effect causal.")


def nuisance_table(insights: pd.DataFrame) -> pd.DataFrame:
    """How good each estimate's nuisance models were, out of fold: one row per feature."""
    columns = {"feature": "feature", "estimand": "estimand", "outcome_model": "outcome model",
               "outcome_r2": "outcome R² (out of fold)", "treatment_model": "treatment model",
               "treatment_r2": "treatment R²", "propensity_auc": "propensity AUC",
               "propensity_calibration_error": "calibration error", "share_clipped": "propensities clipped",
               "nuisance_warnings": "warnings"}
    if "outcome_model" not in insights:
        return pd.DataFrame()
    rows = insights[insights["outcome_model"].notna()]
    out = rows[[c for c in columns if c in rows]].rename(columns=columns)
    if "propensities clipped" in out:
        out["propensities clipped"] = [f"{v:.1%}" if np.isfinite(v) else "" for v in out["propensities clipped"]]
    return out.reset_index(drop=True)


def _checks_section(result: StudyResult) -> Section:
    items: list[Any] = []
    if not result.refutations.empty:
        items.append(refutation_grid(result.refutations, "Refutation checks"))
    nuisances = nuisance_table(result.insights)
    if not nuisances.empty:
        items.append(Table(nuisances, caption="Nuisance models, judged out of fold (chosen per feature by out-of-fold "
                                              "loss; a warning means the adjustment may add noise or the weights "
                                              "may be off)", anchor="nuisance-models"))
    prop = result.propensity
    if not prop.empty and {"feature", "propensity", "treated"} <= set(prop.columns):
        from ..plotting import propensity_plot

        feats = list(dict.fromkeys(prop["feature"]))[:TOP]

        def paint(fig: Any) -> None:
            for ax, feature in zip(fig.subplots(1, len(feats), squeeze=False)[0], feats):
                rows = prop[prop["feature"] == feature]
                propensity_plot(rows["propensity"], rows["treated"], str(feature), ax)

        items.append(draw("overlap", "Propensity overlap of artwork with and without each feature", paint,
                          (3.4 * len(feats), 2.6)))
    med = result.mediation
    if not med.empty and {"value", "effect"} <= set(med.columns):
        rows = med[med["effect"].isin(["total", "direct", "indirect"])]
        if len(rows):
            from ..plotting import interval_plot

            logged = result.config.get("outcome", "log_take_rate_ratio") in ("log_take_rate_ratio", "log_take_rate")
            labels = [f"{t} via {m}: {e}" for t, m, e in zip(rows["treatment"], rows["mediator"], rows["effect"])]
            items.append(draw("mediation", "Total, direct and indirect effects",
                              lambda fig: interval_plot(labels, rows["value"], rows["ci_low"], rows["ci_high"],
                                                        fig.add_subplot(), level=result.level, percent=logged,
                                                        xlabel="take-rate change, %" if logged else "effect"),
                              (6.5, 0.45 * len(rows) + 1.2)))
    for anchor, caption, frame, columns in (
        ("sensitivity", "Sensitivity to unobserved confounding", result.sensitivity,
         ("feature", "e_value", "e_value_ci", "robustness_value", "robustness_value_ci", "sentence")),
        ("mediation-table", "Mediation", result.mediation,
         ("treatment", "mediator", "effect", "value", "ci_low", "ci_high", "verdict", "sentence")),
        ("overlap-table", "Overlap by segment", result.overlap,
         ("feature", "segment", "level", "n_cells", "share_treated", "informative_tests", "overlap")),
    ):
        if not frame.empty:
            items.append(Table(frame[[c for c in columns if c in frame]], caption=caption, anchor=anchor))
    if not result.segments.empty and "feature" in result.segments:
        top = list(discoveries(result)["feature"].head(TOP))
        cols = [c for c in ("feature", "segment", "value", "ci_low", "ci_high", "n_tests", "flagged")
                if c in result.segments]
        items.append(Table(result.segments[result.segments["feature"].isin(top)][cols],
                           caption="Effects by segment (top findings)", anchor="segments"))
    failed = not_estimated(result)
    if len(failed) and "p_value" in result.insights:
        items.append(Table(failed[["feature", "sentence"]].rename(columns={"sentence": "why"}),
                           caption="Features that could not be estimated", anchor="not-estimated"))
    if not items:
        items.append(Paragraphs(["No checks were run (refute=False)."], style="note"))
    return Section("checks", "Checks", items)


def _quality_section(result: StudyResult) -> Section:
    items: list[Any] = [Table(result.data_quality, caption="What was excluded or flagged", anchor="data-quality-table")]
    srm = result.srm
    if not srm.empty and "mismatch" in srm:
        items.append(Table(srm[srm["mismatch"].astype(bool)], caption="Sample-ratio mismatches", anchor="srm"))
    items.append(Table(result.feature_errors, caption="Images that failed feature extraction", anchor="feature-errors"))
    return Section("data-quality", "Data quality", items, nav="Data quality")


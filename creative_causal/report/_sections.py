"""The report's content, independent of the output format: sentences, tables and figures."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Top insights that get thumbnails and per-segment plots.
TOP = 3
THUMB_WIDTH = 150


@dataclass
class Figure:
    """A drawn figure as PNG bytes, with alt text."""

    name: str
    alt: str
    png: bytes


def _draw(name: str, alt: str, draw: Callable[[Any], None], size: tuple[float, float]) -> Figure | None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=size, layout="constrained")
    try:
        draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
    finally:
        plt.close(fig)
    return Figure(name, alt, buf.getvalue())


def discoveries(result: Any) -> pd.DataFrame:
    table = result.insights
    if table.empty or "discovery" not in table:
        return table.iloc[0:0]
    return table[table["discovery"].astype(bool)]


def executive_summary(result: Any) -> list[str]:
    """Plain sentences for creatives: the top findings with their uncertainty, then caveats."""
    cfg = result.config
    found = discoveries(result)
    lines = [f"We compared {cfg.get('n_cells', '?')} artworks across {cfg.get('n_tests', '?')} A/B tests, always "
             f"against other artwork for the same title, and tested {len(result.insights)} visual features; "
             f"{len(found)} have a reliable effect on how often people choose the title "
             f"(false discovery rate {cfg.get('fdr', 0.05):g})."]
    for sentence in found["sentence"].head(TOP):
        lines.append(str(sentence))
    caveats = []
    if "refutation" in result.insights:
        failed = result.insights[result.insights["refutation"].astype(str).str.startswith("failed")]
        if len(failed):
            caveats.append(f"Refutation checks failed for {', '.join(map(str, failed['feature']))}: read those "
                           "findings with caution.")
    fragile = found[found["sentence"].astype(str).str.contains("would explain it away")]
    if len(fragile):
        caveats.append(f"{', '.join(map(str, fragile['feature']))} could be explained by a hidden factor as strong as "
                       "a measured one.")
    dq = result.data_quality
    if not dq.empty and "excluded_from" in dq:
        excluded = dq[dq["excluded_from"].fillna("").astype(str) != ""]
        if len(excluded):
            caveats.append(f"{len(excluded)} data-quality findings removed something from the analysis (see Data "
                           "quality).")
    if not result.feature_errors.empty:
        caveats.append(f"{len(result.feature_errors)} images could not be read and are not in the analysis.")
    caveats.append("These are average effects within tests: a finding says what tends to work for the same title, "
                   "not what every artwork will do; unmeasured differences between artworks can still bias them.")
    return lines + ["Caveats: " + " ".join(caveats)]


def insight_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The ranked insight table as shown to readers."""
    if table.empty:
        return table
    out = pd.DataFrame({"rank": np.arange(1, len(table) + 1), "feature": table["feature"]})
    logged = "pct_change" in table and table["pct_change"].notna().any()
    if logged:
        out["effect (take rate)"] = [f"{v:+.1f}%" if np.isfinite(v) else "" for v in table["pct_change"]]
        out["95% CI"] = [f"{lo:+.1f}% to {hi:+.1f}%" if np.isfinite(lo) else ""
                         for lo, hi in zip(table["pct_ci_low"], table["pct_ci_high"])]
    else:
        out["effect"] = table.get("effect")
    out["per"] = table.get("scale", "")
    out["q-value"] = [f"{q:.2g}" if np.isfinite(q) else "" for q in table["q_value"].astype(float)]
    out["finding"] = np.where(table["discovery"].astype(bool), "yes", "no")
    out["refutation"] = table.get("refutation", "")
    out["robustness value"] = [f"{v:.0%}" if np.isfinite(v) else "" for v in table.get("robustness_value", np.nan)]
    return out


def figures(result: Any) -> list[Figure]:
    """Forest plot, per-segment effects, graph, overlap and mediation figures."""
    from ..graph import CausalGraph
    from ..insights import forest_plot

    out: list[Figure] = []
    table = result.insights
    if "effect_per_sd" in table and table["effect_per_sd"].notna().any():
        n = int(table["effect_per_sd"].notna().sum())
        out.append(_draw("forest", "Forest plot of every feature's effect with its interval",
                         lambda fig: forest_plot(table, fig.add_subplot(), level=result.config.get("level", 0.95)),
                         (7, 0.35 * n + 1.4)))
    seg = result.segments
    top = list(discoveries(result)["feature"].head(TOP))
    if not seg.empty and top:
        def draw_segments(fig: Any) -> None:
            axes = fig.subplots(1, len(top), squeeze=False)[0]
            for ax, feature in zip(axes, top):
                rows = seg[seg["feature"] == feature].iloc[::-1]
                y = np.arange(len(rows))
                to_pct = 100 * np.expm1(rows[["value", "ci_low", "ci_high"]].to_numpy(dtype=float))
                ax.errorbar(to_pct[:, 0], y, xerr=[to_pct[:, 0] - to_pct[:, 1], to_pct[:, 2] - to_pct[:, 0]], fmt="o",
                            color="#1b6ca8", capsize=2)
                ax.axvline(0, color="#999999", linewidth=0.8)
                ax.set_yticks(y, [str(s)[:24] for s in rows["segment"]], fontsize=7)
                ax.set_title(str(feature), fontsize=9)
                ax.set_xlabel("take-rate change, % (95% CI)", fontsize=7)
        out.append(_draw("segments", "Effects of the top findings in each segment", draw_segments, (3.2 * len(top), 3.2)))
    if result.graph_dot:
        graph = CausalGraph.from_dot(result.graph_dot)
        out.append(_draw("graph", "The causal graph the analysis assumed", lambda fig: graph.plot(fig.add_subplot()),
                         (9, 5.5)))
    prop = result.propensity
    if not prop.empty:
        feats = list(dict.fromkeys(prop["feature"]))[:TOP]

        def draw_overlap(fig: Any) -> None:
            axes = fig.subplots(1, len(feats), squeeze=False)[0]
            bins = np.linspace(0, 1, 26)
            for ax, feature in zip(axes, feats):
                rows = prop[prop["feature"] == feature]
                for value, colour, label in ((1, "#d95f02", "with"), (0, "#1b6ca8", "without")):
                    ax.hist(rows.loc[rows["treated"] == value, "propensity"], bins=bins, alpha=0.55, color=colour,
                            label=f"{label} {feature}")
                ax.set_xlabel(f"propensity of {feature}", fontsize=8)
                ax.legend(fontsize=7, frameon=False)
        out.append(_draw("overlap", "Propensity overlap of artwork with and without each feature", draw_overlap,
                         (3.4 * len(feats), 2.6)))
    med = result.mediation
    if not med.empty and "value" in med:
        rows = med[med["effect"].isin(["total", "direct", "indirect"])]

        def draw_mediation(fig: Any) -> None:
            ax = fig.add_subplot()
            labels = [f"{t} via {m}: {e}" for t, m, e in zip(rows["treatment"], rows["mediator"], rows["effect"])][::-1]
            v = 100 * np.expm1(rows[["value", "ci_low", "ci_high"]].to_numpy(dtype=float))[::-1]
            y = np.arange(len(v))
            ax.errorbar(v[:, 0], y, xerr=[v[:, 0] - v[:, 1], v[:, 2] - v[:, 0]], fmt="o", color="#1b6ca8", capsize=3)
            ax.axvline(0, color="#999999", linewidth=0.8)
            ax.set_yticks(y, labels, fontsize=8)
            ax.set_xlabel("take-rate change, % (95% CI)")
        if len(rows):
            out.append(_draw("mediation", "Total, direct and indirect effects", draw_mediation, (6.5, 0.45 * len(rows) + 1)))
    return [f for f in out if f is not None]


@dataclass
class Thumbnail:
    artwork_id: str
    caption: str
    jpeg: bytes | None  # None when the image could not be read


def thumbnails(result: Any) -> dict[str, list[tuple[str, list[Thumbnail]]]]:
    """For each top finding: the highest- and lowest-performing artworks with and without the
    component (binary: with/without; continuous: top and bottom quarter)."""
    art = result.artworks
    outcome = result.config.get("outcome", "log_take_rate_ratio")
    if art.empty or "image" not in art or outcome not in art:
        return {}
    out = {}
    for feature in discoveries(result)["feature"].head(TOP):
        if feature not in art:
            continue
        values = art[feature].astype(float)
        if set(values.dropna().unique()) <= {0.0, 1.0}:
            groups = [(f"with {feature}", art[values == 1]), (f"without {feature}", art[values == 0])]
        else:
            lo, hi = values.quantile([0.25, 0.75])
            groups = [(f"high {feature} (top quarter)", art[values >= hi]),
                      (f"low {feature} (bottom quarter)", art[values <= lo])]
        panels = []
        for label, rows in groups:
            rows = rows.dropna(subset=["image", outcome]).sort_values(outcome)
            picks = [("best", rows.iloc[::-1].head(2)), ("worst", rows.head(2))]
            thumbs = []
            for kind, pick in picks:
                for r in pick.itertuples(index=False):
                    rr = r._asdict()
                    caption = (f"{kind}: {100 * np.expm1(rr[outcome]):+.0f}% vs its test; "
                               f"{feature} = {rr[feature]:.3g}")
                    thumbs.append(Thumbnail(str(rr.get("artwork_id", "")), caption, _thumbnail(str(rr["image"]))))
            panels.append((label, thumbs))
        out[feature] = panels
    return out


def _thumbnail(path: str) -> bytes | None:
    try:
        from PIL import Image

        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((THUMB_WIDTH, int(THUMB_WIDTH * 1.6)))
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=80)
            return buf.getvalue()
    except Exception:  # noqa: BLE001 - a missing or broken image is shown as such, never fatal
        return None


def table_sections(result: Any) -> list[tuple[str, str, pd.DataFrame]]:
    """(id, title, table) for the detail sections."""
    sections = []
    if not result.refutations.empty:
        cols = [c for c in ("feature", "test", "status", "reason") if c in result.refutations]
        sections.append(("refutations", "Refutation checks", result.refutations[cols]))
    if not result.sensitivity.empty:
        cols = [c for c in ("feature", "e_value", "e_value_ci", "robustness_value", "robustness_value_ci", "sentence")
                if c in result.sensitivity]
        sections.append(("sensitivity", "Sensitivity to unobserved confounding", result.sensitivity[cols].round(3)))
    if not result.mediation.empty:
        cols = [c for c in ("treatment", "mediator", "effect", "value", "ci_low", "ci_high", "verdict", "sentence")
                if c in result.mediation]
        sections.append(("mediation", "Mediation", result.mediation[cols].round(4)))
    if not result.segments.empty:
        cols = [c for c in ("feature", "segment", "value", "ci_low", "ci_high", "n_tests", "flagged") if c in result.segments]
        top = list(discoveries(result)["feature"].head(TOP))
        sections.append(("segments", "Effects by segment (top findings)",
                         result.segments[result.segments["feature"].isin(top)][cols].round(4)))
    if not result.overlap.empty:
        cols = [c for c in ("feature", "segment", "level", "n_cells", "share_treated", "informative_tests", "overlap")
                if c in result.overlap]
        sections.append(("overlap", "Overlap by segment", result.overlap[cols].round(3)))
    dq = result.data_quality
    sections.append(("data-quality", "Data quality: what was excluded or flagged", dq))
    srm = result.srm
    if not srm.empty and "mismatch" in srm:
        sections.append(("srm", "Sample-ratio mismatches", srm[srm["mismatch"].astype(bool)]))
    sections.append(("feature-errors", "Images that failed feature extraction", result.feature_errors))
    return sections

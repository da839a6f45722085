"""The self-contained HTML report: inline CSS, images as data URIs, no scripts, no fonts."""

from __future__ import annotations

import base64
import os
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from ._sections import executive_summary, figures, insight_columns, table_sections, thumbnails

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1f2328;
background:#fafafa}
main{max-width:1080px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:1.7em;margin-bottom:0}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:4px}
.lede{color:#555}.summary p{font-size:1.05em;line-height:1.5}.caveat{color:#6a4d00;background:#fff8e1;padding:8px 12px}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f4f6}figure{margin:12px 0}img.plot{max-width:100%}
.thumbs{display:flex;flex-wrap:wrap;gap:16px}.group{border:1px solid #eee;padding:8px}.group h4{margin:0 0 6px}
.thumb{display:inline-block;width:160px;margin:4px;font-size:.75em;vertical-align:top}.thumb img{width:150px}
.missing{width:150px;height:90px;background:#eee;display:flex;align-items:center;justify-content:center}
nav a{margin-right:12px}
"""


def _table(frame: pd.DataFrame) -> str:
    if frame is None or frame.empty:
        return "<p><i>nothing to report</i></p>"
    return frame.to_html(index=False, escape=True, na_rep="", border=0, float_format=lambda v: f"{v:.4g}")


def _img(data: bytes, mime: str, alt: str, cls: str) -> str:
    return f'<img class="{cls}" alt="{escape(alt)}" src="data:{mime};base64,{base64.b64encode(data).decode("ascii")}">'


def render_html(result: Any) -> str:
    """The report as one HTML string."""
    summary = executive_summary(result)
    figs = {f.name: f for f in figures(result)}
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>Artwork insights - creative_causal</title>", f"<style>{_CSS}</style></head><body><main>",
             "<h1>What in the artwork makes people choose a title?</h1>",
             f'<p class="lede">Causal insights from {escape(str(result.config.get("n_cells", "?")))} artworks in '
             f'{escape(str(result.config.get("n_tests", "?")))} A/B tests. 95% intervals throughout.</p>',
             '<nav><a href="#summary">Summary</a><a href="#insights">Insights</a><a href="#examples">Examples</a>'
             '<a href="#graph">Graph</a><a href="#checks">Checks</a><a href="#data-quality">Data quality</a></nav>',
             '<section id="summary" class="summary"><h2>Executive summary</h2>']
    for line in summary[:-1]:
        parts.append(f"<p>{escape(line)}</p>")
    parts.append(f'<p class="caveat">{escape(summary[-1])}</p></section>')
    parts.append('<section id="insights"><h2>Ranked insights</h2>')
    parts.append(_table(insight_columns(result.insights)))
    if "sentence" in result.insights:
        parts.append("<ol>" + "".join(f"<li>{escape(str(s))}</li>" for s in result.insights["sentence"]) + "</ol>")
    for name in ("forest", "segments"):
        if name in figs:
            parts.append(f"<figure>{_img(figs[name].png, 'image/png', figs[name].alt, 'plot')}"
                         f"<figcaption>{escape(figs[name].alt)}</figcaption></figure>")
    parts.append("</section>")
    parts.append('<section id="examples"><h2>Examples from the tests</h2>')
    thumbs = thumbnails(result)
    if not thumbs:
        parts.append("<p><i>No images were given: pass images= to CreativeStudy (or --images to the CLI) to see "
                     "the best and worst artworks with and without each finding.</i></p>")
    for feature, panels in thumbs.items():
        parts.append(f"<h3>{escape(str(feature))}</h3><div class='thumbs'>")
        for label, items in panels:
            parts.append(f"<div class='group'><h4>{escape(label)}</h4>")
            for t in items:
                pic = (_img(t.jpeg, "image/jpeg", f"artwork {t.artwork_id}", "") if t.jpeg
                       else "<div class='missing'>image not readable</div>")
                parts.append(f"<div class='thumb'>{pic}<div>{escape(t.artwork_id)}</div><div>{escape(t.caption)}</div></div>")
            parts.append("</div>")
        parts.append("</div>")
    parts.append("</section>")
    parts.append('<section id="graph"><h2>The causal graph</h2><p>Arrows are the causal assumptions: what is '
                 "adjusted for comes from this graph. Dashed: unobserved.</p>")
    if "graph" in figs:
        parts.append(f"<figure>{_img(figs['graph'].png, 'image/png', figs['graph'].alt, 'plot')}</figure>")
    parts.append("</section><section id='checks'><h2>Checks</h2>")
    for name in ("overlap", "mediation"):
        if name in figs:
            parts.append(f"<figure>{_img(figs[name].png, 'image/png', figs[name].alt, 'plot')}"
                         f"<figcaption>{escape(figs[name].alt)}</figcaption></figure>")
    for anchor, title, frame in table_sections(result):
        if anchor == "data-quality":
            parts.append("</section><section id='data-quality'><h2>Data quality</h2>")
        parts.append(f"<h3 id='{anchor}'>{escape(title)}</h3>{_table(frame)}")
    parts.append("</section><footer><p class='lede'>Made by creative_causal. Estimates compare artworks within the "
                 "same test (double machine learning, errors clustered by test); see the documentation for the "
                 "method and its assumptions.</p></footer></main></body></html>")
    return "\n".join(parts)


def write_html(result: Any, path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(result), encoding="utf-8")
    return out

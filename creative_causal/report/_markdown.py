"""The Markdown report (for wikis and pull requests): figures written beside it as PNG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ._sections import executive_summary, figures, insight_columns, table_sections


def _cell(value: Any) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    # Markdown table cells: escape what would break the table or inject markup
    for char, repl in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;"), ("\n", " ")):
        text = text.replace(char, repl)
    return text


def _table(frame: pd.DataFrame) -> str:
    if frame is None or frame.empty:
        return "_nothing to report_\n"
    frame = frame.round(4) if hasattr(frame, "round") else frame
    head = "| " + " | ".join(_cell(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows]) + "\n"


def write_markdown(result: Any, path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.stem
    summary = executive_summary(result)
    lines = ["# What in the artwork makes people choose a title?", "", "## Executive summary", ""]
    lines += [f"- {_cell(s)}" for s in summary[:-1]] + ["", f"> {_cell(summary[-1])}", "", "## Ranked insights", ""]
    lines.append(_table(insight_columns(result.insights)))
    if "sentence" in result.insights:
        lines += [f"{i}. {_cell(s)}" for i, s in enumerate(result.insights["sentence"], 1)] + [""]
    for fig in figures(result):
        name = f"{stem}_{fig.name}.png"
        (out.parent / name).write_bytes(fig.png)
        lines += [f"![{_cell(fig.alt)}]({name})", ""]
    for _, title, frame in table_sections(result):
        lines += [f"## {_cell(title)}", "", _table(frame)]
    out.write_text("\n".join(lines), encoding="utf-8")
    return out

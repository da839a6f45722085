"""Writing pages: HTML from Jinja2 templates with autoescaping, and Markdown.

Every string from the data reaches the HTML through the template engine's escaping (it is
structural, not a call at each place), and the Markdown through :func:`markdown_text`.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

from .._validation import check_output_file, write_text
from ._page import Figure, Grid, Page, Paragraphs, Sentences, Table, Thumbnails, build_page


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("creative_causal.report", "templates"),
                       autoescape=select_autoescape(["html"], default_for_string=True, default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(result: Any) -> str:
    """The report of ``result`` (any result object, or a list of them) as one HTML string:
    self-contained (plots and thumbnails embedded), no scripts, no remote resources."""
    return _environment().get_template("page.html").render(page=build_page(result))


def to_html(result: Any, path: str | os.PathLike[str]) -> Path:
    """Write the HTML report of ``result`` to ``path`` and return the path.

    ``result`` is a :class:`StudyResult` or :class:`InsightTable` (the full report), any
    other result object (an :class:`EffectEstimate`, :class:`RefutationReport`,
    :class:`SensitivityResult`, :class:`MediationResult`, :class:`CATEResult`,
    :class:`OverlapDiagnostics`), or a list of them.

    Raises
    ------
    OutputPathError
        When the path is a directory or cannot be written (checked before rendering).

    Examples
    --------
    >>> import tempfile
    >>> from creative_causal import estimate_effect, simulate_program
    >>> est = estimate_effect(simulate_program(60, random_state=1).study_data(), "has_face", random_state=0)
    >>> to_html(est, tempfile.mkdtemp() + "/effect.html").suffix
    '.html'
    """
    out = check_output_file(path, "report")
    text = render_html(result)
    return write_text(out, text, "report")


# ---------------------------------------------------------------------------- Markdown
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~=:])")


def markdown_text(value: Any) -> str:
    """Text from the data, inert in Markdown: every punctuation mark that could start a link,
    an image, HTML or a table cell is escaped, and newlines become spaces."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("\n", " ").replace("\r", " ")
    return _MARKDOWN_SPECIAL.sub(lambda m: "&lt;" if m.group(1) == "<" else "&gt;" if m.group(1) == ">"
                                 else "\\" + m.group(1), text)


def _md_table(table: Table) -> list[str]:
    lines = [f"### {markdown_text(table.caption)}", ""] if table.caption else []
    if not table.rows:
        return [*lines, "_nothing to report_", ""]
    lines.append("| " + " | ".join(markdown_text(c) for c in table.columns) + " |")
    lines.append("| " + " | ".join("---" for _ in table.columns) + " |")
    lines += ["| " + " | ".join(markdown_text(v) for v in row) + " |" for row in table.rows]
    return [*lines, ""]


def _md_grid(grid: Grid) -> list[str]:
    lines = [f"### {markdown_text(grid.caption)}", ""] if grid.caption else []
    lines.append("| " + " | ".join(markdown_text(c) for c in [grid.row_label, *grid.checks]) + " |")
    lines.append("| " + " | ".join("---" for _ in range(len(grid.checks) + 1)) + " |")
    reasons = []
    for label, cells in grid.rows:
        lines.append("| " + " | ".join([markdown_text(label)] + [markdown_text(f"{c.mark} {c.status}") if c else ""
                                                                   for c in cells]) + " |")
        reasons += [f"- {markdown_text(label)}, {markdown_text(check)}: {markdown_text(c.reason)}"
                    for check, c in zip(grid.checks, cells) if c]
    return [*lines, "", *reasons, ""]


def render_markdown(result: Any, figure_prefix: str = "report") -> tuple[str, list[tuple[str, bytes]]]:
    """The report as Markdown and the PNG files it links to, as (file name, bytes)."""
    page: Page = build_page(result)
    lines = [f"# {markdown_text(page.title)}", "", markdown_text(page.lede), ""]
    files: list[tuple[str, bytes]] = []
    for section in page.sections:
        lines += [f"## {markdown_text(section.title)}", ""]
        for item in section.items:
            if isinstance(item, Paragraphs):
                lines += [(f"> {markdown_text(t)}" if item.style == "caveat" else markdown_text(t)) for t in item.texts]
                lines.append("")
            elif isinstance(item, Sentences):
                lines += [f"{i}. {markdown_text(t)}" for i, t in enumerate(item.texts, 1)] + [""]
            elif isinstance(item, Table):
                lines += _md_table(item)
            elif isinstance(item, Grid):
                lines += _md_grid(item)
            elif isinstance(item, Figure):
                name = f"{figure_prefix}_{item.name}.png"
                files.append((name, item.png))
                lines += [f"![{markdown_text(item.alt)}]({name})", ""]
            elif isinstance(item, Thumbnails):
                lines += [f"_{markdown_text(item.feature)}: thumbnails are in the HTML report._", ""]
    lines.append(markdown_text(page.footer))
    return "\n".join(lines) + "\n", files


def to_markdown(result: Any, path: str | os.PathLike[str]) -> Path:
    """Write the report as Markdown (for wikis and pull requests), with its figures as PNG
    files beside it; returns the path."""
    out = check_output_file(path, "report")
    text, files = render_markdown(result, figure_prefix=out.stem)
    write_text(out, text, "report")
    for name, data in files:
        (out.parent / name).write_bytes(data)
    return out

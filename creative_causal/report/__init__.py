"""Reports: a result object in, one self-contained HTML page (or Markdown) out.

:func:`to_html` takes a :class:`~creative_causal.study.StudyResult` (the full report for
creatives), an :class:`~creative_causal.insights.InsightTable`, any single result (an
:class:`~creative_causal.estimation.EffectEstimate`, a
:class:`~creative_causal.refutation.RefutationReport` ...) or a list of them, so a user who
ran the steps by hand still gets a report. Pages are built from Jinja2 templates
(``templates/base.html`` is the layout every page shares) with autoescaping on.
"""

from .. import _hooks
from ._render import markdown_text, render_html, render_markdown, to_html, to_markdown

_hooks.register_writer("html", to_html)
_hooks.register_writer("markdown", to_markdown)

__all__ = ["to_html", "to_markdown", "render_html", "render_markdown", "markdown_text"]

"""Reports for creatives: one self-contained HTML file, or Markdown for wikis.

Everything is built from a :class:`StudyResult`'s plain tables, so a saved and re-loaded
study gives the same report. Every string that comes from the data is escaped.
"""

from ._html import write_html
from ._markdown import write_markdown
from ._sections import executive_summary

__all__ = ["write_html", "write_markdown", "executive_summary"]

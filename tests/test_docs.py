"""The documentation site builds without a single warning (mkdocs --strict), so every API
page renders from the docstrings and every internal link resolves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for page in ("index.html", "refutation/index.html", "reference/estimation/index.html"):
        assert (tmp_path / "site" / page).is_file(), page
    api = (tmp_path / "site" / "reference" / "refutation" / "index.html").read_text(encoding="utf-8")
    assert "refute" in api and "robustness_value" in api


def test_readme_quickstart_is_ten_lines_of_valid_python():
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## Quickstart\n\n```python\n(.*?)```", readme, re.S).group(1)
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 10, lines
    compile(code, "README quickstart", "exec")  # it parses; the same calls run end to end in the notebooks (nbmake)

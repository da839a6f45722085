"""Regenerate docs/assets/report.png, the report screenshot shown in the README.

Runs a small study on a simulated programme with rendered posters, writes the HTML report,
screenshots its top in headless Chromium (Debian package ``chromium``) and saves a small
PNG. Run from the repository root:

    python docs/assets/make_report_screenshot.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

OUT = Path(__file__).with_name("report.png")


def main() -> None:
    from PIL import Image

    from creative_causal.datasets import render_posters, simulate_program
    from creative_causal.study import CreativeStudy

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs a headless Chromium: apt-get install chromium")
    work = Path(tempfile.mkdtemp())
    program = simulate_program(150, random_state=8)
    render_posters(program.artworks, work / "posters", size=(200, 300), n_jobs=2, random_state=0)
    result = CreativeStudy(program.ab_results(), program.artworks,
                           treatments=["has_face", "n_faces", "smile", "brightness", "text_area", "symmetry"],
                           images=work / "posters", random_state=0).run()
    page = result.to_html(work / "report.html")
    shot = work / "shot.png"
    subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1100,1500", f"--screenshot={shot}", page.as_uri()], check=True,
                   capture_output=True, timeout=120)
    with Image.open(shot) as im:
        im = im.convert("RGB").resize((660, 900), Image.LANCZOS)
        im = im.quantize(colors=128)
        im.save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()

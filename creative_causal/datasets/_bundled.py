"""The bundled demo programme and writing programmes to plain files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._simulate import SimulatedProgram, simulate_program, truth_to_json

#: Arguments of the programme committed in ``data/synthetic/`` (see its README).
DEMO_ARGS: dict[str, Any] = dict(n_titles=300, single_cell_share=0.02, srm_share=0.01, srm_size=0.10, random_state=20230111)

#: Float format of written CSVs: 8 significant digits are far below sampling noise and
#: keep the files identical across platforms whose math libraries differ in the last bit.
FLOAT_FORMAT = "%.8g"


def load_demo_program() -> SimulatedProgram:
    """The demo programme bundled in ``data/synthetic/`` (300 titles, about 1 200 cells).

    It is rebuilt from :data:`DEMO_ARGS`; a test asserts that the committed files equal
    this output, so the files and this function always agree.

    Examples
    --------
    >>> p = load_demo_program()
    >>> p.config["n_titles"]
    300
    """
    return simulate_program(**DEMO_ARGS)


def write_program(program: SimulatedProgram, directory: str | os.PathLike[str]) -> dict[str, Path]:
    """Write a programme as ``cells.csv``, ``artworks.csv``, ``titles.csv`` and ``truth.json``.

    Returns the paths written. Existing files of those names are overwritten.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("cells.csv", "artworks.csv", "titles.csv", "truth.json")}
    program.cells.to_csv(paths["cells.csv"], index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    program.artworks.to_csv(paths["artworks.csv"], float_format=FLOAT_FORMAT, lineterminator="\n")
    program.titles.to_csv(paths["titles.csv"], index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    paths["truth.json"].write_text(truth_to_json(program.truth, program.config), encoding="utf-8")
    return paths

"""Data with known truth: the programme simulator, the bundled demo data, rendered posters and
videos, public benchmarks with known effects (read from installed packages), and
observational studies drawn from randomised experiments."""

from ._bundled import DEMO_ARGS, load_demo_program, write_program
from ._osrct import observational_sample
from ._public import (
    DOUBLEML_DESIGNS,
    BenchmarkData,
    load_acic2016,
    load_doubleml_design,
    load_ihdp,
    load_lalonde,
    load_village_experiment,
)
from ._render import PORTRAITS, TURNED_PORTRAITS, check_poster_size, render_poster, render_posters, rendered_unit, shut_eyes
from ._simulate import (
    DEFAULT_EFFECTS,
    FEATURES,
    GENRES,
    TRUE_EDGES,
    ProgramTruth,
    SimulatedProgram,
    simulate_program,
)
from ._video import VideoTruth, render_video

__all__ = ["simulate_program", "SimulatedProgram", "ProgramTruth", "load_demo_program", "write_program", "DEMO_ARGS",
           "DEFAULT_EFFECTS",
           "FEATURES", "GENRES", "TRUE_EDGES", "render_poster", "render_posters", "rendered_unit", "check_poster_size",
           "render_video", "VideoTruth", "PORTRAITS", "TURNED_PORTRAITS",
           "shut_eyes", "observational_sample", "BenchmarkData", "load_ihdp", "load_acic2016", "load_lalonde",
           "load_village_experiment", "load_doubleml_design", "DOUBLEML_DESIGNS"]

"""Rewrite the bundled demo programme in this folder: python data/synthetic/regenerate.py

The files are exactly what creative_causal.datasets.load_demo_program() returns; a test
(tests/test_simulate.py::test_bundled_data_regenerates_exactly) checks it.
"""

from pathlib import Path

from creative_causal.datasets import load_demo_program, write_program

if __name__ == "__main__":
    for path in write_program(load_demo_program(), Path(__file__).resolve().parent).values():
        print(f"wrote {path}")

"""Regenerate the case studies in this folder: ``python -m casestudies.regenerate [--only NAME]``.

The work (running each recipe, publishing, the drift report, the READMEs) lives in
``reference_workloads.provenance.casestudies``, which ``ai4s casestudies`` runs too; this
script only points it at this folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reference_workloads.provenance.casestudies import CASE_STUDIES, regenerate

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(CASE_STUDIES))
    parser.add_argument("--recipe", default=None)
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    options = parser.parse_args()
    regenerate(options.only or list(CASE_STUDIES), runs_root=options.runs, dest_root=HERE, recipe=options.recipe)


if __name__ == "__main__":
    main()

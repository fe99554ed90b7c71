"""The workloads the kit ships: CLI name -> package (each has recipes, pipeline, summary)."""

from __future__ import annotations

WORKLOADS = {
    "climate": "reference_workloads.climate",
    "drug-discovery": "reference_workloads.drug_discovery",
}

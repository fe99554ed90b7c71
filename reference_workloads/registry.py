"""The workloads the kit ships: name -> package. Read by the CLI and the case studies."""

from __future__ import annotations

WORKLOADS: dict[str, str] = {
    "climate": "reference_workloads.climate",
    "drug-discovery": "reference_workloads.drug_discovery",
}

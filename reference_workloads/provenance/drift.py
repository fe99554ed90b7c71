"""The drift report: each regenerated headline number against the recorded one, under the
tolerance the workload declares for it next to its headline (``summary.TOLERANCES``)."""

from __future__ import annotations

import json
import math
from typing import Any

AGREES, DRIFTS, NEW, GONE = "agrees", "DRIFTS", "new", "gone"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flatten(item, f"{prefix}{key}.").items()}
    return {prefix[:-1]: value}


def tolerance_for(key: str, tolerances: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The tolerance declared for ``key`` or its closest parent; undeclared numbers are bitwise."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        declared = tolerances.get(".".join(parts[:end]))
        if declared is not None:
            return declared
    return {"kind": "bitwise"}


def within(recorded: Any, regenerated: Any, tolerance: dict[str, Any]) -> bool:
    if isinstance(recorded, list) and isinstance(regenerated, list) and tolerance["kind"] != "bitwise":
        # an interval [low, high] is two numbers under one tolerance
        return len(recorded) == len(regenerated) and all(
            within(a, b, tolerance) for a, b in zip(recorded, regenerated, strict=True))
    if tolerance["kind"] == "bitwise" or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                                 for v in (recorded, regenerated)):
        return json.dumps(recorded) == json.dumps(regenerated)
    if math.isnan(recorded) or math.isnan(regenerated):
        return math.isnan(recorded) and math.isnan(regenerated)
    if tolerance["kind"] == "rtol":
        return abs(regenerated - recorded) <= tolerance["rtol"] * abs(recorded)
    if tolerance["kind"] == "atol":
        return abs(regenerated - recorded) <= tolerance["atol"]
    raise ValueError(f"tolerance kind={tolerance['kind']!r} is invalid: expected bitwise, rtol or atol")


def describe_tolerance(tolerance: dict[str, Any]) -> str:
    kind = tolerance["kind"]
    return kind if kind == "bitwise" else f"{kind} {tolerance[kind]:g}"


def drift_rows(recorded: dict[str, Any] | None, regenerated: dict[str, Any],
               tolerances: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per headline number: recorded, regenerated, tolerance and verdict."""
    old, new = flatten(recorded or {}), flatten(regenerated)
    rows = []
    for key in sorted(set(old) | set(new)):
        tolerance = tolerance_for(key, tolerances)
        if key not in old:
            status = NEW
        elif key not in new:
            status = GONE
        else:
            status = AGREES if within(old[key], new[key], tolerance) else DRIFTS
        rows.append({"number": key, "recorded": old.get(key), "regenerated": new.get(key),
                     "tolerance": describe_tolerance(tolerance), "status": status})
    return rows


def drift_report(recorded_summary: dict[str, Any] | None, regenerated: dict[str, Any],
                 tolerances: dict[str, dict[str, Any]]) -> dict[str, Any]:
    rows = drift_rows((recorded_summary or {}).get("headline"), regenerated, tolerances)
    return {
        "against": {k: (recorded_summary or {}).get(k) for k in ("identifier", "code_version", "regenerated")},
        "agrees": all(r["status"] == AGREES for r in rows) and recorded_summary is not None,
        "rows": rows,
    }

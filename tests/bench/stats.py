"""Interleaved timing and the intervals the bench reports; cheap, so unit-tested.

Every ratio is a paired one: variants are timed alternately within each repeat (and the
order flips every repeat, A B / B A, so a slow drift of a shared machine hits both), the
ratio is taken per repeat, and its interval is a percentile bootstrap of the median of those
per-repeat ratios (``interval_kind = "bootstrap95_median_of_paired_ratios"``).
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

MIN_REPEATS = 10
BOOTSTRAP = "bootstrap95_median_of_paired_ratios"
BOOTSTRAP_DIFF = "bootstrap95_median_of_paired_differences"
CATALOGUE = Path(__file__).resolve().parents[2] / "conformance" / "catalogue.yaml"
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq,
}

Timed = Callable[[], float | None]


def interleaved(variants: Mapping[str, Timed], repeats: int, *, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds per call of each variant, ``repeats`` times, alternating; the order flips per repeat.

    A variant may return its own measured seconds (to leave its set-up out); otherwise the
    wall time of the call is taken. ``warmup`` untimed rounds come first.
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats} is invalid: expected an integer >= 1")
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            started = time.perf_counter()
            measured = variants[name]()
            times[name].append(float(measured) if measured is not None else time.perf_counter() - started)
    return times


def bootstrap_median(values: Sequence[float], *, draws: int = 4000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the median of ``values``."""
    data = np.asarray(values, dtype=np.float64)
    if data.size < 2:
        raise ValueError(f"values has {data.size} entries, which is invalid: expected at least 2 for an interval")
    rng = np.random.default_rng(seed)
    medians = np.median(rng.choice(data, size=(draws, data.size), replace=True), axis=1)
    return float(np.percentile(medians, 2.5)), float(np.percentile(medians, 97.5))


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> tuple[float, tuple[float, float]]:
    """Median of per-repeat ratios and its bootstrap interval."""
    if len(numerator) != len(denominator):
        raise ValueError(f"{len(numerator)} numerators and {len(denominator)} denominators are invalid: "
                         "expected paired samples of equal length")
    ratios = np.asarray(numerator, dtype=np.float64) / np.asarray(denominator, dtype=np.float64)
    return float(np.median(ratios)), bootstrap_median(ratios)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, tuple[float, float]]:
    """Median of per-repeat differences ``a - b`` and its bootstrap interval."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} and {len(b)} samples are invalid: expected paired samples of equal length")
    differences = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return float(np.median(differences)), bootstrap_median(differences)


def target(requirement: str, catalogue: Path = CATALOGUE) -> dict[str, Any] | None:
    """The ``target`` ({metric, op, value}) of ``requirement`` in the catalogue, None if it has none."""
    data = yaml.safe_load(catalogue.read_text())
    for entry in data.get("requirements", []):
        if entry.get("id") == requirement:
            return entry.get("target")
    return None


def verdict(value: float | None, interval: Sequence[float] | None, goal: dict[str, Any] | None,
            metric: str) -> tuple[bool | None, str]:
    """Met or not against the catalogue's target, and a sentence saying by how much."""
    if goal is None:
        return None, "the catalogue in this checkout has no target for this requirement"
    if goal.get("metric") != metric:
        return None, f"the catalogue's target is on metric {goal.get('metric')!r}, not {metric!r}"
    if value is None:
        return None, "not measured"
    op, bound = goal["op"], float(goal["value"])
    met = OPS[op](value, bound)
    spread = f" (95 % interval {interval[0]:.4g} to {interval[1]:.4g})" if interval else ""
    if met:
        return True, f"{metric} = {value:.4g}{spread} meets {op} {bound:g}"
    return False, f"{metric} = {value:.4g}{spread} misses {op} {bound:g} by {abs(value - bound):.4g}"


def entry(*, requirement: str | None, metric: str, value: float | None, unit: str,
          interval: Sequence[float] | None, interval_kind: str | None, repeats: int, why: str = "",
          **details: Any) -> dict[str, Any]:
    """One result in the shape of ``bench/results.json``; ``met`` comes from the catalogue."""
    met, verdict_text = verdict(value, interval, target(requirement), metric) if requirement else (None, "")
    return {"requirement": requirement, "metric": metric, "value": value, "unit": unit,
            "interval": list(interval) if interval is not None else None, "interval_kind": interval_kind,
            "repeats": repeats, "met": met, "why": "; ".join(p for p in (verdict_text, why) if p), **details}


def not_measured(requirement: str | None, metric: str, why: str) -> dict[str, Any]:
    return entry(requirement=requirement, metric=metric, value=None, unit="", interval=None, interval_kind=None,
                 repeats=0, why=why)

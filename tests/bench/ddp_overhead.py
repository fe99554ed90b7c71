"""AI4S-PERF-002: DDP training throughput with the kit's instrumentation on against off.

Two gloo processes train the ``ci_tiny`` emulator on its own simulated ensemble; epochs with
and without instrumentation alternate inside one torchrun job (see ``ddp_worker``). The
overhead is ``1 - samples/s(on) / samples/s(off)`` = ``1 - t_off / t_on`` per repeat pair.
``ci_tiny`` has the kit's shortest epoch, so its per-epoch instrumentation weighs most there:
a bound for the larger recipes. MLflow tracking is not in the loop because the kit logs a
run once, after training (the track stage), never per epoch.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from reference_workloads.climate.recipes import book
from reference_workloads.climate.simulation.dataset import build_dataset, write_dataset
from reference_workloads.climate.simulation.ensemble import serial_ensemble
from reference_workloads.core import launch
from reference_workloads.core.atomic import write_json
from reference_workloads.core.recipes import recipe_dict
from tests.bench.otlp_sink import OtlpSink
from tests.bench.stats import BOOTSTRAP, entry, paired_ratio

REQUIREMENT = "AI4S-PERF-002"
METRIC = "ddp_instrumentation_overhead"
NPROC = 2
EPOCH_PAIRS = 30


def measure(repeats: int) -> list[dict[str, Any]]:
    repeats = max(repeats, EPOCH_PAIRS)  # an epoch pair costs under a second: buy a tighter interval
    recipe = book.get("ci_tiny", ["train.nproc=2"])
    with tempfile.TemporaryDirectory() as name, OtlpSink() as sink:
        scratch = Path(name)
        data = scratch / "ensemble.nc"
        write_dataset(build_dataset(recipe.simulation, serial_ensemble(recipe.simulation), code_version="bench",
                                    nranks=1), data)
        config = scratch / "config.json"
        write_json(config, recipe_dict(recipe))
        launch.torchrun(NPROC, "tests.bench.ddp_worker",
                        ["--config", str(config), "--data", str(data), "--scratch", str(scratch),
                         "--repeats", str(repeats)],
                        timeout=900, env={"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint})
        times = json.loads((scratch / "times.json").read_text())
        posts = sink.posts
    ratio, (low, high) = paired_ratio(times["off"], times["on"])  # t_off / t_on = throughput on / off
    samples = times["samples_per_epoch"]
    return [entry(
        requirement=REQUIREMENT, metric=METRIC, value=1.0 - ratio, unit="fraction of samples/s",
        interval=[1.0 - high, 1.0 - low], interval_kind=BOOTSTRAP, repeats=repeats,
        why=f"ci_tiny epoch ({times['steps_per_epoch']} steps, {samples} samples) on {NPROC} gloo processes; "
            f"on = event log + OTLP gauges per epoch ({posts} OTLP posts received)",
        samples_per_second_off=float(np.median(samples / np.asarray(times["off"]))),
        samples_per_second_on=float(np.median(samples / np.asarray(times["on"]))),
        seconds_off=times["off"], seconds_on=times["on"], otlp_enabled=times["otlp_enabled"],
    )]

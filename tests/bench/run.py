"""Side-by-side performance ratios, measured in one run with interleaved repeats.

The machine may be shared and noisy, so nothing here is an absolute time to compare across
runs: each benchmark times two variants alternately (A B A B ...) and reports the ratio of
their medians, which is what the whitepaper cites.

    python -m tests.bench.run [--repeats 3] [--out runs/bench/bench.json] [--only NAME]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from reference_workloads.core.atomic import write_json
from reference_workloads.core.manifest import code_version, hardware
from tests.bench.serving import serving

console = Console()


def interleaved(a: Callable[[], float | None], b: Callable[[], float | None], repeats: int) -> dict[str, Any]:
    """Time ``a`` and ``b`` alternately; a callable may return its own measured seconds."""
    times: dict[str, list[float]] = {"a": [], "b": []}
    for _ in range(repeats):
        for key, fn in (("a", a), ("b", b)):
            started = time.perf_counter()
            measured = fn()
            times[key].append(measured if measured is not None else time.perf_counter() - started)
    median_a, median_b = statistics.median(times["a"]), statistics.median(times["b"])
    return {"seconds_a": times["a"], "seconds_b": times["b"], "median_a": median_a, "median_b": median_b,
            "ratio_a_over_b": median_a / median_b}


def simulation_scaling(repeats: int) -> dict[str, Any]:
    """MPI strong scaling of the shallow-water ensemble: 1 rank vs 2 ranks (whole job, with start-up)."""
    from reference_workloads.climate.simulation.api import simulate
    from reference_workloads.climate.simulation.config import SimulationConfig

    config = SimulationConfig(nx=128, ny=128, lx=4.0e6, ly=4.0e6, dt=120.0, n_steps=200, save_every=50,
                              n_trajectories=4, seed=3, ranks=2)
    with tempfile.TemporaryDirectory() as scratch:
        hashes: dict[int, str] = {}

        def job(ranks: int) -> Callable[[], None]:
            def run() -> None:
                hashes[ranks] = simulate(config, Path(scratch) / f"r{ranks}.nc", nranks=ranks)
            return run

        result = interleaved(job(1), job(2), repeats)
    result.update({"a": "1 MPI rank", "b": "2 MPI ranks", "meaning": "speed-up of 2 ranks over 1",
                   "grid": [config.ny, config.nx], "identical_dataset_hash": hashes[1] == hashes[2]})
    return result


def ddp_scaling(repeats: int) -> dict[str, Any]:
    """DDP training throughput: 1 process vs 2 processes at the same global batch (epoch time)."""
    from reference_workloads.climate.recipes import book
    from reference_workloads.climate.simulation.dataset import build_dataset, write_dataset
    from reference_workloads.climate.simulation.ensemble import serial_ensemble
    from reference_workloads.core import launch
    from reference_workloads.core.recipes import recipe_dict

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        base = book.get("ci_tiny", ["train.epochs=2", "train.global_batch_size=16"])
        data = scratch / "ensemble.nc"
        write_dataset(build_dataset(base.simulation, serial_ensemble(base.simulation), code_version="bench",
                                    nranks=1), data)

        def job(nproc: int) -> Callable[[], float]:
            def run() -> float:
                recipe = book.get("ci_tiny", ["train.epochs=2", "train.global_batch_size=16", f"train.nproc={nproc}"])
                out = scratch / f"p{nproc}-{time.perf_counter_ns()}"
                config = out / "config.json"
                write_json(config, recipe_dict(recipe))
                launch.torchrun(nproc, "reference_workloads.climate.emulator.train",
                                ["--config", str(config), "--data", str(data), "--out", str(out),
                                 "--eventlog", str(out / "events.log")], timeout=900)
                history = json.loads((out / "training.json").read_text())["history"]
                return history[-1]["seconds"]  # the second epoch: no start-up, no first-touch
            return run

        result = interleaved(job(1), job(2), repeats)
    result.update({"a": "1 DDP process", "b": "2 DDP processes (gloo)",
                   "meaning": "speed-up of 2 processes over 1 for one epoch at global batch 16"})
    return result


def emulator_vs_simulator(repeats: int) -> dict[str, Any]:
    """Time to advance 8 members by one saved interval: simulator (NumPy) vs trained-size FNO."""
    import torch

    from reference_workloads.climate.emulator.model import FourierNeuralOperator
    from reference_workloads.climate.recipes import book
    from reference_workloads.climate.simulation.ensemble import serial_ensemble

    recipe = book.get("laptop")
    interval = recipe.simulation.save_every
    config = dataclasses.replace(recipe.simulation, n_trajectories=8, n_steps=interval, ranks=1)
    torch.set_num_threads(1)
    model = FourierNeuralOperator(width=recipe.emulator.width, modes=recipe.emulator.modes,
                                  layers=recipe.emulator.layers).eval()
    state = torch.randn(config.n_trajectories, 3, config.ny, config.nx)

    def simulator() -> None:
        serial_ensemble(config)

    def emulator() -> None:
        with torch.no_grad():
            model(state)

    result = interleaved(simulator, emulator, repeats)
    result.update({"a": f"simulator, {interval} RK3 steps, 1 core", "b": "FNO, one step, 1 thread",
                   "meaning": "emulator speed-up per saved interval (simulator time includes initialisation)",
                   "grid": [config.ny, config.nx], "members": config.n_trajectories})
    return result


BENCHMARKS: dict[str, Callable[[int], dict[str, Any]]] = {
    "simulation_scaling": simulation_scaling,
    "ddp_scaling": ddp_scaling,
    "emulator_vs_simulator": emulator_vs_simulator,
    "serving": serving,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS))
    parser.add_argument("--out", type=Path, default=Path("runs/bench/bench.json"))
    args = parser.parse_args()
    results: dict[str, Any] = {"code_version": code_version(), "hardware": hardware(), "repeats": args.repeats}
    table = Table("benchmark", "A", "B", "median A (s)", "median B (s)", "A / B")
    for name in args.only or list(BENCHMARKS):
        console.print(f"[bold]{name}[/bold]: {BENCHMARKS[name].__doc__.splitlines()[0]}")
        outcome = BENCHMARKS[name](args.repeats)
        results[name] = outcome
        table.add_row(name, outcome["a"], outcome["b"], f"{outcome['median_a']:.3f}",
                      f"{outcome['median_b']:.3f}", f"{outcome['ratio_a_over_b']:.2f}")
    write_json(args.out, results)
    console.print(table)
    console.print(f"written: {args.out}")


if __name__ == "__main__":
    main()

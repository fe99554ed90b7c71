"""GPU numbers: the h100x1 trainers on the device, and what they achieve against its limits.

    python bench/gpu_check.py [--out bench/gpu_results.json] [--steps 20]

Needs a CUDA device; it is not run in CI (the kit's CI has no GPU). It records the device,
measures the device's own ceilings in this process (a large bf16 / TF32 / fp32 GEMM and a
device-to-device copy) beside the vendor's datasheet numbers when the device is known, then:

1. runs the climate and drug ``train`` functions of the ``h100x1`` recipes for one epoch on
   small inputs of the recipes' shapes (synthetic ensemble members on the 256 x 256 grid;
   600 NCI molecules with a stand-in label), under ``DeviceProbe`` (every parameter, buffer
   and batch on ``cuda``, nothing stopped; compile off there);
2. times the climate emulator's training step at the ``h100x1`` size for precision
   {fp32, bf16} x compile {off, on} x deterministic {on, off}: samples/s, and achieved
   FLOP/s (matmuls and convolutions counted by ``FlopCounterMode``; the FFTs are not
   counted, so it is a lower bound) against the measured and datasheet peaks.

Everything is timed in-process with CUDA events after warm-up steps; compile time is
reported separately.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reference_workloads.climate.emulator.train import _Unroll, build_model, unrolled_loss  # noqa: E402
from reference_workloads.climate.recipes import book as climate_book  # noqa: E402
from reference_workloads.core import compute  # noqa: E402
from reference_workloads.core.device_probe import DeviceProbe  # noqa: E402
from reference_workloads.core.recipes import recipe_dict  # noqa: E402

# Dense peaks from the vendors' datasheets (no sparsity), FLOP/s and bytes/s.
DATASHEET = {
    "H100 80GB HBM3": {"bf16": 989e12, "tf32": 494.7e12, "fp32": 66.9e12, "bandwidth": 3.35e12},
    "H100 PCIe": {"bf16": 756e12, "tf32": 378e12, "fp32": 51.2e12, "bandwidth": 2.0e12},
    "H200": {"bf16": 989e12, "tf32": 494.7e12, "fp32": 66.9e12, "bandwidth": 4.8e12},
    "A100-SXM4-80GB": {"bf16": 312e12, "tf32": 156e12, "fp32": 19.5e12, "bandwidth": 2.039e12},
}


def device_record() -> dict[str, Any]:
    props = torch.cuda.get_device_properties(0)
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        smi = None
    return {"name": props.name, "capability": f"{props.major}.{props.minor}", "memory_gib": props.total_memory / 2**30,
            "multiprocessors": props.multi_processor_count, "torch": torch.__version__, "cuda": torch.version.cuda,
            "nvidia_smi": smi, "host": platform.node()}


def datasheet(name: str) -> dict[str, float] | None:
    return next((v for k, v in DATASHEET.items() if k.lower() in name.lower()), None)


def timed(fn, steps: int, warmup: int = 3) -> float:
    """Median seconds per call over ``steps`` calls, measured with CUDA events."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(steps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / 1000)
    return float(np.median(samples))


def measured_peaks(steps: int) -> dict[str, float]:
    n = 8192
    out: dict[str, float] = {}
    for name, dtype, tf32 in (("bf16", torch.bfloat16, False), ("tf32", torch.float32, True),
                              ("fp32", torch.float32, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a, b = torch.randn(n, n, device="cuda", dtype=dtype), torch.randn(n, n, device="cuda", dtype=dtype)
        out[name] = 2 * n**3 / timed(lambda a=a, b=b: a @ b, steps)
    torch.backends.cuda.matmul.allow_tf32 = False
    source = torch.empty(2**30 // 4 * 2, device="cuda")  # 2 GiB
    target = torch.empty_like(source)
    out["bandwidth"] = 2 * source.numel() * 4 / timed(lambda: target.copy_(source), steps)  # read + write
    return out


def h100x1_trainers_on_device() -> dict[str, Any]:
    """The real ``train`` functions of both h100x1 recipes for one epoch, probed on cuda."""
    import pandas as pd
    import xarray as xr

    from reference_workloads.climate.emulator import train as climate_train
    from reference_workloads.drug_discovery import train as drug_train
    from reference_workloads.drug_discovery.library import load_library
    from reference_workloads.drug_discovery.recipes import book as drug_book

    report: dict[str, Any] = {}
    device = torch.device("cuda")
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        # compile off under the probe: its global module hook is not what a compiled graph runs;
        # compiled steps are timed in climate_step_variants
        recipe = climate_book.get("h100x1", ["train.epochs=1", "train.train_trajectories=16", "train.val_trajectories=2",
                                             "train.compile=false"])
        sim, cfg = recipe.simulation, recipe.train
        rng = np.random.default_rng(0)
        shape = (cfg.train_trajectories + cfg.val_trajectories, cfg.unroll + 12, sim.ny, sim.nx)
        dims = ("trajectory", "time", "y", "x")
        xr.Dataset({v: (dims, rng.standard_normal(shape, dtype=np.float32)) for v in ("h", "u", "v")}
                   ).to_netcdf(scratch / "ensemble.nc")
        started = time.perf_counter()
        with DeviceProbe(device, stop_at_validation=False) as probe, contextlib.redirect_stdout(io.StringIO()):
            climate_train.train(recipe_dict(recipe), scratch / "ensemble.nc", scratch / "climate", scratch / "c.log")
        report["climate_h100x1"] = {"misplaced": probe.misplaced[:20], "module_calls": probe.training_calls,
                                    "seconds_incl_compile": time.perf_counter() - started,
                                    "training": json.loads((scratch / "climate" / "training.json").read_text())}

        smiles = load_library("nci", limit=600).molecules["smiles"].tolist()
        parts = ["val" if i % 10 == 0 else "test" if i % 10 == 1 else "train" for i in range(len(smiles))]
        task = scratch / "task.parquet"
        pd.DataFrame({"smiles": smiles, "target": [float(len(s)) for s in smiles], "part": parts}).to_parquet(task)
        drug = drug_book.get("h100x1", ["train.epochs=1"])
        started = time.perf_counter()
        with DeviceProbe(device, stop_at_validation=False) as probe:
            drug_train.train(dataclasses.asdict(drug), task, scratch / "drug", scratch / "d.log", "physics")
        report["drug_h100x1"] = {"misplaced": probe.misplaced[:20], "module_calls": probe.training_calls,
                                 "seconds": time.perf_counter() - started}
    return report


def training_step(model, core, optimizer, inputs, targets, precision: str):
    """One optimiser step of the emulator, as the trainer takes it."""
    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with compute.autocast(inputs.device, precision):
            loss = unrolled_loss(model, core, inputs, targets)
        loss.backward()
        optimizer.step()
    return step


def climate_step_variants(steps: int, peaks: dict[str, float], sheet: dict[str, float] | None) -> list[dict[str, Any]]:
    from torch.utils.flop_counter import FlopCounterMode

    recipe = climate_book.get("h100x1")
    cfg, sim = recipe.train, recipe.simulation
    device = torch.device("cuda")
    rows = []
    for precision in ("fp32", "bf16"):
        for compiled in (False, True):
            for deterministic in (True, False):
                torch.use_deterministic_algorithms(deterministic, warn_only=True)
                torch.backends.cudnn.deterministic = deterministic
                torch.backends.cudnn.benchmark = not deterministic
                compute.configure_precision(device, precision)
                core = build_model(dataclasses.asdict(recipe.emulator)).to(device)
                model = compute.maybe_compile(_Unroll(core), compiled)
                optimizer = torch.optim.AdamW(core.parameters(), lr=cfg.learning_rate)
                inputs = torch.randn(cfg.global_batch_size, 3, sim.ny, sim.nx, device=device)
                targets = torch.randn(cfg.global_batch_size, cfg.unroll, 3, sim.ny, sim.nx, device=device)
                step = training_step(model, core, optimizer, inputs, targets, precision)
                started = time.perf_counter()
                step()
                torch.cuda.synchronize()
                first_step = time.perf_counter() - started
                counter = FlopCounterMode(display=False)
                with counter:
                    step()
                flops = counter.get_total_flops()
                seconds = timed(step, steps)
                peak_key = "bf16" if precision == "bf16" else "tf32"
                rows.append({
                    "precision": precision, "compile": compiled, "deterministic": deterministic,
                    "seconds_per_step": seconds, "samples_per_second": cfg.global_batch_size / seconds,
                    "first_step_seconds": first_step, "counted_flop_per_step": flops,
                    "achieved_flops": flops / seconds,
                    "fraction_of_measured_peak": flops / seconds / peaks[peak_key],
                    "fraction_of_datasheet_peak": flops / seconds / sheet[peak_key] if sheet else None,
                })
                print(json.dumps(rows[-1]), flush=True)
    torch.use_deterministic_algorithms(False)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "gpu_results.json")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device visible: this script measures a GPU and has nothing to do here")
    record = {"device": device_record(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    sheet = datasheet(record["device"]["name"])
    record["datasheet_peaks"] = sheet
    record["measured_peaks"] = measured_peaks(args.steps)
    print(json.dumps(record), flush=True)
    record["trainers_on_device"] = h100x1_trainers_on_device()
    record["climate_training_step"] = climate_step_variants(args.steps, record["measured_peaks"], sheet)
    record["ended"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()

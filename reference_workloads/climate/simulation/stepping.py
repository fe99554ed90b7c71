"""The time step built on the fused kernel, with the halo exchange overlapped.

Each RK3 stage starts the exchange of its input's halo, updates the points whose stencil
stays inside the block (everything but a one-cell frame) while the messages travel, waits,
then updates the frame. On one process the "exchange" is the periodic copy and there is
nothing to wait for.

Three padded arrays per batch: the state and two stage buffers. No array is copied per step:
stage 1 writes ``a``, stage 2 reads (state, a) and writes ``b``, stage 3 reads (state, b)
and overwrites the state in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.kernel import rk3_stage
from reference_workloads.climate.simulation.physics import fill_periodic_halo

# SSP-RK3 stage weights in increment form (see physics.rk3_step).
STAGE_WEIGHTS = (1.0, 0.25, 2.0 / 3.0)


class Halo(Protocol):
    """A halo refresh split in two, so work can run between posting and completing it."""

    overlapped: bool
    """False when ``start`` already completes the refresh: nothing to overlap."""

    def start(self, state: np.ndarray) -> None: ...

    def finish(self, state: np.ndarray) -> None: ...


class BlockingHalo:
    """Adapts a one-call halo fill (the periodic copy, or a test's fault injector)."""

    overlapped = False

    def __init__(self, fill: Callable[[np.ndarray], None]) -> None:
        self._fill = fill

    def start(self, state: np.ndarray) -> None:
        self._fill(state)

    def finish(self, state: np.ndarray) -> None:
        pass


PERIODIC = BlockingHalo(fill_periodic_halo)


def as_halo(fill: Halo | Callable[[np.ndarray], None]) -> Halo:
    return fill if hasattr(fill, "finish") else BlockingHalo(fill)


class FusedStepper:
    """Advances padded states ``(3, batch, ny + 2, nx + 2)`` in place, one RK3 step a call."""

    def __init__(self, config: SimulationConfig, halo: Halo, forcing: np.ndarray) -> None:
        """``forcing``: the block's padded momentum forcing, ``physics.block_forcing``."""
        self.config = config
        self.halo = halo
        self.forcing = np.ascontiguousarray(forcing, dtype=np.float64)
        self._buffers: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def step(self, state: np.ndarray) -> None:
        a, b = self._stage_buffers(state.shape)
        for source, dest, weight in ((state, a, STAGE_WEIGHTS[0]), (a, b, STAGE_WEIGHTS[1]),
                                     (b, state, STAGE_WEIGHTS[2])):
            self._stage(state, source, dest, weight)

    def _stage(self, start: np.ndarray, source: np.ndarray, dest: np.ndarray,
               weight: float) -> None:
        c = self.config
        ny, nx = source.shape[-2] - 2, source.shape[-1] - 2
        args = (c.f0, c.g, c.viscosity, c.dx, c.dy, c.drag, self.forcing)
        self.halo.start(source)
        if not self.halo.overlapped:  # one pass; the same bits as interior + frame (tested)
            rk3_stage(start, source, dest, weight, c.dt, 1, ny + 1, 1, nx + 1, *args)
            return
        # Interior: rows and columns 2 .. n-1 read only owned cells.
        if ny > 2 and nx > 2:
            rk3_stage(start, source, dest, weight, c.dt, 2, ny, 2, nx, *args)
        self.halo.finish(source)
        # The frame: bottom and top rows in full, then the two side columns between them.
        # Each point exactly once: the last stage updates in place, so a point computed
        # twice would read its own new value.
        rk3_stage(start, source, dest, weight, c.dt, 1, 2, 1, nx + 1, *args)
        if ny > 1:
            rk3_stage(start, source, dest, weight, c.dt, ny, ny + 1, 1, nx + 1, *args)
        if ny > 2:
            rk3_stage(start, source, dest, weight, c.dt, 2, ny, 1, 2, *args)
            if nx > 1:
                rk3_stage(start, source, dest, weight, c.dt, 2, ny, nx, nx + 1, *args)

    def _stage_buffers(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        if shape not in self._buffers:
            if self.forcing.shape != (2, *shape[-2:]):  # the kernel reads it unchecked
                raise ValueError(f"forcing has shape {self.forcing.shape}: expected "
                                 f"(2, {shape[-2]}, {shape[-1]}) for states of shape {shape}")
            # Zeroed once: the halo of a stage buffer is always filled before it is read.
            self._buffers[shape] = (np.zeros(shape), np.zeros(shape))
        return self._buffers[shape]

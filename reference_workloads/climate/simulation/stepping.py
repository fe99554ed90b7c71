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

    def __init__(self, config: SimulationConfig, halo: Halo,
                 forcing: np.ndarray | None = None) -> None:
        """``forcing``: the block's steady momentum forcing ``(2, ny + 2, nx + 2)`` (m/s^2 at
        the u and v points, see ``kernel.rk3_stage``); None for none (zeros)."""
        self.config = config
        self.halo = halo
        self.forcing = forcing
        self._buffers: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._zero_forcing: dict[tuple[int, ...], np.ndarray] = {}

    def step(self, state: np.ndarray) -> None:
        a, b = self._stage_buffers(state.shape)
        forcing = self._block_forcing(state.shape)
        for source, dest, weight in ((state, a, STAGE_WEIGHTS[0]), (a, b, STAGE_WEIGHTS[1]),
                                     (b, state, STAGE_WEIGHTS[2])):
            self._stage(state, source, dest, weight, forcing)

    def _block_forcing(self, shape: tuple[int, ...]) -> np.ndarray:
        # The kernel runs without bounds checks: a forcing of another block's shape would
        # read past its end instead of failing.
        block = (2, *shape[-2:])
        if self.forcing is None:  # allocated once per shape: a step allocates nothing
            if block not in self._zero_forcing:
                self._zero_forcing[block] = np.zeros(block)
            return self._zero_forcing[block]
        if self.forcing.shape != block or self.forcing.dtype != np.float64:
            raise ValueError(f"forcing: expected a float64 array of shape {block} for states "
                             f"of shape {shape}, got {self.forcing.dtype} {self.forcing.shape}")
        return self.forcing

    def _stage(self, start: np.ndarray, source: np.ndarray, dest: np.ndarray,
               weight: float, forcing: np.ndarray) -> None:
        c = self.config
        ny, nx = source.shape[-2] - 2, source.shape[-1] - 2
        args = (c.f0, c.g, c.viscosity, c.dx, c.dy, c.drag, forcing)
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
            # Zeroed once: the halo of a stage buffer is always filled before it is read.
            self._buffers[shape] = (np.zeros(shape), np.zeros(shape))
        return self._buffers[shape]

"""The simulation recipe: a frozen, validated description of one ensemble run."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from reference_workloads.core.recipes import RecipeError, require

INITIAL_CONDITIONS = ("vortices", "jet", "gravity_wave")

# SSP-RK3 is stable for purely imaginary eigenvalues up to |lambda dt| = sqrt(3); the fastest
# C-grid gravity wave has |lambda| = c * 2 * sqrt(1/dx^2 + 1/dy^2). 0.7 of the bound leaves room
# for the flow speed, which the recipe cannot know before the run.
MAX_GRAVITY_COURANT = 0.7 * math.sqrt(3.0) / 2.0
# Forward-Euler-like diffusive limit nu dt (1/dx^2 + 1/dy^2) <= 1/2, with the same margin.
MAX_DIFFUSION_NUMBER = 0.35
# Drag is meant to act over many steps (days); drag * dt above 0.1 means a damping time of
# under ten steps, which is a typo in the units rather than a climate.
MAX_DRAG_NUMBER = 0.1


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class SimulationConfig:
    """Rotating shallow water on a doubly periodic f-plane, run as a seeded ensemble."""

    nx: int = 32
    """Grid cells along x (>= 4)."""
    ny: int = 32
    """Grid cells along y (>= 4)."""
    lx: float = 4.0e6
    """Domain length along x, metres."""
    ly: float = 4.0e6
    """Domain length along y, metres."""
    f0: float = 1.0e-4
    """Coriolis parameter of the f-plane, 1/s (0 allowed only for gravity_wave)."""
    g: float = 9.81
    """Gravitational acceleration, m/s^2."""
    h0: float = 1000.0
    """Mean fluid depth, metres."""
    dt: float = 300.0
    """Time step, seconds; bounded by the gravity-wave Courant number."""
    n_steps: int = 400
    """Time steps per trajectory; a multiple of save_every."""
    save_every: int = 10
    """Steps between saved snapshots (the initial state is saved too)."""
    n_trajectories: int = 8
    """Ensemble members, each from its own seeded initial condition."""
    seed: int = 0
    """Ensemble seed; trajectory k draws from numpy.random.default_rng((seed, k))."""
    initial_condition: str = "vortices"
    """One of vortices, jet, gravity_wave."""
    amplitude: float = 40.0
    """Surface height anomaly of the vortices, jet or wave, metres (< h0 / 2)."""
    perturbation: float = 1.0
    """Amplitude of the random large-scale height perturbation, metres (>= 0)."""
    n_vortices: int = 4
    """Vortices per trajectory for initial_condition=vortices."""
    feature_width: float = 4.0e5
    """Vortex radius or jet half-width, metres."""
    wave_number: int = 1
    """Zonal wave number of the gravity_wave initial condition (waves per domain length)."""
    viscosity: float = 5.0e3
    """Laplacian momentum viscosity, m^2/s; damps grid-scale noise, never touches mass."""
    forcing_amplitude: float = 0.0
    """Steady Kolmogorov momentum forcing F sin(2 pi n y / ly) on u, m/s^2 (>= 0; 0 = none)."""
    forcing_wavenumber: int = 1
    """n of the forcing: whole sine waves across ly (1 <= n <= ny/4, so a wave spans >= 4 cells)."""
    drag: float = 0.0
    """Linear (Rayleigh) drag on momentum, 1/s (>= 0, with drag * dt <= 0.1)."""
    spinup_steps: int = 0
    """Steps run from the initial condition before the first saved snapshot (>= 0)."""
    ranks: int = 1
    """MPI ranks the recipe is sized for; must factor into blocks that divide the grid."""

    def __post_init__(self) -> None:
        for name in ("nx", "ny"):
            value = getattr(self, name)
            require(_is_int(value) and value >= 4, name, "an integer >= 4", value)
        for name in ("lx", "ly", "g", "h0", "dt", "feature_width"):
            value = getattr(self, name)
            require(_is_real(value) and value > 0, name, "a finite number > 0", value)
        require(_is_real(self.f0), "f0", "a finite number (1/s)", self.f0)
        require(_is_int(self.n_steps) and self.n_steps >= 1, "n_steps", "an integer >= 1",
                self.n_steps)
        require(_is_int(self.save_every) and self.save_every >= 1, "save_every",
                "an integer >= 1", self.save_every)
        require(self.n_steps % self.save_every == 0, "n_steps",
                f"a multiple of save_every={self.save_every}", self.n_steps)
        require(_is_int(self.n_trajectories) and self.n_trajectories >= 1, "n_trajectories",
                "an integer >= 1", self.n_trajectories)
        require(_is_int(self.seed) and 0 <= self.seed < 2**63, "seed",
                "an integer in [0, 2**63)", self.seed)
        require(self.initial_condition in INITIAL_CONDITIONS, "initial_condition",
                f"one of {', '.join(INITIAL_CONDITIONS)}", self.initial_condition)
        require(self.initial_condition == "gravity_wave" or self.f0 != 0, "f0",
                "a non-zero value for balanced (vortices, jet) initial conditions", self.f0)
        require(_is_real(self.amplitude) and 0 < self.amplitude < self.h0 / 2, "amplitude",
                f"a number in (0, h0/2 = {self.h0 / 2:g}) metres", self.amplitude)
        require(_is_real(self.perturbation) and 0 <= self.perturbation < self.h0 / 4,
                "perturbation", f"a number in [0, h0/4 = {self.h0 / 4:g}) metres",
                self.perturbation)
        require(_is_int(self.n_vortices) and self.n_vortices >= 1, "n_vortices",
                "an integer >= 1", self.n_vortices)
        require(_is_int(self.wave_number) and 1 <= self.wave_number <= self.nx // 2,
                "wave_number", f"an integer in [1, nx/2 = {self.nx // 2}]", self.wave_number)
        require(_is_real(self.viscosity) and self.viscosity >= 0, "viscosity",
                "a finite number >= 0 (m^2/s)", self.viscosity)
        require(self.gravity_courant <= MAX_GRAVITY_COURANT, "dt",
                f"<= {self.max_stable_dt:.6g} s (gravity-wave Courant number "
                f"{self.gravity_courant:.3f} exceeds {MAX_GRAVITY_COURANT:.3f})", self.dt)
        require(self.diffusion_number <= MAX_DIFFUSION_NUMBER, "viscosity",
                f"a value giving nu*dt*(1/dx^2+1/dy^2) <= {MAX_DIFFUSION_NUMBER} "
                f"(got {self.diffusion_number:.3f})", self.viscosity)
        require(_is_real(self.forcing_amplitude) and self.forcing_amplitude >= 0,
                "forcing_amplitude", "a finite number >= 0 (m/s^2)", self.forcing_amplitude)
        require(_is_int(self.forcing_wavenumber)
                and 1 <= self.forcing_wavenumber <= self.ny // 4, "forcing_wavenumber",
                f"an integer in [1, ny/4 = {self.ny // 4}]", self.forcing_wavenumber)
        require(_is_real(self.drag) and 0 <= self.drag * self.dt <= MAX_DRAG_NUMBER, "drag",
                f"a number in [0, {MAX_DRAG_NUMBER}/dt = {MAX_DRAG_NUMBER / self.dt:.3g}] (1/s)",
                self.drag)
        require(_is_int(self.spinup_steps) and self.spinup_steps >= 0, "spinup_steps",
                "an integer >= 0", self.spinup_steps)
        require(_is_int(self.ranks) and self.ranks >= 1, "ranks", "an integer >= 1", self.ranks)
        self.validate_for_ranks(self.ranks)

    @property
    def dx(self) -> float:
        return self.lx / self.nx

    @property
    def dy(self) -> float:
        return self.ly / self.ny

    @property
    def n_saves(self) -> int:
        """Snapshots per trajectory, the initial state included."""
        return self.n_steps // self.save_every + 1

    @property
    def gravity_wave_speed(self) -> float:
        return math.sqrt(self.g * self.h0)

    @property
    def gravity_courant(self) -> float:
        return self.gravity_wave_speed * self.dt * math.hypot(1 / self.dx, 1 / self.dy)

    @property
    def max_stable_dt(self) -> float:
        return MAX_GRAVITY_COURANT / (self.gravity_wave_speed * math.hypot(1 / self.dx, 1 / self.dy))

    @property
    def forcing_k(self) -> float:
        """Forcing wavenumber in 1/m: 2 pi n / ly."""
        return 2 * math.pi * self.forcing_wavenumber / self.ly

    @property
    def diffusion_number(self) -> float:
        return self.viscosity * self.dt * (1 / self.dx**2 + 1 / self.dy**2)

    def validate_for_ranks(self, nranks: int) -> None:
        """Raise RecipeError unless ``nranks`` factors into px * py blocks dividing nx x ny."""
        from reference_workloads.climate.simulation.decomposition import factor_ranks

        factor_ranks(self.nx, self.ny, nranks)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationConfig:
        """Build from JSON data; an unknown key fails naming it and the valid ones."""
        names = [f.name for f in dataclasses.fields(cls)]
        require(isinstance(data, dict), "simulation", "a JSON object of SimulationConfig fields",
                type(data).__name__)
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise RecipeError(
                f"unknown field {unknown[0]!r}: valid fields are {', '.join(names)}"
            )
        return cls(**data)

    def physical_parameters(self) -> dict[str, Any]:
        """Everything that shapes the result; ``ranks`` is left out because it does not."""
        params = self.to_dict()
        del params["ranks"]
        return params


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

"""A Fourier neural operator (Li et al. 2021) for one time step of the shallow-water state.

Why an FNO rather than a U-Net: the domain is doubly periodic, which is exactly the
setting where an FFT-based spectral convolution is exact at the boundaries; its global
receptive field follows gravity waves that cross the domain in a few steps; and it is the
PDEBench reference model for the 2-D shallow-water task, so our nRMSE is comparable.
The network predicts the increment of the normalised state, scaled by the spread of the
increments seen in training (residual form); its last layer starts at zero, so an
untrained emulator is exactly persistence and training only has to learn the tendency.
"""

from __future__ import annotations

import torch
from torch import nn


class SpectralConv2d(nn.Module):
    """Multiply the lowest ``modes`` Fourier modes by learned complex weights."""

    def __init__(self, channels: int, modes: int) -> None:
        super().__init__()
        self.modes = modes
        scale = 1.0 / (channels * channels)
        shape = (2, channels, channels, modes, modes)
        self.weight_real = nn.Parameter(scale * torch.rand(shape))
        self.weight_imag = nn.Parameter(scale * torch.rand(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_cuda:
            # cuFFT has no bf16 transforms: under bf16 autocast the spectral part stays float32
            with torch.autocast(device_type="cuda", enabled=False):
                return self._spectral(x.float())
        return self._spectral(x)

    def _spectral(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, ny, nx = x.shape
        m = self.modes
        spectrum = torch.fft.rfft2(x, norm="ortho")
        weights = torch.complex(self.weight_real, self.weight_imag)
        out = torch.zeros_like(spectrum)
        # the kept modes are the lowest positive and negative wavenumbers in y
        out[:, :, :m, :m] = torch.einsum("bixy,ioxy->boxy", spectrum[:, :, :m, :m], weights[0])
        out[:, :, -m:, :m] = torch.einsum("bixy,ioxy->boxy", spectrum[:, :, -m:, :m], weights[1])
        return torch.fft.irfft2(out, s=(ny, nx), norm="ortho")


class FourierNeuralOperator(nn.Module):
    """Lift -> ``layers`` x (spectral conv + pointwise conv, GELU) -> project, residual output."""

    def __init__(self, *, channels: int = 3, width: int = 32, modes: int = 12, layers: int = 4) -> None:
        super().__init__()
        self.lift = nn.Conv2d(channels + 2, width, 1)
        self.spectral = nn.ModuleList(SpectralConv2d(width, modes) for _ in range(layers))
        self.pointwise = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(layers))
        self.project = nn.Sequential(nn.Conv2d(width, 2 * width, 1), nn.GELU(), nn.Conv2d(2 * width, channels, 1))
        nn.init.zeros_(self.project[-1].weight)
        nn.init.zeros_(self.project[-1].bias)
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.register_buffer("increment_std", torch.ones(channels))

    def set_normalisation(self, mean: torch.Tensor, std: torch.Tensor, increment_std: torch.Tensor) -> None:
        """Per-channel state mean and spread, and the spread of one-step normalised increments."""
        self.mean.copy_(mean)
        self.std.copy_(std)
        self.increment_std.copy_(increment_std)

    @staticmethod
    def _grid(x: torch.Tensor) -> torch.Tensor:
        batch, _, ny, nx = x.shape
        gy = torch.sin(2 * torch.pi * torch.arange(ny, dtype=x.dtype, device=x.device) / ny)
        gx = torch.sin(2 * torch.pi * torch.arange(nx, dtype=x.dtype, device=x.device) / nx)
        grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij"))
        return grid.expand(batch, 2, ny, nx)

    def step_normalised(self, z: torch.Tensor) -> torch.Tensor:
        """One step in normalised units: z(t) -> z(t + dt)."""
        h = self.lift(torch.cat([z, self._grid(z)], dim=1))
        for spectral, pointwise in zip(self.spectral, self.pointwise, strict=True):
            h = nn.functional.gelu(spectral(h) + pointwise(h))
        return z + self.increment_std[None, :, None, None] * self.project(h)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean[None, :, None, None]) / self.std[None, :, None, None]

    def denormalise(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std[None, :, None, None] + self.mean[None, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step in physical units (h, u, v)."""
        return self.denormalise(self.step_normalised(self.normalise(x)))

    @torch.no_grad()
    def rollout(self, x0: torch.Tensor, steps: int) -> torch.Tensor:
        """Autoregressive forecast: returns (steps + 1, batch, channels, ny, nx), lead 0 first."""
        z = self.normalise(x0)
        states = [x0]
        for _ in range(steps):
            z = self.step_normalised(z)
            states.append(self.denormalise(z))
        return torch.stack(states)

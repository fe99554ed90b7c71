"""Halo exchange over a periodic Cartesian communicator; the only physics-side MPI code.

mpi4py is imported inside the constructor, so importing this module never initialises MPI
and nothing MPI lives at module level.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference_workloads.climate.simulation.decomposition import Decomposition
from reference_workloads.climate.simulation.physics import wrap_x, wrap_y

# Message tags, one per direction of travel, so a rank that is its own neighbour on both
# sides (two ranks along an axis) still matches each receive to the right send.
_TAG_WEST, _TAG_EAST, _TAG_SOUTH, _TAG_NORTH = 11, 12, 13, 14


class HaloExchange:
    """Fill the one-cell halo of padded states ``(..., ny + 2, nx + 2)`` of this rank's block.

    Columns travel first, then full rows including the fresh column halo, so corner cells
    receive the diagonal neighbour's values without diagonal messages. Along an axis with
    one rank the halo is a local periodic copy and no message is sent.
    """

    def __init__(self, comm: Any, decomposition: Decomposition) -> None:
        from mpi4py import MPI

        if comm.Get_size() != decomposition.nranks:
            raise ValueError(
                f"ranks={comm.Get_size()} is invalid: expected {decomposition.nranks} "
                f"for the {decomposition.py}x{decomposition.px} decomposition"
            )
        self._mpi = MPI
        self.decomposition = decomposition
        self.cart = comm.Create_cart(dims=[decomposition.py, decomposition.px],
                                     periods=[True, True], reorder=False)
        self.rank = self.cart.Get_rank()
        if tuple(self.cart.Get_coords(self.rank)) != decomposition.coords(self.rank):
            raise RuntimeError("MPI Cartesian coordinates disagree with the decomposition")
        self.south, self.north = self.cart.Shift(0, 1)
        self.west, self.east = self.cart.Shift(1, 1)

    def __call__(self, state: np.ndarray) -> None:
        if self.decomposition.px == 1:
            wrap_x(state)
        else:
            self._swap(state, axis=-1, low=self.west, high=self.east,
                       tags=(_TAG_WEST, _TAG_EAST))
        if self.decomposition.py == 1:
            wrap_y(state)
        else:
            self._swap(state, axis=-2, low=self.south, high=self.north,
                       tags=(_TAG_SOUTH, _TAG_NORTH))

    def _swap(self, state: np.ndarray, *, axis: int, low: int, high: int,
              tags: tuple[int, int]) -> None:
        """Send the first/last owned slab to the low/high neighbour, receive the halos."""
        first, last = np.take(state, 1, axis=axis), np.take(state, -2, axis=axis)
        incoming = np.empty_like(first)  # np.take returns contiguous copies
        dtype = self._mpi.DOUBLE
        self.cart.Sendrecv([first, dtype], dest=low, sendtag=tags[0],
                           recvbuf=[incoming, dtype], source=high, recvtag=tags[0])
        _set_slab(state, axis, -1, incoming)
        self.cart.Sendrecv([last, dtype], dest=high, sendtag=tags[1],
                           recvbuf=[incoming, dtype], source=low, recvtag=tags[1])
        _set_slab(state, axis, 0, incoming)

    def free(self) -> None:
        self.cart.Free()


def _set_slab(state: np.ndarray, axis: int, index: int, values: np.ndarray) -> None:
    if axis == -1:
        state[..., index] = values
    else:
        state[..., index, :] = values

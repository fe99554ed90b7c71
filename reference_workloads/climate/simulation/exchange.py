"""Halo exchange over a periodic Cartesian communicator; the only physics-side MPI code.

Non-blocking: ``start`` posts one receive and one send per neighbour (the four sides and
the four diagonal corners), ``finish`` waits and unpacks, so a stage can update the cells
that need no halo in between. Corner cells come straight from the diagonal neighbour, so
the halo equals the two-pass (columns, then rows) exchange bit for bit, in one round.

mpi4py is imported inside the constructor, so importing this module never initialises MPI
and nothing MPI lives at module level.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference_workloads.climate.simulation.decomposition import Decomposition

# (rows, columns) offset of each neighbour; its index is the tag of a message travelling
# that way, so a rank that is its neighbour's neighbour twice still matches every receive.
DIRECTIONS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
_TAG_BASE = 20


def _owned_edge(offset: int, n: int) -> slice:
    """Padded indices of the owned cells next to side ``offset`` (-1 low, 0 all, 1 high)."""
    return {-1: slice(1, 2), 0: slice(1, n + 1), 1: slice(n, n + 1)}[offset]


def _halo_edge(offset: int, n: int) -> slice:
    return {-1: slice(0, 1), 0: slice(1, n + 1), 1: slice(n + 1, n + 2)}[offset]


class HaloExchange:
    """Fill the one-cell halo of padded states ``(..., ny + 2, nx + 2)`` of this rank's block.

    A neighbour that is this rank itself (one rank along an axis) is a local periodic copy,
    no message.
    """

    overlapped = True

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
        row, col = decomposition.coords(self.rank)
        if tuple(self.cart.Get_coords(self.rank)) != (row, col):
            raise RuntimeError("MPI Cartesian coordinates disagree with the decomposition")
        self.neighbours = [
            self.cart.Get_cart_rank([(row + dj) % decomposition.py, (col + di) % decomposition.px])
            for dj, di in DIRECTIONS
        ]
        self._buffers: dict[tuple[int, ...], list[tuple[np.ndarray, np.ndarray]]] = {}
        self._pending: list[Any] = []

    def __call__(self, state: np.ndarray) -> None:
        self.start(state)
        self.finish(state)

    def start(self, state: np.ndarray) -> None:
        """Post every receive and send of ``state``'s halo; local copies happen here."""
        if self._pending:
            raise RuntimeError("start called twice without finish: one exchange at a time")
        ny, nx = state.shape[-2] - 2, state.shape[-1] - 2
        buffers = self._buffers_for(state.shape)
        for index, ((dj, di), neighbour) in enumerate(zip(DIRECTIONS, self.neighbours, strict=True)):
            outgoing, incoming = buffers[index]
            edge = state[..., _owned_edge(dj, ny), _owned_edge(di, nx)]
            if neighbour == self.rank:
                # Periodic wrap onto ourselves: the opposite halo receives our own edge.
                state[..., _halo_edge(-dj, ny), _halo_edge(-di, nx)] = edge
                continue
            np.copyto(outgoing, edge)
            opposite = DIRECTIONS.index((-dj, -di))
            self._pending.append(self.cart.Irecv(incoming, source=neighbour,
                                                 tag=_TAG_BASE + opposite))
            self._pending.append(self.cart.Isend(outgoing, dest=neighbour,
                                                 tag=_TAG_BASE + index))

    def finish(self, state: np.ndarray) -> None:
        """Wait for the messages posted by ``start`` and write them into the halo."""
        if not self._pending:
            return
        self._mpi.Request.Waitall(self._pending)
        self._pending = []
        ny, nx = state.shape[-2] - 2, state.shape[-1] - 2
        buffers = self._buffers_for(state.shape)
        for index, ((dj, di), neighbour) in enumerate(zip(DIRECTIONS, self.neighbours, strict=True)):
            if neighbour != self.rank:
                state[..., _halo_edge(dj, ny), _halo_edge(di, nx)] = buffers[index][1]

    def _buffers_for(self, shape: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Contiguous send and receive buffers per direction, allocated once per shape."""
        if shape not in self._buffers:
            ny, nx = shape[-2] - 2, shape[-1] - 2
            self._buffers[shape] = [
                tuple(np.empty((*shape[:-2], _owned_edge(dj, ny).stop - _owned_edge(dj, ny).start,
                                _owned_edge(di, nx).stop - _owned_edge(di, nx).start))
                      for _ in range(2))
                for dj, di in DIRECTIONS
            ]
        return self._buffers[shape]

    def free(self) -> None:
        self.cart.Free()

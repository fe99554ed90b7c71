"""Cartesian block decomposition of the periodic grid; pure arithmetic, no MPI."""

from __future__ import annotations

import dataclasses

from reference_workloads.core.recipes import require


def factor_ranks(nx: int, ny: int, nranks: int) -> tuple[int, int]:
    """The (px, py) with px * py == nranks, px | nx, py | ny, closest to square blocks.

    Raises RecipeError naming ``ranks`` and the rank counts this grid accepts.
    """
    require(isinstance(nranks, int) and nranks >= 1, "ranks", "an integer >= 1", nranks)
    options = [
        (px, nranks // px)
        for px in range(1, nranks + 1)
        if nranks % px == 0 and nx % px == 0 and ny % (nranks // px) == 0
    ]
    if not options:
        accepted = [n for n in range(1, 17) if _divides(nx, ny, n)]
        require(False, "ranks",
                f"a count that splits the {nx}x{ny} grid into equal blocks, "
                f"e.g. one of {', '.join(map(str, accepted))}", nranks)
    # Squarest blocks first (least halo per cell); ties prefer fewer ranks along x: rows
    # are contiguous in memory, so y-halo messages are cheap and an unsplit x is a local copy.
    return min(options, key=lambda p: (abs(nx // p[0] - ny // p[1]), p[0]))


def _divides(nx: int, ny: int, nranks: int) -> bool:
    return any(nranks % px == 0 and nx % px == 0 and ny % (nranks // px) == 0
               for px in range(1, nranks + 1))


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class Decomposition:
    """px x py equal blocks; rank r sits at (row, col) = divmod(r, px), as MPI_Cart_create
    numbers a row-major [py, px] grid without reordering."""

    nx: int
    """Global cells along x."""
    ny: int
    """Global cells along y."""
    px: int
    """Ranks along x."""
    py: int
    """Ranks along y."""

    def __post_init__(self) -> None:
        for name in ("nx", "ny", "px", "py"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 1, name, "an integer >= 1", value)
        require(self.nx % self.px == 0, "px", f"a divisor of nx={self.nx}", self.px)
        require(self.ny % self.py == 0, "py", f"a divisor of ny={self.ny}", self.py)

    @classmethod
    def for_ranks(cls, nx: int, ny: int, nranks: int) -> Decomposition:
        px, py = factor_ranks(nx, ny, nranks)
        return cls(nx=nx, ny=ny, px=px, py=py)

    @property
    def nranks(self) -> int:
        return self.px * self.py

    @property
    def local_nx(self) -> int:
        return self.nx // self.px

    @property
    def local_ny(self) -> int:
        return self.ny // self.py

    def coords(self, rank: int) -> tuple[int, int]:
        """(row, col) of ``rank`` in the [py, px] process grid."""
        require(0 <= rank < self.nranks, "rank", f"an integer in [0, {self.nranks})", rank)
        return divmod(rank, self.px)

    def block(self, rank: int) -> tuple[slice, slice]:
        """Global (y, x) slices of the cells that ``rank`` owns."""
        row, col = self.coords(rank)
        return (slice(row * self.local_ny, (row + 1) * self.local_ny),
                slice(col * self.local_nx, (col + 1) * self.local_nx))

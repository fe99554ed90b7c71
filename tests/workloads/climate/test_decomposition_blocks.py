"""Block decomposition arithmetic, testable without MPI."""

from __future__ import annotations

import numpy as np
import pytest

from reference_workloads.climate.simulation.decomposition import Decomposition, factor_ranks
from reference_workloads.core.recipes import RecipeError


@pytest.mark.parametrize(
    ("nx", "ny", "nranks", "expected"),
    [
        (32, 32, 1, (1, 1)),
        (32, 32, 2, (1, 2)),  # a tie: the unsplit x axis wins
        (32, 32, 4, (2, 2)),
        (32, 32, 8, (2, 4)),
        (64, 32, 2, (2, 1)),
        (24, 32, 2, (1, 2)),  # squarer blocks (24x16) than splitting x (12x32)
        (30, 32, 4, (2, 2)),  # 15x16 blocks beat 30x8; 30 does not split in 4
    ],
)
def test_factor_ranks_prefers_square_blocks(nx: int, ny: int, nranks: int,
                                            expected: tuple[int, int]) -> None:
    px, py = factor_ranks(nx, ny, nranks)
    assert px * py == nranks and nx % px == 0 and ny % py == 0
    assert (px, py) == expected


@pytest.mark.parametrize(("nx", "ny", "nranks"), [(32, 32, 3), (16, 16, 5), (18, 18, 7)])
def test_factor_ranks_rejects_counts_that_do_not_divide(nx: int, ny: int, nranks: int) -> None:
    with pytest.raises(RecipeError) as caught:
        factor_ranks(nx, ny, nranks)
    assert str(caught.value).startswith(f"ranks={nranks} is invalid: expected a count that")
    assert f"{nx}x{ny}" in str(caught.value)


@pytest.mark.parametrize(("nx", "ny", "nranks"), [(32, 32, 4), (24, 16, 6), (16, 32, 8), (8, 8, 1)])
def test_blocks_tile_the_grid_exactly_once(nx: int, ny: int, nranks: int) -> None:
    decomposition = Decomposition.for_ranks(nx, ny, nranks)
    owner = np.full((ny, nx), -1)
    for rank in range(nranks):
        rows, cols = decomposition.block(rank)
        assert (rows.stop - rows.start, cols.stop - cols.start) == (
            decomposition.local_ny, decomposition.local_nx)
        assert (owner[rows, cols] == -1).all()
        owner[rows, cols] = rank
    assert (owner >= 0).all()


def test_ranks_are_numbered_row_major_like_mpi_cart_create() -> None:
    decomposition = Decomposition(nx=12, ny=8, px=3, py=2)
    assert [decomposition.coords(r) for r in range(6)] == [
        (0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert decomposition.block(4) == (slice(4, 8), slice(4, 8))
    with pytest.raises(RecipeError, match=r"rank=6 is invalid: expected an integer in \[0, 6\)"):
        decomposition.coords(6)


def test_decomposition_rejects_blocks_that_do_not_divide() -> None:
    with pytest.raises(RecipeError, match="px=5 is invalid: expected a divisor of nx=12"):
        Decomposition(nx=12, ny=8, px=5, py=1)
    with pytest.raises(RecipeError, match="py=0 is invalid: expected an integer >= 1"):
        Decomposition(nx=12, ny=8, px=1, py=0)

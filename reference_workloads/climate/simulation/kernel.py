"""The fused, compiled RK3 stage: the NumPy scheme of ``physics.py`` in one pass per stage.

One call updates a rectangle of a padded block: for every row it computes the face fluxes,
corner potential vorticity and Bernoulli function once into short rolling row buffers (two
rows each, L1-resident), then the tendency and the RK3 stage update, writing the stage's
output straight into its destination. Nothing the size of the block is allocated, and no
array is copied per step; the only block-sized traffic is reading the stage's inputs and
writing its output.

How it is written so that LLVM vectorises every row loop (``tests/mpi/test_kernel_vectorised.py``
checks the assembly). The first version had the same arithmetic in scalar and gather code;
this one takes 3.6x less CPU time per step (median of 18 paired runs on one h100x1 rank
block, 2-core AVX-512 Xeon at load 7: 125 -> 35 ns per cell-step, best 95 -> 25):

- Indices are unsigned (``np.uint64``, with ``_ONE`` for the stencil offsets). numba wraps a
  negative signed index around, and a loop from ``i_lo`` cannot be proved non-negative, so
  every load became a per-lane select and a gather; unsigned indices have no wrap-around
  and the loads are contiguous. Mixing them with a signed int would make numba compute the
  index in float64, which fails to compile rather than silently.
- Every loop writes one array and reads few. LLVM cannot know that numba's arrays do not
  overlap, so it checks at run time, and by default gives up (scalar code) beyond eight
  such checks; a loop writing three tendencies from eight buffers would need 24.
- No array view is made per row: numba reference-counts each view with an atomic
  increment and decrement; views of the row buffers made per row measured 1.1 to 1.4x
  slower for the stage. They are made once per call; the stage update indexes the 4-D
  arrays.
- The last stage writes into ``start`` itself; two names for one array would fail the
  overlap check, so that case has its own loop reading ``dest`` (same operations, same bits).

Why it stays bitwise invariant in the rank count: every output point is computed by the
same instructions from the same stencil of reach one, whichever rectangle (interior first,
then boundary strips, or the whole block) it falls in, and nothing is reduced across points.
A vector lane and the scalar remainder of a loop round alike: no fused multiply-add
(``fastmath=False``; contraction also measured no faster here).

Why it is not bitwise equal to ``physics.tendency``: the divisions by dx, dy and their
squares become multiplications by reciprocals (a division costs about ten multiplications
here). Each differs by at most one rounding, so a step agrees with the NumPy reference to
about 1e-15 relative; tests assert 1e-12 after many steps.

Extra tendency terms go into ``_add_terms_row`` (viscosity, then forcing minus drag): it
receives the row's tendency buffers (indexed by padded column) and the stage input, and adds
to them before the stage update.
"""

from __future__ import annotations

import numba
import numpy as np

# cache=True: each MPI rank would otherwise spend seconds compiling the same code. The row
# functions are inlined at numba's level: as separate calls, each array they receive
# costs reference counting, and the stage ran 1.5x slower.
_jit = numba.njit(cache=True, fastmath=False, boundscheck=False, error_model="numpy")
_row = numba.njit(cache=True, fastmath=False, boundscheck=False, error_model="numpy",
                  inline="always")
_ONE = np.uint64(1)  # the stencil offset, unsigned like the indices it is added to


@_row
def _flux_x_row(h, u, j, i_lo, i_hi, out):
    for i in range(i_lo, i_hi):
        out[i] = 0.5 * (h[j, i] + h[j, i + _ONE]) * u[j, i]


@_row
def _flux_y_row(h, v, j, i_lo, i_hi, out):
    for i in range(i_lo, i_hi):
        out[i] = 0.5 * (h[j, i] + h[j + _ONE, i]) * v[j, i]


@_row
def _pv_row(h, u, v, j, i_lo, i_hi, f0, inv_dx, inv_dy, out):
    """Potential vorticity on the north-east corners of row j."""
    for i in range(i_lo, i_hi):
        zeta = (v[j, i + _ONE] - v[j, i]) * inv_dx - (u[j + _ONE, i] - u[j, i]) * inv_dy
        h_corner = 0.25 * ((h[j, i] + h[j, i + _ONE])
                           + (h[j + _ONE, i] + h[j + _ONE, i + _ONE]))
        out[i] = (f0 + zeta) / h_corner


@_row
def _bernoulli_row(h, u, v, j, i_lo, i_hi, g, out):
    for i in range(i_lo, i_hi):
        kinetic = 0.25 * ((u[j, i] * u[j, i] + u[j, i - _ONE] * u[j, i - _ONE])
                          + (v[j, i] * v[j, i] + v[j - _ONE, i] * v[j - _ONE, i]))
        out[i] = g * h[j, i] + kinetic


@_row
def _h_tendency_row(fx, fy, fy_south, i_lo, i_hi, inv_dx, inv_dy, th):
    for i in range(i_lo, i_hi):
        th[i] = -((fx[i] - fx[i - _ONE]) * inv_dx + (fy[i] - fy_south[i]) * inv_dy)


@_row
def _u_tendency_row(q, q_south, fy, fy_south, bern, i_lo, i_hi, inv_dx, tu):
    for i in range(i_lo, i_hi):
        q_flux_y = q[i] * (fy[i] + fy[i + _ONE])
        q_flux_y_south = q_south[i] * (fy_south[i] + fy_south[i + _ONE])
        tu[i] = 0.25 * (q_flux_y + q_flux_y_south) - (bern[i + _ONE] - bern[i]) * inv_dx


@_row
def _v_tendency_row(q, fx, fx_north, bern, bern_north, i_lo, i_hi, inv_dy, tv):
    for i in range(i_lo, i_hi):
        q_flux_x = q[i] * (fx[i] + fx_north[i])
        q_flux_x_west = q[i - _ONE] * (fx[i - _ONE] + fx_north[i - _ONE])
        tv[i] = -0.25 * (q_flux_x + q_flux_x_west) - (bern_north[i] - bern[i]) * inv_dy


@_row
def _add_terms_row(u, v, j, i_lo, i_hi, nu, inv_dx2, inv_dy2, drag, forcing, tu, tv):
    """Terms beyond the inviscid dynamics, added to ``tu[i]``, ``tv[i]`` on the columns
    [i_lo, i_hi) of row j: Laplacian viscosity, then the steady forcing minus the linear
    drag (``forcing[0]`` at the u points, ``forcing[1]`` at the v points)."""
    _add_terms_component(u, 0, j, i_lo, i_hi, nu, inv_dx2, inv_dy2, drag, forcing, tu)
    _add_terms_component(v, 1, j, i_lo, i_hi, nu, inv_dx2, inv_dy2, drag, forcing, tv)


@_row
def _add_terms_component(a, c, j, i_lo, i_hi, nu, inv_dx2, inv_dy2, drag, forcing, out):
    # One loop for both terms (each loop costs its aliasing checks); two statements, so
    # the additions round in the interface's order.
    if nu > 0:
        for i in range(i_lo, i_hi):
            laplacian = ((a[j, i + _ONE] - 2.0 * a[j, i] + a[j, i - _ONE]) * inv_dx2
                         + (a[j + _ONE, i] - 2.0 * a[j, i] + a[j - _ONE, i]) * inv_dy2)
            out[i] += nu * laplacian
            out[i] += forcing[c, j, i] - drag * a[j, i]
    else:
        for i in range(i_lo, i_hi):
            out[i] += forcing[c, j, i] - drag * a[j, i]


@_row
def _update_row(s, x, tend, c, b, j, i_lo, i_hi, weight, dt, y):
    for i in range(i_lo, i_hi):
        y[c, b, j, i] = s[c, b, j, i] + weight * ((x[c, b, j, i] - s[c, b, j, i])
                                                  + dt * tend[c, i])


@_row
def _update_in_place_row(x, tend, c, b, j, i_lo, i_hi, weight, dt, y):
    """``_update_row`` with s = y."""
    for i in range(i_lo, i_hi):
        y[c, b, j, i] = y[c, b, j, i] + weight * ((x[c, b, j, i] - y[c, b, j, i])
                                                  + dt * tend[c, i])


@_jit
def rk3_stage(start, source, dest, weight, dt, j_lo, j_hi, i_lo, i_hi,
              f0, g, nu, dx, dy, drag, forcing):
    """dest = start + weight * ((source - start) + dt * L(source)) on rows [j_lo, j_hi) and
    columns [i_lo, i_hi) (padded indices, >= 1) of every trajectory.

    Stage 1 is weight 1 with source = start (the increment vanishes); ``dest`` may be
    ``start`` itself in the last stage, because a point only reads ``start`` at itself.
    ``source`` must have its halo filled wherever the rectangle touches it. ``drag`` (1/s)
    and ``forcing`` ((2, ny + 2, nx + 2), m/s^2 at the u and v points) are the linear drag
    and the steady momentum forcing, the same for every trajectory.
    """
    inv_dx, inv_dy = 1.0 / dx, 1.0 / dy
    inv_dx2, inv_dy2 = 1.0 / dx**2, 1.0 / dy**2
    j_lo, j_hi = np.uint64(j_lo), np.uint64(j_hi)
    i_lo, i_hi = np.uint64(i_lo), np.uint64(i_hi)
    west, east = i_lo - _ONE, i_hi + _ONE
    width = source.shape[-1]
    fx = np.empty((2, width))
    fy = np.empty((2, width))
    q = np.empty((2, width))
    bern = np.empty((2, width))
    tend = np.empty((3, width))
    th, tu, tv = tend[0], tend[1], tend[2]
    # Row views made once per call: even rows use slot 0, odd rows slot 1.
    fx0, fx1, fy0, fy1 = fx[0], fx[1], fy[0], fy[1]
    q0, q1, bern0, bern1 = q[0], q[1], bern[0], bern[1]
    in_place = dest.ctypes.data == start.ctypes.data
    for b in range(source.shape[1]):
        h, u, v = source[0, b], source[1, b], source[2, b]
        # Prime the rolling buffers: fx, bern of row j_lo, fy, q of row j_lo - 1.
        even = (j_lo & _ONE) == 0
        _flux_x_row(h, u, j_lo, west, i_hi, fx0 if even else fx1)
        _flux_y_row(h, v, j_lo - _ONE, i_lo, east, fy1 if even else fy0)
        _pv_row(h, u, v, j_lo - _ONE, west, i_hi, f0, inv_dx, inv_dy, q1 if even else q0)
        _bernoulli_row(h, u, v, j_lo, i_lo, east, g, bern0 if even else bern1)
        for j in range(j_lo, j_hi):
            # Row j's fx and bern were computed as "north" of row j - 1, row j - 1's fy and q
            # are "south" now; the slots of row j - 1 (= j + 1) receive the new rows.
            # (Selected by parity: rebinding by a swap measured 1.4x slower for the stage.)
            if (j & _ONE) == 0:
                fx_j, fx_n, bern_j, bern_n = fx0, fx1, bern0, bern1
                fy_j, fy_s, q_j, q_s = fy0, fy1, q0, q1
            else:
                fx_j, fx_n, bern_j, bern_n = fx1, fx0, bern1, bern0
                fy_j, fy_s, q_j, q_s = fy1, fy0, q1, q0
            _flux_x_row(h, u, j + _ONE, west, i_hi, fx_n)
            _flux_y_row(h, v, j, i_lo, east, fy_j)
            _pv_row(h, u, v, j, west, i_hi, f0, inv_dx, inv_dy, q_j)
            _bernoulli_row(h, u, v, j + _ONE, i_lo, east, g, bern_n)
            _h_tendency_row(fx_j, fy_j, fy_s, i_lo, i_hi, inv_dx, inv_dy, th)
            _u_tendency_row(q_j, q_s, fy_j, fy_s, bern_j, i_lo, i_hi, inv_dx, tu)
            _v_tendency_row(q_j, fx_j, fx_n, bern_j, bern_n, i_lo, i_hi, inv_dy, tv)
            _add_terms_row(u, v, j, i_lo, i_hi, nu, inv_dx2, inv_dy2, drag, forcing, tu, tv)
            for c in range(3):
                if in_place:
                    _update_in_place_row(source, tend, c, b, j, i_lo, i_hi, weight, dt, dest)
                else:
                    _update_row(start, source, tend, c, b, j, i_lo, i_hi, weight, dt, dest)

"""The fused, compiled RK3 stage: the NumPy scheme of ``physics.py`` in one pass per stage.

One call updates a rectangle of a padded block: for every row it computes the face fluxes,
corner potential vorticity and Bernoulli function once into short rolling row buffers (two
rows each, L1-resident), then the tendency and the RK3 stage update, writing the stage's
output straight into its destination. Nothing the size of the block is allocated, and no
array is copied per step; the only block-sized traffic is reading the stage's inputs and
writing its output.

Why it is written as many short loops over 1-D row views: that is what LLVM vectorises.
Every loop reads contiguous rows and writes exactly one row, indexed from a constant start
(0 or 1) so the index is provably non-negative: numba then drops its negative-index
wrap-around, which otherwise turns every load into a gather (the first version, indexing
``h[j, i]`` from ``i_lo``, ran 2.6x slower), and one written row keeps LLVM's run-time
aliasing checks few enough that it emits them instead of giving up. Row views start at
column ``origin = i_lo - 1``, so view index k is padded column ``origin + k``.

Why it stays bitwise invariant in the rank count: every output point is computed by the
same instructions from the same stencil of reach one, whichever rectangle (interior first,
then boundary strips, or the whole block) it falls in, and nothing is reduced across points.
A vectorised loop and its scalar remainder give the same bits: no fused multiply-add
(``fastmath=False``), so each lane rounds as the scalar code does.

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
# functions are inlined at numba's level: as separate calls, each row view they receive
# costs reference counting, and the stage ran 1.5x slower.
_jit = numba.njit(cache=True, fastmath=False, boundscheck=False, error_model="numpy")
_row = numba.njit(cache=True, fastmath=False, boundscheck=False, error_model="numpy",
                  inline="always")


@_row
def _flux_x_row(h, u, count, out):
    """Zonal mass flux on the east faces k = 0 .. count-1."""
    for k in range(count):
        out[k] = 0.5 * (h[k] + h[k + 1]) * u[k]


@_row
def _flux_y_row(h, h_north, v, count, out):
    """Meridional mass flux on the north faces of a row."""
    for k in range(count):
        out[k] = 0.5 * (h[k] + h_north[k]) * v[k]


@_row
def _pv_row(h, h_north, u, u_north, v, count, f0, inv_dx, inv_dy, out):
    """Potential vorticity on the north-east corners of a row."""
    for k in range(count):
        zeta = (v[k + 1] - v[k]) * inv_dx - (u_north[k] - u[k]) * inv_dy
        h_corner = 0.25 * ((h[k] + h[k + 1]) + (h_north[k] + h_north[k + 1]))
        out[k] = (f0 + zeta) / h_corner


@_row
def _bernoulli_row(h, u, v, v_south, count, g, out):
    """g h + K at the centres k = 1 .. count-1 (K reads the west and south faces)."""
    for k in range(1, count):
        kinetic = 0.25 * ((u[k] * u[k] + u[k - 1] * u[k - 1])
                          + (v[k] * v[k] + v_south[k] * v_south[k]))
        out[k] = g * h[k] + kinetic


@_row
def _h_tendency_row(fx, fy, fy_south, count, inv_dx, inv_dy, th):
    for k in range(1, count):
        th[k] = -((fx[k] - fx[k - 1]) * inv_dx + (fy[k] - fy_south[k]) * inv_dy)


@_row
def _u_tendency_row(q, q_south, fy, fy_south, bern, count, inv_dx, tu):
    for k in range(1, count):
        q_flux_y = q[k] * (fy[k] + fy[k + 1])
        q_flux_y_south = q_south[k] * (fy_south[k] + fy_south[k + 1])
        tu[k] = 0.25 * (q_flux_y + q_flux_y_south) - (bern[k + 1] - bern[k]) * inv_dx


@_row
def _v_tendency_row(q, fx, fx_north, bern, bern_north, count, inv_dy, tv):
    for k in range(1, count):
        q_flux_x = q[k] * (fx[k] + fx_north[k])
        q_flux_x_west = q[k - 1] * (fx[k - 1] + fx_north[k - 1])
        tv[k] = -0.25 * (q_flux_x + q_flux_x_west) - (bern_north[k] - bern[k]) * inv_dy


@_row
def _viscosity_row(a_south, a, a_north, count, nu, inv_dx2, inv_dy2, out):
    for k in range(1, count):
        laplacian = ((a[k + 1] - 2.0 * a[k] + a[k - 1]) * inv_dx2
                     + (a_north[k] - 2.0 * a[k] + a_south[k]) * inv_dy2)
        out[k] += nu * laplacian


@_row
def _forcing_row(a, forcing, count, drag, out):
    for k in range(1, count):
        out[k] += forcing[k] - drag * a[k]


@_row
def _add_terms_row(u, v, j, i_lo, i_hi, nu, inv_dx2, inv_dy2, drag, forcing, tu, tv):
    """Terms beyond the inviscid dynamics, added to ``tu[i]``, ``tv[i]`` for padded columns
    i_lo .. i_hi-1 of row j: Laplacian viscosity, then the steady forcing minus the linear
    drag (``forcing[0]`` at the u points, ``forcing[1]`` at the v points)."""
    origin, count = i_lo - 1, i_hi - i_lo + 1
    if nu > 0:
        _viscosity_row(u[j - 1, origin:], u[j, origin:], u[j + 1, origin:], count,
                       nu, inv_dx2, inv_dy2, tu[origin:])
        _viscosity_row(v[j - 1, origin:], v[j, origin:], v[j + 1, origin:], count,
                       nu, inv_dx2, inv_dy2, tv[origin:])
    _forcing_row(u[j, origin:], forcing[0, j, origin:], count, drag, tu[origin:])
    _forcing_row(v[j, origin:], forcing[1, j, origin:], count, drag, tv[origin:])


@_row
def _update_row(s, x, tend, count, weight, dt, y):
    for k in range(1, count):
        y[k] = s[k] + weight * ((x[k] - s[k]) + dt * tend[k])


@_row
def _update_in_place_row(x, tend, count, weight, dt, y):
    """``_update_row`` with s = y: the same operations on the same values, but written so
    that LLVM sees the read and the write of y at one index, which it may vectorise; as
    two arrays that overlap completely its aliasing check would send it to scalar code."""
    for k in range(1, count):
        y[k] = y[k] + weight * ((x[k] - y[k]) + dt * tend[k])


@_jit
def rk3_stage(start, source, dest, weight, dt, j_lo, j_hi, i_lo, i_hi,
              f0, g, nu, dx, dy, drag, forcing):
    """dest = start + weight * ((source - start) + dt * L(source)) on rows [j_lo, j_hi) and
    columns [i_lo, i_hi) (padded indices) of every trajectory.

    Stage 1 is weight 1 with source = start (the increment vanishes); ``dest`` may be
    ``start`` itself in the last stage, because a point only reads ``start`` at itself.
    ``source`` must have its halo filled wherever the rectangle touches it. ``drag`` (1/s)
    and ``forcing`` ((2, ny + 2, nx + 2), m/s^2 at the u and v points) are the linear drag
    and the steady momentum forcing, the same for every trajectory.
    """
    inv_dx, inv_dy = 1.0 / dx, 1.0 / dy
    inv_dx2, inv_dy2 = 1.0 / dx**2, 1.0 / dy**2
    origin = i_lo - 1
    count = i_hi - origin  # view indices 1 .. count-1 are the output columns
    fx = np.empty((2, count + 1))
    fy = np.empty((2, count + 1))
    q = np.empty((2, count + 1))
    bern = np.empty((2, count + 1))
    tend = np.empty((3, source.shape[-1]))  # padded columns, as _add_terms_row indexes them
    th, tu, tv = tend[0, origin:], tend[1, origin:], tend[2, origin:]
    in_place = dest.ctypes.data == start.ctypes.data
    for b in range(source.shape[1]):
        h, u, v = source[0, b], source[1, b], source[2, b]
        # Prime the rolling buffers with the rows just below/above the first output row.
        south = j_lo - 1
        _flux_x_row(h[j_lo, origin:], u[j_lo, origin:], count, fx[j_lo & 1])
        _flux_y_row(h[south, origin:], h[j_lo, origin:], v[south, origin:], count + 1,
                    fy[south & 1])
        _pv_row(h[south, origin:], h[j_lo, origin:], u[south, origin:], u[j_lo, origin:],
                v[south, origin:], count, f0, inv_dx, inv_dy, q[south & 1])
        _bernoulli_row(h[j_lo, origin:], u[j_lo, origin:], v[j_lo, origin:],
                       v[south, origin:], count + 1, g, bern[j_lo & 1])
        for j in range(j_lo, j_hi):
            here, below = j & 1, (j - 1) & 1
            above = below  # row j + 1 reuses the slot of row j - 1
            h_j, h_n = h[j, origin:], h[j + 1, origin:]
            u_j, u_n = u[j, origin:], u[j + 1, origin:]
            v_j, v_n = v[j, origin:], v[j + 1, origin:]
            _flux_x_row(h_n, u_n, count, fx[above])
            _flux_y_row(h_j, h_n, v_j, count + 1, fy[here])
            _pv_row(h_j, h_n, u_j, u_n, v_j, count, f0, inv_dx, inv_dy, q[here])
            _bernoulli_row(h_n, u_n, v_n, v_j, count + 1, g, bern[above])
            # fx[above] and bern[above] now hold row j + 1; fy[below], q[below] row j - 1
            # were written in the previous iteration (or the priming) before being replaced.
            _h_tendency_row(fx[here], fy[here], fy[below], count, inv_dx, inv_dy, th)
            _u_tendency_row(q[here], q[below], fy[here], fy[below], bern[here], count,
                            inv_dx, tu)
            _v_tendency_row(q[here], fx[here], fx[above], bern[here], bern[above], count,
                            inv_dy, tv)
            _add_terms_row(u, v, j, i_lo, i_hi, nu, inv_dx2, inv_dy2, drag, forcing,
                           tend[1], tend[2])
            for c in range(3):
                x, y = source[c, b, j, origin:], dest[c, b, j, origin:]
                if in_place:
                    _update_in_place_row(x, tend[c, origin:], count, weight, dt, y)
                else:
                    _update_row(start[c, b, j, origin:], x, tend[c, origin:], count,
                                weight, dt, y)

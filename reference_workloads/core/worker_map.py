"""A map over stateful workers, for stages whose items are independent (one molecule docked).

The map backend is chosen by the environment (``AI4S_MAP_BACKEND``, read by
``launch.LaunchConfig``), never by the recipe: it says where a stage runs, not what it
computes, so it stays out of every stage key, and a stage must give the same shards and
tables bitwise on each backend (as it does for any number of MPI ranks).

A worker is built once by a picklable factory (a Vina with the receptor's affinity maps costs
seconds to build) and then called once per item. Items go out in the order given (costliest
first, so the long jobs start early and the short ones fill the tail) and results come back
as they finish, so the caller writes them as shards at once and a killed job loses only what
was in flight.

- ``inprocess``: one worker in this process, the items in order.
- ``ray``: one Ray actor per worker; Ray's ActorPool hands the next item to the first idle
  actor, the same dynamic schedule as the MPI stages' fetch-and-add queue. ``ray`` is not a
  dependency of the kit: the RayJob runs the kit's image with it added.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .launch import MAP_BACKEND_ENV, LaunchError

Worker = Callable[[Any], Any]
WorkerFactory = Callable[[], Worker]
Map = Callable[[WorkerFactory, Sequence[Any], int], Iterator[Any]]


def inprocess_map(factory: WorkerFactory, items: Sequence[Any], workers: int) -> Iterator[Any]:
    """One worker in this process, whatever ``workers`` asks: the items in order."""
    if not items:
        return
    work = factory()
    for item in items:
        yield work(item)


class _Actor:
    """What a Ray actor holds: one worker, built on the actor's node."""

    def __init__(self, factory: WorkerFactory) -> None:
        self.work = factory()

    def run(self, item: Any) -> Any:
        return self.work(item)


def ray_map(factory: WorkerFactory, items: Sequence[Any], workers: int) -> Iterator[Any]:
    """``workers`` one-CPU actors on the Ray cluster (a RayJob's driver finds its own through
    RAY_ADDRESS; elsewhere ``ray.init`` starts a local one); results in completion order."""
    require_backend("ray")
    if not items:
        return
    import ray
    from ray.util import ActorPool

    ray.init(ignore_reinit_error=True)
    # one CPU each: Vina and MMFF run on one core, and the RayJob sizes its pods by the stage's ranks
    actor = ray.remote(num_cpus=1)(_Actor)
    pool = ActorPool([actor.remote(factory) for _ in range(max(1, min(workers, len(items))))])
    yield from pool.map_unordered(lambda handle, item: handle.run.remote(item), items)


MAPS: dict[str, Map] = {"inprocess": inprocess_map, "ray": ray_map}


def require_backend(backend: str) -> None:
    """Refuse, in one line, a map backend whose package this environment lacks (before any work)."""
    if backend == "ray" and importlib.util.find_spec("ray") is None:
        raise LaunchError(f"{MAP_BACKEND_ENV}='ray' needs the ray package, which is not installed: "
                          "expected it in the RayJob's image (pip install ray), or mpi or inprocess")

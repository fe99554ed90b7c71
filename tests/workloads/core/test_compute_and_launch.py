"""Device choice, local-rank mapping and launch commands: pure functions, checked without a GPU."""

from __future__ import annotations

import os

import pytest
import torch

from reference_workloads.climate.recipes import book as climate_book
from reference_workloads.core import ddp, launch
from reference_workloads.core.compute import DeviceUnavailable, resolve_device
from reference_workloads.core.recipes import RecipeError


@pytest.fixture
def one_gpu(monkeypatch):
    """A host that shows one CUDA device (nothing is allocated on it)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: None)


def test_second_local_rank_on_a_one_gpu_host_shares_cuda_0(one_gpu, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert ddp.init_distributed("cuda").device == torch.device("cuda", 0)  # was cuda:1


def test_auto_picks_cuda_when_visible_and_cpu_means_cpu(one_gpu):
    assert resolve_device("auto", 3) == torch.device("cuda", 0)
    assert resolve_device("cpu", 3) == torch.device("cpu")


def test_cuda_on_a_host_without_one_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(DeviceUnavailable, match="device='cuda' is invalid"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="expected one of auto, cpu, cuda"):
        resolve_device("gpu")


def test_recipe_rejects_an_unknown_device_naming_the_field():
    with pytest.raises(RecipeError, match="train.device='gpu' is invalid"):
        climate_book.get("ci_tiny", ["train.device=gpu"])


def test_one_node_is_standalone_and_several_meet_at_a_c10d_rendezvous():
    assert "--standalone" in launch.torchrun_command(2, "m", [], launch.LaunchConfig.from_env({}))
    config = launch.LaunchConfig.from_env({launch.NNODES_ENV: "2", launch.NODE_RANK_ENV: "1",
                                           launch.RDZV_ENDPOINT_ENV: "node-0:29400"})
    command = launch.torchrun_command(4, "m", ["--x"], config)
    assert "--standalone" not in command
    for flag in ("--nnodes=2", "--node-rank=1", "--rdzv-backend=c10d", "--rdzv-endpoint=node-0:29400",
                 "--nproc-per-node=4"):
        assert flag in command
    assert command[-2:] == ["m", "--x"]


def test_several_nodes_without_an_endpoint_are_refused():
    with pytest.raises(RecipeError, match="launch.rdzv_endpoint=None is invalid"):
        launch.LaunchConfig.from_env({launch.NNODES_ENV: "2"})
    with pytest.raises(RecipeError, match="launch.node_rank=2 is invalid"):
        launch.LaunchConfig(nnodes=2, node_rank=2, rdzv_endpoint="h:1")


def test_mpiexec_oversubscribes_only_when_asked_and_passes_cluster_options():
    plain = launch.mpiexec_command(2, "m", [], launch.LaunchConfig.from_env({}))
    assert "--oversubscribe" not in plain and "--bind-to" not in plain
    asked = launch.mpiexec_command(2, "m", [], launch.LaunchConfig.from_env({
        launch.OVERSUBSCRIBE_ENV: "1", launch.MPIEXEC_ARGS_ENV: "--hostfile /etc/mpi/hosts --map-by ppr:4:node"}))
    assert "--oversubscribe" in asked  # Open MPI here
    assert asked[asked.index("--hostfile") + 1] == "/etc/mpi/hosts" and "ppr:4:node" in asked


def test_more_ranks_than_slots_without_asking_says_how_to_ask(monkeypatch):
    monkeypatch.delenv(launch.OVERSUBSCRIBE_ENV, raising=False)
    too_many = (os.cpu_count() or 1) + 1
    with pytest.raises(launch.LaunchError, match=f"set {launch.OVERSUBSCRIBE_ENV}=1 to oversubscribe locally"):
        launch.mpiexec(too_many, "json.tool", [], timeout=60)


def test_two_local_ranks_on_one_gpu_reduce_with_gloo_and_one_each_with_nccl(one_gpu):
    from reference_workloads.core.compute import process_group_backend

    cuda = torch.device("cuda", 0)
    assert process_group_backend(cuda, local_world_size=1) == "nccl"
    assert process_group_backend(cuda, local_world_size=2) == "gloo"  # NCCL refuses a shared GPU
    assert process_group_backend(torch.device("cpu"), local_world_size=1) == "gloo"


def test_the_cpu_reproducibility_recipes_stay_on_the_cpu_on_any_host():
    from reference_workloads.drug_discovery.recipes import book as drug_book

    for name in ("ci_tiny", "laptop"):
        assert climate_book.get(name).train.device == "cpu"
        assert drug_book.get(name).resources.device == "cpu"
    assert climate_book.get("h100x1").train.device == "cuda" and drug_book.get("h100x1").resources.device == "cuda"

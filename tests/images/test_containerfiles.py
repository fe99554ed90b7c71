"""The Containerfiles' invariants, on the shipped files and on a broken copy of each (no podman)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from containers import containerfile
from containers.build import containerfile as containerfile_path

CPU = containerfile_path("cpu").read_text()
CUDA = containerfile_path("cuda").read_text()


@pytest.mark.parametrize("variant", ["cpu", "cuda"])
def test_the_shipped_containerfiles_keep_every_invariant(variant):
    assert containerfile.problems(containerfile_path(variant).read_text()) == []


def _break(text: str, old: str, new: str) -> str:
    assert old in text, f"the Containerfile no longer holds {old!r}: update the broken copy"
    return text.replace(old, new, 1)


BROKEN = {
    "no USER": (r"USER 10001:10001\n", "", "no USER"),
    "root USER": (r"USER 10001:10001", "USER root", "runs as USER root"),
    "base by tag": (r"slim-bookworm@sha256:[0-9a-f]{64}", "slim-bookworm", "is not pinned"),
    "short digest": (r"(@sha256:[0-9a-f]{60})[0-9a-f]{4}", r"\1", "is not pinned"),
    "compiler in the final stage": (r"RUN groupadd", "RUN apt-get update && apt-get install -y gcc && groupadd",
                                    "installs gcc"),
    "no revision label": (r'org\.opencontainers\.image\.revision="\$\{REVISION\}" \\\n\s*', "",
                          "lacks LABEL org.opencontainers.image.revision"),
    "no created label": (r'org\.opencontainers\.image\.created="\$\{CREATED\}" \\\n\s*', "",
                         "lacks LABEL org.opencontainers.image.created"),
    "one stage": (r"(?s)FROM \$\{BASE_IMAGE\} AS build.*?(?=FROM \$\{BASE_IMAGE\}\n)", "", "one stage only"),
}


@pytest.mark.parametrize("variant", ["cpu", "cuda"])
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_copy_is_rejected_with_what_to_fix(variant, case):
    pattern, replacement, message = BROKEN[case]
    text = containerfile_path(variant).read_text()
    broken, count = re.subn(pattern, replacement, text, count=1)
    assert count == 1, f"{case}: the pattern no longer matches {variant}'s Containerfile"
    found = containerfile.problems(broken)
    assert any(message in p for p in found), found


def test_a_compiler_in_the_build_stage_is_allowed():
    text = _break(CPU, "    python3 -m venv /opt/tools", "    apt-get install -y gcc && python3 -m venv /opt/tools")
    assert containerfile.problems(text) == []


def test_the_cpu_image_installs_only_from_the_wheelhouse_and_checks_it_got_the_cpu_torch():
    _, stages = containerfile.stages(CPU)
    install = stages[-1].args("RUN")[1]
    assert "--mount=type=bind,from=wheels" in install and "--no-index" in install
    assert "-c /usr/share/ai4s/constraints.txt" in install and "torch.version.cuda is None" in install
    assert "torch==2.13.0+cpu" in (Path(containerfile_path("cpu")).parents[1] / "constraints.txt").read_text()


def test_the_cuda_image_takes_torch_from_pypi_and_never_the_cpu_wheelhouse():
    _, stages = containerfile.stages(CUDA)
    install = stages[-1].args("RUN")[1]
    assert "from=wheels" not in CUDA and "--no-index" not in install
    # the constraint is rewritten to the plain release, which PyPI serves as the CUDA build
    assert r"s/^torch==2\.13\.0+cpu$/torch==2.13.0/" in install and "grep -qx 'torch==2.13.0'" in install
    assert "assert torch.version.cuda" in install
    assert "NVIDIA_VISIBLE_DEVICES=all" in " ".join(stages[-1].args("ENV"))


def test_both_images_share_their_base_labels_user_and_layout():
    cpu_args, cpu = containerfile.stages(CPU)
    cuda_args, cuda = containerfile.stages(CUDA)
    assert cpu_args["BASE_IMAGE"] == cuda_args["BASE_IMAGE"]
    assert [s.name for s in cpu] == [s.name for s in cuda] == ["build", None]
    # the kit and its SBOM go in the same way; only the requirements' install differs
    assert cpu[-1].args("RUN")[2] == cuda[-1].args("RUN")[2]
    for key in ("USER", "COPY", "WORKDIR", "CMD"):
        assert cpu[-1].args(key) == cuda[-1].args(key), key
    labels = [re.sub(r'title="[^"]*"', "", " ".join(s[-1].args("LABEL"))) for s in (cpu, cuda)]
    assert labels[0] == labels[1]

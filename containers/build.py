"""Build a kit image: ``python -m containers.build --variant cpu``.

Steps: a wheelhouse of every pinned requirement (pip here finds this machine's CPU torch
wheel through its configured find-links), the base (by digest: the local mmdebstrap base
unless ``--base`` names one), ``podman build --isolation chroot``, then a last one-file
layer that stamps ``/etc/ai4s/image.json`` with the digest. ``build/images/<variant>/``
receives ``build.json`` (names and digests) and the SBOM the image carries.

Why a stamp layer: an image cannot hold its own digest (writing it changes it), so the
file names the digest of the image the Containerfile built, the stamped image's only
parent, and the run prefers ``AI4S_IMAGE_DIGEST`` when the platform sets it (the pod's
image by registry digest). ``build.json`` holds both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from .base import ensure_local_base
from .podman import ISOLATION, ImageError, available, call, image_digest

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
VARIANTS = ("cpu", "cuda")
OUT = REPO / "build" / "images"
WHEELHOUSE = Path.home() / ".cache" / "ai4s" / "wheelhouse"
BUILD_TOOLS = HERE / "build-tools.txt"
IMAGE = "localhost/ai4s-kit"
SOURCE = "https://github.com/ai4s-kit/ai4s-kit"
IMAGE_JSON = "etc/ai4s/image.json"
SBOM_IN_IMAGE = "usr/share/ai4s/sbom.cdx.json"
TORCH_CPU = "torch-2.13.0+cpu-"


def containerfile(variant: str) -> Path:
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is invalid: expected one of {', '.join(VARIANTS)}")
    return HERE / f"Containerfile.{variant}"


def _inputs_hash() -> str:
    """What the wheelhouse is resolved from; a wheelhouse marked with another hash is redone."""
    digest = hashlib.sha256()
    for path in (REPO / "pyproject.toml", REPO / "constraints.txt", BUILD_TOOLS):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def make_wheelhouse(path: Path = WHEELHOUSE) -> Path:
    """Every wheel the build stage installs, downloaded here, where pip's configuration
    (find-links /opt/wheels) supplies the CPU torch wheel; reused while its inputs match."""
    marker = path / ".inputs"
    if marker.exists() and marker.read_text() == _inputs_hash():
        return path
    path.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(path), "--only-binary=:all:"]
    call(*pip, "--constraint", str(REPO / "constraints.txt"), str(REPO))
    call(*pip, "--no-deps", "--requirement", str(BUILD_TOOLS))
    if not any(p.name.startswith(TORCH_CPU) for p in path.iterdir()):
        raise ImageError(f"the wheelhouse {path} has no {TORCH_CPU}*.whl: put the CPU torch wheel in a "
                         f"pip find-links folder (here /opt/wheels) so the image never takes the CUDA build")
    marker.write_text(_inputs_hash())
    return path


def revision() -> str:
    """The revision the image is built from, as the kit's runs name their code version."""
    sys.path.insert(0, str(REPO))
    from reference_workloads.core.manifest import code_version

    return code_version(REPO)


def stamp(content: str, tag: str, *, revision: str, sbom_out: Path) -> str:
    """Commit ``content`` plus image.json naming its digest as ``tag``; copy the SBOM out."""
    content_digest = image_digest(content)
    container = call("buildah", "from", "--pull=never", content)
    try:
        root = Path(call("buildah", "mount", container))
        (root / IMAGE_JSON).write_text(json.dumps({"digest": content_digest, "revision": revision}) + "\n")
        shutil.copyfile(root / SBOM_IN_IMAGE, sbom_out)
        call("buildah", "umount", container)
        call("buildah", "commit", "--quiet", container, tag)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
    return content_digest


def build(variant: str, *, base: str | None = None, tag: str | None = None, out: Path = OUT,
          wheelhouse: Path = WHEELHOUSE) -> dict[str, str | float]:
    """Build the image of ``variant``; returns what ``build.json`` records."""
    missing = available(("podman", "buildah") if base else ("podman", "buildah", "mmdebstrap"))
    if missing:
        raise ImageError(missing)
    started = time.monotonic()
    base = base or ensure_local_base()
    if "@sha256:" not in base:
        raise ValueError(f"base={base!r} is invalid: expected an image named by digest, name@sha256:<64 hex>")
    tag = tag or f"{IMAGE}:{variant}"
    content = f"{tag}-unstamped"
    rev = revision()
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    folder = out / variant
    folder.mkdir(parents=True, exist_ok=True)
    call("podman", "build", f"--isolation={ISOLATION}", "--layers", "--quiet",
         "--file", str(containerfile(variant)), "--ignorefile", str(HERE / "build.ignore"),
         "--build-context", f"wheels={make_wheelhouse(wheelhouse)}",
         "--build-arg", f"BASE_IMAGE={base}", "--build-arg", f"REVISION={rev}",
         "--build-arg", f"CREATED={created}", "--build-arg", f"SOURCE={SOURCE}",
         "--build-arg", f"VERSION={_kit_version()}", "--tag", content, str(REPO))
    content_digest = stamp(content, tag, revision=rev, sbom_out=folder / "sbom.cdx.json")
    record = {"variant": variant, "image": tag, "digest": image_digest(tag), "content_image": content,
              "content_digest": content_digest, "base": base, "revision": rev, "created": created,
              "seconds": round(time.monotonic() - started, 1)}
    (folder / "build.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def _kit_version() -> str:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m containers.build", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=VARIANTS, default="cpu")
    parser.add_argument("--base", help="base image by digest (name@sha256:...) [default: the local mmdebstrap base]")
    parser.add_argument("--tag", help=f"image name [default: {IMAGE}:<variant>]")
    parser.add_argument("--out", type=Path, default=OUT, help="where build.json and the SBOM go")
    args = parser.parse_args(argv)
    try:
        record = build(args.variant, base=args.base, tag=args.tag, out=args.out)
    except (ImageError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The few podman and buildah calls the build needs, each failing with the command's own error."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

# chroot isolation: this machine cannot run OCI containers (cgroups in hybrid mode), but a
# chroot with the image's root file system runs every RUN of a build and `buildah run`.
ISOLATION = "chroot"


class ImageError(RuntimeError):
    """A build step failed; the message says which command and why."""


def available(tools: tuple[str, ...] = ("podman", "buildah", "mmdebstrap")) -> str | None:
    """None when ``tools`` are installed, else what is missing and how to get it."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed: apt-get install -y podman buildah mmdebstrap"
    return None


def call(*args: str, env: dict[str, str] | None = None) -> str:
    """Run podman/buildah/mmdebstrap; the last lines of stderr become the error."""
    result = subprocess.run(list(args), capture_output=True, check=False, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        tail = (result.stderr or b"").decode(errors="replace").strip().splitlines()[-5:]
        raise ImageError(f"{' '.join(args[:3])} ... exited {result.returncode}: {' | '.join(tail)}")
    return (result.stdout or b"").decode().strip()


def image_digest(image: str) -> str:
    """The manifest digest (sha256:...) of a local image: what `name@digest` resolves."""
    return call("podman", "image", "inspect", "--format", "{{.Digest}}", image)


def image_exists(image: str) -> bool:
    return subprocess.run(["podman", "image", "exists", image], check=False).returncode == 0


def image_id(image: str) -> str | None:
    """The local image's ID, or None when the store has no such image."""
    result = subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", image],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def remove_images(images: Sequence[str]) -> None:
    """Remove the images a build or a test made; already-gone ones are fine."""
    for image in images:
        subprocess.run(["podman", "rmi", "--force", image], capture_output=True, check=False)

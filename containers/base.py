"""The local base image: Debian bookworm minbase with its python3 (3.11), made by mmdebstrap.

The registry's python:3.11-slim-bookworm is out of reach here, so the build makes an
equivalent root file system from Debian packages and `podman import`s it. The Containerfiles
take it by digest like any other base; what it holds is only what the kit needs at run time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .podman import call, image_digest, image_exists

BASE_NAME = "localhost/ai4s-base:bookworm-python3.11"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# python3-venv brings ensurepip for the build stage; libgomp1 is torch's OpenMP runtime.
PACKAGES = ("python3", "python3-venv", "libgomp1", "ca-certificates", "tzdata")
# Fixes the files' times in the tarball, so two builds from the same packages match.
SOURCE_DATE_EPOCH = "1748736000"


def mmdebstrap_command(tarball: Path) -> list[str]:
    return ["mmdebstrap", "--quiet", "--variant=minbase", f"--include={','.join(PACKAGES)}",
            "--aptopt=Acquire::Retries \"3\"",
            # apt's lists and caches are not needed at run time and change with every mirror sync
            "--customize-hook=rm -rf \"$1\"/var/cache/apt/* \"$1\"/var/lib/apt/lists/*",
            SUITE, str(tarball), MIRROR]


def ensure_local_base(name: str = BASE_NAME, *, rebuild: bool = False) -> str:
    """``name@sha256:...`` of the local base, made now unless the store already holds it."""
    if rebuild or not image_exists(name):
        with tempfile.TemporaryDirectory(prefix="ai4s-base-", dir="/var/tmp") as scratch:
            tarball = Path(scratch) / "rootfs.tar"
            call(*mmdebstrap_command(tarball), env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
            call("podman", "import", "--change", 'CMD ["python3"]', str(tarball), name)
    return f"{name.rsplit(':', 1)[0]}@{image_digest(name)}"

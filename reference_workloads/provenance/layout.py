"""Where a run's files go in a results folder: shared files by name, each training seed's
files as ``seed-<seed>-<name>``, and the first seed's figures (the ones a README shows)."""

from __future__ import annotations

from typing import Any

SHARED = {"manifest.json": "manifest.json", "events.log": "events.log"}


def published_files(manifest: dict[str, Any], per_seed: dict[str, str], figures: dict[str, str]) -> dict[str, str]:
    """Run-folder path -> published name, for a run whose manifest lists its ``repeats``."""
    out = dict(SHARED)
    for position, repeat in enumerate(manifest["repeats"]):
        out |= {f"{repeat['folder']}/{path}": f"seed-{repeat['seed']}-{name}" for path, name in per_seed.items()}
        if position == 0:
            out |= {f"{repeat['folder']}/{path}": name for path, name in figures.items()}
    return out

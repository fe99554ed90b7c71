"""No absolute local paths in published files: they name one machine, and leak its layout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _replacements(run_dir: Path) -> list[tuple[str, str]]:
    """(local prefix, portable text), most specific first: the run folder and its parent
    become relative paths, the repository and the home directory become placeholders."""
    run_dir = Path(run_dir).resolve()
    pairs = [(f"{run_dir}/", ""), (str(run_dir), "."), (f"{run_dir.parent}/", "../"),
             (f"{REPO}/", ""), (str(REPO), "."), (f"{Path.home()}/", "~/"), (str(Path.home()), "~")]
    # a root shorter than another must not rewrite the longer one's text first
    return [(old, new) for old, new in pairs if len(old) > 1]


def relative_to_run(value: Any, run_dir: str | os.PathLike[str]) -> Any:
    """``value`` (JSON-ready data) with every local path made relative to ``run_dir``."""
    def rewrite(item: Any) -> Any:
        if isinstance(item, str):
            return relative_text(item, run_dir)
        if isinstance(item, dict):
            return {k: rewrite(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [rewrite(v) for v in item]
        return item

    return rewrite(value)


def local_roots(run_dir: str | os.PathLike[str]) -> list[str]:
    """The local paths that must not appear in a published file."""
    return sorted({str(Path(run_dir).resolve()), str(REPO), str(Path.home())}, key=len, reverse=True)


def local_paths_in(folder: Path, roots: list[str]) -> list[str]:
    """'file: root' for every published file under ``folder`` that mentions one of ``roots``."""
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits += [f"{path.name}: {root}" for root in roots if root.encode() in data]
    return hits


def relative_text(text: str, run_dir: str | os.PathLike[str]) -> str:
    """``relative_to_run`` for the text of a published file (an event log, a JSON table)."""
    for old, new in _replacements(Path(run_dir)):
        text = text.replace(old, new)
    return text

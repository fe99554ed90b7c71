"""Shared builders for the conformance tests: small catalogues, fake checks, contexts."""

from __future__ import annotations

from pathlib import Path

from conformance.catalogue import parse
from conformance.registry import Context


def requirement(rid: str, level: str = "MUST", category: str = "platform", **extra) -> dict:
    return {"id": rid, "level": level, "category": category, "layer": "kit", "since": "0.1.0",
            "title": f"requirement {rid}", "description": "The kit MUST do the thing.", **extra}


def catalogue_doc(*requirements: dict) -> dict:
    return {"version": "0.1.0", "kit_release": "0.1.0", "requirements": list(requirements),
            "profiles": {"all": {"description": "every requirement here",
                                 "requirements": [r["id"] for r in requirements]}}}


def small_catalogue(*requirements: dict):
    return parse(catalogue_doc(*requirements))


def context(tmp_path: Path, **kwargs) -> Context:
    lines: list[str] = []
    ctx = Context(work_dir=tmp_path / "work", log=lines.append, **kwargs)
    ctx.cache["_log_lines"] = lines
    return ctx

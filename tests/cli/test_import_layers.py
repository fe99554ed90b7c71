"""The house's import rule: reference_workloads imports nothing of ours above it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABOVE = ("infra", "stacks", "conformance", "casestudies", "whitepaper")


def test_reference_workloads_imports_no_higher_layer() -> None:
    offenders = []
    for path in (ROOT / "reference_workloads").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ABOVE]
    # infra.cli is mounted by name (importlib) when the platform package is installed
    assert offenders == [], offenders

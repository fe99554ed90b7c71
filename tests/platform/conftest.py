"""Stacks rendered once per test session (under Pulumi mocks, as `ai4s platform render`)."""

from __future__ import annotations

import pytest

from infra.verify.render import render_stack

DIGEST_IMAGE = "ghcr.io/ai4s-kit/ai4s@sha256:" + "ab" * 32


@pytest.fixture(scope="session")
def stacks(tmp_path_factory):
    """stack name -> RenderResult of local and gpu."""
    return {name: render_stack(name, tmp_path_factory.mktemp(f"stack-{name}")) for name in ("local", "gpu")}

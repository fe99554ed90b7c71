"""Fixtures for the compute-side infra tests (part 1)."""

from __future__ import annotations

import pytest

from infra.verify.render import RecordingMonitor, install_mocks


@pytest.fixture
def monitor() -> RecordingMonitor:
    """Fresh Pulumi mocks whose monitor records every registration (parents, deps)."""
    return install_mocks()

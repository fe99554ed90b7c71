"""What an operator may change about the server, with the defaults a loopback deployment wants.

Every limit is a field here so the CLI, ``running_server`` and the tests set it in one way;
``__post_init__`` refuses values that would switch a guard off by accident (a zero body cap,
a negative timeout).
"""

from __future__ import annotations

from dataclasses import dataclass

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(kw_only=True, frozen=True, slots=True)
class ServingSettings:
    """Security and resource settings of one model server."""

    max_batch: int = 1024
    """Molecules per request; a larger batch is refused with 400 before any parsing."""
    max_body_bytes: int = 4 << 20
    """Request body cap, counted as bytes arrive (chunked bodies included); past it: 413."""
    body_timeout_s: float = 10.0
    """Time allowed to receive a whole request body; past it: 408."""
    header_timeout_s: float = 10.0
    """Time allowed for a request's headers, from the connection opening or the previous
    response; past it the connection is closed (uvicorn has no such timeout of its own)."""
    keep_alive_s: float = 5.0
    """Idle keep-alive connections are closed after this many seconds."""
    max_inflight: int = 64
    """Inference requests admitted at once (running or queued for a worker); past it: 503."""
    max_connections: int = 256
    """Open connections uvicorn accepts before answering 503 itself."""
    score_workers: int = 1
    """Processes that score; the event loop never scores (nor shares a GIL with scoring), so health
    probes answer in milliseconds while a batch is scored."""
    inline_max_batch: int = 4
    """Batches up to this many molecules are scored by one thread of the server process (no
    process hop, and the GIL is held only for about a millisecond); 0 sends all to the processes."""
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    """Host header names accepted (any port); others get 400, so a rebinding page cannot drive it."""
    repository_token: str | None = None
    """Bearer token for the model-repository routes; None (the default) disables those routes."""
    enable_metrics: bool = False
    """Serve Prometheus metrics at GET /metrics."""

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_body_bytes", "max_inflight", "max_connections", "score_workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} is invalid: expected an integer >= 1")
        for name in ("body_timeout_s", "header_timeout_s", "keep_alive_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)} is invalid: expected seconds > 0")
        if self.inline_max_batch < 0:
            raise ValueError(f"inline_max_batch={self.inline_max_batch} is invalid: expected an integer >= 0")
        if not self.allowed_hosts or any(not h or h != h.strip().lower() for h in self.allowed_hosts):
            raise ValueError(f"allowed_hosts={self.allowed_hosts!r} is invalid: expected lower-case host names")
        if self.repository_token is not None and len(self.repository_token) < 16:
            raise ValueError("repository_token is invalid: expected at least 16 characters (or none to disable)")

"""The ASGI app kserve's uvicorn runs: guards, the OIP and V1 routes; scoring in worker processes.

Routes (everything else is 404 ``{"error": ...}``)::

    GET  /  /v2/health/live                  liveness (never touches the model)
    GET  /v2/health/ready                    200 when the model is loaded, else 400 (the spec's 4xx)
    GET  /v2                                 server metadata; extensions list only what is enabled
    GET  /v2/models/{name}                   model metadata: inputs and outputs
    GET  /v2/models/{name}/ready             model readiness
    POST /v2/models/{name}/infer             inference (JSON or the binary tensor extension)
    GET  /v1/models  /v1/models/{name}       V1 listing and readiness
    POST /v1/models/{name}:predict           V1 inference: {"instances": [SMILES, ...]}
    POST /v2/repository/index | models/{name}/load | models/{name}/unload
                                             only with a repository token, and then only with it
    GET  /metrics                            only when the operator enables metrics
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
from collections.abc import Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

import orjson
from kserve.metrics import (
    PREDICT_HIST_TIME,  # kserve's predict histogram: the platform's dashboards chart it
)
from prometheus_client import Counter, Histogram

from .guards import ClientGone, check_bearer, check_content_type, check_host, headers_of, read_body
from .protocol import (
    BINARY_HEADER,
    ProtocolError,
    TensorSpec,
    bad,
    encode_infer,
    loads,
    parse_infer,
    smiles_strings,
)
from .settings import ServingSettings

logger = logging.getLogger(__name__)
# Recorded always (cheap), exposed only when the operator enables /metrics.
REQUESTS = Counter("ai4s_serving_requests", "HTTP requests answered, by route kind and status", ["kind", "status"])
INFER_SECONDS = Histogram("ai4s_serving_inference_seconds", "Inference request latency, body read to response")
MOLECULES = Counter("ai4s_serving_molecules", "Molecules received for scoring, by outcome", ["outcome"])


class NotReady(Exception):
    """The model is not loaded (unloaded through the repository, or still loading)."""


class ServedModel(Protocol):
    """What the app needs from the model (serve.py's kserve.Model subclass provides it)."""

    name: str
    ready: bool
    input_spec: TensorSpec
    output_specs: dict[str, TensorSpec]
    max_length: int

    def submit(self, strings: list[str]) -> concurrent.futures.Future: ...
    def load(self) -> bool: ...
    def stop(self) -> None: ...


Handler = Callable[..., Awaitable[tuple[int, bytes, list[tuple[bytes, bytes]]]]]


def json_answer(status: int, payload: object, *extra: tuple[bytes, bytes]):
    return status, orjson.dumps(payload), [(b"content-type", b"application/json"), *extra]


def _count(values: dict) -> None:
    failed = sum(1 for error in values["scoring_error"] if error)
    MOLECULES.labels("scored").inc(len(values["scoring_error"]) - failed)
    MOLECULES.labels("not_scored").inc(failed)


class ServingApp:
    """One model behind the guards; an ASGI 3 application."""

    def __init__(self, model: ServedModel, settings: ServingSettings, *, server_version: str) -> None:
        self.model = model
        self.settings = settings
        self.server_version = server_version
        self.inflight = 0
        self.reloading: asyncio.Task | None = None
        name = re.escape(model.name)
        routes: list[tuple[str, str, Handler, str]] = [  # method, path pattern, handler, kind
            ("GET", r"/", self.live, "health"),
            ("GET", r"/v2/health/live", self.live, "health"),
            ("GET", r"/v2/health/ready", self.server_ready, "health"),
            ("GET", r"/v2", self.server_metadata, "metadata"),
            ("GET", r"/v2/models/(?P<model>[^/]+)", self.model_metadata, "metadata"),
            ("GET", r"/v2/models/(?P<model>[^/]+)/ready", self.model_ready, "metadata"),
            ("POST", r"/v2/models/(?P<model>[^/]+)/infer", self.infer_v2, "infer"),
            ("GET", r"/v1/models", self.list_v1, "metadata"),
            ("GET", r"/v1/models/(?P<model>[^/:]+)", self.model_ready_v1, "metadata"),
            ("POST", r"/v1/models/(?P<model>[^/:]+):predict", self.predict_v1, "infer"),
        ]
        if settings.repository_token is not None:
            routes += [
                ("POST", r"/v2/repository/index", self.repository_index, "repository"),
                ("POST", r"/v2/repository/models/(?P<model>[^/]+)/load", self.repository_load, "repository"),
                ("POST", r"/v2/repository/models/(?P<model>[^/]+)/unload", self.repository_unload, "repository"),
            ]
        if settings.enable_metrics:
            routes.append(("GET", r"/metrics", self.metrics, "metrics"))
        self.routes = [(method, re.compile(pattern + r"\Z"), handler, kind) for method, pattern, handler, kind in routes]
        self._known_model = re.compile(name + r"\Z")

    # ---- ASGI -------------------------------------------------------------------------
    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets: uvicorn closes the connection
        route = {"kind": "unrouted"}
        try:
            status, body, headers = await self._dispatch(scope, receive, route)
        except ClientGone:
            return
        except ProtocolError as error:
            status, body, headers = json_answer(error.status, {"error": error.message})
            if error.status == 401:
                headers.append((b"www-authenticate", b'Bearer realm="model-repository"'))
            if error.status == 503:
                headers.append((b"retry-after", b"1"))
        except Exception as error:  # a bug must not reset the client's keep-alive connection
            logger.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            status, body, headers = json_answer(500, {"error": f"internal error: {type(error).__name__}"})
        REQUESTS.labels(route["kind"], str(status)).inc()
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _dispatch(self, scope, receive, route: dict):
        headers = headers_of(scope)
        check_host(headers, self.settings.allowed_hosts)
        path, method = scope["path"], scope["method"]
        allowed: list[str] = []
        for route_method, pattern, handler, kind in self.routes:
            match = pattern.match(path)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            route["kind"] = kind
            model = match.groupdict().get("model")
            if model is not None and not self._known_model.match(model):
                raise ProtocolError(404, f"model={model[:100]!r} is invalid: expected {self.model.name!r}")
            if kind == "repository":
                check_bearer(headers, self.settings.repository_token)
            if method == "GET":
                return await handler()
            check_content_type(headers)
            if kind != "infer":
                return await handler(await self._body(receive, headers), headers)
            if self.inflight >= self.settings.max_inflight:
                raise ProtocolError(503, f"server is busy: {self.inflight} requests in flight, the limit is "
                                         f"{self.settings.max_inflight}; retry later")
            self.inflight += 1
            try:
                with INFER_SECONDS.time():
                    return await handler(await self._body(receive, headers), headers)
            finally:
                self.inflight -= 1
        if allowed:
            raise ProtocolError(405, f"method={method!r} is invalid for {path[:100]!r}: expected {', '.join(allowed)}")
        raise ProtocolError(404, f"path={path[:100]!r} is invalid: no such route on this server")

    async def _body(self, receive, headers) -> bytes:
        return await read_body(receive, headers, limit=self.settings.max_body_bytes,
                               timeout=self.settings.body_timeout_s)

    async def _score(self, strings: list[str]) -> dict:
        if not self.model.ready:
            raise ProtocolError(503, f"model {self.model.name!r} is not ready: it is not loaded")
        try:
            with PREDICT_HIST_TIME.labels(model_name=self.model.name).time():
                return await asyncio.wrap_future(self.model.submit(strings))
        except NotReady:
            raise ProtocolError(503, f"model {self.model.name!r} is not ready: it was unloaded") from None
        except BrokenProcessPool:
            # A scoring process died (killed, out of memory): start fresh ones once, in the background.
            if self.reloading is None or self.reloading.done():
                self.model.stop()
                self.reloading = asyncio.ensure_future(asyncio.to_thread(self.model.load))
            raise ProtocolError(503, f"model {self.model.name!r} is restarting its scoring process; "
                                     "retry later") from None

    # ---- health and metadata --------------------------------------------------------------
    async def live(self):
        return json_answer(200, {"live": True})

    async def server_ready(self):
        if not self.model.ready:
            raise ProtocolError(400, f"server is not ready: model {self.model.name!r} is not loaded")
        return json_answer(200, {"ready": True})

    async def server_metadata(self):
        extensions = ["binary_tensor_data"]
        if self.settings.repository_token is not None:
            extensions.append("model_repository")
        return json_answer(200, {"name": "kserve", "version": self.server_version, "extensions": extensions})

    async def model_metadata(self):
        return json_answer(200, {
            "name": self.model.name,
            "platform": "pytorch_gnn",
            "inputs": [self.model.input_spec.as_dict()],
            "outputs": [spec.as_dict() for spec in self.model.output_specs.values()],
        })

    async def model_ready(self):
        if not self.model.ready:
            raise ProtocolError(400, f"model {self.model.name!r} is not ready: it is not loaded")
        return json_answer(200, {"name": self.model.name, "ready": True})

    async def list_v1(self):
        return json_answer(200, {"models": [self.model.name]})

    async def model_ready_v1(self):
        if not self.model.ready:
            raise ProtocolError(503, f"model {self.model.name!r} is not ready: it is not loaded")
        return json_answer(200, {"name": self.model.name, "ready": True})

    async def metrics(self):
        from prometheus_client import REGISTRY, generate_latest
        from prometheus_client.exposition import CONTENT_TYPE_LATEST

        return 200, generate_latest(REGISTRY), [(b"content-type", CONTENT_TYPE_LATEST.encode())]

    # ---- inference ----------------------------------------------------------------------
    async def infer_v2(self, body: bytes, headers: dict[str, str]):
        call = parse_infer(body, headers.get(BINARY_HEADER), input_spec=self.model.input_spec,
                           output_names=list(self.model.output_specs), max_batch=self.settings.max_batch,
                           max_length=self.model.max_length)
        values = await self._score(call.strings)
        _count(values)
        payload, header_length = encode_infer(model_name=self.model.name, request_id=call.request_id,
                                              outputs=call.outputs, specs=self.model.output_specs, values=values)
        if header_length is None:
            return 200, payload, [(b"content-type", b"application/json")]
        return 200, payload, [(b"content-type", b"application/octet-stream"),
                              (BINARY_HEADER.encode(), str(header_length).encode())]

    async def predict_v1(self, body: bytes, headers: dict[str, str]):
        """V1 has one result list, so one unscorable molecule refuses the batch (400 naming it)."""
        request = loads(body, "body")
        if not isinstance(request, dict) or not isinstance(request.get("instances"), list):
            raise bad('body is invalid: expected a JSON object {"instances": [SMILES, ...]}')
        strings = smiles_strings(request["instances"], "instances", self.settings.max_batch, self.model.max_length)
        values = await self._score(strings)
        _count(values)
        for position, error in enumerate(values["scoring_error"]):
            if error:
                raise bad(f"instances[{position}]={strings[position][:80]!r} is invalid: {error}")
        return json_answer(200, {"predictions": values["prediction"].tolist(),
                                 "canonical_smiles": values["canonical_smiles"], "target": values["target"]})

    # ---- model repository (token only) -----------------------------------------------------
    async def repository_index(self, body: bytes, headers: dict[str, str]):
        ready_only = False
        if body.strip():
            request = loads(body, "body")
            if not isinstance(request, dict) or not isinstance(request.get("ready", False), bool):
                raise bad('body is invalid: expected {} or {"ready": true|false}')
            ready_only = request.get("ready", False)
        entries = [] if ready_only and not self.model.ready else [
            {"name": self.model.name, "state": "READY" if self.model.ready else "UNAVAILABLE"}
        ]
        return json_answer(200, entries)

    async def repository_load(self, body: bytes, headers: dict[str, str]):
        if not self.model.ready:
            await asyncio.to_thread(self.model.load)
        return json_answer(200, {"name": self.model.name, "load": True})

    async def repository_unload(self, body: bytes, headers: dict[str, str]):
        self.model.stop()
        return json_answer(200, {"name": self.model.name, "unload": True})

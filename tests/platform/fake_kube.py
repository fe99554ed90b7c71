"""A Kubernetes API test double: a tiny HTTP server on 127.0.0.1 speaking the few API paths
the kit's client uses (version, custom objects by group/version/plural, pods and their logs).

No real API server runs here, so ``ai4s submit`` and pre-flight are tested against this
double, through the real ``kubernetes`` client; the real path is the live conformance check.
Workload objects get a status from a scripted controller on each read, so a test can walk
a TrainJob through queued, admitted, running and done (or failed).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from reference_workloads.platform.kube import PLURALS

VERSION = {"major": "1", "minor": "34", "gitVersion": "v1.34.0-fake", "gitCommit": "0", "gitTreeState": "clean",
           "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"}
SUCCESS = {
    "TrainJob": [None, {"conditions": [{"type": "Suspended", "status": "True"}]},
                 {"conditions": [{"type": "Suspended", "status": "False"}]},
                 {"conditions": [{"type": "Suspended", "status": "False"}], "jobsStatus": [{"name": "node", "active": 1}]},
                 {"conditions": [{"type": "Complete", "status": "True"}]}],
    "RayJob": [None, {"jobDeploymentStatus": "Initializing"}, {"jobDeploymentStatus": "Running"},
               {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}],
    "InferenceService": [None, {"conditions": [{"type": "Ready", "status": "False"}]},
                         {"conditions": [{"type": "Ready", "status": "True"}]}],
}
FAILURE = [None, {"conditions": [{"type": "Suspended", "status": "False"}], "jobsStatus": [{"active": 1}]},
           {"conditions": [{"type": "Failed", "status": "True"}]}]

_CUSTOM = re.compile(r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)(?:/namespaces/(?P<ns>[^/]+))?"
                     r"/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?$")
_PODS = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods(?:/(?P<name>[^/]+)/log)?$")
KIND_OF = {plural: kind for kind, plural in PLURALS.items()}


class FakeCluster:
    """The double's state: objects by (group, plural, namespace, name), scripted statuses, pods."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str, str], dict] = {}
        self.reads: dict[tuple[str, str, str, str], int] = {}
        self.scripts: dict[str, list[dict | None]] = {}
        """Object name -> statuses on successive reads (the last one stays); default SUCCESS."""
        self.pods: dict[str, dict[str, str]] = {}
        """Label selector -> pod name -> log."""
        self.calls: list[str] = []
        self.on_read: Callable[[dict], None] = lambda obj: None

    def add(self, obj: dict) -> None:
        group = obj["apiVersion"].rpartition("/")[0]
        meta = obj["metadata"]
        self.objects[(group, PLURALS[obj["kind"]], meta.get("namespace", ""), meta["name"])] = obj

    def add_crds(self, names: list[str]) -> None:
        for name in names:
            self.add({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                      "metadata": {"name": name}})

    def names(self, kind: str) -> list[str]:
        return sorted(k[3] for k in self.objects if k[1] == PLURALS[kind])

    def _status(self, key: tuple[str, str, str, str], obj: dict) -> dict:
        script = self.scripts.get(obj["metadata"]["name"]) or SUCCESS.get(obj["kind"])
        if script is None:
            return obj
        count = self.reads.get(key, 0)
        self.reads[key] = count + 1
        status = script[min(count, len(script) - 1)]
        return {**obj, **({"status": status} if status else {})}

    def handle(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        self.calls.append(f"{method} {path}")
        if path.rstrip("/") == "/version":
            return 200, VERSION
        if m := _PODS.match(path):
            if m["name"]:
                logs = {p: t for pods in self.pods.values() for p, t in pods.items()}
                return 200, logs.get(m["name"], "")
            pods = self.pods.get(query.get("labelSelector", [""])[0], {})
            return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {},
                         "items": [{"metadata": {"name": p, "namespace": m["ns"]},
                                    "spec": {"containers": [{"name": "node"}]}} for p in pods]}
        m = _CUSTOM.match(path)
        if not m:
            return 404, {"kind": "Status", "code": 404, "message": f"no route {path}"}
        key = (m["group"], m["plural"], m["ns"] or "", m["name"] or "")
        if method == "POST":
            obj = dict(body)
            key = (*key[:3], obj["metadata"]["name"])
            if key in self.objects:
                return 409, {"kind": "Status", "code": 409, "message": "already exists"}
            self.objects[key] = obj
            return 201, obj
        if method == "DELETE":
            return (200, self.objects.pop(key)) if key in self.objects else (404, {"kind": "Status", "code": 404})
        if m["name"]:
            if key not in self.objects:
                return 404, {"kind": "Status", "code": 404, "message": "not found"}
            obj = self._status(key, self.objects[key])
            self.on_read(obj)
            return 200, obj
        items = [o for k, o in self.objects.items() if k[:2] == key[:2] and (not m["ns"] or k[2] == m["ns"])]
        return 200, {"items": items, "kind": f"{KIND_OF.get(m['plural'], 'Object')}List"}


def serve(cluster: FakeCluster) -> tuple[ThreadingHTTPServer, str]:
    """Start the double on a free loopback port; returns (server, base URL)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            code, payload = cluster.handle(method, url.path, parse_qs(url.query), body)
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's names
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def do_DELETE(self) -> None:  # noqa: N802
            self._answer("DELETE")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def write_kubeconfig(path: Path, server: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "fake", "user": {"token": "fake-token"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
    }), encoding="utf-8")
    return path

"""Small builders for Grafana dashboard JSON (schema of Grafana 11/12 dashboards).

Dashboards are code: each is made of ``timeseries``/``stat`` panels whose targets are PromQL
against the Prometheus datasource that kube-prometheus-stack provisions (uid ``prometheus``).
Panel ids are assigned in order and grid positions are laid out two panels per row, so the
definitions only say what to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
SCHEMA_VERSION = 39
_WIDTH = 12
_HEIGHT = 8


@dataclass(kw_only=True, frozen=True, slots=True)
class Query:
    """One PromQL target of a panel."""

    expr: str
    """PromQL expression."""
    legend: str = ""
    """Legend format, e.g. ``{{namespace}}``."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Panel:
    """A panel before layout: what to plot and in which unit."""

    title: str
    """Panel title."""
    queries: tuple[Query, ...]
    """Targets, plotted together."""
    unit: str = "short"
    """Grafana unit id (percent, bytes, s, reqps, short...)."""
    kind: str = "timeseries"
    """Panel type: timeseries or stat."""

    def __post_init__(self) -> None:
        if self.kind not in ("timeseries", "stat"):
            raise ValueError(f"kind: {self.kind!r} is not accepted; expected timeseries or stat")
        if not self.queries:
            raise ValueError(f"queries: panel {self.title!r} needs at least one query")


def namespace_variable(query_metric: str) -> dict:
    """A multi-select ``$namespace`` template variable fed by ``label_values``."""
    return {
        "name": "namespace", "label": "Team namespace", "type": "query",
        "datasource": DATASOURCE, "query": {"query": f"label_values({query_metric}, namespace)",
                                            "refId": "namespace"},
        "definition": f"label_values({query_metric}, namespace)",
        "multi": True, "includeAll": True, "refresh": 2, "current": {},
    }


def dashboard(*, uid: str, title: str, panels: Sequence[Panel], tags: Sequence[str],
              variables: Sequence[dict] = ()) -> dict:
    """Lay out ``panels`` and return the dashboard JSON model."""
    laid_out = []
    for index, panel in enumerate(panels):
        laid_out.append({
            "id": index + 1,
            "type": panel.kind,
            "title": panel.title,
            "datasource": DATASOURCE,
            "gridPos": {"x": (index % 2) * _WIDTH, "y": (index // 2) * _HEIGHT,
                        "w": _WIDTH, "h": _HEIGHT},
            "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
            "options": {},
            "targets": [
                {"refId": chr(ord("A") + n), "datasource": DATASOURCE, "expr": q.expr,
                 "legendFormat": q.legend}
                for n, q in enumerate(panel.queries)
            ],
        })
    return {
        "uid": uid, "title": title, "tags": sorted(tags), "editable": False,
        "schemaVersion": SCHEMA_VERSION, "version": 1, "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"}, "timezone": "utc",
        "templating": {"list": list(variables)},
        "panels": laid_out,
    }

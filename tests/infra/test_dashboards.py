"""Grafana dashboards as code: structure, and every metric exported by something in the stack."""

from __future__ import annotations

import json

import pytest
from test_secrets_harness import render_services

from infra.components.dashboards import build_dashboards
from infra.components.dashboards.grafana import DATASOURCE, Panel, Query, dashboard
from infra.components.dashboards.promql import grafana_variable_metric_names, metric_names, tokens
from infra.components.observability import exported_metrics, recorded_metrics, rule_groups

GRID_WIDTH = 24


def all_exprs(board: dict) -> list[str]:
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    return exprs


def used_metrics(board: dict) -> set[str]:
    names = set().union(*(metric_names(e) for e in all_exprs(board)))
    for var in board["templating"]["list"]:
        names |= grafana_variable_metric_names(var["query"]["query"])
    return names


@pytest.mark.parametrize(("expr", "names"), [
    ('sum by (namespace) (rate(foo_total{job="a", namespace=~"$namespace"}[5m]))', {"foo_total"}),
    ("histogram_quantile(0.9, sum by (le, cluster_queue) (rate(x_bucket[5m])))", {"x_bucket"}),
    ("a * on (namespace, pod) group_left () max by (namespace, pod) (b{phase=\"Running\"})", {"a", "b"}),
    ("namespace:gpu_requested:sum > 0 and on (namespace) c < 5", {"namespace:gpu_requested:sum", "c"}),
    ("sum without (instance) (up) / count(up offset 5m)", {"up"}),
    ("count_over_time(foo[1h:5m]) + vector(1)", {"foo"}),
])
def test_metric_names_are_parsed_out_of_promql(expr, names):
    assert metric_names(expr) == names


def test_grafana_variable_queries_name_their_metric():
    assert grafana_variable_metric_names("label_values(kube_pod_info, namespace)") == {"kube_pod_info"}
    assert grafana_variable_metric_names('label_values(up{job="x"}, instance)') == {"up"}


def test_unreadable_promql_is_an_error():
    with pytest.raises(ValueError, match="cannot read"):
        tokens("sum(foo) ? 3")
    with pytest.raises(ValueError, match="unbalanced"):
        metric_names('foo{job="a"')


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu-stack", "gpu-stack"])
def test_dashboards_use_only_exported_or_recorded_metrics(gpu):
    available = exported_metrics(gpu=gpu) | recorded_metrics(rule_groups(gpu=gpu))
    for uid, board in build_dashboards(gpu=gpu).items():
        missing = used_metrics(board) - available
        assert not missing, f"{uid} uses {missing}, which nothing in the stack exports"


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu-stack", "gpu-stack"])
def test_rules_use_only_exported_or_recorded_metrics(gpu):
    groups = rule_groups(gpu=gpu)
    available = exported_metrics(gpu=gpu) | recorded_metrics(groups)
    for group in groups:
        for rule in group["rules"]:
            assert metric_names(rule["expr"]) <= available, rule


def test_catalogue_check_catches_a_dcgm_panel_on_a_cpu_stack():
    gpu_board = build_dashboards(gpu=True)["ai4s-gpu-by-team"]
    available = exported_metrics(gpu=False) | recorded_metrics(rule_groups(gpu=False))
    used = used_metrics(gpu_board)
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED"} <= used - available


def test_required_dashboards_exist_with_their_subjects():
    boards = build_dashboards(gpu=True)
    assert set(boards) == {"ai4s-gpu-by-team", "ai4s-queues", "ai4s-training", "ai4s-inference"}
    used = {uid: used_metrics(b) for uid, b in boards.items()}
    assert "namespace:gpu_requested:sum" in used["ai4s-gpu-by-team"]
    assert "DCGM_FI_DEV_GPU_UTIL" in used["ai4s-gpu-by-team"]
    assert {"kueue_pending_workloads", "cluster_queue:kueue_admission_wait_seconds:p90"} <= used["ai4s-queues"]
    assert "ai4s_train_samples_per_second" in used["ai4s-training"]
    assert "model:request_predict_seconds:p95" in used["ai4s-inference"]


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu-stack", "gpu-stack"])
def test_dashboard_structure(gpu):
    for uid, board in build_dashboards(gpu=gpu).items():
        assert board["uid"] == uid and len(uid) <= 40 and board["title"]
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)) and ids, uid
        cells = set()
        for panel in board["panels"]:
            assert panel["type"] in ("timeseries", "stat")
            assert panel["datasource"] == DATASOURCE
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= GRID_WIDTH and pos["w"] > 0 and pos["h"] > 0
            cells.add((pos["x"], pos["y"]))
            ref_ids = [t["refId"] for t in panel["targets"]]
            assert panel["targets"] and len(ref_ids) == len(set(ref_ids))
            assert all(t["datasource"] == DATASOURCE and t["expr"] for t in panel["targets"])
        assert len(cells) == len(board["panels"]), f"{uid}: overlapping panels"
        json.dumps(board)  # serialisable as Grafana loads it


def test_panel_rejects_bad_input():
    with pytest.raises(ValueError, match="kind"):
        Panel(title="x", queries=(Query(expr="up"),), kind="piechart")
    with pytest.raises(ValueError, match="queries"):
        Panel(title="x", queries=())
    board = dashboard(uid="u", title="t", tags=["b", "a"],
                      panels=[Panel(title=str(i), queries=(Query(expr="up"),)) for i in range(3)])
    assert [p["gridPos"]["y"] for p in board["panels"]] == [0, 0, 8]


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu-stack", "gpu-stack"])
def test_dashboards_ship_as_labelled_configmaps(gpu):
    rendered = render_services(gpu=gpu)
    maps = [o for o in rendered.objects_of("ConfigMap") if o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    shipped = {}
    for cm in maps:
        (key, text), = cm["data"].items()
        shipped[key.removesuffix(".json")] = json.loads(text)
    assert shipped == build_dashboards(gpu=gpu)
    values = rendered.release("ai4s-obs")["values"]["grafana"]["sidecar"]["dashboards"]
    assert values == {"enabled": True, "label": "grafana_dashboard", "labelValue": "1"}


def test_kserve_catalogue_names_match_the_model_server_package():
    # The predictors run the kit's kserve model server; its histograms are what we scrape.
    from kserve import metrics as kserve_metrics

    names = {h._name for h in (kserve_metrics.PRE_HIST_TIME, kserve_metrics.PREDICT_HIST_TIME,
                               kserve_metrics.POST_HIST_TIME)}
    assert names == {"request_preprocess_seconds", "request_predict_seconds", "request_postprocess_seconds"}
    assert "model_name" in kserve_metrics.PREDICT_HIST_TIME._labelnames
    catalogue = exported_metrics(gpu=False)
    assert {f"{n}_bucket" for n in names} <= catalogue

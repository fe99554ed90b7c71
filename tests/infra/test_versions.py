"""The one table of pinned versions and its generated markdown copy."""

from __future__ import annotations

import pytest

from infra import versions


def test_markdown_copy_is_up_to_date():
    assert versions.MARKDOWN_PATH.read_text(encoding="utf-8") == versions.render_markdown(), (
        "infra/VERSIONS.md is stale: run `python -m infra.versions --write`"
    )


def test_every_row_is_exact():
    for p in versions.PINS:
        assert (
            p.version
            and p.version != "latest"
            and "*" not in p.version
            and "x" not in p.version.split(".")[-1]
        )


def test_pins_from_the_anchors():
    assert versions.pin("kueue").version.startswith("0.19.")
    assert versions.pin("kuberay").version == "1.5.1"
    assert versions.pin("trainer").version.startswith("2.2.")
    assert versions.pin("gpu-operator").version == "v26.3.0"
    assert versions.pin("dcgm-exporter").version == "4.8.1"


def test_helm_chart_arguments_for_oci_and_classic_repos():
    assert versions.helm_chart("kueue") == {
        "chart": "oci://registry.k8s.io/kueue/charts/kueue",
        "version": "0.19.2",
    }
    assert versions.helm_chart("kuberay")["repository_opts"] == {
        "repo": "https://ray-project.github.io/kuberay-helm/"
    }
    with pytest.raises(ValueError, match="not a helm-chart"):
        versions.helm_chart("torch-runtime-image")


def test_unknown_key_and_bad_rows_are_refused():
    with pytest.raises(ValueError, match="unknown version key 'kueu'"):
        versions.pin("kueu")
    with pytest.raises(ValueError, match="exact version"):
        versions.Pin(key="x", kind="image", name="x", version="latest", repository="r")
    with pytest.raises(ValueError, match="Pin.kind"):
        versions.Pin(key="x", kind="binary", name="x", version="1", repository="r")


def test_image_reference():
    assert (
        versions.pin("mpi-runtime-image").image
        == "ghcr.io/kubeflow/trainer/deepspeed-runtime:v2.2.1"
    )

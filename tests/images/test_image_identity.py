"""The image a run is in reaches its manifest and crate (no podman: the image's file is faked)."""

from __future__ import annotations

import json

import pytest

from reference_workloads.core import manifest as manifest_module
from reference_workloads.core.manifest import (
    IMAGE_DIGEST_ENV,
    build_manifest,
    code_version,
    image_identity,
)
from reference_workloads.provenance.crate import _container_image

BUILT = "sha256:" + "1f" * 32
PULLED = "sha256:" + "e0" * 32


@pytest.fixture
def image_json(tmp_path, monkeypatch):
    path = tmp_path / "image.json"
    path.write_text(json.dumps({"digest": BUILT, "revision": "abc123"}))
    monkeypatch.setattr(manifest_module, "IMAGE_FILE", path)
    monkeypatch.delenv(IMAGE_DIGEST_ENV, raising=False)
    return path


def test_outside_an_image_there_is_no_image(tmp_path):
    assert image_identity(tmp_path / "absent.json", environ={}) is None


def test_an_image_whose_digest_was_not_stamped_records_no_image(tmp_path):
    path = tmp_path / "image.json"
    path.write_text(json.dumps({"digest": None, "revision": "abc123"}))
    assert image_identity(path, environ={}) is None


def test_the_image_file_names_the_digest_and_revision(image_json):
    assert image_identity(image_json, environ={}) == {"digest": BUILT, "revision": "abc123"}


def test_the_platforms_digest_wins_over_the_built_one(image_json):
    assert image_identity(image_json, environ={IMAGE_DIGEST_ENV: PULLED})["digest"] == PULLED


@pytest.mark.parametrize("bad", ["sha256:abc", "1f" * 32, "sha512:" + "1f" * 64, "sha256:" + "1F" * 32])
def test_a_malformed_digest_is_one_line_naming_its_source(image_json, bad):
    with pytest.raises(ValueError, match=f"{IMAGE_DIGEST_ENV} is invalid: expected sha256: and 64 hex"):
        image_identity(image_json, environ={IMAGE_DIGEST_ENV: bad})


def test_the_manifest_and_crate_carry_the_image_digest(image_json):
    from reference_workloads.climate.recipes import book

    manifest = build_manifest(workload="climate", recipe_name="ci_tiny", recipe=book.get("ci_tiny", []),
                              dataset_hash="d", model_hash="m", seeds={}, world_size={})
    assert manifest["image"] == {"digest": BUILT, "revision": "abc123"}
    entity = _container_image(manifest["image"])
    assert entity["@type"] == "ContainerImage" and entity["sha256"] == "1f" * 32


def test_without_git_the_code_version_is_the_revision_the_image_was_built_from(image_json, tmp_path):
    assert code_version(tmp_path / "not-a-repo") == "abc123"


@pytest.mark.parametrize(("name", "registry"), [(None, "localhost"), ("localhost/ai4s-kit", "localhost"),
                                                ("ghcr.io/org/ai4s-kit", "ghcr.io"), ("ai4s-kit", "localhost")])
def test_the_crate_names_a_local_image_localhost_never_docker_hub(name, registry):
    image = {"digest": BUILT, "revision": "abc123", **({"name": name} if name else {})}
    assert _container_image(image)["registry"] == registry

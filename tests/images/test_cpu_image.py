"""The CPU image builds here and runs ``ai4s run climate --recipe ci_tiny`` inside it; the
run's manifest and crate name the image by its digest.

Real podman and buildah with chroot isolation (this machine cannot run OCI containers);
reported as skipped, with the reason, where they are not installed. Minutes: the first
build on an empty store installs the whole environment, later ones reuse that layer while
pyproject.toml and constraints.txt are unchanged.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from containers import podman
from containers.build import build
from reference_workloads.provenance.publish import publish

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

if podman.available():
    pytest.skip(podman.available(), allow_module_level=True)

# One stable tag: the test keeps its last image as the layer cache of the next run (the
# environment layer is most of the build), and removes the one it replaces.
TAG = "localhost/ai4s-kit-test:cpu"
INSIDE = """set -e
id -u > /out/uid
for tool in gcc cc c++ make; do command -v "$tool" >> /out/compilers || true; done
cat /etc/ai4s/image.json > /out/image.json
ai4s run climate --recipe ci_tiny --out runs/climate/ci_tiny
cp -r runs /out/runs
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("image-build")
    previous = [podman.image_id(TAG), podman.image_id(f"{TAG}-unstamped")]
    record = build("cpu", tag=TAG, out=out)
    current = {podman.image_id(TAG), podman.image_id(record["content_image"])}
    podman.remove_images([i for i in previous if i and i not in current])
    yield record, out / "cpu"
    # the unstamped image stays as the stamped one's parent; only its tag goes
    subprocess.run(["podman", "untag", record["content_image"]], capture_output=True, check=False)


@pytest.fixture(scope="module")
def ran(built, tmp_path_factory):
    out = tmp_path_factory.mktemp("image-run")
    out.chmod(0o777)  # the image's user (uid 10001) writes here
    container = podman.call("buildah", "from", "--pull=never", built[0]["image"])
    try:
        podman.call("buildah", "run", f"--isolation={podman.ISOLATION}", "--volume", f"{out}:/out",
                    "--env", "HOME=/home/ai4s", "--hostname", "localhost", container, "--", "sh", "-c", INSIDE)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
    return out


def test_the_image_is_stamped_with_the_digest_of_what_the_containerfile_built(built):
    record, folder = built
    stamped = json.loads(podman.call("podman", "image", "inspect", record["image"]))[0]
    labels = stamped["Labels"]
    assert labels["org.opencontainers.image.revision"] == record["revision"]
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert labels["org.opencontainers.image.version"] == "0.1.0" and labels["org.opencontainers.image.created"]
    assert stamped["Config"]["User"] == "10001:10001"
    assert record["content_digest"] == podman.image_digest(record["content_image"]) != record["digest"]
    assert json.loads((folder / "build.json").read_text()) == record


def test_the_sbom_lists_the_cpu_torch_inside_and_beside_the_build(built, ran):
    sbom = json.loads((built[1] / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    components = {c["name"]: c["version"] for c in sbom["components"]}
    assert components["torch"] == "2.13.0+cpu" and components["ai4s-kit"] == "0.1.0"
    assert "cyclonedx-bom" not in components  # the tool was mounted, never installed


def test_it_runs_as_a_non_root_user_without_compilers(ran):
    assert (ran / "uid").read_text().strip() == "10001"
    assert not (ran / "compilers").exists() or (ran / "compilers").read_text().strip() == ""


def test_ci_tiny_inside_the_image_records_the_image_in_manifest_and_crate(built, ran):
    record, _ = built
    assert json.loads((ran / "image.json").read_text()) == {"digest": record["content_digest"],
                                                            "revision": record["revision"]}
    manifest = json.loads((ran / "runs" / "climate" / "ci_tiny" / "manifest.json").read_text())
    assert manifest["image"] == {"digest": record["content_digest"], "revision": record["revision"]}
    assert manifest["code_version"] == record["revision"]  # no .git in the image
    assert manifest["packages"]["torch"] == "2.13.0+cpu"
    # published outside: publish reads CITATION.cff from a source checkout, which an image has not
    results = ran / "results"
    publish(ran / "runs" / "climate" / "ci_tiny", results, name="climate", command="ai4s run climate --recipe ci_tiny",
            overrides=[], code_version=manifest["code_version"])
    crate = json.loads((results / "ro-crate-metadata.json").read_text())
    graph = {e["@id"]: e for e in crate["@graph"]}
    assert graph["#container-image"]["sha256"] == record["content_digest"].removeprefix("sha256:")
    assert graph["#run"]["containerImage"] == {"@id": "#container-image"}

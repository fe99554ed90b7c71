"""The RO-Crate of a published results folder: a Workflow Run Crate (and so a Process Run
Crate) on RO-Crate 1.1, the version the run-crate profiles are defined on.

The pipeline is the workflow (``workflow.json``, the main entity); one CreateAction per
stage names that stage's inputs (``object``) and outputs (``result``), with start and end
times, the agent and the software; one more CreateAction is the whole run. Every file
carries its sha256 and size, which ``ai4s verify`` recomputes.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from ..core.atomic import write_json
from ..core.hashing import sha256_file

CRATE_FILE = "ro-crate-metadata.json"
README_FILE = "README.md"
WORKFLOW_FILE = "workflow.json"
RO_CRATE = "https://w3id.org/ro/crate/1.1"
CONTEXT = [f"{RO_CRATE}/context", "https://w3id.org/ro/terms/workflow-run/context"]
PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": "Process Run Crate",
    "https://w3id.org/ro/wfrun/workflow/0.5": "Workflow Run Crate",
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": "Workflow RO-Crate",
}
LICENSE = "https://spdx.org/licenses/Apache-2.0"
_FORMATS = {".log": "text/plain", ".json": "application/json", ".parquet": "application/vnd.apache.parquet",
            ".md": "text/markdown", ".png": "image/png"}


def file_entity(folder: Path, name: str, **properties: Any) -> dict[str, Any]:
    path = folder / name
    return {"@id": name, "@type": "File", "name": name, "sha256": sha256_file(path),
            "contentSize": str(path.stat().st_size),
            "encodingFormat": _FORMATS.get(path.suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream",
            **properties}


def _ref(ids: list[str]) -> list[dict[str, str]] | dict[str, str]:
    # RO-Crate 1.1 recommends a single value, not a one-element list
    refs = [{"@id": i} for i in ids]
    return refs[0] if len(refs) == 1 else refs


def _value(entity_id: str, name: str, value: Any) -> dict[str, Any]:
    """A PropertyValue (a seed, a recipe, an artifact's hash) with its FormalParameter's id."""
    return {"@id": entity_id, "@type": "PropertyValue", "name": name,
            "value": value if isinstance(value, str | int | float) else json.dumps(value, sort_keys=True),
            "exampleOfWork": {"@id": f"#param-{entity_id.removeprefix('#')}"}}


def _parameter(example: dict[str, Any], additional_type: str) -> dict[str, Any]:
    """The workflow's FormalParameter that ``example`` (a file or value) is an instance of."""
    return {"@id": f"#param-{example['@id'].removeprefix('#')}", "@type": "FormalParameter",
            "name": example["name"], "additionalType": additional_type, "workExample": {"@id": example["@id"]}}


def _container_image(image: dict[str, Any]) -> dict[str, Any]:
    """The ContainerImage entity of the manifest's ``image`` (name, tag, digest), or {} without a digest."""
    digest = image.get("digest")
    if not digest:
        return {}
    # The kit's own build names its images localhost/ai4s-kit (podman's prefix for images that
    # were never pushed); a name without a registry part is such a local image, not Docker Hub's.
    name = image.get("name") or "localhost/ai4s-kit"
    first = name.split("/", 1)[0]
    registry = first if "/" in name and ("." in first or ":" in first or first == "localhost") else "localhost"
    return {"@id": "#container-image", "@type": "ContainerImage", "name": name,
            "additionalType": {"@id": "https://w3id.org/ro/terms/workflow-run#DockerImage"},
            "registry": registry, "sha256": digest.removeprefix("sha256:"),
            **({"tag": image["tag"]} if image.get("tag") else {})}


def _software(packages: dict[str, str]) -> list[dict[str, Any]]:
    return [{"@id": f"https://pypi.org/project/{name}/{version}/", "@type": "SoftwareApplication",
             "name": name, "version": version, "url": f"https://pypi.org/project/{name}/"}
            for name, version in sorted(packages.items()) if name != "ai4s-kit"]


def stage_datasets(stage: dict[str, Any]) -> list[dict[str, Any]]:
    """The Dataset entities a stage's result declares under ``datasets`` (an external input
    such as the docking receptor: where it came from, its hashes, how it was prepared), each
    followed by its PropertyValues (flat entities, as RO-Crate requires)."""
    summary = stage.get("summary") if isinstance(stage.get("summary"), dict) else {}
    entities = []
    for name, dataset in sorted((summary.get("datasets") or {}).items()):
        entity_id = f"#dataset-{name}"
        properties = [{"@id": f"{entity_id}-{key}", "@type": "PropertyValue", "name": key,
                       "value": value if isinstance(value, str | int | float) else json.dumps(value)}
                      for key, value in sorted(dataset.get("properties", {}).items())]
        entities.append({"@id": entity_id, "@type": "Dataset",
                         **{k: v for k, v in dataset.items() if k != "properties"},
                         **({"additionalProperty": _ref([p["@id"] for p in properties])} if properties else {})})
        entities += properties
    return entities


def _actions(run: dict[str, Any], inputs: list[dict], results: list[str], common: dict) -> list[dict[str, Any]]:
    """The whole run, then one CreateAction per stage."""
    actions = [{"@id": "#run", "@type": "CreateAction", "name": run["command"], "description": run["description"],
                "instrument": {"@id": WORKFLOW_FILE}, "startTime": run["start"], "endTime": run["end"],
                "object": _ref([i["@id"] for i in inputs]), "result": _ref(results), **common}]
    for stage in run["stages"]:
        actions.append({
            "@id": f"#stage-{stage['name']}", "@type": "CreateAction", "name": f"stage {stage['name']}",
            "description": f"stage {stage['name']} of {run['workflow_name']}; its cache key (inputs hash) "
                           f"is {stage['inputs_hash']}, it ran {stage['seconds']:.3f} s",
            "instrument": {"@id": WORKFLOW_FILE}, "startTime": stage["start"], "endTime": stage["end"],
            "object": _ref([*stage["object"], *(d["@id"] for d in stage_datasets(stage) if d["@type"] == "Dataset")]),
            "result": _ref(stage["result"] or [f"#result-{stage['name']}"]),
            **common,
        })
    return actions


def build_crate(folder: Path, *, run: dict[str, Any], files: list[str]) -> dict[str, Any]:
    """The crate's JSON-LD for ``files`` in ``folder``; ``run`` is the record ``publish``
    assembles: title, identifier, times, agent, packages, inputs, artifacts and stages."""
    agent = {"@id": "#contributors", "@type": "Organization", **run["agent"]}
    software = _software(run["packages"])
    python = {"@id": "#python", "@type": "ComputerLanguage", "name": "Python", "version": run["python"],
              "url": {"@id": "https://www.python.org/"}}
    inputs = [_value(f"#input-{key}", key, value) for key, value in run["inputs"].items()]
    published = [n for n in files if n not in (WORKFLOW_FILE, CRATE_FILE, README_FILE)]
    entities = [file_entity(folder, n, exampleOfWork={"@id": f"#param-{n}"}) for n in published]
    artifacts = [_value(f"#{key}", key, value) for key, value in run["artifacts"].items()]
    artifacts += [_value(f"#result-{stage['name']}", f"{stage['name']} result", stage["summary"])
                  for stage in run["stages"] if not stage["result"]]
    parameters = ([_parameter(v, "Integer" if isinstance(v["value"], int) else "Text") for v in inputs],
                  [_parameter(e, "File") for e in entities] + [_parameter(a, "Text") for a in artifacts])
    workflow = file_entity(folder, WORKFLOW_FILE)
    workflow.update({
        "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow"],
        "name": run["workflow_name"], "version": run["code_version"],
        "description": f"The {run['workflow_name']} pipeline of ai4s-kit {run['kit_version']} at code version "
                       f"{run['code_version']}: its stages in order, each with its cache key",
        # the workflow is a file of this crate, so its only URL is its path here; it is also
        # the software every stage ran (the kit at that code version, with its requirements)
        "url": WORKFLOW_FILE, "softwareRequirements": _ref([s["@id"] for s in software]),
        "programmingLanguage": {"@id": "#python"},
        "input": _ref([p["@id"] for p in parameters[0]]), "output": _ref([p["@id"] for p in parameters[1]]),
        "conformsTo": {"@id": "https://bioschemas.org/profiles/ComputationalWorkflow/1.0-RELEASE"},
    })
    image = _container_image(run.get("image") or {})
    common = {"agent": {"@id": agent["@id"]}, "actionStatus": "http://schema.org/CompletedActionStatus",
              **({"containerImage": {"@id": image["@id"]}} if image else {})}
    actions = _actions(run, inputs, published + [a["@id"] for a in artifacts], common)
    readme = file_entity(folder, README_FILE, about={"@id": "./"}, encodingFormat="text/markdown")
    root = {
        "@id": "./", "@type": "Dataset", "name": run["title"], "description": run["description"],
        "identifier": run["identifier"], "datePublished": run["end"], "license": {"@id": LICENSE},
        "author": {"@id": agent["@id"]}, "publisher": {"@id": agent["@id"]},
        "conformsTo": _ref(list(PROFILES)), "mainEntity": {"@id": WORKFLOW_FILE},
        "hasPart": _ref([WORKFLOW_FILE, README_FILE, *published]), "mentions": _ref([a["@id"] for a in actions]),
    }
    descriptor = {"@id": CRATE_FILE, "@type": "CreativeWork", "about": {"@id": "./"},
                  "conformsTo": _ref([RO_CRATE, "https://w3id.org/workflowhub/workflow-ro-crate/1.0"])}
    profiles = [{"@id": i, "@type": "CreativeWork", "name": n, "version": i.rsplit("/", 1)[1]}
                for i, n in PROFILES.items()]
    license_ = {"@id": LICENSE, "@type": "CreativeWork", "name": "Apache License 2.0", "identifier": "Apache-2.0"}
    datasets = [d for stage in run["stages"] for d in stage_datasets(stage)]
    graph = [descriptor, root, workflow, readme, *entities, *actions, *datasets, *inputs, *artifacts, *parameters[0],
             *parameters[1], python, *software, agent, license_, *profiles, *([image] if image else [])]
    return {"@context": CONTEXT, "@graph": graph}


def write_crate(folder: Path, *, run: dict[str, Any], files: list[str], readme: str) -> Path:
    """Write ``workflow.json`` (the stage graph), the results README and the crate describing ``files``."""
    write_json(folder / WORKFLOW_FILE, run["workflow"])
    (folder / README_FILE).write_text(readme, encoding="utf-8")
    path = folder / CRATE_FILE
    write_json(path, build_crate(folder, run=run, files=files))
    return path

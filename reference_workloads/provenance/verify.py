"""``ai4s verify``: check a published results folder against its own crate and predictions.

Every file the crate lists must have the sha256 and size the crate records, nothing may be
published behind the crate's back, the summary must describe the manifest it sits next to,
and the headline and the identifier must be what the published files recompute to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.hashing import sha256_file
from .crate import CRATE_FILE
from .publish import SUMMARY_FILE, result_identifier, summary_module


def results_folder(crate: Path) -> Path:
    """The folder of ``crate``: a results folder or its ro-crate-metadata.json."""
    crate = Path(crate)
    folder = crate.parent if crate.name == CRATE_FILE else crate
    if not (folder / CRATE_FILE).is_file():
        raise FileNotFoundError(f"crate={str(crate)!r} is invalid: expected a results folder holding "
                                f"{CRATE_FILE}, or that file")
    return folder


def _canonical(value: Any) -> str:
    # NaN must compare equal to NaN here: json renders both as NaN
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _differences(recorded: Any, computed: Any, where: str) -> list[str]:
    if isinstance(recorded, dict) and isinstance(computed, dict):
        out = [f"{where}.{k}: recorded but not recomputed" for k in sorted(set(recorded) - set(computed))]
        out += [f"{where}.{k}: recomputed but not recorded" for k in sorted(set(computed) - set(recorded))]
        for key in sorted(set(recorded) & set(computed)):
            out += _differences(recorded[key], computed[key], f"{where}.{key}")
        return out
    if _canonical(recorded) != _canonical(computed):
        return [f"{where}: summary says {_canonical(recorded)}, the published files give {_canonical(computed)}"]
    return []


def file_problems(folder: Path, graph: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    files = {i: e for i, e in graph.items() if "File" in _types(e)}
    for name, entity in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: listed in the crate but missing")
            continue
        recorded = {"sha256": entity.get("sha256"), "size": entity.get("contentSize")}
        actual = {"sha256": sha256_file(path), "size": str(path.stat().st_size)}
        for key, value in recorded.items():
            if value is None:
                problems.append(f"{name}: the crate records no {'contentSize' if key == 'size' else key}")
            elif str(value) != actual[key]:
                problems.append(f"{name}: {key} {actual[key]} differs from the crate's {value}")
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name != CRATE_FILE and path.name not in files:
            problems.append(f"{path.name}: published but not listed in the crate")
    return problems


def _types(entity: dict[str, Any]) -> list[str]:
    kind = entity.get("@type", [])
    return [kind] if isinstance(kind, str) else list(kind)


_HASHES = ("config_hash", "dataset_hash", "model_hash")
_DESCRIPTIONS = {CRATE_FILE, SUMMARY_FILE, "manifest.json"}


def _hash_claims(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """A published JSON file that names a config, dataset or model hash (training.json names
    the model it trained) must name the manifest's; a ``seed-<seed>-`` file names its seed's model."""
    problems = []
    repeats = manifest.get("repeats", [])
    if repeats and repeats[0].get("model_hash") != manifest.get("model_hash"):
        problems.append(f"manifest.json model_hash {manifest.get('model_hash')} differs from its first seed's "
                        f"{repeats[0].get('model_hash')}")
    by_seed = {f"seed-{r['seed']}-": r for r in repeats}
    for path in sorted(folder.glob("*.json")):
        if path.name in _DESCRIPTIONS:
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            problems.append(f"{path.name} is not valid JSON: {error}")
            continue
        if not isinstance(document, dict):
            continue
        expected = dict(manifest)
        repeat = next((r for prefix, r in by_seed.items() if path.name.startswith(prefix)), None)
        if repeat is not None:
            expected["model_hash"] = repeat["model_hash"]
        problems += [f"{path.name} {key} {document[key]} differs from the manifest's {expected.get(key)}"
                     for key in _HASHES if key in document and document[key] != expected.get(key)]
    return problems


def verify(crate: Path) -> list[str]:
    """Every problem found, one line each (empty: the results folder checks out)."""
    folder = results_folder(crate)
    document = json.loads((folder / CRATE_FILE).read_text(encoding="utf-8"))
    graph = {e["@id"]: e for e in document.get("@graph", [])}
    problems = file_problems(folder, graph)
    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [*problems, f"cannot read the summary or manifest: {error}"]
    for key, value in summary.get("hashes", {}).items():
        if manifest.get(key) != value:
            problems.append(f"summary.json hashes.{key} {value} differs from the manifest's {manifest.get(key)}")
    problems += _hash_claims(folder, manifest)
    if summary.get("run_code_version") != manifest.get("code_version"):
        problems.append(f"summary.json run_code_version {summary.get('run_code_version')} differs from the "
                        f"manifest's {manifest.get('code_version')}")
    workload = manifest.get("workload", "")
    try:
        module = summary_module(workload)
        computed = module.headline(folder)
    except (KeyError, OSError, ValueError) as error:
        return [*problems, f"cannot recompute the headline: {error}"]
    problems += _differences(summary.get("headline"), json.loads(_canonical(computed)), "headline")
    identifier = result_identifier(folder, workload, manifest)
    for where, recorded in (("summary.json", summary.get("identifier")),
                            (CRATE_FILE, graph.get("./", {}).get("identifier"))):
        if recorded != identifier:
            problems.append(f"{where} identifier {recorded} differs from the content's {identifier}")
    return problems

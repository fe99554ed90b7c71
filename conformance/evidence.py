"""Evidence files, as a CNCF AI Conformance submission carries them from automated tests:
`results.json` (machine-readable), `junit.xml` (one testcase per requirement), `e2e.log`."""

from __future__ import annotations

import json
import platform
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reference_workloads.core.atomic import atomic_write

from .catalogue import Catalogue
from .registry import Status
from .runner import Outcome, counts, must_failures

RESULTS_JSON = "results.json"
JUNIT_XML = "junit.xml"
E2E_LOG = "e2e.log"


def _atomic_text(path: Path, text: str) -> Path:
    with atomic_write(path) as fh:
        fh.write(text)
    return path


class E2ELog:
    """Timestamped progress lines, flushed as they come so a killed run leaves its trail."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh = path.open("w", encoding="utf-8")

    def __call__(self, line: str) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        for part in line.splitlines() or [""]:
            self._fh.write(f"{stamp} {part}\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def results_document(catalogue: Catalogue, outcomes: Sequence[Outcome], *, code_version: str,
                     options: dict[str, Any]) -> dict[str, Any]:
    """The results.json document: metadata, summary and one entry per requirement."""
    return {
        "metadata": {
            "kit": "ai4s-kit",
            "kit_release": catalogue.kit_release,
            "kit_code_version": code_version,
            "catalogue_version": catalogue.version,
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": {"python": platform.python_version(), "machine": platform.machine(),
                     "system": platform.system()},
            "options": options,
        },
        "summary": {**counts(outcomes), "total": len(outcomes),
                    "must_failed": [o.requirement.id for o in must_failures(outcomes)]},
        "requirements": [{
            "id": o.requirement.id,
            "level": o.requirement.level,
            "category": o.requirement.category,
            "layer": o.requirement.layer,
            "cncf_id": o.requirement.cncf_id or None,
            "reproducibility": o.requirement.reproducibility or None,
            "target": str(o.requirement.target) if o.requirement.target else None,
            "description": o.requirement.description,
            "status": o.result.status.value,
            "notes": o.result.message,
            "evidence": o.result.evidence,
            "seconds": round(o.seconds, 3),
        } for o in outcomes],
    }


def junit_document(outcomes: Sequence[Outcome]) -> ET.ElementTree:
    """passed -> plain testcase, failed -> <failure>, skipped -> <skipped>, unknown -> <error>
    (the check could not decide, which JUnit calls an error, not a failure)."""
    tally = counts(outcomes)
    suite = ET.Element("testsuite", {
        "name": "ai4s-conformance", "tests": str(len(outcomes)),
        "failures": str(tally["failed"]), "errors": str(tally["unknown"]),
        "skipped": str(tally["skipped"]), "time": f"{sum(o.seconds for o in outcomes):.3f}",
    })
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"conformance.{o.requirement.category}",
            "name": f"[{o.requirement.level}] {o.requirement.id} {o.requirement.title}",
            "time": f"{o.seconds:.3f}",
        })
        tag = {Status.FAILED: "failure", Status.SKIPPED: "skipped", Status.UNKNOWN: "error"}.get(o.result.status)
        if tag:
            ET.SubElement(case, tag, {"message": o.result.message}).text = json.dumps(
                o.result.evidence, sort_keys=True, default=str)
        else:
            ET.SubElement(case, "system-out").text = o.result.message
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


def write(out_dir: Path, catalogue: Catalogue, outcomes: Sequence[Outcome], *, code_version: str,
          options: dict[str, Any]) -> dict[str, Path]:
    """Write results.json and junit.xml atomically (e2e.log is written while running)."""
    doc = results_document(catalogue, outcomes, code_version=code_version, options=options)
    junit = junit_document(outcomes)
    xml_text = ET.tostring(junit.getroot(), encoding="unicode", xml_declaration=True)
    return {
        "results": _atomic_text(out_dir / RESULTS_JSON,
                                json.dumps(doc, indent=1, sort_keys=False, default=str) + "\n"),
        "junit": _atomic_text(out_dir / JUNIT_XML, xml_text + "\n"),
        "log": out_dir / E2E_LOG,
    }

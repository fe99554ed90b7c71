"""Evidence files of a run: `results.json` (machine-readable, with the run's provenance and
verdict), `junit.xml` (one testcase per requirement), `e2e.log`, `report.html` (for people)
and the CNCF product checklist filled in the upstream YAML format.

These are the kit's own evidence. They are not a CNCF submission: official conformance
evidence comes from the upstream suite (kubernetes-sigs/ai-conformance, see the README);
the filled checklist says which kit check backs each id, for the layered-product path."""

from __future__ import annotations

import html
import json
import platform
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from reference_workloads.core.atomic import atomic_write

from .catalogue import Catalogue, CncfChecklist
from .registry import Status
from .runner import Outcome, Verdict, counts, must_failures

RESULTS_JSON = "results.json"
JUNIT_XML = "junit.xml"
E2E_LOG = "e2e.log"
REPORT_HTML = "report.html"


def checklist_file(checklist: CncfChecklist) -> str:
    """The upstream submission's file name, so the filled checklist is a draft a vendor can
    complete (its description says it is the kit's own evidence)."""
    return f"KubernetesAIConformance-{checklist.version.lstrip('v')}.yaml"


@dataclass(kw_only=True, frozen=True, slots=True)
class RunInfo:
    """What a reviewer needs to know about the run itself."""

    code_version: str
    """The kit's code version (git commit, +dirty.<hash> for local edits)."""
    profile: str
    """Profile the run assessed."""
    verdict: Verdict
    """conformant, not conformant or incomplete."""
    reasons: dict[str, str]
    """Requirement id -> why it decided the verdict (empty when conformant)."""
    started: str
    """ISO 8601 UTC."""
    ended: str
    """ISO 8601 UTC."""
    command: list[str] = field(default_factory=list)
    """The command line."""
    options: dict[str, Any] = field(default_factory=dict)
    """Selections and flags."""
    kubernetes_server: str | None = None
    """The API server's version (None: no cluster reached)."""
    packages: dict[str, str] = field(default_factory=dict)
    """Package versions of the environment that ran the checks."""


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


def results_document(catalogue: Catalogue, outcomes: Sequence[Outcome], run: RunInfo) -> dict[str, Any]:
    """The results.json document: metadata, summary with the verdict, one entry per requirement."""
    return {
        "metadata": {
            "kit": "ai4s-kit",
            "kit_release": catalogue.kit_release,
            "kit_code_version": run.code_version,
            "catalogue_version": catalogue.version,
            "generated": run.ended,
            "started": run.started,
            "ended": run.ended,
            "profile": run.profile,
            "command": run.command,
            "host": {"hostname": platform.node(), "python": platform.python_version(),
                     "machine": platform.machine(), "system": platform.system()},
            "kubernetes_server_version": run.kubernetes_server,
            "packages": run.packages,
            "options": run.options,
        },
        "summary": {**counts(outcomes), "total": len(outcomes),
                    "verdict": run.verdict.value, "reasons": run.reasons,
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


def junit_document(outcomes: Sequence[Outcome], *, started: str) -> ET.ElementTree:
    """passed -> plain testcase, failed -> <failure>, skipped -> <skipped>, unknown -> <error>
    (the check could not decide, which JUnit calls an error, not a failure)."""
    tally = counts(outcomes)
    suite = ET.Element("testsuite", {
        "name": "ai4s-conformance", "tests": str(len(outcomes)),
        "failures": str(tally["failed"]), "errors": str(tally["unknown"]),
        "skipped": str(tally["skipped"]), "time": f"{sum(o.seconds for o in outcomes):.3f}",
        # JUnit's timestamp has no zone: the run's start in UTC
        "timestamp": datetime.fromisoformat(started).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "hostname": platform.node(),
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


COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700", "unknown": "#8250df"}


def report_html(catalogue: Catalogue, outcomes: Sequence[Outcome], run: RunInfo) -> str:
    """One page: the verdict, a summary table of the counts, then one row per requirement."""
    e = html.escape
    tally = counts(outcomes)
    summary = "".join(f"<tr><td>{s}</td><td>{tally[s]}</td></tr>" for s in tally)
    reasons = "".join(f"<li><code>{e(k)}</code>: {e(v)}</li>" for k, v in run.reasons.items())
    rows = "".join(
        f"<tr><td><code>{e(o.requirement.id)}</code></td><td>{o.requirement.level}</td>"
        f"<td>{e(o.requirement.layer)}</td><td>{e(o.requirement.cncf_id)}</td><td>{e(o.requirement.title)}</td>"
        f"<td style=\"color:{COLOURS[o.result.status.value]}\"><b>{o.result.status.value}</b></td>"
        f"<td>{e(o.result.message)}</td></tr>" for o in outcomes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ai4s-kit conformance: {e(run.verdict.value)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}</style></head><body>
<h1>ai4s-kit conformance: {e(run.verdict.value)}</h1>
<p>Profile <b>{e(run.profile)}</b>, catalogue {e(catalogue.version)}, code {e(run.code_version)},
host {e(platform.node())}, {e(run.started)} to {e(run.ended)}; Kubernetes server
{e(run.kubernetes_server or "not reached")}.</p>
<p>This is the kit's own evidence, not a CNCF submission: official evidence comes from the
upstream conformance suite.</p>
<table><tr><th>status</th><th>requirements</th></tr>{summary}
<tr><td>total</td><td>{len(outcomes)}</td></tr></table>
{f"<h2>Why not conformant</h2><ul>{reasons}</ul>" if reasons else ""}
<h2>Requirements</h2>
<table><tr><th>id</th><th>level</th><th>layer</th><th>CNCF id</th><th>title</th><th>status</th><th>notes</th></tr>
{rows}</table></body></html>
"""


CHECKLIST_STATUS = {"passed": "Implemented", "failed": "Not Implemented", "not_applicable": "N/A"}


def filled_checklist(checklist: CncfChecklist, catalogue: Catalogue, outcomes: Sequence[Outcome],
                     run: RunInfo) -> dict[str, Any]:
    """The upstream product checklist (metadata, spec.<section>[id, description, level, status,
    evidence, notes]) with each id's status from the kit checks that map to it. An id whose
    checks did not all pass or fail here is left blank for the vendor: the kit cannot attest it."""
    by_cncf: dict[str, list[Outcome]] = {}
    for o in outcomes:
        if o.requirement.cncf_id:
            by_cncf.setdefault(o.requirement.cncf_id, []).append(o)
    spec: dict[str, list[dict[str, Any]]] = {}
    for item in checklist.requirements:
        mapped = by_cncf.get(item.id, [])
        kinds = {"not_applicable" if o.result.status is Status.SKIPPED and o.result.evidence.get("not_applicable")
                 else o.result.status.value for o in mapped}
        if "failed" in kinds:
            status = CHECKLIST_STATUS["failed"]
        elif mapped and kinds <= {"passed", "not_applicable"}:
            status = CHECKLIST_STATUS["passed" if "passed" in kinds else "not_applicable"]
        else:
            status = ""
        declared = [r.id for r in catalogue.requirements if r.cncf_id == item.id]
        notes = "; ".join(f"{o.requirement.id} ({o.requirement.layer}) {o.result.status.value}: {o.result.message}"
                          for o in mapped) or f"not assessed in this run (kit checks: {', '.join(declared)})"
        spec.setdefault(item.section, []).append({
            "id": item.id, "description": item.summary, "level": item.level, "status": status,
            "evidence": [f"file://{JUNIT_XML}#{o.requirement.id}" for o in mapped] + ([f"file://{E2E_LOG}"] if mapped else []),
            "notes": notes})
    return {"metadata": {"kubernetesVersion": checklist.version, "platformName": "[Platform Name]",
                         "platformVersion": "[Platform Version]", "vendorName": "[Vendor Name]",
                         "websiteUrl": "[Website URL]", "repoUrl": "[Repository URL]",
                         "documentationUrl": "[Documentation URL]", "productLogoUrl": "[Logo URL]",
                         "description": f"Filled by ai4s-kit conformance ({run.profile} profile, code "
                                        f"{run.code_version}) from the kit's own checks; not upstream evidence.",
                         "contactEmailAddress": "[Contact Email Address]"},
            "spec": spec}


def write(out_dir: Path, catalogue: Catalogue, outcomes: Sequence[Outcome], run: RunInfo | None = None,
          checklist: CncfChecklist | None = None, *, code_version: str | None = None,
          options: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write results.json, junit.xml, report.html and (given the CNCF checklist) the filled
    product checklist atomically; e2e.log is written while running. Without `run` (the
    whitepaper's tests write results this way) the run is described from `code_version` and
    `options`, its verdict computed from the outcomes."""
    if run is None:
        from .runner import verdict

        now = datetime.now(UTC).isoformat(timespec="seconds")
        decided, reasons = verdict(outcomes)
        run = RunInfo(code_version=code_version or "", profile=(options or {}).get("profile", "selection"),
                      verdict=decided, reasons=reasons, started=now, ended=now, options=dict(options or {}))
    doc = results_document(catalogue, outcomes, run)
    junit = junit_document(outcomes, started=run.started)
    xml_text = ET.tostring(junit.getroot(), encoding="unicode", xml_declaration=True)
    files = {
        "results": _atomic_text(out_dir / RESULTS_JSON,
                                json.dumps(doc, indent=1, sort_keys=False, default=str) + "\n"),
        "junit": _atomic_text(out_dir / JUNIT_XML, xml_text + "\n"),
        "report": _atomic_text(out_dir / REPORT_HTML, report_html(catalogue, outcomes, run)),
        "log": out_dir / E2E_LOG,
    }
    if checklist is not None:
        files["checklist"] = _atomic_text(out_dir / checklist_file(checklist), yaml.safe_dump(
            filled_checklist(checklist, catalogue, outcomes, run), sort_keys=False, width=100))
    return files

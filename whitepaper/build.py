"""Build the whitepaper: fill the placeholders of whitepaper.md from generated data.

Placeholders (`{{kind:name}}`) and where their content comes from:

- `{{table:casestudies}}`, `{{table:climate_skill}}`, `{{table:drug_metrics}}`:
  casestudies/<name>/results/summary.json and the results files published next to it;
- `{{table:conformance_catalogue}}`: conformance/catalogue.yaml;
- `{{table:conformance_results}}`: build/conformance/results.json of the latest run;
- `{{table:versions}}`: infra/versions.py;
- `{{figure:<name>}}`: a figure published by a case study, copied next to the output;
- `{{value:<case study>:<dotted.path>}}`: one number of a case study's summary.

A case study without results renders as a marked "not yet regenerated" note, never as a
number. An unknown placeholder is an error, and so is one left in the output.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).with_name("whitepaper.md")
DEFAULT_OUT = Path(__file__).with_name("build")
PLACEHOLDER = re.compile(r"\{\{(table|figure|value):([A-Za-z0-9_.:-]+)\}\}")
CASE_STUDIES = ("climate", "drug-discovery")
REGENERATE = "ai4s casestudies"


def missing(name: str) -> str:
    return f"*(not yet regenerated: run `{REGENERATE} --only {name}`)*"


def number(value: Any) -> str:
    """Numbers as the tables print them: 4 significant digits, booleans as yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return number(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass(kw_only=True, frozen=True, slots=True)
class Sources:
    """Where the build reads from (tests point these at fixtures)."""

    casestudies_root: Path = ROOT / "casestudies"
    """Folder with <case study>/results/summary.json."""
    catalogue_path: Path = ROOT / "conformance" / "catalogue.yaml"
    """The conformance catalogue."""
    conformance_results: Path = ROOT / "build" / "conformance" / "results.json"
    """results.json of the latest `python -m conformance` run (its default --out)."""

    def summary(self, name: str) -> dict[str, Any] | None:
        path = self.casestudies_root / name / "results" / "summary.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def drug_results(self) -> dict[str, Any] | None:
        """The drug case study's evaluation (task -> model -> metrics), if published."""
        folder = self.casestudies_root / "drug-discovery" / "results"
        if self.summary("drug-discovery") is None:
            return None
        for path in sorted(folder.glob("*results*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and isinstance(doc.get("metrics"), dict):
                return doc
        return None


def casestudies_table(src: Sources) -> str:
    rows = []
    for name in CASE_STUDIES:
        s = src.summary(name)
        if s is None:
            rows.append([name, missing(name), "", "", "", ""])
            continue
        hashes = s.get("hashes") or {}
        rows.append([name, s["recipe"], s["regenerated"], str(s["code_version"])[:12],
                     str(hashes.get("dataset_hash", ""))[:12], str(hashes.get("model_hash", ""))[:12]])
    return table(["case study", "recipe", "regenerated (UTC)", "code", "dataset hash", "model hash"], rows)


def climate_skill_table(src: Sources) -> str:
    s = src.summary("climate")
    if s is None:
        return missing("climate")
    h = s["headline"]
    rows = [
        ["nRMSE, lead 1", h["nrmse_lead1"]["emulator"], h["nrmse_lead1"]["persistence"], ""],
        [f"nRMSE, lead {h['horizon_steps']} (horizon)", h["nrmse_horizon"]["emulator"],
         h["nrmse_horizon"]["persistence"], h["nrmse_horizon"]["climatology"]],
        [f"ACC of h, lead {h['horizon_steps']}", h["acc_h_horizon"]["emulator"],
         h["acc_h_horizon"]["persistence"], ""],
    ]
    lines = [table(["metric", "emulator", "persistence", "climatology"], rows), "",
             f"Horizon {h['horizon_steps']} steps of {number(h['lead_time_hours_per_step'])} h; "
             f"{h['held_out_samples']} held-out forecasts; emulator beats persistence at every lead: "
             f"{number(h['beats_persistence_at_every_lead'])}; {h['epochs']} epochs, "
             f"{h['parameters']} parameters (recipe `{s['recipe']}`)."]
    return "\n".join(lines)


def drug_metrics_table(src: Sources) -> str:
    results = src.drug_results()
    if results is None:
        return missing("drug-discovery")
    rows = [[task, model, m.get("spearman"), m.get("rmse"), m.get("r2")]
            for task, models in results["metrics"].items() for model, m in models.items()]
    return table(["task", "model", "Spearman", "RMSE", "R²"], rows)


def catalogue_table(src: Sources) -> str:
    doc = yaml.safe_load(src.catalogue_path.read_text(encoding="utf-8"))
    rows = []
    for r in doc["requirements"]:
        notes = [r.get("reproducibility", "")]
        if "target" in r:
            t = r["target"]
            notes.append(f"target {t['metric']} {t['op']} {number(t['value'])}")
        rows.append([r["id"], r["level"], r["layer"], r.get("cncf_id", ""), r["title"],
                     "; ".join(n for n in notes if n)])
    return table(["id", "level", "layer", "CNCF AI conformance", "requirement", "reproducibility / target"],
                 rows) + f"\n\nCatalogue version {doc['version']}, kit release {doc['kit_release']}."


def conformance_results_table(src: Sources) -> str:
    if not src.conformance_results.is_file():
        return "*(conformance not yet run: `nox -s conformance`)*"
    doc = json.loads(src.conformance_results.read_text(encoding="utf-8"))
    meta, summary = doc["metadata"], doc["summary"]
    rows = [[r["id"], r["level"], r["status"], r["notes"]] for r in doc["requirements"]]
    options = meta.get("options") or {}
    return table(["id", "level", "status", "notes"], rows) + (
        f"\n\nRun of {meta['generated']} on code {str(meta['kit_code_version'])[:12]}"
        f"{' with --quick' if options.get('quick') else ''}"
        f"{'' if options.get('kubeconfig') else ', without a cluster'}: "
        + ", ".join(f"{summary[s]} {s}" for s in ("passed", "failed", "skipped", "unknown")) + ".")


def versions_table(_: Sources) -> str:
    from infra.versions import KUBERNETES_VALIDATION_TARGET, PINS

    rows = [[p.key, p.kind, p.name, p.version] for p in PINS]
    return table(["key", "kind", "name", "version"], rows) + \
        f"\n\nBuilt-in objects are validated against Kubernetes {KUBERNETES_VALIDATION_TARGET}."


TABLES: dict[str, Callable[[Sources], str]] = {
    "casestudies": casestudies_table, "climate_skill": climate_skill_table,
    "drug_metrics": drug_metrics_table, "conformance_catalogue": catalogue_table,
    "conformance_results": conformance_results_table,
    "versions": versions_table,
}
FIGURES: dict[str, tuple[str, str, str]] = {
    "climate_skill": ("climate", "skill_vs_lead.png", "Climate emulator skill against lead time"),
    "climate_snapshots": ("climate", "snapshots.png", "Emulator rollout against the simulation"),
    "drug_parity": ("drug-discovery", "parity.png", "Surrogates against physics and assay values"),
    "drug_enrichment": ("drug-discovery", "enrichment.png", "Screening enrichment through the served surrogate"),
}


def figure(name: str, src: Sources, out_dir: Path) -> str:
    case, file_name, caption = FIGURES[name]
    found = src.casestudies_root / case / "results" / file_name
    if not found.is_file():
        return f"{caption}: {missing(case)}"
    target = out_dir / "figures" / f"{case}-{file_name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(found, target)
    return f"![{caption}](figures/{target.name})\n\n*Figure: {caption} (case study `{case}`).*"


def value(spec: str, src: Sources) -> str:
    case, _, path = spec.partition(":")
    if case not in CASE_STUDIES or not path:
        raise ValueError(f"placeholder value:{spec}: expected value:<case study>:<dotted.path> "
                         f"with a case study in {CASE_STUDIES}")
    summary = src.summary(case)
    if summary is None:
        return missing(case)
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"placeholder value:{spec}: {case} summary has no {path!r}")
        node = node[part]
    return number(node)


def render(text: str, src: Sources, out_dir: Path) -> str:
    """Replace every placeholder; ValueError naming the first unknown one."""
    def replace(match: re.Match[str]) -> str:
        kind, name = match.groups()
        if kind == "table":
            if name not in TABLES:
                raise ValueError(f"placeholder table:{name} is unknown; known: {', '.join(TABLES)}")
            return TABLES[name](src)
        if kind == "figure":
            if name not in FIGURES:
                raise ValueError(f"placeholder figure:{name} is unknown; known: {', '.join(FIGURES)}")
            return figure(name, src, out_dir)
        return value(name, src)

    filled = PLACEHOLDER.sub(replace, text)
    left = re.findall(r"\{\{[^}]*\}\}", filled)
    if left:
        raise ValueError(f"placeholder {left[0]} is malformed; expected {{{{table|figure|value:name}}}}")
    return filled


HTML_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{max-width:52em;margin:2em auto;font-family:sans-serif;line-height:1.5}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:2px 6px;font-size:90%}}
img{{max-width:100%}}code{{font-size:90%}}</style></head>
<body>
{body}
</body></html>
"""


def to_html(markdown_text: str) -> str:
    import markdown

    title = next((line[2:].strip() for line in markdown_text.splitlines() if line.startswith("# ")),
                 "ai4s-kit whitepaper")
    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code", "toc"])
    return HTML_PAGE.format(title=title, body=body)


def _write(path: Path, text: str) -> Path:
    from reference_workloads.core.atomic import atomic_write

    with atomic_write(path) as fh:
        fh.write(text)
    return path


def build(out_dir: Path = DEFAULT_OUT, src: Sources | None = None, source: Path = SOURCE) -> dict[str, Path]:
    """Write out_dir/whitepaper.md, out_dir/whitepaper.html and out_dir/figures/."""
    src = src or Sources()
    out_dir = Path(out_dir)
    filled = render(source.read_text(encoding="utf-8"), src, out_dir)
    return {"markdown": _write(out_dir / "whitepaper.md", filled),
            "html": _write(out_dir / "whitepaper.html", to_html(filled))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m whitepaper.build", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder [whitepaper/build]")
    parser.add_argument("--casestudies", type=Path, default=Sources().casestudies_root,
                        help="case-study root to read results from")
    parser.add_argument("--conformance", type=Path, default=Sources().conformance_results,
                        help="results.json of a conformance run [build/conformance/results.json]")
    args = parser.parse_args(argv)
    try:
        files = build(args.out, Sources(casestudies_root=args.casestudies,
                                        conformance_results=args.conformance))
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    regenerated = [n for n in CASE_STUDIES if Sources(casestudies_root=args.casestudies).summary(n)]
    print(f"wrote {files['markdown']} and {files['html']}; case studies with results: "
          f"{', '.join(regenerated) or 'none (run `ai4s casestudies`)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

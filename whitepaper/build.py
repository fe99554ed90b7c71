"""Build the whitepaper: fill whitepaper.md from the repository, then write HTML and PDF.

Placeholders (`{{kind:name}}`) and where their content comes from:

- `{{value:<case study>:<dotted.path>[:<format>]}}`: one number of
  casestudies/<name>/results/summary.json; `{{value:catalogue:<id>.target.value}}`: a
  requirement's target (conformance.catalogue.load()); `{{value:kit:version}}`: the kit
  release in pyproject.toml;
- `{{table:<name>}}`: a table built from those same sources (TABLES);
- `{{figure:<name>}}`: a figure drawn by whitepaper.figures from the stacks or results;
- `{{value:bench:<dotted.path>[:<format>]}}`: one number of bench/results.json;
  `{{value:cncf:version|ids|must|mapped}}`: the upstream CNCF checklist the catalogue maps
  onto (conformance.catalogue.cncf_checklist());
- `{{requirement:<id>:title|level|description}}`: a requirement's words, from the catalogue;
- `{{check:<id>}}`: the status a conformance check returns when the build runs it on the
  published results (only for checks that are cheap offline, CHEAP_CHECKS);
- `{{text:verdicts}}`: the conformance verdicts with their exit codes (conformance.runner);
- `{{cite:<key>[,<key>]}}`: a numbered citation of references.bib; `{{references:list}}`
  the list of everything cited; `{{meta:date}}` the date of the sources.

Every number the build writes is recorded with its source in `numbers.json` next to the
output, so a test can compare the PDF's text against the files it came from. A case study
without results renders as a marked "not yet regenerated" note, never as a number. An
unknown placeholder is an error, so is one left in the output, and so is a PDF longer than
the deliverable's page limit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whitepaper import bibliography, figures

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).with_name("whitepaper.md")
STYLE = Path(__file__).with_name("print.css")
DEFAULT_OUT = Path(__file__).with_name("build")
PLACEHOLDER = re.compile(r"\{\{(table|figure|figref|value|cite|references|meta|requirement|check|text):([A-Za-z0-9_.:,-]+)\}\}")
CASE_STUDIES = ("climate", "drug-discovery")
REGENERATE = "ai4s casestudies"
PAGE_LIMIT = 15
"""The initiative's deliverable is at most 15 pages."""
CHEAP_CHECKS = ("AI4S-QUAL-001", "AI4S-QUAL-002")
"""Checks the build may run: they recompute a headline from published files in seconds;
the others render stacks, run workloads or need a cluster, so the paper describes them."""
BENCH_SOURCE = "bench/results.json"
CNCF_SOURCE = "conformance/cncf_checklist.yaml"
ARCHITECTURE_STACK = "gpu"
"""The stack the architecture figure is drawn from: the one that registers every component."""


def missing(name: str) -> str:
    return f"*(not yet regenerated: run `{REGENERATE} --only {name}`)*"


def number(value: Any) -> str:
    """Numbers as the paper prints them: 4 significant digits, booleans as yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


FORMATS: dict[str, Callable[[Any], str]] = {
    "g4": number,
    "pct": lambda v: f"{100 * v:.1f} %",
    "pct0": lambda v: f"{100 * v:.0f} %",
    "f1": lambda v: f"{v:.1f}",
    "f2": lambda v: f"{v:.2f}",
    "int": lambda v: f"{round(v):d}",
    "range": lambda v: f"{min(v)} to {max(v)}" if v else "none",
    "side1": lambda v: "below one" if v < 1 else "one" if v == 1 else "above one",
    "vs0": lambda v: ("entirely above zero" if min(v) > 0 else "entirely below zero" if max(v) < 0
                      else "one that includes zero"),
    "count": lambda v: str(len(v)),
    "short": lambda v: str(v)[:12],
}
"""How a number may be printed; `g4` unless a placeholder names another."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Sources:
    """Where the build reads from (tests point these at copies)."""

    casestudies_root: Path = ROOT / "casestudies"
    """Folder with <case study>/results/summary.json."""
    catalogue_path: Path | None = None
    """The conformance catalogue; None for conformance/catalogue.yaml."""
    stack: str = ARCHITECTURE_STACK
    """Stack whose component graph the architecture figure shows."""
    bench_path: Path = ROOT / BENCH_SOURCE
    """The bench's measurements (`python -m tests.bench.run`)."""

    def results(self, name: str) -> Path:
        return self.casestudies_root / name / "results"

    def summary(self, name: str) -> dict[str, Any] | None:
        path = self.results(name) / "summary.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def catalogue(self) -> Any:
        from conformance.catalogue import load

        return load() if self.catalogue_path is None else load(self.catalogue_path)

    def bench(self) -> dict[str, Any] | None:
        return json.loads(self.bench_path.read_text(encoding="utf-8")) if self.bench_path.is_file() else None

    def cncf_checklist(self) -> Any:
        from conformance.catalogue import cncf_checklist

        return cncf_checklist()

    def kit_version(self) -> str:
        return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


@dataclass(kw_only=True, slots=True)
class Filler:
    """Replaces placeholders and keeps the ledger of every number it wrote."""

    src: Sources
    out_dir: Path
    citations: bibliography.Citations
    figure_numbers: dict[str, int] = field(default_factory=dict)
    """Figure name -> number, in the order the figures appear in the source."""
    numbers: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, dict[str, str]] = field(default_factory=dict)
    """Requirement id -> status and message of each check the build ran."""

    def record(self, source: str, path: str, value: Any, fmt: str = "g4") -> str:
        if fmt not in FORMATS:
            raise ValueError(f"number format {fmt!r} is unknown; known: {', '.join(FORMATS)}")
        text = FORMATS[fmt](value)
        self.numbers.append({"source": source, "path": path, "value": value, "format": fmt,
                             "text": text})
        return text

    # --- values ---
    def summary_value(self, case: str, path: str, fmt: str = "g4") -> str:
        summary = self.src.summary(case)
        if summary is None:
            return missing(case)
        node = lookup(summary, path, f"placeholder value:{case}:{path}: {case} summary")
        return self.record(f"casestudies/{case}/results/summary.json", path, node, fmt)

    def bench_value(self, path: str, fmt: str = "g4") -> str:
        doc = self.src.bench()
        if doc is None:
            return "*(not measured: run `python -m tests.bench.run`)*"
        return self.record(BENCH_SOURCE, path, lookup(doc, path, f"placeholder value:bench:{path}: {BENCH_SOURCE}"), fmt)

    def cncf_value(self, name: str) -> str:
        checklist = self.src.cncf_checklist()
        mapped = {r.cncf_id for r in self.src.catalogue().requirements if r.cncf_id and not r.retired}
        values = {"version": checklist.version, "ids": len(checklist.requirements),
                  "must": sum(r.level == "MUST" for r in checklist.requirements),
                  "mapped": sum(r.id in mapped for r in checklist.requirements)}
        if name not in values:
            raise ValueError(f"placeholder value:cncf:{name} is unknown; known: {', '.join(values)}")
        return self.record(CNCF_SOURCE, name, values[name])

    def value(self, spec: str) -> str:
        case, _, rest = spec.partition(":")
        path, _, fmt = rest.partition(":")
        if case == "bench":
            return self.bench_value(path, fmt or "g4")
        if case == "cncf":
            return self.cncf_value(path)
        if case == "kit" and path == "version":
            return self.record("pyproject.toml", "project.version", self.src.kit_version(), "g4")
        if case == "catalogue":
            req_id, _, attr = path.partition(".")
            target = self.src.catalogue().get(req_id).target
            if attr != "target.value" or target is None:
                raise ValueError(f"placeholder value:{spec}: expected value:catalogue:<id>.target.value "
                                 f"of a requirement with a target")
            return self.record("conformance/catalogue.yaml", f"{req_id}.target.value", target.value, fmt or "g4")
        if case not in CASE_STUDIES or not path:
            raise ValueError(f"placeholder value:{spec}: expected value:<case study>:<dotted.path> "
                             f"with a case study in {CASE_STUDIES}, value:bench:<dotted.path>, "
                             f"value:cncf:<name> or value:catalogue:<id>.target.value")
        return self.summary_value(case, path, fmt or "g4")

    # --- the catalogue's words and the checks' statuses ---
    def requirement(self, spec: str) -> str:
        req_id, _, attr = spec.partition(":")
        if attr not in ("title", "level", "description"):
            raise ValueError(f"placeholder requirement:{spec}: expected requirement:<id>:title|level|description")
        return str(getattr(self.src.catalogue().get(req_id), attr)).strip()

    def check(self, req_id: str) -> str:
        """Run one cheap check on the published results; its status is what the paper says."""
        if req_id not in CHEAP_CHECKS:
            raise ValueError(f"placeholder check:{req_id}: the build runs only {', '.join(CHEAP_CHECKS)}; "
                             "describe the others")
        from conformance.registry import Context, registry

        context = Context(work_dir=self.out_dir / "conformance", casestudies_root=self.src.casestudies_root,
                          bench_results=self.src.bench_path, log=lambda _line: None)
        result = registry()[req_id](context)
        self.checks[req_id] = {"status": result.status.value, "message": result.message}
        return result.status.value

    def text(self, name: str) -> str:
        if name != "verdicts":
            raise ValueError(f"placeholder text:{name} is unknown; known: verdicts")
        from conformance.runner import EXIT_CODES

        return ", ".join(f"*{verdict.value}* (exit {self.record('conformance/runner.py', f'EXIT_CODES.{verdict.name}', code)})"
                         for verdict, code in EXIT_CODES.items())

    # --- figures ---
    def figure(self, name: str) -> str:
        if name not in FIGURES:
            raise ValueError(f"placeholder figure:{name} is unknown; known: {', '.join(FIGURES)}")
        draw, caption, case = FIGURES[name]
        path = draw(self, self.out_dir / "figures" / f"{name}.png")
        if path is None:
            return f"*{caption}: {missing(case)}*"
        return (f'<figure id="fig-{name}"><img src="figures/{path.name}" alt="{caption}">'
                f"<figcaption>{self.figref(name)}. {caption}</figcaption></figure>")

    def figref(self, name: str) -> str:
        if name not in self.figure_numbers:
            raise ValueError(f"placeholder figref:{name} names no figure of the source; "
                             f"figures: {', '.join(self.figure_numbers) or 'none'}")
        return f"Figure {self.figure_numbers[name]}"

    def replace(self, match: re.Match[str]) -> str:
        kind, name = match.groups()
        if kind == "table":
            if name not in TABLES:
                raise ValueError(f"placeholder table:{name} is unknown; known: {', '.join(TABLES)}")
            return TABLES[name](self)
        if kind == "figure":
            return self.figure(name)
        if kind == "figref":
            return self.figref(name)
        if kind == "cite":
            return self.citations.cite(name)
        if kind == "references":
            return "{{references:list}}"  # filled last, once every citation is numbered
        if kind == "requirement":
            return self.requirement(name)
        if kind == "check":
            return self.check(name)
        if kind == "text":
            return self.text(name)
        if kind == "meta":
            if name != "date":
                raise ValueError(f"placeholder meta:{name} is unknown; known: date")
            return source_date()
        return self.value(name)


def source_date() -> str:
    """The date of the sources, not of the build: SOURCE_DATE_EPOCH, else the last commit."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), UTC).date().isoformat()
    try:
        return subprocess.run(["git", "log", "-1", "--format=%cs"], cwd=ROOT, capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return datetime.now(UTC).date().isoformat()


def lookup(doc: Any, path: str, what: str) -> Any:
    """doc at a dotted path (list items by index); ValueError `<what> has no <path>`."""
    node = doc
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ValueError(f"{what} has no {path!r}")
    return node


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def casestudies_table(f: Filler) -> str:
    rows = []
    for name in CASE_STUDIES:
        s = f.src.summary(name)
        if s is None:
            rows.append([name, missing(name), "", "", "", ""])
            continue
        source = f"casestudies/{name}/results/summary.json"
        rows.append([name, f"`{s['recipe']}`", s["regenerated"][:10],
                     f.record(source, "code_version", s["code_version"], "short"),
                     f.record(source, "hashes.dataset_hash", s["hashes"]["dataset_hash"], "short"),
                     f.record(source, "headline.n_seeds", s["headline"]["n_seeds"]) + " on "
                     + f.record(source, "hardware.cores", s["hardware"]["cores"]) + " CPU cores"])
    return table(["case study", "recipe", "regenerated", "code", "dataset hash", "seeds, machine"], rows)


CLIMATE_MODELS = ("emulator", "persistence", "damped_persistence", "climatology", "coarse_simulator")
"""Columns of the skill table: the emulator, then every baseline the evaluation scores."""


def _interval(f: Filler, case: str, path: str) -> str:
    """`lo to hi` of a 95 % interval at `path` (a list of two) in a case study's summary."""
    return f"{f.summary_value(case, f'{path}.0')} to {f.summary_value(case, f'{path}.1')}"


def climate_skill_table(f: Filler) -> str:
    """Per metric at the horizon, the emulator (with its interval over seeds) against every
    baseline; a cell is `-` where the evaluation does not score that baseline."""
    s = f.src.summary("climate")
    if s is None:
        return missing("climate")
    h = s["headline"]

    def row(label: str, node: str, var: str | None = None, interval: str | None = None) -> list[str]:
        """`node`.<model> (a number), or `node`.<model>.<var> for a per-variable node."""
        values = []
        for model in CLIMATE_MODELS:
            path = f"{node}.{model}" + (f".{var}" if var else "")
            present = model in h[node] and (var is None or var in h[node][model])
            values.append(f.summary_value("climate", f"headline.{path}") if present else "-")
        spread = _interval(f, "climate", f"headline.over_seeds.{interval}.interval") if interval else "-"
        return [label, values[0], spread, *values[1:]]

    rows = [row("anomaly score, mean of h, u, v", "score_horizon_mean", interval="score_horizon_emulator")]
    rows += [row(f"anomaly score of {var}", "score_horizon", var) for var in ("h", "u", "v")]
    rows += [row("ACC of h", "acc_horizon", "h", interval="acc_h_horizon_emulator")]
    rows += [row(f"ACC of {var}", "acc_horizon", var) for var in ("u", "v")]
    rows += [row("nRMSE, first lead", "nrmse_lead1", interval="nrmse_lead1_emulator"),
             row("nRMSE, horizon", "nrmse_horizon", interval="nrmse_horizon_emulator"),
             row("nRMSE, mean over leads (PDEBench)", "nrmse_pdebench_all_leads")]
    return table(["metric", "emulator", "interval over seeds", "persistence", "damped persistence",
                  "climatology", "simulator, equal-cost grid"], rows)


DRUG_TASKS = {"physics": "docking score (kcal/mol)", "activity": "ChEMBL activity (pIC50)"}
"""How the drug tables name each task of the summary (others by their key)."""


def drug_metrics_table(f: Filler) -> str:
    s = f.src.summary("drug-discovery")
    if s is None:
        return missing("drug-discovery")
    rows = []
    order = list(DRUG_TASKS)
    metrics = s["headline"]["metrics"]
    for task in sorted(metrics, key=lambda t: order.index(t) if t in order else len(order)):
        for model in metrics[task]:
            p = f"headline.metrics.{task}.{model}"
            rows.append([DRUG_TASKS.get(task, task), model.replace("_", " "),
                         f.summary_value("drug-discovery", f"{p}.spearman"),
                         f.summary_value("drug-discovery", f"{p}.rmse"),
                         f.summary_value("drug-discovery", f"{p}.r2"),
                         f.summary_value("drug-discovery", f"{p}.n")])
    return table(["task", "model", "Spearman", "RMSE", "R²", "test molecules"], rows)


def _top_label(fraction_key: str) -> str:
    """`top_5pct` -> `top 5 %`: the summary names each cut-off by its share of the ranking."""
    return fraction_key.replace("top_", "top ").replace("pct", " %")


def _defined(f: Filler, case: str, path: str, fmt: str = "g4") -> str:
    """The number at `path`, or `undefined` where the summary holds NaN (a recall on a split
    without a hit): NaN is no number the paper can state, and it never equals its source."""
    value = lookup(f.src.summary(case), path, f"{case} summary")
    if isinstance(value, float) and value != value:
        return "undefined"
    return f.summary_value(case, path, fmt)


def drug_hits_table(f: Filler) -> str:
    """Docking hits on the physics test split: for each ranking and cut-off, the molecules
    taken, the hits found among them (mean over seeds), recall with its interval over seeds,
    and the enrichment factor; the random order is the reference of both."""
    s = f.src.summary("drug-discovery")
    if s is None:
        return missing("drug-discovery")
    hits, v = lookup(s, "headline.hits", "table drug_hits: drug-discovery summary"), f.summary_value
    models = [m for m in hits if isinstance(hits[m], dict) and m != "random"]
    case, rows = "drug-discovery", []
    for fraction in hits[models[0]]:
        for model in models:
            p = f"headline.hits.{model}.{fraction}"
            q = f"headline.over_seeds.hits.{model}.{fraction}.recall.interval"
            spread = s["headline"]["over_seeds"].get("hits", {}).get(model, {}).get(fraction)
            rows.append([model.replace("_", " "), _top_label(fraction), v(case, f"{p}.selected"),
                         v(case, f"{p}.hits_selected"), _defined(f, case, f"{p}.recall"),
                         f"{_defined(f, case, f'{q}.0')} to {_defined(f, case, f'{q}.1')}" if spread else "-",
                         _defined(f, case, f"{p}.enrichment_factor")])
        rows.append(["random order", _top_label(fraction), v(case, f"headline.hits.{models[0]}.{fraction}.selected"),
                     "-", v(case, f"headline.hits.random.{fraction}.recall"), "-",
                     v(case, f"headline.hits.random.{fraction}.enrichment_factor")])
    return table(["ranking", "cut-off", "molecules taken", "hits found", "recall", "recall interval over seeds",
                  "enrichment factor"], rows)


AL_STRATEGIES = {"gnn": "served GNN", "forest": "random forest", "random": "random"}


def drug_active_learning_table(f: Filler) -> str:
    """Per strategy of the active-learning loop: hits per docking call and the share of the
    pool's hits found, each with its interval over repeats, and the paired difference of
    hits per call against random and against the forest."""
    s = f.src.summary("drug-discovery")
    if s is None:
        return missing("drug-discovery")
    al = lookup(s, "headline.active_learning", "table drug_active_learning: drug-discovery summary")
    p = "headline.active_learning"

    def mean_and_interval(path: str) -> list[str]:
        node = lookup(s, path, "drug-discovery summary")
        mean = f.summary_value("drug-discovery", f"{path}.mean")
        return [mean, _interval(f, "drug-discovery", f"{path}.interval") if "interval" in node else "-"]

    def paired(name: str, reference: str) -> str:
        key = f"{name}_minus_{reference}"
        if key not in al:
            return "-"
        return (f"{f.summary_value('drug-discovery', f'{p}.{key}.mean')} "
                f"({_interval(f, 'drug-discovery', f'{p}.{key}.interval')})")

    rows = [[label, *mean_and_interval(f"{p}.hits_per_call.{name}"), *mean_and_interval(f"{p}.found_fraction.{name}"),
             paired(name, "random"), paired(name, "forest")]
            for name, label in AL_STRATEGIES.items() if name in al["hits_per_call"]]
    return table(["strategy", "hits per docking call", "interval over repeats", "share of the pool's hits found",
                  "interval over repeats", "minus random (interval)", "minus forest (interval)"], rows)


def _family(requirement_id: str) -> str:
    """AI4S-PERF-004 -> PERF: the id names its family, so the summary needs no other field."""
    parts = requirement_id.split("-")
    return parts[1] if len(parts) >= 3 else requirement_id


def catalogue_summary_table(f: Filler) -> str:
    """Requirements counted per family, level and layer: one row per family, so the table
    stays a few rows long however many requirements the catalogue holds."""
    catalogue = f.src.catalogue()
    families: dict[str, dict[str, Any]] = {}
    for r in catalogue.requirements:
        fam = families.setdefault(_family(r.id), {"MUST": 0, "SHOULD": 0, "layers": set(),
                                                   "targets": 0, "example": r.title})
        fam[r.level] += 1
        fam["layers"].add(r.layer)
        fam["targets"] += r.target is not None
    src = "conformance/catalogue.yaml"
    rows = [[name, f.record(src, f"count({name}, MUST)", fam["MUST"]),
             f.record(src, f"count({name}, SHOULD)", fam["SHOULD"]),
             ", ".join(sorted(fam["layers"])), f.record(src, f"count({name}, target)", fam["targets"]),
             fam["example"]]
            for name, fam in sorted(families.items())]
    return table(["family", "MUST", "SHOULD", "layers", "with a target", "for example"], rows)


def targets_table(f: Filler) -> str:
    """Every requirement with a numeric target but the performance ones, the target read
    from the catalogue."""
    rows = []
    for r in f.src.catalogue().requirements:
        if r.target is None or r.category == "performance":  # those: the performance table
            continue
        value = f.record("conformance/catalogue.yaml", f"{r.id}.target.value", r.target.value)
        rows.append([r.id, r.level, r.title, f"`{r.target.metric}` {r.target.op} {value}"])
    return table(["id", "level", "requirement", "target"], rows)


def profiles_table(f: Filler) -> str:
    """What each conformance profile assesses, counted from the catalogue: the verdict needs
    the workload runs and, beyond `offline`, a cluster, so the paper states requirements."""
    catalogue = f.src.catalogue()
    src = "conformance/catalogue.yaml"
    rows, before = [], set()
    for name, profile in catalogue.profiles.items():
        levels = [catalogue.get(rid).level for rid in profile.requirements]
        added = [catalogue.get(rid).category for rid in profile.requirements if rid not in before]
        rows.append([f"`{name}`", f.record(src, f"profile({name}, all)", len(levels)),
                     f.record(src, f"profile({name}, MUST)", levels.count("MUST")),
                     f.record(src, f"profile({name}, SHOULD)", levels.count("SHOULD")),
                     ", ".join(dict.fromkeys(added))])
        before |= set(profile.requirements)
    return table(["profile", "requirements", "MUST", "SHOULD", "adds checks of"], rows)


def _standing(target: Any, value: float, interval: Sequence[float] | None) -> str:
    """Met or missed by the point estimate, and whether the interval over repeats agrees."""
    point = "met" if target.met_by(value) else "missed"
    if not interval:
        return f"{point} (no interval)"
    if target.met_by(interval[0]) == target.met_by(interval[1]) == target.met_by(value):
        return f"{point}, whole interval"
    return f"{point}, interval spans the target"


def performance_table(f: Filler) -> str:
    """Each AI4S-PERF target (catalogue) against the bench's measurement (bench/results.json),
    the target applied here, never the bench's own verdict; then the machine it ran on."""
    doc = f.src.bench()
    if doc is None:
        return "*(not measured: run `python -m tests.bench.run`)*"
    results = doc.get("results") or []
    rows = []
    for r in f.src.catalogue().requirements:
        if r.category != "performance" or r.target is None:
            continue
        goal = f"`{r.target.metric}` {r.target.op} " + f.record(
            "conformance/catalogue.yaml", f"{r.id}.target.value", r.target.value)
        index = next((i for i, e in enumerate(results) if e.get("requirement") == r.id), None)
        entry = results[index] if index is not None else {}
        value = entry.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool) or entry.get("metric") != r.target.metric:
            why = (entry.get("why") or "no result").split("; ")[-1]
            rows.append([r.id, r.title, goal, "-", f"not measured (bench: {why})"])
            continue
        measured = f.record(BENCH_SOURCE, f"results.{index}.value", value)
        interval = entry.get("interval")
        if interval:
            measured += (f" ({f.record(BENCH_SOURCE, f'results.{index}.interval.0', interval[0])} to "
                         f"{f.record(BENCH_SOURCE, f'results.{index}.interval.1', interval[1])}, "
                         f"{f.record(BENCH_SOURCE, f'results.{index}.repeats', entry.get('repeats'))} repeats)")
        rows.append([r.id, r.title, goal, measured, _standing(r.target, value, interval)])
    machine = doc.get("machine") or {}
    loads = [(e[key][0], f"results.{i}.{key}.0") for i, e in enumerate(results)
             for key in ("load_average_before", "load_average_after") if e.get(key)]
    load = max(loads) if loads else None
    caveat = (f"Measured by the bench on {machine.get('cpu') or 'an unnamed CPU'} with "
              f"{f.record(BENCH_SOURCE, 'machine.cores', machine.get('cores'))} cores, "
              f"{'GPU ' + str(machine['gpu']) if machine.get('gpu') else 'no GPU'}, code "
              f"{f.record(BENCH_SOURCE, 'code_version', doc.get('code_version'), 'short')}, "
              f"started {str(doc.get('started'))[:10]}")
    if load is not None:
        cores = machine.get("cores") or 1
        # the bench's own processes load the machine too: only a load above the core count
        # says that other work shared it
        state = "the machine was shared" if load[0] > cores else "no other work was seen"
        caveat += (f"; {state}, with a one-minute load average up to "
                   f"{f.record(BENCH_SOURCE, load[1], load[0], 'f1')}")
    return table(["id", "requirement", "target", "measured (interval)", "standing"], rows) + f"\n\n{caveat}."


def _stacks_graph(f: Filler) -> Any:
    from whitepaper.architecture import component_graph

    return component_graph(f.src.stack)


TABLES: dict[str, Callable[[Filler], str]] = {
    "casestudies": casestudies_table, "climate_skill": climate_skill_table,
    "drug_metrics": drug_metrics_table, "drug_hits": drug_hits_table,
    "drug_active_learning": drug_active_learning_table, "catalogue_summary": catalogue_summary_table,
    "targets": targets_table, "profiles": profiles_table, "performance": performance_table,
}
FIGURES: dict[str, tuple[Callable[[Filler, Path], Path | None], str, str]] = {
    "architecture": (lambda f, p: figures.architecture(_stacks_graph(f), p),
                     "The reference architecture as the GPU stack declares it: one box per "
                     "component with the Helm charts it installs, an arrow from each component to "
                     "those it depends on (drawn by the build from the stack's resource graph)", "stacks"),
    "climate_skill": (lambda f, p: figures.climate_skill(f.src.results("climate"), p),
                      "Climate emulator against every baseline on held-out members: anomaly score "
                      "against lead time (left; the emulator one line per training seed, the baselines "
                      "of the first seed) and the emulator's score over each baseline's per lead and "
                      "seed (right, log scale; below the black line the emulator scores better)", "climate"),
    "drug_metrics": (lambda f, p: figures.drug_metrics(f.src.summary("drug-discovery"), p),
                     "Graph network against random forest on the docking-score (physics) and the "
                     "ChEMBL activity tasks: mean over seeds with its confidence interval", "drug-discovery"),
    "reproducibility": (lambda f, p: figures.reproducibility(
        figures.drift_reports(f.src.casestudies_root, CASE_STUDIES), p),
        "Reproducibility of the published numbers: for each case study and tolerance kind, "
        "how many headline numbers of the latest regeneration agree with the previous "
        "published set, drift beyond their tolerance, or are new", "climate"),
}


def render(text: str, src: Sources, out_dir: Path) -> tuple[str, Filler]:
    """Replace every placeholder; ValueError naming the first bad one."""
    in_order = dict.fromkeys(m.group(2) for m in PLACEHOLDER.finditer(text) if m.group(1) == "figure")
    filler = Filler(src=src, out_dir=out_dir, citations=bibliography.Citations(entries=bibliography.load()),
                    figure_numbers={name: i + 1 for i, name in enumerate(in_order)})
    filled = PLACEHOLDER.sub(filler.replace, text)
    left = re.findall(r"\{\{(?!references:list\}\})[^}]*\}\}", filled)
    if left:
        raise ValueError(f"placeholder {left[0]} is malformed; expected "
                         f"{{{{table|figure|figref|value|cite|references|meta:name}}}}")
    filler.citations.check_named(re.sub(r"<[^>]+>", " ", filled))
    filled = filled.replace("{{references:list}}", filler.citations.reference_list())
    return filled, filler


def to_html(markdown_text: str) -> str:
    import markdown

    title = next((line[2:].strip() for line in markdown_text.splitlines() if line.startswith("# ")),
                 "whitepaper")
    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code", "toc", "attr_list"])
    style = STYLE.read_text(encoding="utf-8")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
            f"<style>\n{style}</style></head>\n<body>\n{body}\n</body></html>\n")


def to_pdf(html_path: Path, pdf_path: Path, page_limit: int = PAGE_LIMIT) -> int:
    """Write the PDF (A4, from print.css); ValueError when it is longer than page_limit."""
    from weasyprint import HTML

    document = HTML(filename=str(html_path), base_url=str(html_path.parent)).render()
    pages = len(document.pages)
    if pages > page_limit:
        raise ValueError(f"the PDF has {pages} pages; the deliverable allows at most {page_limit}")
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
    document.write_pdf(tmp)
    os.replace(tmp, pdf_path)
    return pages


def _write(path: Path, text: str) -> Path:
    from reference_workloads.core.atomic import atomic_write

    with atomic_write(path) as fh:
        fh.write(text)
    return path


def build(out_dir: Path = DEFAULT_OUT, src: Sources | None = None, source: Path = SOURCE, *,
          pdf: bool = True, page_limit: int = PAGE_LIMIT) -> dict[str, Path]:
    """Write whitepaper.md, .html, .pdf, numbers.json and figures/ into out_dir."""
    src = src or Sources()
    out_dir = Path(out_dir)
    filled, filler = render(source.read_text(encoding="utf-8"), src, out_dir)
    files = {"markdown": _write(out_dir / "whitepaper.md", filled),
             "html": _write(out_dir / "whitepaper.html", to_html(filled)),
             "numbers": _write(out_dir / "numbers.json", json.dumps(filler.numbers, indent=1))}
    if pdf:
        files["pdf"] = out_dir / "whitepaper.pdf"
        to_pdf(files["html"], files["pdf"], page_limit)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m whitepaper.build", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder [whitepaper/build]")
    parser.add_argument("--casestudies", type=Path, default=Sources().casestudies_root,
                        help="case-study root to read results from")
    parser.add_argument("--no-pdf", action="store_true", help="write Markdown and HTML only")
    args = parser.parse_args(argv)
    try:
        files = build(args.out, Sources(casestudies_root=args.casestudies), pdf=not args.no_pdf)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    regenerated = [n for n in CASE_STUDIES if Sources(casestudies_root=args.casestudies).summary(n)]
    written = ", ".join(str(p) for k, p in files.items() if k != "numbers")
    print(f"wrote {written}; case studies with results: "
          f"{', '.join(regenerated) or 'none (run `ai4s casestudies`)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

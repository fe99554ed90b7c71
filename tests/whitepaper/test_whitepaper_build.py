"""The whitepaper build: a PDF of at most 15 A4 pages with every section the deliverable
names, every number equal to the file it came from, every citation resolved.

The paper is built once per module from a copy of the published case studies (the PDF
takes seconds); the tests read that one build.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from pypdf import PdfReader

from conformance.catalogue import cncf_checklist
from conformance.catalogue import load as load_catalogue
from conformance.runner import EXIT_CODES
from whitepaper import bibliography
from whitepaper import build as wp

ROOT = Path(__file__).resolve().parents[2]
A4_POINTS = (595.28, 841.89)

# The deliverable's sections, in order (issue 14, "Structure"); level-3 headings in brackets
# sit under the heading before them.
DELIVERABLE = [
    "Principles", "Architectural patterns",
    ["Simulation coupled to training", "Training coupled to serving", "Active learning", "Offload to HPC"],
    "Reference architecture", "Workload models", "Data layer design", "Scheduling, GPU sharing and DRA",
    "HPC integration", "AI toolchain and model management", "AI4S agents",
    "Reproducibility and traceability", "Key challenges", "Gap analysis of the ecosystem",
    "Case studies", ["Drug discovery", "Climate modelling"], "Conformance requirements and targets",
]
# Projects, standards and datasets the initiative and the issue name; each needs a reference.
NAMED = ["Kueue", "Volcano", "DRA", "MPI Operator", "Slurm", "MinIO", "Ceph", "Iceberg", "S3", "CSI",
         "MLflow", "KServe", "vLLM", "Argo Workflows", "OpenTelemetry", "GitOps", "Kubernetes",
         "Cloud Native AI whitepaper", "MLPerf HPC", "PDEBench", "WeatherBench 2", "AI_INFN", "ChEMBL",
         "RO-Crate", "Kubernetes AI Conformance", "Virtual Kubelet", "Milvus"]


def copy_studies(target: Path) -> Path:
    """The published results the build reads: summaries, per-seed results and drift reports,
    and the manifest and predictions from which the quality check recomputes the headline."""
    for name in wp.CASE_STUDIES:
        shutil.copytree(ROOT / "casestudies" / name / "results", target / name / "results",
                        ignore=shutil.ignore_patterns("*.png"))
    return target


def copy_bench(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / wp.BENCH_SOURCE, target)
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not (ROOT / "casestudies" / "climate" / "results" / "summary.json").is_file():
        pytest.skip("the case studies are not published in this checkout")
    root = tmp_path_factory.mktemp("paper")
    studies = copy_studies(root / "casestudies")
    bench = copy_bench(root / "bench" / "results.json")
    files = wp.build(root / "out", wp.Sources(casestudies_root=studies, bench_path=bench))
    reader = PdfReader(files["pdf"])
    text = "\n".join(page.extract_text() for page in reader.pages)
    return {"files": files, "studies": studies, "bench": bench, "reader": reader, "text": text,
            "numbers": json.loads(files["numbers"].read_text())}


def flat(text: str) -> str:
    """PDF text with line breaks (and the hyphens WeasyPrint adds at them) and the page
    footers (`10 / 14`, where a sentence may run across a page break) undone."""
    text = re.sub(r"\n\d+ / \d+\n", "\n", text)
    return re.sub(r"\s+", " ", text.replace("\u2010\n", "").replace("-\n", "-"))


def test_pdf_is_a4_and_within_the_page_limit(built):
    pages = built["reader"].pages
    assert 1 < len(pages) <= wp.PAGE_LIMIT == 15
    for page in pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4_POINTS, abs=1)


def test_headings_follow_the_deliverable(built):
    markdown = built["files"]["markdown"].read_text()
    headings = [(len(m.group(1)), m.group(2).strip()) for m in
                re.finditer(r"^(##+) (.+?)(?: \{:.*\})?$", markdown, flags=re.M)]
    expected = []
    for item in DELIVERABLE:
        expected += [(3, h) for h in item] if isinstance(item, list) else [(2, item)]
    present = [h for h in headings if h in expected]
    assert present == expected  # every section, in the deliverable's order
    # and each sits under the right parent: level-3 headings follow their level-2 heading
    for item_index, item in enumerate(DELIVERABLE):
        if isinstance(item, list):
            parent = DELIVERABLE[item_index - 1]
            start = headings.index((2, parent))
            following = headings[start + 1:start + 1 + len(item)]
            assert following == [(3, h) for h in item]
    text = flat(built["text"])
    for item in DELIVERABLE:
        for h in item if isinstance(item, list) else [item]:
            assert h in text


def read_source(built, entry) -> object:
    """The value an entry of the ledger claims, read again from its file by this test."""
    source, path = entry["source"], entry["path"]
    if source == "pyproject.toml":
        return tomllib.loads((ROOT / source).read_text())["project"]["version"]
    if source == "conformance/runner.py":
        return next(code for verdict, code in EXIT_CODES.items() if f"EXIT_CODES.{verdict.name}" == path)
    if source == wp.CNCF_SOURCE:
        checklist = cncf_checklist()
        mapped = {r.cncf_id for r in load_catalogue().requirements if not r.retired}
        return {"version": checklist.version, "ids": len(checklist.requirements),
                "must": sum(r.level == "MUST" for r in checklist.requirements),
                "mapped": sum(r.id in mapped for r in checklist.requirements)}[path]
    if source == "conformance/catalogue.yaml":  # through its loader (interface 4), not its layout
        catalogue = load_catalogue()
        requirements = catalogue.requirements
        if path.startswith("profile("):
            name, level = path[len("profile("):-1].split(", ")
            ids = catalogue.profile(name).requirements
            return len(ids) if level == "all" else sum(catalogue.get(i).level == level for i in ids)
        if path.startswith("count("):
            family, level = path[len("count("):-1].split(", ")
            in_family = [r for r in requirements if r.id.split("-")[1] == family]
            if level == "target":
                return sum(r.target is not None for r in in_family)
            return sum(r.level == level for r in in_family)
        req_id, _, _ = path.partition(".")
        return next(r for r in requirements if r.id == req_id).target.value
    if source == wp.BENCH_SOURCE:
        node = json.loads(built["bench"].read_text())
    else:
        node = json.loads((built["studies"] / Path(source).relative_to("casestudies")).read_text())
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_every_number_in_the_pdf_equals_its_source(built):
    numbers = built["numbers"]
    assert len(numbers) > 60
    text = flat(built["text"])
    nospace = text.replace(" ", "")
    for entry in numbers:
        assert entry["value"] == read_source(built, entry), entry
        assert entry["text"] == wp.FORMATS[entry["format"]](entry["value"]), entry
        assert entry["text"] in text or entry["text"].replace(" ", "") in nospace, entry
    # and the converse: every decimal in the body is one the build wrote from a source
    body = text[:text.rindex("References")]
    for name in names_with_digits():  # names such as CC BY 4.0 are not numbers the paper states
        body = body.replace(name, " ")
    decimals = set(re.findall(r"(?<![\w.])-?\d+\.\d+(?![\w.])", body))
    written = {t for e in numbers for t in re.findall(r"-?\d+\.\d+", e["text"])}
    assert decimals and decimals <= written, sorted(decimals - written)


def table_rows(markdown: str, first_header: str) -> list[list[str]]:
    """Body rows of the first markdown table whose header starts with `first_header`."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def test_tables_put_each_number_in_its_cell(built):
    markdown = built["files"]["markdown"].read_text()
    summary = json.loads((built["studies"] / "climate" / "results" / "summary.json").read_text())["headline"]
    skill = {row[0]: row[1:] for row in table_rows(markdown, "metric")}
    assert skill["nRMSE, horizon"][0] == wp.number(summary["nrmse_horizon"]["emulator"])
    baselines = ("persistence", "damped_persistence", "climatology", "coarse_simulator")
    assert skill["nRMSE, horizon"][2:] == [wp.number(summary["nrmse_horizon"][k]) for k in baselines]
    assert skill["nRMSE, first lead"][0] == wp.number(summary["nrmse_lead1"]["emulator"])
    assert skill["anomaly score of u"][2:] == [wp.number(summary["score_horizon"][k]["u"]) for k in baselines]
    assert skill["ACC of v"][0] == wp.number(summary["acc_horizon"]["emulator"]["v"])
    drug = json.loads((built["studies"] / "drug-discovery" / "results" / "summary.json").read_text())
    rows = {(r[0], r[1]): r[2:] for r in table_rows(markdown, "task")}
    for task, models in drug["headline"]["metrics"].items():
        for model, m in models.items():
            assert rows[(wp.DRUG_TASKS[task], model.replace("_", " "))] == [wp.number(m[k]) for k in
                                                                           ("spearman", "rmse", "r2", "n")]
    hits = drug["headline"]["hits"]
    enrichment = {(r[0], r[1]): r[2:] for r in table_rows(markdown, "ranking")}
    for model in ("gnn", "random_forest"):
        for fraction, label in (("top_1pct", "top 1 %"), ("top_5pct", "top 5 %")):
            cell = enrichment[(model.replace("_", " "), label)]
            assert [cell[0], cell[1], cell[2], cell[4]] == [wp.number(hits[model][fraction][k]) for k in
                                                            ("selected", "hits_selected", "recall", "enrichment_factor")]
    assert enrichment[("random order", "top 5 %")][2] == wp.number(hits["random"]["top_5pct"]["recall"])
    learned = drug["headline"]["active_learning"]
    loop = {r[0]: r[1:] for r in table_rows(markdown, "strategy")}
    assert list(loop) == ["served GNN", "random forest", "random"]
    for name, label in (("gnn", "served GNN"), ("forest", "random forest"), ("random", "random")):
        assert loop[label][0] == wp.number(learned["hits_per_call"][name]["mean"])
        assert loop[label][2] == wp.number(learned["found_fraction"][name]["mean"])
    assert loop["served GNN"][4].startswith(wp.number(learned["gnn_minus_random"]["mean"]) + " (")
    assert loop["random"][4:] == ["-", "-"]
    requirements = load_catalogue().requirements
    targets = table_rows(markdown, "id | level")
    assert [r[0] for r in targets] == [r.id for r in requirements
                                       if r.target is not None and r.category != "performance"]
    bench = json.loads(built["bench"].read_text())["results"]
    performance = {r[0]: r for r in table_rows(markdown, "id | requirement")}
    assert list(performance) == [r.id for r in requirements if r.category == "performance"]
    for entry in bench:
        if entry["requirement"] in performance and entry["value"] is not None:
            assert performance[entry["requirement"]][3].startswith(wp.number(entry["value"]) + " (")
    profiles = {r[0].strip("`"): r for r in table_rows(markdown, "profile")}
    catalogue = load_catalogue()
    assert {name: int(row[1]) for name, row in profiles.items()} == {
        name: len(p.requirements) for name, p in catalogue.profiles.items()}
    families = {r[0]: r for r in table_rows(markdown, "family")}
    assert sum(int(r[1]) + int(r[2]) for r in families.values()) == len(requirements)


def test_number_formats():
    assert [wp.FORMATS[f](v) for f, v in [("g4", 0.0421656), ("pct", 0.1087), ("pct0", 0.95),
                                           ("f2", 0.66667), ("range", [3, 4, 9]), ("short", "ab" * 9),
                                           ("g4", True), ("g4", 1330995)]] == [
        "0.04217", "10.9 %", "95 %", "0.67", "3 to 9", "ab" * 6, "yes", "1330995"]
    # signs stated from the number: a ratio against one, an interval against zero
    assert [wp.FORMATS["side1"](v) for v in (0.139, 1, 2.5)] == ["below one", "one", "above one"]
    assert [wp.FORMATS["vs0"](v) for v in ([0.1, 0.4], [-0.4, -0.1], [-0.1, 0.2], [0.0, 0.3])] == [
        "entirely above zero", "entirely below zero", "one that includes zero", "one that includes zero"]


def test_changing_a_case_study_result_changes_the_pdf(built, tmp_path):
    studies = copy_studies(tmp_path / "casestudies")
    path = studies / "climate" / "results" / "summary.json"
    summary = json.loads(path.read_text())
    old = summary["headline"]["nrmse_horizon"]["emulator"]
    new = summary["headline"]["nrmse_horizon"]["emulator"] = 0.03333
    path.write_text(json.dumps(summary))
    # the paper's own case-study section, built alone: the same path from result to PDF, in
    # a fraction of the time of the whole paper
    paper = wp.SOURCE.read_text()
    section = tmp_path / "section.md"
    cite_all = "{{cite:" + ",".join(dict.fromkeys(cited_keys(paper))) + "}}"  # names used earlier
    section.write_text(paper[paper.index("## Case studies"):paper.index("## Conformance")] + cite_all)
    files = wp.build(tmp_path / "out", wp.Sources(casestudies_root=studies), source=section)
    text = flat("\n".join(p.extract_text() for p in PdfReader(files["pdf"]).pages))
    assert wp.number(old) in flat(built["text"])
    assert wp.number(old) not in text
    assert text.count(wp.number(new)) >= 2  # in the skill table and in the interpretation


def cited_keys(source: str) -> list[str]:
    return [k.strip() for m in re.finditer(r"\{\{cite:([^}]+)\}\}", source) for k in m.group(1).split(",")]


def test_every_cited_key_resolves_and_the_list_holds_exactly_what_is_cited(built):
    entries = bibliography.load()
    keys = cited_keys(wp.SOURCE.read_text())
    assert keys and set(keys) <= set(entries)
    html = built["files"]["html"].read_text()
    links = set(re.findall(r'href="#ref-([^"]+)"', html))
    anchors = re.findall(r'<li id="ref-([^"]+)">', html)
    assert links == set(anchors) == set(keys) and len(anchors) == len(set(anchors))
    assert "References" in built["text"] and entries["pdebench"].fields["title"] in flat(built["text"])


def test_a_bibliography_entry_without_a_title_is_an_error(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@misc{kueue, author = {{SIG}}, year = {2026}}\n")
    with pytest.raises(ValueError, match="entry kueue has no title"):
        bibliography.load(bib)


def test_a_citation_of_a_missing_key_is_an_error(tmp_path):
    source = tmp_path / "paper.md"
    source.write_text("# t\n\nSee {{cite:kueue,no-such-key}}.\n")
    with pytest.raises(ValueError, match="citation 'no-such-key' is not in references.bib"):
        wp.build(tmp_path / "out", wp.Sources(casestudies_root=tmp_path / "none"), source=source, pdf=False)


def test_every_named_project_has_a_reference_and_is_cited(built):
    entries = bibliography.load()
    cited = set(cited_keys(wp.SOURCE.read_text()))
    owners = {name: e.key for e in entries.values() for name in e.names}
    text = flat(built["text"])
    for name in NAMED:
        assert name in owners, f"{name} has no entry in references.bib"
        assert name in text and owners[name] in cited, name


def test_naming_a_project_without_citing_it_is_an_error(tmp_path):
    source = tmp_path / "paper.md"
    source.write_text("# t\n\nGangs are admitted by Kueue {{cite:kueue}} and Volcano.\n")
    with pytest.raises(ValueError, match="names 'Volcano' but never cites its entry volcano"):
        wp.build(tmp_path / "out", wp.Sources(casestudies_root=tmp_path / "none"), source=source, pdf=False)


def names_with_digits() -> list[str]:
    """Names of referenced projects that contain digits (WeatherBench 2), longest first."""
    return sorted({n for e in bibliography.load().values() for n in e.names if re.search(r"\d", n)}
                  | {"AI4S"}, key=len, reverse=True)


def typed_numbers(source: str) -> list[str]:
    """Digits in the source outside placeholders, code and names that contain digits."""
    text = re.sub(r"\{\{[^}]*\}\}|`[^`]*`|https?://\S+", " ", source)
    text = re.sub(r"^\s*\d+\. ", " ", text, flags=re.M)  # list markers: the HTML numbers them
    for name in names_with_digits():
        text = text.replace(name, " ")
    return re.findall(r"\d+(?:[.,]\d+)*", text)


def test_the_source_types_no_number():
    assert typed_numbers("1. a speed-up of 64 with RFC 2119 and {{value:x:y}}") == ["64"]
    assert typed_numbers(wp.SOURCE.read_text()) == []


def test_the_architecture_figure_shows_every_component_the_stack_registers():
    from infra.verify.render import run_stack
    from whitepaper.architecture import component_graph

    graph = component_graph("gpu")
    monitor, _ = run_stack("gpu")
    registered = {r.type.rsplit(":", 1)[-1] for r in monitor.registrations if r.type.startswith("ai4s:")}
    groups = {c.group for c in graph.components}
    assert {c.kind for c in graph.components} | {g.capitalize() for g in groups} >= registered
    kinds = {c.name: c for c in graph.components}
    assert "kueue" in kinds["compute-kueue"].charts and "minio" in kinds["services-storage"].charts
    assert ("compute-tenancy", "compute-kueue") in graph.edges  # team queues need Kueue first
    assert all(a in kinds and b in kinds and a != b for a, b in graph.edges)


def test_a_pdf_over_the_page_limit_is_refused(tmp_path):
    source = tmp_path / "long.md"
    source.write_text("# t\n\n" + "\n\n".join(["A paragraph of text. " * 40] * 12))
    with pytest.raises(ValueError, match="the PDF has .* pages; the deliverable allows at most 1"):
        wp.build(tmp_path / "out", wp.Sources(casestudies_root=tmp_path / "none"), source=source,
                 page_limit=1)
    assert not (tmp_path / "out" / "whitepaper.pdf").exists()


def test_without_results_the_paper_marks_them_and_invents_nothing(tmp_path):
    files = wp.build(tmp_path / "out", wp.Sources(casestudies_root=tmp_path / "none"), pdf=False)
    text = files["markdown"].read_text()
    assert "{{" not in text
    assert "not yet regenerated: run `ai4s casestudies --only climate`" in text
    assert all(e["source"].startswith(("conformance/", "pyproject", "bench/")) for e in
               json.loads(files["numbers"].read_text()))
    assert not any(p.name.startswith(("climate", "drug", "reproducibility"))
                   for p in (tmp_path / "out" / "figures").glob("*.png"))


@pytest.mark.parametrize("source, message", [
    ("{{table:nope}}", "placeholder table:nope is unknown"),
    ("{{figure:nope}}", "placeholder figure:nope is unknown"),
    ("{{figref:nope}}", "placeholder figref:nope names no figure of the source"),
    ("{{value:climate:headline.nope}}", "climate summary has no 'headline.nope'"),
    ("{{value:climate:headline.epochs:nope}}", "number format 'nope' is unknown"),
    ("{{value:weather:x}}", "expected value:<case study>:<dotted.path>"),
    ("{{table casestudies}}", "is malformed"),
    ("{{check:AI4S-PLAT-001}}", "the build runs only AI4S-QUAL-001"),
    ("{{requirement:AI4S-QUAL-001:nope}}", "expected requirement:<id>:title|level|description"),
    ("{{value:cncf:nope}}", "placeholder value:cncf:nope is unknown"),
    ("{{value:bench:results.99.value}}", "bench/results.json has no 'results.99.value'"),
    ("{{text:nope}}", "placeholder text:nope is unknown"),
])
def test_bad_placeholders_are_errors(tmp_path, source, message):
    studies = copy_studies(tmp_path / "casestudies")
    path = tmp_path / "source.md"
    path.write_text(f"# t\n\n{source}\n")
    with pytest.raises(ValueError, match=re.escape(message)):
        wp.build(tmp_path / "out", wp.Sources(casestudies_root=studies), source=path, pdf=False)
    assert not (tmp_path / "out" / "whitepaper.md").exists()


def test_cli_writes_markdown_and_html_without_pdf(tmp_path, capsys):
    source_free = tmp_path / "none"
    assert wp.main(["--out", str(tmp_path / "cli"), "--casestudies", str(source_free), "--no-pdf"]) == 0
    assert {"whitepaper.md", "whitepaper.html", "numbers.json"} <= {p.name for p in (tmp_path / "cli").iterdir()}
    assert "none (run `ai4s casestudies`)" in capsys.readouterr().out


def perf_table(tmp_path: Path, bench: dict) -> dict[str, list[str]]:
    """The performance table alone, built over a bench document."""
    path = tmp_path / "bench" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bench))
    source = tmp_path / "source.md"
    source.write_text("# t\n\n{{table:performance}}\n")
    files = wp.build(tmp_path / "out", wp.Sources(casestudies_root=tmp_path / "none", bench_path=path),
                     source=source, pdf=False)
    return {r[0]: r for r in table_rows(files["markdown"].read_text(), "id")}


def test_the_performance_table_applies_the_catalogue_target_to_the_bench(tmp_path):
    bench = json.loads((ROOT / wp.BENCH_SOURCE).read_text())
    by_id = {e["requirement"]: e for e in bench["results"] if e["requirement"]}
    by_id["AI4S-PERF-004"].update(value=150.0, interval=[120.0, 180.0], met=None)  # target >= 100
    by_id["AI4S-PERF-003"].update(value=1.5, interval=[0.5, 2.5], met=None)  # target <= 2
    by_id["AI4S-PERF-005"].update(value=None, interval=None, why="timed out; no emulator result")
    rows = perf_table(tmp_path, bench)
    assert rows["AI4S-PERF-004"][3].startswith("150 (120 to 180,") and rows["AI4S-PERF-004"][4] == "met, whole interval"
    assert rows["AI4S-PERF-003"][4] == "met, interval spans the target"
    assert rows["AI4S-PERF-005"][3:] == ["-", "not measured (bench: no emulator result)"]
    by_id["AI4S-PERF-004"].update(value=90.0, interval=[80.0, 95.0])
    assert perf_table(tmp_path / "again", bench)["AI4S-PERF-004"][4] == "missed, whole interval"


def _bench_caveat(tmp_path: Path, bench: dict) -> str:
    perf_table(tmp_path, bench)
    return next(line for line in (tmp_path / "out" / "whitepaper.md").read_text().splitlines()
                if line.startswith("Measured by the bench"))


def test_the_bench_machine_is_called_shared_only_when_the_load_exceeded_its_cores(tmp_path):
    bench = json.loads((ROOT / wp.BENCH_SOURCE).read_text())
    bench["machine"]["cores"] = 2
    for entry in bench["results"]:
        entry.update(load_average_before=[0.9, 0.5, 0.5], load_average_after=[1.2, 0.6, 0.5])
    assert "no other work was seen, with a one-minute load average up to 1.2" in _bench_caveat(tmp_path / "a", bench)
    bench["results"][0]["load_average_after"] = [3.5, 1.0, 0.5]  # other work on a 2-core machine
    assert "the machine was shared, with a one-minute load average up to 3.5" in _bench_caveat(tmp_path / "b", bench)


def test_the_quality_statement_is_the_status_of_the_check_run_by_the_build(built, tmp_path):
    assert "its check returns *passed*" in built["files"]["markdown"].read_text()
    studies = copy_studies(tmp_path / "casestudies")
    path = studies / "climate" / "results" / "summary.json"
    summary = json.loads(path.read_text())
    summary["headline"]["comparisons"]["emulator_vs_persistence_at_horizon"]["interval"] = [-0.01, 0.02]
    path.write_text(json.dumps(summary))  # a summary edited by hand: the check recomputes and fails
    source = tmp_path / "source.md"
    source.write_text("# t\n\nIts check returns *{{check:AI4S-QUAL-001}}*.\n")
    files = wp.build(tmp_path / "out", wp.Sources(casestudies_root=studies), source=source, pdf=False)
    assert "Its check returns *failed*." in files["markdown"].read_text()


def test_cncf_coverage_counts_only_the_ids_the_catalogue_maps(tmp_path):
    catalogue = tmp_path / "catalogue.yaml"
    text = (ROOT / "conformance" / "catalogue.yaml").read_text()
    assert text.count("    cncf_id: cluster_autoscaling\n") == 1
    catalogue.write_text(text.replace("    cncf_id: cluster_autoscaling\n", ""))  # one upstream id unmapped
    source = tmp_path / "source.md"
    source.write_text("# t\n\n{{value:cncf:mapped}} of {{value:cncf:ids}}\n")
    files = wp.build(tmp_path / "out", wp.Sources(casestudies_root=tmp_path / "none", catalogue_path=catalogue),
                     source=source, pdf=False)
    ids = len(cncf_checklist().requirements)
    assert f"{ids - 1} of {ids}" in files["markdown"].read_text()


def test_a_recall_without_hits_is_printed_undefined_never_as_nan(tmp_path):
    def cut(hits, selected, recall):
        return {"molecules": 12, "hits": hits, "selected": selected, "hits_selected": 0, "recall": recall,
                "enrichment_factor": recall * 12 / selected, "random_recall": selected / 12}
    over = {"n": 2, "mean": float("nan"), "interval": [float("nan"), float("nan")]}
    headline = {"hits": {"hit_fraction": 0.05, "threshold": -8.0, "pool_molecules": 60, "pool_hits": 3,
                         "gnn": {"top_5pct": cut(0, 1, float("nan"))},
                         "random": {"top_5pct": {"recall": 1 / 12, "enrichment_factor": 1.0}}},
                "over_seeds": {"hits": {"gnn": {"top_5pct": {"recall": over}}}}}
    results = tmp_path / "casestudies" / "drug-discovery" / "results"
    results.mkdir(parents=True)
    (results / "summary.json").write_text(json.dumps({"headline": headline}))
    source = tmp_path / "source.md"
    source.write_text("# t\n\n{{table:drug_hits}}\n")
    files = wp.build(tmp_path / "out", wp.Sources(casestudies_root=tmp_path / "casestudies"), source=source, pdf=False)
    row = table_rows(files["markdown"].read_text(), "ranking")[0]
    assert row == ["gnn", "top 5 %", "1", "0", "undefined", "undefined to undefined", "undefined"]
    assert all(e["value"] == e["value"] for e in json.loads(files["numbers"].read_text()))  # no NaN in the ledger

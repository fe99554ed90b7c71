"""Check an event log against its benchmark's rules with the ``mlperf_logging`` compliance checker.

The rules come in three layers, each in the checker's own YAML format: the MLPerf HPC 3.0.0
common rules shipped inside ``mlperf_logging``, the kit's layer (``core/mlperf_rules.yaml``)
and the workload's (``<workload>/mlperf_rules.yaml``). A KEY in a later layer replaces the
KEY of the same NAME in an earlier one; BEGIN code and END checks add up. The merged rules
run through the checker's engine unchanged; this module only loads, validates and merges.

    python -m reference_workloads.core.compliance RUN_DIR/events.log [--benchmark ai4s-climate]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from mlperf_logging.compliance_checker import mlp_compliance, mlp_parser

from .eventlog import read_events

__all__ = ["BENCHMARKS", "HPC_COMMON_RULES", "KIT_RULES", "RulesError", "check_log", "load_rules", "merge_rules"]

USAGE, RULESET = "hpc", "3.0.0"
HPC_COMMON_RULES = Path(mlp_compliance.__file__).parent / f"{USAGE}_{RULESET}" / "common.yaml"
KIT_RULES = Path(__file__).with_name("mlperf_rules.yaml")
_WORKLOADS = Path(__file__).resolve().parents[1]
BENCHMARKS = {
    "ai4s-climate": _WORKLOADS / "climate" / "mlperf_rules.yaml",
    "ai4s-drug-discovery": _WORKLOADS / "drug_discovery" / "mlperf_rules.yaml",
}
"""submission_benchmark value -> the workload's rules file."""

_CODE = {"type": "string", "minLength": 1}
_CHECKS = {"oneOf": [_CODE, {"type": "array", "items": _CODE, "minItems": 1}]}
_REQ = r"^(EXACTLY_ONE|AT_LEAST_ONE|OPTIONAL|AT_LEAST\([0-9]+\)|AT_LEAST_ONE_OR\(\s*\w+(\s*,\s*\w+)*\s*\))$"


def _record(kind: str, fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    body = {"type": "object", "properties": fields, "required": required, "additionalProperties": False}
    return {"type": "object", "properties": {kind: body}, "required": [kind], "additionalProperties": False}


RULES_SCHEMA = {
    "type": "array",
    "items": {"oneOf": [
        _record("BEGIN", {"CODE": _CODE}, ["CODE"]),
        _record("KEY", {"NAME": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
                        "REQ": {"type": "string", "pattern": _REQ}, "PRE": _CODE, "CHECK": _CHECKS,
                        "POST": _CODE, "FIRST_CHECK": _CHECKS, "ATLEAST_ONE_CHECK": _CODE}, ["NAME"]),
        _record("END", {"PRE": _CODE, "CHECK": _CHECKS}, []),
    ]},
}
"""The records ``mlp_compliance.ComplianceChecker.configured_checks`` reads, and nothing else."""

_EVALUATED = {"CHECK", "FIRST_CHECK", "ATLEAST_ONE_CHECK"}  # eval()'d; the rest is exec()'d


class RulesError(ValueError):
    """A rules file the checker would misread: wrong shape, unknown field or code that does not compile."""


def load_rules(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read one rules file as the checker does (every scalar a string) and validate it."""
    path = Path(path)
    records = yaml.load(path.read_text(), Loader=yaml.BaseLoader)
    try:
        jsonschema.validate(records, RULES_SCHEMA)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise RulesError(f"{path.name}: {where}: {error.message}; accepted: a list of BEGIN "
                         "{CODE}, KEY {NAME, REQ, PRE, CHECK, POST, FIRST_CHECK, ATLEAST_ONE_CHECK}, END {PRE, CHECK}") from None
    names = [r["KEY"]["NAME"] for r in records if "KEY" in r]
    if len(names) != len(set(names)):
        raise RulesError(f"{path.name}: KEY {sorted(n for n in names if names.count(n) > 1)[0]} defined twice; "
                         "accepted: one KEY per NAME")
    for kind in ("BEGIN", "END"):
        if sum(kind in r for r in records) > 1:
            raise RulesError(f"{path.name}: more than one {kind} record; accepted: at most one")
    for record in records:
        (kind, body), = record.items()
        for field, code in body.items():
            if field == "NAME" or field == "REQ":
                continue
            for snippet in [code] if isinstance(code, str) else code:
                try:
                    compile(snippet.strip(), f"{path.name}:{kind}.{field}", "eval" if field in _EVALUATED else "exec")
                except SyntaxError as error:
                    raise RulesError(f"{path.name}: {kind} {body.get('NAME', '')} {field}: {snippet.strip()!r} "
                                     f"does not compile ({error.msg}); accepted: one Python expression") from None
    return records


def merge_rules(*layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One rules list: later KEYs replace earlier ones of the same NAME, BEGIN and END add up."""
    begin: list[str] = []
    keys: dict[str, dict[str, Any]] = {}
    end: dict[str, list[str]] = {"PRE": [], "CHECK": []}
    for layer in layers:
        for record in layer:
            (kind, body), = record.items()
            if kind == "BEGIN":
                begin.append(body["CODE"].strip())
            elif kind == "KEY":
                keys[body["NAME"]] = body
            else:
                end["PRE"] += [body["PRE"].strip()] if "PRE" in body else []
                checks = body.get("CHECK", [])
                end["CHECK"] += [checks] if isinstance(checks, str) else list(checks)
    merged: list[dict[str, Any]] = [{"BEGIN": {"CODE": "\n".join(begin)}}] if begin else []
    merged += [{"KEY": body} for body in keys.values()]
    tail = {field: "\n".join(v) if field == "PRE" else v for field, v in end.items() if v}
    return merged + ([{"END": tail}] if tail else [])


def _benchmark_of(log: Path) -> str | None:
    values = [r.get("value") for r in read_events(log) if r.get("key") == "submission_benchmark"]
    return values[0] if values and values[0] in BENCHMARKS else None


def _first_lines(message: str) -> str:
    """The checker's message without the dump of its whole state."""
    return message.split("\ncurrent context")[0].strip()


def check_log(log: str | os.PathLike[str], benchmark: str | None = None) -> list[str]:
    """The compliance failures of one event log; empty when it passes.

    ``benchmark`` defaults to the log's own ``submission_benchmark``; a log naming none of
    ``BENCHMARKS`` is checked against the common and kit layers, which then fail it.
    """
    log = Path(log)
    benchmark = benchmark or _benchmark_of(log)
    if benchmark is not None and benchmark not in BENCHMARKS:
        raise RulesError(f"benchmark {benchmark!r} has no rules; accepted: {', '.join(BENCHMARKS)}")
    layers = [HPC_COMMON_RULES, KIT_RULES] + ([BENCHMARKS[benchmark]] if benchmark else [])
    rules = merge_rules(*(load_rules(path) for path in layers))
    loglines, errors = mlp_parser.parse_file(str(log), ruleset=RULESET)
    checker = mlp_compliance.make_checker(USAGE, RULESET, quiet=False, werror=True)
    with tempfile.TemporaryDirectory(prefix="ai4s-rules-") as folder:
        merged = Path(folder) / f"{benchmark or 'ai4s'}.yaml"
        merged.write_text(yaml.safe_dump(rules, sort_keys=False, width=1000))
        try:
            checker.check_loglines(loglines, str(merged))  # an absolute path: read as it is
        finally:
            mlp_compliance.enqueued_configs.clear()  # module state; the merged rules enqueue nothing
    failures = [f"line does not parse ({reason}): {line}" for line, reason in errors]
    messages = [*checker.warnings.values(), *checker.overwritable.values(), *checker.not_overwritable]
    return failures + [_first_lines(m) for m in messages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_workloads.core.compliance",
                                     description="Check event logs against the kit's MLPerf-HPC-style rules.")
    parser.add_argument("logs", nargs="+", type=Path, help="events.log files")
    parser.add_argument("--benchmark", choices=sorted(BENCHMARKS), help="default: the log's submission_benchmark")
    args = parser.parse_args(argv)
    failed = 0
    for log in args.logs:
        try:
            failures = check_log(log, args.benchmark)
        except (OSError, RulesError) as error:
            print(f"error: {log}: {error}", file=sys.stderr)
            return 2
        print(f"{'FAIL' if failures else 'ok'} {log}")
        for failure in failures:
            print("  " + failure.replace("\n", "\n  "))
        failed += bool(failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Case-study READMEs rendered from a template: every number comes from ``summary.json``.

A template is Markdown with ``{{ path.to.value }}`` or ``{{ path.to.value:.3f }}`` fields,
looked up in the summary, plus ``{{ how_to_cite }}`` for the citation block. A field that
names nothing in the summary is an error, so a README cannot quote a number that is gone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

TEMPLATE = "README.template.md"
README = "README.md"
_FIELD = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*(?::\s*([^}]*?))?\s*\}\}")


class TemplateError(KeyError):
    """A template field names a value the summary does not hold."""

    def __str__(self) -> str:
        return str(self.args[0])


def lookup(summary: dict[str, Any], path: str) -> Any:
    value: Any = summary
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise TemplateError(f"template field {path!r} is invalid: the summary has no {part!r} there")
    return value


def how_to_cite(summary: dict[str, Any]) -> str:
    return "\n".join([
        "```text",
        f"ai4s-kit contributors. ai4s-kit case study \"{summary['case_study']}\", recipe {summary['recipe']},",
        f"result set {summary['identifier']}, code version {summary['code_version']},",
        f"regenerated {summary['regenerated']}. Software: see CITATION.cff at the repository root.",
        "```",
        "",
        f"The identifier is a hash over the result files and the config, dataset and model hashes "
        f"(`summary.json` → `identifier`, also the crate's `identifier`); `ai4s verify "
        f"casestudies/{summary['case_study']}/results` recomputes it.",
    ])


def _format(value: Any, spec: str | None) -> str:
    if value is None:
        return "n/a"  # e.g. an olympic mean of fewer than three seeds
    if spec:
        return format(value, spec)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(template: str, summary: dict[str, Any]) -> str:
    def field(match: re.Match[str]) -> str:
        path, spec = match.group(1), match.group(2)
        if path == "how_to_cite":
            return how_to_cite(summary)
        return _format(lookup(summary, path), spec)

    return _FIELD.sub(field, template)


def render_case_study(folder: Path) -> Path | None:
    """Write ``folder``/README.md from its template and ``results/summary.json``; None without a template."""
    template = folder / TEMPLATE
    if not template.is_file():
        return None
    summary = json.loads((folder / "results" / "summary.json").read_text(encoding="utf-8"))
    banner = f"<!-- generated from {TEMPLATE} and results/summary.json by `ai4s casestudies`; edit the template -->\n"
    (folder / README).write_text(banner + render(template.read_text(encoding="utf-8"), summary), encoding="utf-8")
    return folder / README

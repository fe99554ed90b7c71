"""The paper's references: parse references.bib, number citations, render the list.

Citations are numbered in order of first use, as in most engineering papers, so the list
holds only what the text cites. Each entry may carry a `names` field (comma-separated):
the project, standard or dataset names it stands for. A rendered paper that mentions one
of those names without citing its entry is refused, so a named project cannot lose its
reference when the text is edited.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import bibtexparser

BIB_PATH = Path(__file__).with_name("references.bib")
REQUIRED_FIELDS = ("title", "author", "year")


@dataclass(kw_only=True, frozen=True, slots=True)
class Entry:
    """One BibTeX entry, reduced to what the reference list prints."""

    key: str
    kind: str
    fields: dict[str, str]
    names: tuple[str, ...]
    """Names in the text this entry is the reference for."""

    def rendered(self) -> str:
        """One reference as HTML: authors, title, venue, year, address."""
        f = {k: _plain(v) for k, v in self.fields.items()}
        parts = [_authors(f["author"]), f"<em>{html.escape(f['title'])}</em>"]
        venue = f.get("journal") or f.get("booktitle") or f.get("publisher") or f.get("howpublished")
        if venue:
            parts.append(html.escape(venue))
        if f.get("version"):
            parts.append(f"version {html.escape(f['version'])}")
        parts.append(html.escape(f["year"]))
        text = " ".join(p if p.endswith(".") else p + "." for p in parts)
        if f.get("url"):
            url = html.escape(f["url"])
            text += f' <a href="{url}">{url}</a>'
        return text


def _plain(value: str) -> str:
    """BibTeX braces only protect case; the list prints the text inside them."""
    unescaped = re.sub(r"\\([_&%$#])", r"\1", value.replace("{", "").replace("}", ""))
    return re.sub(r"\s+", " ", unescaped).strip()


def _authors(text: str) -> str:
    names = [n.strip() for n in text.split(" and ")]
    shown = ["et al." if n == "others" else " ".join(reversed([p.strip() for p in n.split(",", 1)])) if "," in n else n
             for n in names]
    if len(shown) > 3:
        shown = shown[:3] + ["et al."]
    return html.escape(", ".join(shown))


def load(path: Path = BIB_PATH) -> dict[str, Entry]:
    """Every entry by key; ValueError naming the entry and field when one is unusable."""
    library = bibtexparser.parse_string(path.read_text(encoding="utf-8"))
    if library.failed_blocks:
        first = library.failed_blocks[0]
        raise ValueError(f"{path.name}: cannot parse the block starting at line "
                         f"{first.start_line + 1}; expected @type{{key, field = {{...}}, ...}}")
    entries: dict[str, Entry] = {}
    for raw in library.entries:
        fields = {f.key.lower(): str(f.value) for f in raw.fields}
        for name in REQUIRED_FIELDS:
            if not fields.get(name, "").strip():
                raise ValueError(f"{path.name}: entry {raw.key} has no {name}; "
                                 f"every entry needs {', '.join(REQUIRED_FIELDS)}")
        if raw.key in entries:
            raise ValueError(f"{path.name}: key {raw.key} appears twice; keys must be unique")
        names = tuple(n.strip() for n in _plain(fields.pop("names", "")).split(",") if n.strip())
        entries[raw.key] = Entry(key=raw.key, kind=raw.entry_type, fields=fields, names=names)
    return entries


@dataclass(kw_only=True, slots=True)
class Citations:
    """Numbers the keys the text cites, first use first."""

    entries: dict[str, Entry]
    order: list[str] = field(default_factory=list)

    def cite(self, keys: str) -> str:
        """`[n, m]` with links to the list; ValueError for a key the library lacks."""
        numbers = []
        for key in (k.strip() for k in keys.split(",")):
            if key not in self.entries:
                raise ValueError(f"citation {key!r} is not in {BIB_PATH.name}; "
                                 f"add an entry or cite one of its keys")
            if key not in self.order:
                self.order.append(key)
            numbers.append(f'<a href="#ref-{key}">{self.order.index(key) + 1}</a>')
        return "[" + ", ".join(numbers) + "]"

    def reference_list(self) -> str:
        items = [f'<li id="ref-{key}">{self.entries[key].rendered()}</li>' for key in self.order]
        return '<ol class="references">\n' + "\n".join(items) + "\n</ol>"

    def check_named(self, text: str) -> None:
        """ValueError for the first name an entry stands for that the text uses uncited."""
        for entry in self.entries.values():
            if entry.key in self.order:
                continue
            for name in entry.names:
                if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
                    raise ValueError(f"the text names {name!r} but never cites its entry "
                                     f"{entry.key}; add {{{{cite:{entry.key}}}}} where it is named")

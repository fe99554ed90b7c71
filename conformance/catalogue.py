"""The requirement catalogue: load catalogue.yaml, validate it, look requirements up.

The catalogue is data; checks refer to its ids. Loading refuses anything a JSON-schema
cannot express as well: duplicate ids, a `since` later than the catalogue's release, and a
profile naming an unknown requirement or profile. `cncf_checklist()` reads the upstream
CNCF checklist's ids (cncf_checklist.yaml) the catalogue maps onto.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CATALOGUE_PATH = Path(__file__).with_name("catalogue.yaml")
SCHEMA_PATH = Path(__file__).with_name("catalogue.schema.json")
CNCF_CHECKLIST_PATH = Path(__file__).with_name("cncf_checklist.yaml")
LEVELS = ("MUST", "SHOULD")
LAYERS = ("platform", "kit", "workload")


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the requirement and field."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Target:
    """A numeric target the whitepaper states: `metric op value` must hold."""

    metric: str
    """Name of the measured quantity, as the check reports it in its evidence."""
    op: str
    """Comparison: ==, >=, <=, > or <."""
    value: float
    """The threshold."""

    def met_by(self, measured: float) -> bool:
        return {"==": measured == self.value, ">=": measured >= self.value,
                "<=": measured <= self.value, ">": measured > self.value,
                "<": measured < self.value}[self.op]

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(kw_only=True, frozen=True, slots=True)
class Requirement:
    """One catalogue entry."""

    id: str
    """Stable id, AI4S-<CATEGORY>-NNN."""
    level: str
    """MUST or SHOULD (RFC 2119)."""
    category: str
    """Which checks module owns it."""
    layer: str
    """platform, kit or workload: who owns the requirement in a layered submission."""
    since: str
    """Kit release that introduced it."""
    title: str
    """Short name for tables."""
    description: str
    """The requirement in RFC 2119 words."""
    cncf_id: str = ""
    """CNCF Kubernetes AI Conformance requirement it maps to, or empty."""
    reproducibility: str = ""
    """bitwise, statistical, or empty where reproducibility is not the point."""
    target: Target | None = None
    """Numeric target, where the whitepaper states one."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """Declarative inputs of the check (e.g. required event-log keys)."""
    retired: str = ""
    """Release that retired it, or empty."""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise CatalogueError(f"{self.id}: level {self.level!r} is unknown; expected one of {LEVELS}")
        if self.layer not in LAYERS:
            raise CatalogueError(f"{self.id}: layer {self.layer!r} is unknown; expected one of {LAYERS}")


@dataclass(kw_only=True, frozen=True, slots=True)
class Profile:
    """A named set of requirements a run assesses; its verdict is over these only."""

    name: str
    """offline, cluster, gpu-cluster..."""
    description: str
    """What the profile is for, in a sentence or two."""
    requirements: tuple[str, ...]
    """Requirement ids, those of the profile it extends first."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Catalogue:
    """The whole catalogue, in file order."""

    version: str
    """Catalogue version (semver)."""
    kit_release: str
    """Kit release the catalogue describes."""
    requirements: tuple[Requirement, ...]
    """Every requirement, retired ones included."""
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    """Profiles by name, `extends` resolved."""

    def profile(self, name: str) -> Profile:
        if name not in self.profiles:
            raise ValueError(f"profile {name!r} is unknown; known: {', '.join(self.profiles)}")
        return self.profiles[name]

    def get(self, requirement_id: str) -> Requirement:
        for r in self.requirements:
            if r.id == requirement_id:
                return r
        raise ValueError(f"requirement id {requirement_id!r} is unknown; known: "
                         f"{', '.join(r.id for r in self.requirements)}")

    def select(self, *, ids: Iterable[str] = (), categories: Iterable[str] = (),
               layers: Iterable[str] = ()) -> list[Requirement]:
        """Active requirements matching every given filter (an empty filter matches all)."""
        ids, categories, layers = set(ids), set(categories), set(layers)
        for rid in ids:
            self.get(rid)  # an unknown id is an error, not an empty selection
        known_categories = {r.category for r in self.requirements}
        for c in categories - known_categories:
            raise ValueError(f"category {c!r} is unknown; known: {', '.join(sorted(known_categories))}")
        for layer in layers - set(LAYERS):
            raise ValueError(f"layer {layer!r} is unknown; expected one of {', '.join(LAYERS)}")
        return [r for r in self.requirements if not r.retired
                and (not ids or r.id in ids)
                and (not categories or r.category in categories)
                and (not layers or r.layer in layers)]


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def parse(raw: Any) -> Catalogue:
    """Validate a parsed catalogue document and build the Catalogue."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "<root>"
        if len(err.absolute_path) >= 2 and err.absolute_path[0] == "requirements":
            entry = raw["requirements"][err.absolute_path[1]]
            if isinstance(entry, Mapping) and "id" in entry:
                where = f"{entry['id']}: {'/'.join(str(p) for p in list(err.absolute_path)[2:]) or '<entry>'}"
        raise CatalogueError(f"catalogue: {where}: {err.message}")
    seen: set[str] = set()
    requirements = []
    for entry in raw["requirements"]:
        if entry["id"] in seen:
            raise CatalogueError(f"catalogue: duplicate requirement id {entry['id']!r}")
        seen.add(entry["id"])
        if _version_tuple(entry["since"]) > _version_tuple(raw["kit_release"]):
            raise CatalogueError(f"catalogue: {entry['id']}: since {entry['since']} is later than "
                                 f"kit_release {raw['kit_release']}")
        target = Target(**entry["target"]) if "target" in entry else None
        requirements.append(Requirement(**{**entry, "target": target}))
    return Catalogue(version=raw["version"], kit_release=raw["kit_release"],
                     requirements=tuple(requirements),
                     profiles=_profiles(raw["profiles"], {r.id: r for r in requirements}))


def _profiles(raw: Mapping[str, Any], known: Mapping[str, Requirement]) -> dict[str, Profile]:
    """Resolve `extends` (parents first, no cycles) and refuse unknown or retired ids."""
    resolved: dict[str, Profile] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> Profile:
        if name in resolved:
            return resolved[name]
        if name in chain:
            raise CatalogueError(f"catalogue: profile {name!r} extends itself through {' -> '.join(chain)}")
        entry = raw[name]
        parent = entry.get("extends")
        if parent is not None and parent not in raw:
            raise CatalogueError(f"catalogue: profile {name!r} extends unknown profile {parent!r}; "
                                 f"known: {', '.join(raw)}")
        inherited = resolve(parent, (*chain, name)).requirements if parent else ()
        for rid in entry["requirements"]:
            if rid not in known:
                raise CatalogueError(f"catalogue: profile {name!r} lists unknown requirement {rid!r}")
            if known[rid].retired:
                raise CatalogueError(f"catalogue: profile {name!r} lists {rid}, retired in {known[rid].retired}")
        ids = (*inherited, *(r for r in entry["requirements"] if r not in inherited))
        resolved[name] = Profile(name=name, description=entry["description"], requirements=ids)
        return resolved[name]

    for name in raw:
        resolve(name, ())
    return {name: resolved[name] for name in raw}


@dataclass(kw_only=True, frozen=True, slots=True)
class CncfRequirement:
    """One id of the upstream CNCF Kubernetes AI Conformance checklist."""

    id: str
    """Upstream id, e.g. gang_scheduling."""
    section: str
    """Section of the product checklist's spec (accelerators, networking, ...)."""
    level: str
    """MUST or SHOULD, as upstream states it."""
    summary: str
    """Our one-line summary (the upstream text is the authority)."""


@dataclass(kw_only=True, frozen=True, slots=True)
class CncfChecklist:
    version: str
    """Upstream checklist version, e.g. v1.37."""
    source: str
    """Where the upstream checklist is published."""
    requirements: tuple[CncfRequirement, ...]
    """Every id, in the upstream order."""


def cncf_checklist(path: Path = CNCF_CHECKLIST_PATH) -> CncfChecklist:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    items = tuple(CncfRequirement(section=section, **entry)
                  for section, entries in raw["sections"].items() for entry in entries)
    for item in items:
        if item.level not in LEVELS:
            raise CatalogueError(f"cncf checklist: {item.id}: level {item.level!r} is unknown; expected one of {LEVELS}")
    return CncfChecklist(version=raw["version"], source=raw["source"], requirements=items)


def load(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Read and validate a catalogue file; CatalogueError names what is wrong."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise CatalogueError(f"catalogue: {path} is not valid YAML: {err}") from None
    return parse(raw)

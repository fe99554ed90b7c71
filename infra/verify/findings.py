"""What validation and policy report: one problem of one rendered object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(kw_only=True, frozen=True, slots=True)
class Finding:
    """One problem of one object."""

    object: str
    """The object, as `describe` names it (or `helm <release>`)."""
    message: str
    """What is wrong, with the field path."""

    def __str__(self) -> str:
        return f"{self.object}: {self.message}"


def describe(obj: Mapping[str, Any], *, api_version: bool = True) -> str:
    """`[<apiVersion> ]<kind> [<namespace>/]<name>` of a manifest."""
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    head = f"{obj.get('apiVersion')} " if api_version else ""
    return f"{head}{obj.get('kind')} {where}{meta.get('name', '?')}"

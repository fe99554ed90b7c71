"""CITATION.cff checked against the Citation File Format 1.2.0 schema.

``cffconvert`` would pin an old ``jsonschema``, so the schema's rules for the keys a
software citation uses are written down here from the CFF 1.2.0 specification and checked
with the ``jsonschema`` the kit already has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

_TEXT = {"type": "string", "minLength": 1}
_COMMON_PARTY = {key: _TEXT for key in ("address", "alias", "city", "country", "fax", "post-code", "region", "tel")}
_PARTY_LINKS = {"email": {"type": "string", "pattern": r"^[\S]+@[\S]+\.[\S]{2,}$"},
                "orcid": {"type": "string", "pattern": r"^https://orcid\.org/[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{3}[0-9X]$"},
                "website": {"type": "string", "pattern": r"^(https|http|ftp|sftp)://.+"}}
_PERSON = {"type": "object", "additionalProperties": False, "minProperties": 1,
           "properties": {**_COMMON_PARTY, **_PARTY_LINKS, "affiliation": _TEXT, "family-names": _TEXT,
                          "given-names": _TEXT, "name-particle": _TEXT, "name-suffix": _TEXT}}
_ENTITY = {"type": "object", "additionalProperties": False, "required": ["name"],
           "properties": {**_COMMON_PARTY, **_PARTY_LINKS, "name": _TEXT, "location": _TEXT,
                          "date-start": {"type": "string", "format": "date"},
                          "date-end": {"type": "string", "format": "date"}}}
_URL = {"type": "string", "pattern": r"^(https|http|ftp|sftp)://.+"}
_IDENTIFIER = {"type": "object", "additionalProperties": False, "required": ["type", "value"],
               "properties": {"type": {"enum": ["doi", "url", "swh", "other"]}, "value": _TEXT,
                              "description": _TEXT}}
SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "required": ["authors", "cff-version", "message", "title"],
    "properties": {
        "cff-version": {"const": "1.2.0"},
        "message": _TEXT,
        "title": _TEXT,
        "abstract": _TEXT,
        "authors": {"type": "array", "minItems": 1, "items": {"anyOf": [_ENTITY, _PERSON]}},
        "contact": {"type": "array", "minItems": 1, "items": {"anyOf": [_ENTITY, _PERSON]}},
        "commit": _TEXT,
        "date-released": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "doi": {"type": "string", "pattern": r"^10\.\d{4,9}(\.\d+)?/[A-Za-z0-9:/_;\-\.\(\)\[\]\\]+$"},
        "identifiers": {"type": "array", "minItems": 1, "items": _IDENTIFIER},
        "keywords": {"type": "array", "minItems": 1, "items": _TEXT},
        "license": {"anyOf": [_TEXT, {"type": "array", "minItems": 1, "items": _TEXT}]},
        "license-url": _URL,
        "repository": _URL,
        "repository-artifact": _URL,
        "repository-code": _URL,
        "type": {"enum": ["dataset", "software"]},
        "url": _URL,
        "version": {"anyOf": [_TEXT, {"type": "number"}]},
        "preferred-citation": {"type": "object"},
        "references": {"type": "array", "items": {"type": "object"}},
    },
}


def citation_problems(path: Path) -> list[str]:
    """Why ``path`` is not a valid CFF 1.2.0 file, one line each (empty: it is)."""
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{'.'.join(map(str, error.absolute_path)) or '(top level)'}: {error.message}"
            for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]

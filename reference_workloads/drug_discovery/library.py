"""Molecule libraries: the data sets shipped inside RDKit, or the user's SMILES or SDF file.

Every record that RDKit cannot read is counted and reported with examples and the reason,
then skipped; nothing is dropped silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rdkit import Chem, RDConfig, RDLogger

# The screening library: ~5,000 NCI molecules shipped in RDKit's data directory.
NCI_SMILES = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
# A real QSAR task: ~1,000 ChEMBL compounds of assay CHEMBL2321810 with measured activities
# (the FreeWilson contribution; the pip wheel ships it under rdkit/Contrib).
CHEMBL_DIR = Path(RDConfig.RDContribDir) / "FreeWilson" / "data"
CHEMBL_SMILES = CHEMBL_DIR / "CHEMBL2321810.smi"
CHEMBL_ACTIVITY = CHEMBL_DIR / "CHEMBL2321810_act.csv"

BUILTIN_SOURCES = ("nci", "chembl")
_EXAMPLES_KEPT = 5


@dataclass(kw_only=True, frozen=True, slots=True)
class InvalidReport:
    """What was skipped while reading a library, and why."""

    source: str
    """Where the records came from."""
    records: int
    """Records read (valid and invalid)."""
    invalid: int
    """Records RDKit could not parse or sanitise."""
    examples: tuple[tuple[int, str, str], ...] = field(default=())
    """Up to five (record number, text, reason) of the invalid records."""

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "records": self.records,
            "invalid": self.invalid,
            "examples": [{"record": n, "text": t, "reason": r} for n, t, r in self.examples],
        }


@dataclass(kw_only=True, frozen=True, slots=True)
class Library:
    """Valid molecules (columns: record, name, smiles) plus the report of the invalid ones."""

    molecules: pd.DataFrame
    report: InvalidReport


def parse_smiles(text: str) -> tuple[str | None, str]:
    """Canonical SMILES of ``text``, or None and the reason RDKit rejects it."""
    RDLogger.DisableLog("rdApp.*")  # reasons are collected here instead of printed
    try:
        mol = Chem.MolFromSmiles(text, sanitize=False)
        if mol is None:
            return None, "unparsable SMILES"
        try:
            Chem.SanitizeMol(mol)
        except Exception as error:  # RDKit raises several sanitisation exception types
            return None, str(error).strip() or type(error).__name__
        if mol.GetNumAtoms() == 0:
            return None, "no atoms"
        return Chem.MolToSmiles(mol), ""
    finally:
        RDLogger.EnableLog("rdApp.*")


def _build(source: str, records: list[tuple[int, str, str]]) -> Library:
    rows, bad = [], []
    for number, text, name in records:
        smiles, reason = parse_smiles(text)
        if smiles is None:
            bad.append((number, text[:120], reason))
        else:
            rows.append({"record": number, "name": name or str(number), "smiles": smiles})
    if not rows:
        raise ValueError(
            f"library={source!r} is invalid: expected a file with at least one valid molecule "
            f"(read {len(records)} records, {len(bad)} invalid)"
        )
    report = InvalidReport(
        source=source, records=len(records), invalid=len(bad), examples=tuple(bad[:_EXAMPLES_KEPT])
    )
    frame = pd.DataFrame(rows, columns=["record", "name", "smiles"])
    return Library(molecules=frame, report=report)


def _smiles_records(path: Path, limit: int | None) -> list[tuple[int, str, str]]:
    records: list[tuple[int, str, str]] = []
    with path.open() as handle:
        for line in handle:
            parts = line.split()
            if not parts or parts[0].startswith("#") or parts[0].lower() == "smiles":
                continue
            records.append((len(records), parts[0], parts[1] if len(parts) > 1 else ""))
            if limit is not None and len(records) >= limit:
                break
    return records


def _sdf_records(path: Path, limit: int | None) -> list[tuple[int, str, str]]:
    """SDF records as SMILES text; a record RDKit cannot read becomes an invalid entry."""
    RDLogger.DisableLog("rdApp.*")
    try:
        supplier = Chem.SDMolSupplier(str(path), sanitize=True, removeHs=True)
        records: list[tuple[int, str, str]] = []
        for number, mol in enumerate(supplier):
            if limit is not None and number >= limit:
                break
            if mol is None:
                records.append((number, f"<SDF record {number}>", ""))
            else:
                name = mol.GetProp("_Name") if mol.HasProp("_Name") else ""
                records.append((number, Chem.MolToSmiles(mol), name))
        return records
    finally:
        RDLogger.EnableLog("rdApp.*")


def load_library(source: str | os.PathLike[str], limit: int | None = None) -> Library:
    """Read ``nci``, ``chembl`` or a .smi/.txt/.sdf file; ``limit`` keeps the first N records."""
    if limit is not None and limit < 1:
        raise ValueError(f"data.limit={limit!r} is invalid: expected a positive integer or None")
    if str(source) == "nci":
        path = NCI_SMILES
    elif str(source) == "chembl":
        path = CHEMBL_SMILES
    else:
        path = Path(source)
    if not path.is_file():
        raise ValueError(
            f"library={str(source)!r} is invalid: expected one of {', '.join(BUILTIN_SOURCES)} "
            "or an existing .smi, .txt or .sdf file"
        )
    suffix = path.suffix.lower()
    if suffix in (".smi", ".txt", ".smiles"):
        records = _smiles_records(path, limit)
    elif suffix == ".sdf":
        records = _sdf_records(path, limit)
    else:
        raise ValueError(f"library={str(source)!r} is invalid: expected a .smi, .txt or .sdf file")
    return _build(str(source), records)


def load_chembl_activities(limit: int | None = None, seed: int = 0) -> Library:
    """The ChEMBL FreeWilson set with its measured activity (column ``activity``, pIC50-like).

    The file is ordered by compound id, which correlates with activity, so ``limit`` takes a
    seeded random subset (kept in file order) rather than the first rows.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"data.activity_limit={limit!r} is invalid: expected a positive integer or None")
    library = load_library("chembl")
    activity = pd.read_csv(CHEMBL_ACTIVITY, dtype={"Name": str})
    by_name = dict(zip(activity["Name"], activity["Act"].astype(float), strict=True))
    frame = library.molecules.copy()
    frame["activity"] = frame["name"].map(by_name)
    missing = int(frame["activity"].isna().sum())
    if missing:
        raise ValueError(f"{CHEMBL_ACTIVITY} is invalid: {missing} molecules have no activity")
    if limit is not None and limit < len(frame):
        frame = frame.sample(n=limit, random_state=seed).sort_values("record").reset_index(drop=True)
    return Library(molecules=frame, report=library.report)

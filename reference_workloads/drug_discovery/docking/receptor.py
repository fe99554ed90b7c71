"""The receptor: ProLIF's docking-tutorial protein, prepared offline, and its pocket box.

ProLIF's wheel ships ``data/vina/rec.pdb`` (a CHARMM-named protein, two chains, hydrogens
present) and ``data/vina/lig.pdb`` (its reference ligand, ergotamine, in the pocket). meeko
does not know CHARMM's histidine names (HSD/HSE) nor caps folded into the end residues, and
for an unknown residue it tries to download a template; renaming HSD/HSE to HID/HIE and
moving the acetyl and N-methyl cap atoms into their own ACE/NME residues lets it match
every residue from its bundled templates, so preparation needs no network.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem

from reference_workloads.core.atomic import atomic_write

PACKAGE = "prolif"
RECEPTOR_PATH = "data/vina/rec.pdb"
LIGAND_PATH = "data/vina/lig.pdb"
RECEPTOR_PDBQT = "receptor.pdbqt"
ORIGIN = "receptor_origin.json"

# Ergotamine, the reference ligand; the test checks that the given pose has this molecule.
REFERENCE_SMILES = (
    "CN1C[C@@H](C=C2[C@H]1CC3=CNC4=CC=CC2=C34)C(=O)N[C@]5(C(=O)N6[C@H](C(=O)N7CCC[C@H]7"
    "[C@@]6(O5)O)CC8=CC=CC=C8)C"
)

HISTIDINES = {"HSD": "HID", "HSE": "HIE"}  # CHARMM -> Amber (meeko's templates) names
# CHARMM names of the cap atoms folded into the first (acetyl) and last (N-methyl) residue,
# mapped to the atom names of meeko's ACE and NME templates.
ACETYL_CAP = {"CAY": "CH3", "HY1": "H1", "HY2": "H2", "HY3": "H3", "CY": "C", "OY": "O"}
N_METHYL_CAP = {"NT": "N", "HNT": "H", "CAT": "CH3", "HT1": "HH31", "HT2": "HH32", "HT3": "HH33"}


def _package_root() -> Path:
    # Located, not imported: importing prolif pulls in MDAnalysis, seconds for two data files.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"package {PACKAGE!r} is not installed: expected it for the receptor files")
    return Path(spec.origin).parent


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _atom_name_field(name: str) -> str:
    # PDB columns 13-16: four-character names fill them, shorter ones start in column 14.
    return name if len(name) == 4 else f" {name:<3}"


def meeko_names(pdb_text: str) -> str:
    """The PDB with HSD/HSE renamed and the cap atoms split into ACE (before) and NME (after)."""
    lines = []
    for line in pdb_text.splitlines():
        if line.startswith(("ATOM", "HETATM")):
            name, residue, number = line[12:16].strip(), line[17:20].strip(), int(line[22:26])
            residue = HISTIDINES.get(residue, residue)
            if name in ACETYL_CAP:
                name, residue, number = ACETYL_CAP[name], "ACE", number - 1
            elif name in N_METHYL_CAP:
                name, residue, number = N_METHYL_CAP[name], "NME", number + 1
            line = f"{line[:12]}{_atom_name_field(name)}{line[16]}{residue:>3}{line[20:22]}{number:>4}{line[26:]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def receptor_pdbqt(pdb_text: str) -> str:
    """The rigid receptor as PDBQT, every residue matched to a bundled template, or an error."""
    from meeko import MoleculePreparation, PDBQTWriterLegacy, Polymer, ResidueChemTemplates

    polymer = Polymer.from_pdb_string(pdb_text, ResidueChemTemplates.create_from_defaults(), MoleculePreparation())
    ignored = polymer.get_ignored_monomers()
    if ignored:
        raise ValueError(f"receptor residues {sorted(ignored)[:5]} match no meeko template: expected every residue matched")
    rigid, _flexible = PDBQTWriterLegacy.write_from_polymer(polymer)
    return rigid


def reference_ligand() -> Chem.Mol:
    """The given pose with its bond orders (from ``REFERENCE_SMILES``) and stereo from 3-D."""
    posed = Chem.MolFromPDBFile(str(_package_root() / LIGAND_PATH), removeHs=False)
    template = Chem.MolFromSmiles(REFERENCE_SMILES)
    mol = AllChem.AssignBondOrdersFromTemplate(template, Chem.RemoveHs(posed))
    Chem.AssignStereochemistryFrom3D(mol)
    return mol


def heavy_atom_positions(mol: Chem.Mol) -> np.ndarray:
    return mol.GetConformer().GetPositions()[[a.GetAtomicNum() > 1 for a in mol.GetAtoms()]]


@dataclass(kw_only=True, frozen=True, slots=True)
class Pocket:
    """The search box Vina docks in (angstrom)."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]


def pocket_box(ligand: Chem.Mol, padding: float) -> Pocket:
    """The reference ligand's heavy-atom bounding box, grown by ``padding`` on every side."""
    if not 0 <= padding <= 30:
        raise ValueError(f"padding={padding!r} is invalid: expected angstrom in [0, 30]")
    xyz = heavy_atom_positions(ligand)
    low, high = xyz.min(axis=0), xyz.max(axis=0)
    center = tuple(round(float(c), 3) for c in (low + high) / 2)
    size = tuple(round(float(s), 3) for s in (high - low) + 2 * padding)
    return Pocket(center=center, size=size)


@dataclass(kw_only=True, frozen=True, slots=True)
class Receptor:
    """A prepared receptor: the PDBQT file Vina reads, the pocket, and where it came from."""

    pdbqt: Path
    pocket: Pocket
    origin: dict

    @property
    def sha256(self) -> str:
        return self.origin["pdbqt_sha256"]


def origin_record(pocket: Pocket, pdbqt: Path) -> dict:
    """What the crate carries about the receptor: package, version, files, hashes, edits."""
    root = _package_root()
    return {
        "package": PACKAGE,
        "version": importlib.metadata.version(PACKAGE),
        "receptor": {"path": RECEPTOR_PATH, "sha256": sha256_of(root / RECEPTOR_PATH)},
        "reference_ligand": {"path": LIGAND_PATH, "sha256": sha256_of(root / LIGAND_PATH),
                             "smiles": REFERENCE_SMILES, "name": "ergotamine"},
        "preparation": {"tool": "meeko", "version": importlib.metadata.version("meeko"),
                        "edits": ["HSD->HID, HSE->HIE", "acetyl cap atoms -> ACE residue",
                                  "N-methyl cap atoms -> NME residue"]},
        "pocket": asdict(pocket),
        "pdbqt_sha256": sha256_of(pdbqt),
    }


def prepare_receptor(folder: Path, padding: float = 4.0) -> Receptor:
    """Write ``receptor.pdbqt`` and ``receptor_origin.json`` into ``folder`` (reused when current)."""
    folder = Path(folder)
    pdbqt, origin_file = folder / RECEPTOR_PDBQT, folder / ORIGIN
    pocket = pocket_box(reference_ligand(), padding)
    source_sha = sha256_of(_package_root() / RECEPTOR_PATH)
    if origin_file.exists() and pdbqt.exists():
        origin = json.loads(origin_file.read_text())
        if origin["receptor"]["sha256"] == source_sha and origin["pocket"] == json.loads(json.dumps(asdict(pocket))) \
                and origin["pdbqt_sha256"] == sha256_of(pdbqt):
            return Receptor(pdbqt=pdbqt, pocket=pocket, origin=origin)
    folder.mkdir(parents=True, exist_ok=True)
    text = receptor_pdbqt(meeko_names((_package_root() / RECEPTOR_PATH).read_text()))
    with atomic_write(pdbqt) as handle:
        handle.write(text)
    origin = origin_record(pocket, pdbqt)
    with atomic_write(origin_file) as handle:
        json.dump(origin, handle, indent=2, sort_keys=True)
    return Receptor(pdbqt=pdbqt, pocket=pocket, origin=origin)

"""A ligand from SMILES to Vina-ready conformers, every rejection named and counted.

Salts keep their largest fragment; elements outside the scoring function's comfort zone
(metals: Fe and Zn complexes "dock" silently with scores of +1e9) are refused before any
work; conformers are RDKit ETKDGv3 embeddings with a fixed seed, each prepared by meeko.
meeko keeps rings rigid, so a ring system's shape comes from the embedding alone: docking
several embedded conformers and keeping the best score is what finds a ring pucker that fits.
"""

from __future__ import annotations

from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem
from rdkit.Chem.MolStandardize import rdMolStandardize

# Rejection reasons; each is counted in the docking stage's statistics.
PARSE_FAILED = "parse_failed"
ELEMENT_NOT_ALLOWED = "element_not_allowed"
TOO_LARGE = "too_large"
EMBED_FAILED = "embed_failed"
PREPARATION_FAILED = "preparation_failed"

# Organic elements the Vina scoring function has atom types for and that drug-like
# screening libraries hold; anything else (metals, boron, silicon, selenium) is refused.
ALLOWED_ELEMENTS = frozenset({"H", "C", "N", "O", "F", "P", "S", "Cl", "Br", "I"})


class LigandRejected(Exception):
    """A molecule the docking stage refuses, with the reason it is counted under."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def parent_molecule(smiles: str, max_heavy_atoms: int) -> Chem.Mol:
    """The largest fragment (salts and solvents dropped), checked against the whitelist."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise LigandRejected(PARSE_FAILED, f"RDKit cannot parse {smiles!r}")
    mol = rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(mol)
    foreign = sorted({a.GetSymbol() for a in mol.GetAtoms()} - ALLOWED_ELEMENTS)
    if foreign:
        raise LigandRejected(ELEMENT_NOT_ALLOWED, f"{smiles!r} holds {foreign}, expected only {sorted(ALLOWED_ELEMENTS)}")
    if mol.GetNumHeavyAtoms() > max_heavy_atoms:
        raise LigandRejected(TOO_LARGE, f"{mol.GetNumHeavyAtoms()} heavy atoms, expected at most {max_heavy_atoms}")
    return mol


def embedded_conformers(mol: Chem.Mol, n_conformers: int, seed: int) -> Chem.Mol:
    """``mol`` with explicit hydrogens and up to ``n_conformers`` seeded ETKDGv3 conformers."""
    with_h = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    params.numThreads = 1  # one process per core; thread counts must not change the result
    ids = AllChem.EmbedMultipleConfs(with_h, numConfs=n_conformers, params=params)
    if not ids:
        raise LigandRejected(EMBED_FAILED, f"ETKDGv3 embedded no conformer of {Chem.MolToSmiles(mol)!r}")
    return with_h


def pdbqt_strings(mol: Chem.Mol) -> list[str]:
    """One meeko PDBQT string per conformer of ``mol`` (hydrogens explicit)."""
    from meeko import MoleculePreparation, PDBQTWriterLegacy

    preparation = MoleculePreparation()
    strings = []
    for conformer in mol.GetConformers():
        single = Chem.Mol(mol, confId=conformer.GetId())
        single.RemoveAllConformers()
        single.AddConformer(Chem.Conformer(conformer), assignId=True)
        try:
            setups = preparation.prepare(single)
            text, ok, error = PDBQTWriterLegacy.write_string(setups[0])
        except Exception as exc:  # meeko raises many types for chemistry it cannot type
            raise LigandRejected(PREPARATION_FAILED, f"meeko: {exc}") from exc
        if not ok:
            raise LigandRejected(PREPARATION_FAILED, f"meeko: {error.strip()}")
        strings.append(text)
    return strings


def quiet_rdkit() -> None:
    """Embedding and salt stripping log per molecule; the stage counts reasons instead."""
    RDLogger.DisableLog("rdApp.*")

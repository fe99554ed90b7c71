"""Strict SMILES checks: a string is scored only if it is SMILES and nothing else.

RDKit's parser is lenient where a chemist would not be: it stops at the first whitespace
(``"C CO"`` parses as methane plus a name), and it drops characters it does not know, so a
Cyrillic ``С`` or a byte-order mark in front of ``CO`` is scored as methanol. The server
therefore checks the alphabet first, then asks RDKit to parse and sanitise, and echoes the
canonical SMILES of what it scored so the caller can see it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdkit import Chem, RDLogger

MAX_SMILES_LENGTH = 1000  # longer strings are not drug-like molecules; refuse before parsing
# OpenSMILES: atoms, bonds, branches, ring closures, charges, chirality, dot-disconnection.
_ALPHABET = frozenset("ABCDEFGHIKLMNOPRSTUVWXYZabcdefghiklmnoprstuvyz0123456789()[]=#$:/\\.+-@%*")

RDLogger.DisableLog("rdApp.*")  # the reason goes back to the caller, not to the server's log


@dataclass(kw_only=True, frozen=True, slots=True)
class Checked:
    """One input string: its canonical SMILES if it can be scored, else why not."""

    canonical: str | None
    error: str | None


def _alphabet_error(smiles: str) -> str | None:
    for position, character in enumerate(smiles):
        if character not in _ALPHABET:
            return (f"character {character!r} (U+{ord(character):04X}) at position {position} is invalid: "
                    "expected SMILES characters only (ASCII letters, digits, ()[]=#$:/\\.+-@%*)")
    return None


def check_smiles(smiles: str) -> Checked:
    """Canonical SMILES of a molecule the surrogate can score, or a one-line reason."""
    error = _alphabet_error(smiles)
    if error is not None:
        return Checked(canonical=None, error=error)
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        return Checked(canonical=None, error="invalid SMILES syntax: RDKit could not parse it")
    problems = Chem.DetectChemistryProblems(mol)
    if problems:
        return Checked(canonical=None, error=f"invalid chemistry: {problems[0].Message()}")
    try:
        Chem.SanitizeMol(mol)
    except Exception as failure:  # RDKit raises several unrelated types; all mean "not a molecule"
        return Checked(canonical=None, error=f"invalid chemistry: {failure}")
    if mol.GetNumAtoms() == 0:
        return Checked(canonical=None, error="no atoms: expected a molecule with at least one atom")
    if any(atom.GetAtomicNum() == 0 for atom in mol.GetAtoms()):
        return Checked(canonical=None, error="wildcard atom '*': expected only real elements to score")
    return Checked(canonical=Chem.MolToSmiles(mol), error=None)

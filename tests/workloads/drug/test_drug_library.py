"""Library loading: the RDKit-shipped sets, user files, and the report of invalid records."""

from __future__ import annotations

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from reference_workloads.drug_discovery.library import (
    CHEMBL_SMILES,
    NCI_SMILES,
    load_chembl_activities,
    load_library,
    parse_smiles,
)


def test_builtin_sets_ship_with_rdkit():
    assert NCI_SMILES.is_file() and CHEMBL_SMILES.is_file()


def test_nci_invalid_records_are_counted_with_reasons():
    library = load_library("nci")
    report = library.report
    assert report.records == 4999
    # The NCI file holds a few hypervalent records that RDKit refuses to sanitise.
    assert report.invalid == report.records - len(library.molecules) > 0
    assert all("valence" in reason.lower() for _, _, reason in report.examples)
    assert len(report.examples) == min(5, report.invalid)


def test_chembl_activities_joined_by_name():
    chembl = load_chembl_activities()
    assert len(chembl.molecules) > 1000
    assert chembl.molecules["activity"].between(3, 12).all()
    subset = load_chembl_activities(limit=200, seed=1).molecules
    assert len(subset) == 200 and subset["record"].is_monotonic_increasing
    # A random subset spans the activity range; the first 200 rows of the file do not.
    assert subset["activity"].std() > 2 * chembl.molecules["activity"].head(200).std()
    assert subset.equals(load_chembl_activities(limit=200, seed=1).molecules)


def test_smiles_file_with_bad_lines(tmp_path):
    path = tmp_path / "mine.smi"
    path.write_text("smiles name\nCCO ethanol\n\n# comment\nC1CC bad_ring\nc1ccccc1 benzene\nC(C)(C)(C)(C)C pentavalent\n")
    library = load_library(path)
    assert library.molecules["name"].tolist() == ["ethanol", "benzene"]
    assert library.molecules["smiles"].tolist() == ["CCO", "c1ccccc1"]
    assert library.report.records == 4 and library.report.invalid == 2
    reasons = {text: reason for _, text, reason in library.report.examples}
    assert reasons["C1CC"] == "unparsable SMILES"
    assert "valence" in reasons["C(C)(C)(C)(C)C"].lower()


def test_sdf_file_with_a_broken_record(tmp_path):
    mol = Chem.AddHs(Chem.MolFromSmiles("CCN"))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    good = Chem.MolToMolBlock(mol)
    path = tmp_path / "mine.sdf"
    path.write_text(good + "$$$$\n" + "garbage\n\n\n  not a counts line\nM  END\n$$$$\n" + good + "$$$$\n")
    library = load_library(path)
    assert len(library.molecules) == 2
    assert library.report.invalid == 1
    assert library.molecules["smiles"].iloc[0] == "CCN"


def test_limit_keeps_first_records():
    assert len(load_library("nci", limit=25).molecules) == 25


@pytest.mark.parametrize(
    ("source", "text", "match"),
    [
        ("empty.smi", "", "at least one valid molecule"),
        ("allbad.smi", "C1CC\nxyz\n", "at least one valid molecule"),
        ("table.csv", "a,b\n", r"\.smi, \.txt or \.sdf"),
    ],
)
def test_bad_files_raise_one_line_errors(tmp_path, source, text, match):
    path = tmp_path / source
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_library(path)


def test_missing_file_names_the_choices(tmp_path):
    with pytest.raises(ValueError, match="library=.*expected one of nci, chembl"):
        load_library(tmp_path / "absent.smi")
    with pytest.raises(ValueError, match="data.limit"):
        load_library("nci", limit=0)


def test_parse_smiles_canonicalises():
    assert parse_smiles("OCC") == ("CCO", "")
    assert parse_smiles("")[0] is None

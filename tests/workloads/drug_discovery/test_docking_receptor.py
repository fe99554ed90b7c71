"""The receptor: prepared without network, every residue matched, pocket and origin recorded."""

from __future__ import annotations

import hashlib
import importlib.metadata
import socket

import numpy as np
import pytest
from rdkit import Chem

from reference_workloads.drug_discovery.docking import receptor as R

CAPPED = """\
ATOM      1  CAY TYR A  38       5.440   4.560  22.880  1.00  0.00      A    C
ATOM      7  N   TYR A  38       5.380   6.960  22.800  1.00  0.00      A    N
ATOM      8  HN  HSD A  39       5.380   7.020  21.810  1.00  0.00      A    H
ATOM      9  CA  HSE A  40       5.280   8.300  23.410  1.00  0.00      A    C
ATOM     10  HT1 LYS A 249      19.570   4.670 -56.380  1.00  0.00      A    H
"""


def test_charmm_names_become_meeko_template_names():
    lines = R.meeko_names(CAPPED).splitlines()
    fields = [(line[12:16], line[17:20], int(line[22:26])) for line in lines]
    assert fields == [(" CH3", "ACE", 37), (" N  ", "TYR", 38), (" HN ", "HID", 39), (" CA ", "HIE", 40),
                      ("HH31", "NME", 250)]
    assert [line[30:54] for line in lines] == [line[30:54] for line in CAPPED.splitlines()]


def _refuse_network(*args, **kwargs):
    raise ConnectionRefusedError("network use in a test that must run offline")


def _offline(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(socket, "getaddrinfo", _refuse_network)
    patch.setattr(socket.socket, "connect", _refuse_network)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        _offline(patch)
        return R.prepare_receptor(tmp_path_factory.mktemp("receptor"))


def test_receptor_prepares_offline_and_records_its_origin(prepared):
    source = R._package_root() / R.RECEPTOR_PATH
    origin = prepared.origin
    assert origin["package"] == "prolif" and origin["version"] == importlib.metadata.version("prolif")
    assert origin["receptor"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert origin["pdbqt_sha256"] == hashlib.sha256(prepared.pdbqt.read_bytes()).hexdigest()
    atoms = [line for line in prepared.pdbqt.read_text().splitlines() if line.startswith("ATOM")]
    residues = {line[17:20] for line in atoms}
    assert {"ACE", "NME", "HID", "HIE"} <= residues and not residues & {"HSD", "HSE"}
    assert len(atoms) > 2500  # both chains, polar hydrogens kept


def test_the_unrenamed_receptor_does_not_prepare_offline(monkeypatch):
    _offline(monkeypatch)
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # meeko's download retries back off
    with pytest.raises(Exception, match="Could not download CIF file for HS[DE]"):
        R.receptor_pdbqt((R._package_root() / R.RECEPTOR_PATH).read_text())


def test_a_prepared_receptor_is_reused_and_a_tampered_one_rebuilt(prepared):
    stamp = prepared.pdbqt.stat().st_mtime_ns
    assert R.prepare_receptor(prepared.pdbqt.parent).pdbqt.stat().st_mtime_ns == stamp
    prepared.pdbqt.write_text(prepared.pdbqt.read_text().replace("ATOM", "HETATM", 1))
    rebuilt = R.prepare_receptor(prepared.pdbqt.parent)
    assert rebuilt.sha256 == prepared.sha256 and rebuilt.pdbqt.stat().st_mtime_ns != stamp


def test_reference_ligand_is_ergotamine_with_its_given_stereo():
    ligand = R.reference_ligand()
    assert ligand.GetNumHeavyAtoms() == 43
    assert Chem.MolToSmiles(ligand) == Chem.MolToSmiles(Chem.MolFromSmiles(R.REFERENCE_SMILES))


def test_pocket_box_encloses_the_reference_ligand_with_its_padding():
    ligand = R.reference_ligand()
    pocket = R.pocket_box(ligand, 4.0)
    xyz = R.heavy_atom_positions(ligand)
    low = np.array(pocket.center) - np.array(pocket.size) / 2
    high = np.array(pocket.center) + np.array(pocket.size) / 2
    assert np.all(xyz.min(axis=0) - low >= 4.0 - 1e-3) and np.all(high - xyz.max(axis=0) >= 4.0 - 1e-3)
    with pytest.raises(ValueError, match="padding=-1"):
        R.pocket_box(ligand, -1)

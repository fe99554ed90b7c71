"""The KServe model server, for real: a subprocess on loopback answering real HTTP.

An untrained surrogate is enough here: these tests are about the protocol and the
answers to bad requests, not about accuracy.
"""

from __future__ import annotations

import psutil
import pytest
import requests

from reference_workloads.drug_discovery.screen import request_body, score_library
from reference_workloads.drug_discovery.serve import LOOPBACK, MODEL_NAME, running_server
from reference_workloads.drug_discovery.surrogate import Surrogate

MAX_BATCH = 8
V1 = f"/v1/models/{MODEL_NAME}:predict"
V2 = f"/v2/models/{MODEL_NAME}/infer"


@pytest.fixture(scope="module")
def server(model_dir):
    with running_server(model_dir, max_batch=MAX_BATCH) as url:
        yield url


def test_binds_loopback_only(server):
    port = int(server.rsplit(":", 1)[1])
    listeners = [c for c in psutil.net_connections(kind="tcp") if c.status == "LISTEN" and c.laddr.port == port]
    assert listeners and all(c.laddr.ip == LOOPBACK for c in listeners)


def test_v1_and_v2_agree_with_the_artifact(server, model_dir):
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]
    expected = Surrogate(model_dir).predict(smiles).tolist()
    v1 = requests.post(server + V1, json=request_body(smiles, "v1"), timeout=30)
    assert v1.status_code == 200, v1.text
    assert v1.json()["predictions"] == pytest.approx(expected, rel=1e-6)
    v2 = requests.post(server + V2, json=request_body(smiles, "v2"), timeout=30)
    assert v2.status_code == 200, v2.text
    output = v2.json()["outputs"][0]
    assert output["name"] == "prediction" and output["shape"] == [3] and output["datatype"] == "FP64"
    assert output["data"] == pytest.approx(expected, rel=1e-6)
    assert v1.json()["canonical_smiles"] == ["CCO", "Oc1ccccc1", "CC(=O)Nc1ccc(O)cc1"]


def test_v2_metadata_and_readiness(server):
    assert requests.get(f"{server}/v2/health/ready", timeout=10).status_code == 200
    assert requests.get(f"{server}/v2/models/{MODEL_NAME}", timeout=10).json()["name"] == MODEL_NAME


BAD_REQUESTS = [
    ("v1 malformed json", V1, b'{"instances": [', "application/json"),
    ("v1 not an object", V1, b'["CCO"]', "application/json"),
    ("v1 instances not a list", V1, b'{"instances": "CCO"}', "application/json"),
    ("v1 empty batch", V1, b'{"instances": []}', "application/json"),
    ("v1 number instead of smiles", V1, b'{"instances": [42]}', "application/json"),
    ("v1 invalid smiles", V1, b'{"instances": ["CCO", "C1CC"]}', "application/json"),
    ("v1 oversized batch", V1, ('{"instances": [' + ",".join(['"C"'] * (MAX_BATCH + 1)) + "]}").encode(), "application/json"),
    ("v1 overlong smiles", V1, ('{"instances": ["' + "C" * 2000 + '"]}').encode(), "application/json"),
    ("v2 malformed json", V2, b'{"inputs": [{"name": ', "application/json"),
    ("v2 wrong datatype", V2, b'{"inputs": [{"name": "smiles", "shape": [1], "datatype": "FP32", "data": [1.0]}]}', "application/json"),
    ("v2 wrong shape", V2, b'{"inputs": [{"name": "smiles", "shape": [2, 1], "datatype": "BYTES", "data": ["CCO", "CC"]}]}', "application/json"),
    ("v2 wrong input name", V2, b'{"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["CCO"]}]}', "application/json"),
    ("v1 cyrillic homoglyph", V1, '{"instances": ["\u0421CO"]}'.encode(), "application/json"),
    ("v2 number instead of smiles", V2, b'{"inputs": [{"name": "smiles", "shape": [1], "datatype": "BYTES", "data": [42]}]}', "application/json"),
    ("v2 no inputs", V2, b'{"inputs": []}', "application/json"),
]


@pytest.mark.parametrize(("case", "path", "body", "content_type"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_get_4xx_with_a_message_and_the_server_keeps_serving(server, case, path, body, content_type):
    answer = requests.post(server + path, data=body, headers={"content-type": content_type}, timeout=30)
    assert 400 <= answer.status_code < 500, f"{case}: {answer.status_code} {answer.text}"
    assert answer.text.strip()
    healthy = requests.post(server + V1, json={"instances": ["CCO"]}, timeout=30)
    assert healthy.status_code == 200


def test_messages_name_the_problem(server):
    answer = requests.post(server + V1, json={"instances": ["CCO", "C1CC"]}, timeout=30)
    assert answer.status_code == 400 and "C1CC" in answer.json()["error"]
    answer = requests.post(server + V1, json={"instances": ["C"] * (MAX_BATCH + 1)}, timeout=30)
    assert answer.status_code == 400 and f"at most {MAX_BATCH}" in answer.json()["error"]


def test_oversized_body_is_413(server):
    body = b'{"instances": ["' + b"C" * (5 << 20) + b'"]}'
    answer = requests.post(server + V1, data=body, headers={"content-type": "application/json"}, timeout=60)
    assert answer.status_code == 413 and "content-length" in answer.json()["error"]


def test_v2_scores_a_batch_and_names_each_molecule_it_cannot_score(server, model_dir):
    smiles = ["CCO", "not-a-molecule", "\u0421CO", "\ufeffCCO", "C CO", "C(C)(C)(C)(C)C", "OCC"]
    answer = requests.post(server + V2, json=request_body(smiles, "v2"), timeout=30)
    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o["data"] for o in answer.json()["outputs"]}
    scored = Surrogate(model_dir).predict(["CCO"])[0]
    assert outputs["prediction"][0] == pytest.approx(scored) and outputs["prediction"][6] == pytest.approx(scored)
    assert outputs["prediction"][1:6] == [None] * 5  # NaN: JSON has none, so null
    assert outputs["canonical_smiles"] == ["CCO", "", "", "", "", "", "CCO"]
    errors = outputs["scoring_error"]
    assert errors[0] == errors[6] == ""
    assert "RDKit could not parse" in errors[1]
    assert "U+0421" in errors[2] and "U+FEFF" in errors[3] and "U+0020" in errors[4]
    assert "valence" in errors[5]


def test_screen_client_scores_in_batches(server, model_dir):
    smiles = ["CCO", "CCN", "CCC", "c1ccccc1", "CC(=O)O", "CCCl", "OCCO", "CNC", "CCOC", "C#N", "CC=O"]
    expected = Surrogate(model_dir).predict(smiles)
    for protocol in ("v1", "v2"):
        run = score_library(server, smiles, batch_size=4, protocol=protocol)
        assert run.requests == 3 and run.molecules_per_second > 0
        assert run.predictions == pytest.approx(expected, rel=1e-6)
    with pytest.raises(RuntimeError, match="400"):
        score_library(server, ["CCO", "C1CC"], batch_size=4, protocol="v1")
    with pytest.raises(RuntimeError, match="could not score molecule 5 'C1CC'"):
        score_library(server, ["CCO", "CCN", "CCC", "CCCC", "OCC", "C1CC"], batch_size=4)


def test_missing_artifact_fails_fast(tmp_path):
    with pytest.raises(RuntimeError, match="exited"), running_server(tmp_path, startup_timeout=60):
        pass

"""The Open Inference Protocol as clients no one here wrote expect it.

``tritonclient[http]`` (the protocol's reference client, JSON and binary modes) and kserve's
``InferenceRESTClient`` (V2) drive a real server on loopback; raw requests then pin the
details those clients happen not to exercise: omitted fields, case-sensitive datatypes,
integer shapes, RFC 8259 JSON, the binary framing, and the error shape.
"""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import orjson
import pytest
import requests
import tritonclient.http as triton

from reference_workloads.drug_discovery.serve import MODEL_NAME, running_server
from reference_workloads.drug_discovery.surrogate import Surrogate

V2 = f"/v2/models/{MODEL_NAME}/infer"
OUTPUTS = ["prediction", "canonical_smiles", "scoring_error"]
SMILES = ["CCO", "\u0421CO", "c1ccccc1O"]  # the middle one is a Cyrillic homoglyph: not scored


@pytest.fixture(scope="module")
def server(model_dir):
    with running_server(model_dir, max_batch=64) as url:
        yield url


@pytest.fixture(scope="module")
def expected(model_dir):
    scored = Surrogate(model_dir).predict([SMILES[0], SMILES[2]])
    return np.array([scored[0], np.nan, scored[1]])


def as_text(values: np.ndarray) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


# ---- tritonclient ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def triton_client(server):
    client = triton.InferenceServerClient(server.removeprefix("http://"))
    yield client
    client.close()


def test_tritonclient_health_and_metadata(triton_client):
    assert triton_client.is_server_live() and triton_client.is_server_ready()
    assert triton_client.is_model_ready(MODEL_NAME)
    assert not triton_client.is_model_ready("no-such-model")
    metadata = triton_client.get_model_metadata(MODEL_NAME)
    assert metadata["inputs"] == [{"name": "smiles", "datatype": "BYTES", "shape": [-1]}]
    assert [(o["name"], o["datatype"], o["shape"]) for o in metadata["outputs"]] == [
        ("prediction", "FP64", [-1]), ("canonical_smiles", "BYTES", [-1]), ("scoring_error", "BYTES", [-1])]
    assert "versions" not in metadata
    server_metadata = triton_client.get_server_metadata()
    assert server_metadata["name"] and server_metadata["version"] and "extensions" in server_metadata


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_tritonclient_infer(triton_client, expected, binary):
    smiles = triton.InferInput("smiles", [len(SMILES)], "BYTES")
    smiles.set_data_from_numpy(np.array([s.encode() for s in SMILES], dtype=np.object_), binary_data=binary)
    requested = [triton.InferRequestedOutput(name, binary_data=binary) for name in OUTPUTS]
    result = triton_client.infer(MODEL_NAME, [smiles], outputs=requested, request_id="req-7")
    response = result.get_response()
    assert response["id"] == "req-7" and "model_version" not in response
    for output in response["outputs"]:
        assert ("parameters" in output) == binary and ("data" in output) == (not binary)
    np.testing.assert_allclose(result.as_numpy("prediction"), expected, rtol=1e-6)
    assert as_text(result.as_numpy("canonical_smiles")) == ["CCO", "", "Oc1ccccc1"]
    errors = as_text(result.as_numpy("scoring_error"))
    assert errors[0] == errors[2] == "" and "U+0421" in errors[1]


def test_tritonclient_default_outputs_are_binary_and_one_output_can_be_asked_for(triton_client, expected):
    smiles = triton.InferInput("smiles", [len(SMILES)], "BYTES")
    smiles.set_data_from_numpy(np.array(SMILES, dtype=np.object_), binary_data=False)
    result = triton_client.infer(MODEL_NAME, [smiles])  # no outputs: binary_data_output=true
    assert all(o["parameters"]["binary_data_size"] > 0 for o in result.get_response()["outputs"])
    np.testing.assert_allclose(result.as_numpy("prediction"), expected, rtol=1e-6)
    only = triton_client.infer(MODEL_NAME, [smiles], outputs=[triton.InferRequestedOutput("canonical_smiles", binary_data=False)])
    assert [o["name"] for o in only.get_response()["outputs"]] == ["canonical_smiles"]


def test_tritonclient_sees_errors_as_the_protocol_words_them(triton_client):
    smiles = triton.InferInput("smiles", [1], "BYTES")
    smiles.set_data_from_numpy(np.array(["CCO"], dtype=np.object_))
    with pytest.raises(triton.InferenceServerException, match="outputs\\[0\\].name='missing' is invalid"):
        triton_client.infer(MODEL_NAME, [smiles], outputs=[triton.InferRequestedOutput("missing")])
    wrong = triton.InferInput("smiles", [1], "FP32")
    wrong.set_data_from_numpy(np.array([1.0], dtype=np.float32))
    with pytest.raises(triton.InferenceServerException, match="datatype='FP32' is invalid"):
        triton_client.infer(MODEL_NAME, [wrong])


# ---- kserve's REST client ----------------------------------------------------------------------
@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_kserve_rest_client_infer_and_health(server, expected, binary):
    import httpx
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

    async def session():
        client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
        assert await client.is_server_live(server) and await client.is_server_ready(server)
        assert await client.is_model_ready(server, MODEL_NAME)
        tensor = InferInput("smiles", [len(SMILES)], "BYTES")
        tensor.set_data_from_numpy(np.array(SMILES, dtype=np.object_), binary_data=binary)
        response = await client.infer(server, InferRequest(model_name=MODEL_NAME, infer_inputs=[tensor]),
                                      model_name=MODEL_NAME)
        outputs = {o.name: o.as_numpy() for o in response.outputs}
        bad = {"inputs": [{"name": "smiles", "shape": [1], "datatype": "bytes", "data": ["CCO"]}]}
        with pytest.raises(httpx.HTTPStatusError, match="datatype='bytes' is invalid") as refused:
            await client.infer(server, bad, model_name=MODEL_NAME)
        await client._client.aclose()
        return outputs, refused.value.response.status_code

    outputs, status = asyncio.run(session())
    np.testing.assert_allclose(outputs["prediction"], expected, rtol=1e-6)
    assert as_text(outputs["canonical_smiles"]) == ["CCO", "", "Oc1ccccc1"]
    assert status == 400


# ---- details pinned with raw HTTP --------------------------------------------------------------
def tensor(data: object, *, datatype: object = "BYTES", shape: object = None) -> dict:
    count = len(data) if isinstance(data, list) else 1
    return {"inputs": [{"name": "smiles", "datatype": datatype, "shape": [count] if shape is None else shape,
                        "data": data}]}


def post(server: str, body: bytes, headers: dict | None = None) -> requests.Response:
    return requests.post(server + V2, data=body, headers=headers or {}, timeout=30)


def test_json_without_content_type_is_json_and_null_fields_are_omitted(server):
    answer = post(server, orjson.dumps(tensor(["CCO"])))  # no Content-Type at all
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"model_name", "outputs"}  # no id asked for, no version: omitted, not null
    assert all(value is not None for output in body["outputs"] for value in output.values())
    assert all("parameters" not in output for output in body["outputs"])


BAD = [
    ("lower-case datatype", orjson.dumps(tensor(["CCO"], datatype="bytes")), {}, "datatype='bytes'"),
    ("string shape", orjson.dumps(tensor(["CCO"], shape=["1"])), {}, "shape=['1']"),
    ("boolean shape", orjson.dumps(tensor(["CCO"], shape=[True])), {}, "shape=[True]"),
    ("shape larger than data", orjson.dumps(tensor(["CCO"], shape=[2])), {}, "data has 1 elements"),
    ("rank-2 shape", orjson.dumps(tensor(["CCO"], shape=[1, 1])), {}, "expected [n]"),
    ("NaN in JSON", b'{"inputs": [{"name": "smiles", "shape": [1], "datatype": "BYTES", "data": [NaN]}]}', {}, "expected JSON"),
    ("Infinity in parameters", b'{"parameters": {"x": Infinity}, "inputs": []}', {}, "expected JSON"),
    ("trailing garbage", orjson.dumps(tensor(["CCO"])) + b"}", {}, "expected JSON"),
    ("no body", b"", {}, "expected JSON"),
    ("id not a string", orjson.dumps({"id": 7, **tensor(["CCO"])}), {}, "id=7"),
    ("binary_data_output not a bool", orjson.dumps({"parameters": {"binary_data_output": "yes"}, **tensor(["CCO"])}), {},
     "binary_data_output='yes'"),
    ("classification asked for", orjson.dumps({**tensor(["CCO"]), "outputs": [{"name": "prediction", "parameters": {"classification": 2}}]}),
     {}, "classification"),
    ("output twice", orjson.dumps({**tensor(["CCO"]), "outputs": [{"name": "prediction"}, {"name": "prediction"}]}), {}, "twice"),
    ("two inputs", orjson.dumps({"inputs": tensor(["CCO"])["inputs"] * 2}), {}, "exactly one tensor"),
    ("wrong input name", orjson.dumps({"inputs": [{**tensor(["CCO"])["inputs"][0], "name": "SMILES"}]}), {}, "name='SMILES'"),
    ("empty string", orjson.dumps(tensor([""])), {}, "1 to 1000 characters"),
    ("batch over the cap", orjson.dumps(tensor(["C"] * 65)), {}, "at most 64"),
]


def framed(strings: list[bytes], *, size: int | None = None, header: str | None = None, extra: bytes = b"") -> tuple[bytes, dict]:
    raw = b"".join(struct.pack("<I", len(s)) + s for s in strings) + extra
    head = orjson.dumps({"inputs": [{"name": "smiles", "datatype": "BYTES", "shape": [len(strings)],
                                     "parameters": {"binary_data_size": len(raw) if size is None else size}}]})
    return head + raw, {"inference-header-content-length": header or str(len(head)),
                        "content-type": "application/octet-stream"}


BINARY_BAD = [
    ("size larger than the tail", *framed([b"CCO"], size=99), "binary_data_size=99"),
    ("element longer than the tail", *framed([b"CCO"], extra=b"\xff\x00\x00\x00C"), "claims 255 bytes"),
    ("truncated length prefix", *framed([b"CCO"], extra=b"\x01\x00"), "truncated length prefix"),
    ("header length past the body", *framed([b"CCO"], header="100000"), "inference-header-content-length='100000'"),
    ("header length not a number", *framed([b"CCO"], header="12a"), "inference-header-content-length='12a'"),
    ("invalid UTF-8", *framed([b"\xff\xfe"]), "expected UTF-8"),
    ("binary tail without binary_data_size", orjson.dumps(tensor(["CCO"])) + b"\x00",
     {"inference-header-content-length": str(len(orjson.dumps(tensor(["CCO"]))))}, "no input has binary_data_size"),
]


@pytest.mark.parametrize(("case", "body", "headers", "message"), BAD + BINARY_BAD, ids=[c[0] for c in BAD + BINARY_BAD])
def test_malformed_requests_get_400_with_an_error_naming_the_field(server, case, body, headers, message):
    answer = post(server, body, headers)
    assert answer.status_code == 400, f"{case}: {answer.status_code} {answer.text[:200]}"
    assert answer.headers["content-type"] == "application/json"
    payload = answer.json()
    assert list(payload) == ["error"] and message in payload["error"], payload


def test_a_well_framed_binary_request_is_scored(server, expected):
    body, headers = framed([s.encode() for s in SMILES])
    answer = post(server, body, headers)
    assert answer.status_code == 200, answer.text
    values = {o["name"]: o["data"] for o in answer.json()["outputs"]}
    assert values["canonical_smiles"] == ["CCO", "", "Oc1ccccc1"]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("POST", "/v2/models/other-model/infer", 404), ("GET", V2, 405), ("GET", "/v2/models/other-model", 404),
    ("GET", "/v2/nothing-here", 404), ("DELETE", f"/v2/models/{MODEL_NAME}", 405),
])
def test_routing_errors_have_the_error_shape(server, method, path, status):
    answer = requests.request(method, server + path, timeout=10)
    assert answer.status_code == status and list(answer.json()) == ["error"]

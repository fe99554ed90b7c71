"""The serving rules that need no server: settings, Host parsing, strict SMILES, framing."""

from __future__ import annotations

import struct

import pytest

from reference_workloads.drug_discovery.serving.chemistry import check_smiles
from reference_workloads.drug_discovery.serving.guards import (
    check_content_type,
    check_host,
    host_name,
)
from reference_workloads.drug_discovery.serving.protocol import (
    ProtocolError,
    TensorSpec,
    encode_infer,
    parse_infer,
)
from reference_workloads.drug_discovery.serving.settings import ServingSettings

SPEC = TensorSpec(name="smiles", datatype="BYTES", shape=(-1,))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("max_body_bytes", 0, "max_body_bytes=0 is invalid"),
    ("max_inflight", 0, "max_inflight=0 is invalid"),
    ("score_workers", 0, "score_workers=0 is invalid"),
    ("inline_max_batch", -1, "inline_max_batch=-1 is invalid"),
    ("body_timeout_s", 0.0, "body_timeout_s=0.0 is invalid"),
    ("keep_alive_s", -1.0, "keep_alive_s=-1.0 is invalid"),
    ("allowed_hosts", (), "allowed_hosts=() is invalid"),
    ("allowed_hosts", ("LocalHost",), "expected lower-case host names"),
    ("repository_token", "short", "at least 16 characters"),
])
def test_settings_refuse_values_that_switch_a_guard_off(field, value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ServingSettings(**{field: value})


@pytest.mark.parametrize(("authority", "name"), [
    ("127.0.0.1:8080", "127.0.0.1"), ("LocalHost.:80", "localhost"), ("[::1]:9000", "::1"), ("::1", "::1"),
    ("evil.example", "evil.example"),
])
def test_host_name_strips_port_brackets_and_case(authority, name):
    assert host_name(authority) == name


def test_host_and_origin_checks():
    allowed = ("127.0.0.1", "localhost")
    check_host({"host": "localhost:1"}, allowed)
    check_host({"host": "localhost:1", "origin": "http://127.0.0.1:3000"}, allowed)
    for headers, status in [({}, 400), ({"host": "evil.example"}, 400),
                            ({"host": "localhost", "origin": "null"}, 403),
                            ({"host": "localhost", "origin": "http://evil.example"}, 403)]:
        with pytest.raises(ProtocolError) as refused:
            check_host(headers, allowed)
        assert refused.value.status == status


def test_content_type_accepts_json_binary_or_none_only():
    for headers in ({}, {"content-type": "application/json; charset=utf-8"}, {"content-type": "application/octet-stream"}):
        check_content_type(headers)
    with pytest.raises(ProtocolError, match="content-type='text/plain'"):
        check_content_type({"content-type": "text/plain"})


@pytest.mark.parametrize(("smiles", "error"), [
    ("\u0421CO", "U+0421"), ("\ufeffCCO", "U+FEFF"), ("C CO", "U+0020"), ("CCO\n", "U+000A"),
    ("C1CC", "RDKit could not parse"), ("c1cccc1", "kekulize"), ("*C", "wildcard"),
])
def test_strict_smiles_refuses_what_rdkit_would_silently_shorten(smiles, error):
    checked = check_smiles(smiles)
    assert checked.canonical is None and error in checked.error


def test_strict_smiles_echoes_the_canonical_form():
    assert check_smiles("OCC").canonical == "CCO" and check_smiles("OCC").error is None


def parse(body: bytes, header: str | None = None):
    return parse_infer(body, header, input_spec=SPEC, output_names=["prediction", "canonical_smiles"],
                       max_batch=4, max_length=100)


def test_binary_input_round_trip_and_per_output_binary_flags():
    raw = b"".join(struct.pack("<I", len(s)) + s for s in (b"CCO", "\u00e9".encode()))
    head = (b'{"id": "r1", "parameters": {"binary_data_output": true}, "inputs": [{"name": "smiles", '
            b'"datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": %d}}], '
            b'"outputs": [{"name": "canonical_smiles", "parameters": {"binary_data": false}}, {"name": "prediction"}]}' % len(raw))
    call = parse(head + raw, str(len(head)))
    assert call.strings == ["CCO", "\u00e9"] and call.request_id == "r1"
    assert call.outputs == {"canonical_smiles": False, "prediction": True}


def test_encode_puts_binary_outputs_after_the_json_header_in_order():
    import numpy as np

    specs = {"prediction": TensorSpec(name="prediction", datatype="FP64", shape=(-1,)),
             "canonical_smiles": TensorSpec(name="canonical_smiles", datatype="BYTES", shape=(-1,))}
    body, split = encode_infer(model_name="m", request_id=None, outputs={"prediction": True, "canonical_smiles": True},
                               specs=specs, values={"prediction": np.array([1.5, np.nan]), "canonical_smiles": ["C", ""]})
    assert split is not None and b'"id"' not in body[:split]
    tail = body[split:]
    assert struct.unpack("<2d", tail[:16])[0] == 1.5 and tail[16:] == struct.pack("<I", 1) + b"C" + struct.pack("<I", 0)
    json_body, split = encode_infer(model_name="m", request_id="x", outputs={"prediction": False}, specs=specs,
                                    values={"prediction": np.array([np.nan])})
    assert split is None and b'"data":[null]' in json_body and b'"id":"x"' in json_body

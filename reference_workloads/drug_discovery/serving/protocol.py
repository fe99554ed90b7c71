"""The Open Inference Protocol (KServe V2 REST) for one BYTES input, strictly as the spec words it.

Parsing never trusts the client: datatypes are case-sensitive, shapes are lists of integers
consistent with the data, JSON is RFC 8259 (no NaN or Infinity), and the binary extension's
framing (``Inference-Header-Content-Length`` plus ``binary_data_size`` per tensor) must add up
exactly. Every problem becomes a ``ProtocolError`` with an HTTP status and a one-line message
that names the field and what is accepted; the app turns it into ``{"error": message}``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson

BINARY_HEADER = "inference-header-content-length"


class ProtocolError(Exception):
    """A request the server refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad(message: str) -> ProtocolError:
    return ProtocolError(400, message)


@dataclass(kw_only=True, frozen=True, slots=True)
class TensorSpec:
    """An input or output as model metadata lists it."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def as_dict(self) -> dict:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(kw_only=True, frozen=True, slots=True)
class InferenceCall:
    """A parsed request: the strings of the one input, and how each output should travel."""

    request_id: str | None
    strings: list[str]
    outputs: dict[str, bool]  # output name -> binary? (insertion order = response order)


def loads(body: bytes, where: str) -> object:
    try:
        return orjson.loads(body)  # RFC 8259: NaN, Infinity and trailing garbage are errors
    except orjson.JSONDecodeError as error:
        raise bad(f"{where} is invalid: expected JSON ({error})") from None


def _object(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise bad(f"{where} is invalid: expected a JSON object")
    return value


def _flag(parameters: dict, key: str, where: str) -> bool | None:
    if key not in parameters:
        return None
    value = parameters[key]
    if not isinstance(value, bool):
        raise bad(f"{where}.{key}={value!r} is invalid: expected true or false")
    return value


def _shape(value: object, where: str) -> list[int]:
    if not isinstance(value, list) or not all(type(d) is int and d >= 0 for d in value):
        raise bad(f"{where}.shape={value!r} is invalid: expected a list of non-negative integers")
    return value


def _decode_bytes_tensor(raw: bytes, count: int, where: str) -> list[bytes]:
    """BYTES in the binary extension: each element a 4-byte little-endian length, then the bytes."""
    items, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise bad(f"{where} binary data is invalid: truncated length prefix at byte {offset}")
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise bad(f"{where} binary data is invalid: element {len(items)} claims {length} bytes, "
                      f"{len(raw) - offset} remain")
        items.append(raw[offset : offset + length])
        offset += length
    if len(items) != count:
        raise bad(f"{where} binary data is invalid: {len(items)} elements for shape with {count}")
    return items


def smiles_strings(items: Sequence[object], where: str, max_batch: int, max_length: int) -> list[str]:
    if not items:
        raise bad(f"{where} is invalid: expected at least one SMILES string")
    if len(items) > max_batch:
        raise bad(f"{where} has {len(items)} items, which is invalid: expected at most {max_batch}")
    strings = []
    for position, item in enumerate(items):
        if isinstance(item, bytes):
            try:
                item = item.decode("utf-8")
            except UnicodeDecodeError:
                raise bad(f"{where}[{position}] is invalid: expected UTF-8 text") from None
        if not isinstance(item, str) or not item or len(item) > max_length:
            raise bad(f"{where}[{position}]={str(item)[:80]!r} is invalid: expected a SMILES string "
                      f"of 1 to {max_length} characters")
        strings.append(item)
    return strings


def split_binary(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON header and the binary tail of a request (all JSON when the header is absent)."""
    if header_length is None:
        return body, b""
    if not header_length.isdigit() or int(header_length) > len(body):
        raise bad(f"{BINARY_HEADER}={header_length!r} is invalid: expected an integer from 0 to the body "
                  f"length {len(body)}")
    split = int(header_length)
    return body[:split], body[split:]


def parse_infer(body: bytes, header_length: str | None, *, input_spec: TensorSpec,
                output_names: Sequence[str], max_batch: int, max_length: int) -> InferenceCall:
    """Validate an inference request for the one BYTES input; the message names the field."""
    head, tail = split_binary(body, header_length)
    request = _object(loads(head, "body"), "body")
    request_id = request.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise bad(f"id={request_id!r} is invalid: expected a string")
    parameters = _object(request.get("parameters", {}), "parameters")
    binary_default = _flag(parameters, "binary_data_output", "parameters") or False
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise bad(f"inputs is invalid: expected a list with exactly one tensor named {input_spec.name!r}")
    tensor = _object(inputs[0], "inputs[0]")
    if tensor.get("name") != input_spec.name:
        raise bad(f"inputs[0].name={tensor.get('name')!r} is invalid: expected {input_spec.name!r}")
    datatype = tensor.get("datatype")
    if datatype != input_spec.datatype:  # case-sensitive, as the spec's datatype table is
        raise bad(f"inputs[0].datatype={datatype!r} is invalid: expected {input_spec.datatype!r}")
    shape = _shape(tensor.get("shape"), "inputs[0]")
    if len(shape) != 1:
        raise bad(f"inputs[0].shape={shape} is invalid: expected [n], one SMILES per row")
    tensor_parameters = _object(tensor.get("parameters", {}), "inputs[0].parameters")
    binary_size = tensor_parameters.get("binary_data_size")
    if binary_size is not None:
        if type(binary_size) is not int or binary_size != len(tail):
            raise bad(f"inputs[0].parameters.binary_data_size={binary_size!r} is invalid: expected the "
                      f"{len(tail)} bytes after the JSON header")
        if "data" in tensor:
            raise bad("inputs[0].data is invalid: expected no data when binary_data_size is set")
        items: list = _decode_bytes_tensor(tail, shape[0], "inputs[0]")
    else:
        if tail:
            raise bad(f"body is invalid: {len(tail)} bytes after the JSON header but no input has binary_data_size")
        items = tensor.get("data")
        if not isinstance(items, list):
            raise bad("inputs[0].data is invalid: expected a list of strings")
        if len(items) != shape[0]:
            raise bad(f"inputs[0].shape={shape} is invalid: data has {len(items)} elements")
    strings = smiles_strings(items, "inputs[0].data", max_batch, max_length)
    outputs: dict[str, bool] = {}
    requested = request.get("outputs")
    if requested is None:
        outputs = {name: binary_default for name in output_names}
    else:
        if not isinstance(requested, list) or not requested:
            raise bad(f"outputs is invalid: expected a non-empty list of outputs from {list(output_names)}")
        for position, entry in enumerate(requested):
            entry = _object(entry, f"outputs[{position}]")
            name = entry.get("name")
            if name not in output_names:
                raise bad(f"outputs[{position}].name={name!r} is invalid: expected one of {list(output_names)}")
            if name in outputs:
                raise bad(f"outputs[{position}].name={name!r} is invalid: requested twice")
            output_parameters = _object(entry.get("parameters", {}), f"outputs[{position}].parameters")
            if "classification" in output_parameters:
                raise bad(f"outputs[{position}].parameters.classification is invalid: the classification "
                          "extension is not supported by a regression model")
            binary = _flag(output_parameters, "binary_data", f"outputs[{position}].parameters")
            outputs[name] = binary_default if binary is None else binary
    return InferenceCall(request_id=request_id, strings=strings, outputs=outputs)


def _binary(values: np.ndarray | list[str], datatype: str) -> bytes:
    if datatype == "BYTES":
        parts = []
        for text in values:
            encoded = text.encode("utf-8")
            parts.append(struct.pack("<I", len(encoded)))
            parts.append(encoded)
        return b"".join(parts)
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def encode_infer(*, model_name: str, request_id: str | None, outputs: dict[str, bool],
                 specs: dict[str, TensorSpec], values: dict[str, np.ndarray | list[str]]) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when any output travels as binary.

    In JSON, an FP64 NaN (a molecule that was not scored) is ``null``: JSON has no NaN, and
    NumPy reads ``null`` back as NaN for a float array.
    """
    tensors, tails = [], []
    for name, binary in outputs.items():
        data = values[name]
        tensor = {"name": name, "datatype": specs[name].datatype, "shape": [len(data)]}
        if binary:
            raw = _binary(data, specs[name].datatype)
            tensor["parameters"] = {"binary_data_size": len(raw)}
            tails.append(raw)
        else:
            tensor["data"] = data.tolist() if isinstance(data, np.ndarray) else list(data)
        tensors.append(tensor)
    response: dict = {"model_name": model_name}
    if request_id is not None:
        response["id"] = request_id
    response["outputs"] = tensors
    head = orjson.dumps(response)
    if not tails:
        return head, None
    return head + b"".join(tails), len(head)

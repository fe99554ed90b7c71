"""Content hashes: the same data gives the same hash, whatever file format holds it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _update_array(digest: Any, name: str, array: np.ndarray) -> None:
    array = np.ascontiguousarray(array)
    digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
    digest.update(array.tobytes())


def hash_arrays(arrays: Mapping[str, np.ndarray]) -> str:
    """Hash named arrays by name, dtype, shape and bytes; the mapping's order is irrelevant."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        _update_array(digest, name, np.asarray(arrays[name]))
    return digest.hexdigest()


def hash_state_dict(state_dict: Mapping[str, Any]) -> str:
    """Hash a torch ``state_dict``: parameters and buffers, bit for bit."""
    arrays = {name: tensor.detach().cpu().contiguous().numpy() for name, tensor in state_dict.items()}
    return hash_arrays(arrays)


def hash_dataframe(frame: Any) -> str:
    """Hash a pandas DataFrame by column names, dtypes and values, row order included."""
    arrays = {}
    for position, column in enumerate(frame.columns):
        values = frame[column].to_numpy()
        if values.dtype == object:
            values = np.array([repr(v) for v in values], dtype=str)
        arrays[f"{position:04d}:{column}"] = values
    return hash_arrays(arrays)

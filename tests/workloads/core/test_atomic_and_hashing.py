import numpy as np
import pandas as pd
import pytest
import torch

from reference_workloads.core.atomic import atomic_dir, atomic_path, atomic_write, write_json
from reference_workloads.core.hashing import hash_arrays, hash_dataframe, hash_state_dict


def test_failed_write_keeps_the_old_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_and_dir_publish_only_on_success(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "data.bin") as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError
    assert not (tmp_path / "data.bin").exists()
    with atomic_dir(tmp_path / "folder") as staging:
        (staging / "a.json").write_text("{}")
    assert (tmp_path / "folder" / "a.json").exists()
    write_json(tmp_path / "x.json", {"b": 1, "a": 2})
    assert (tmp_path / "x.json").read_text().index('"a"') < (tmp_path / "x.json").read_text().index('"b"')


def test_array_hash_sees_values_dtype_and_shape_but_not_order_of_names():
    a, b = np.arange(6.0), np.ones(3)
    assert hash_arrays({"a": a, "b": b}) == hash_arrays({"b": b, "a": a})
    assert hash_arrays({"a": a}) != hash_arrays({"a": a.astype(np.float32)})
    # Same bytes, same shape, another dtype: only the dtype in the hash tells them apart.
    same_bytes = a.view(np.int64)
    assert same_bytes.tobytes() == a.tobytes() and same_bytes.shape == a.shape
    assert hash_arrays({"a": a}) != hash_arrays({"a": same_bytes})
    assert hash_arrays({"a": a}) != hash_arrays({"a": a.reshape(2, 3)})
    nudged = a.copy()
    nudged[3] = np.nextafter(nudged[3], 10)
    assert hash_arrays({"a": a}) != hash_arrays({"a": nudged})


def test_state_dict_and_dataframe_hashes():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    first = hash_state_dict(model.state_dict())
    assert first == hash_state_dict(model.state_dict())
    with torch.no_grad():
        model.bias[0] += 1e-7
    assert first != hash_state_dict(model.state_dict())
    frame = pd.DataFrame({"smiles": ["C", "CC"], "energy": [1.0, 2.0]})
    assert hash_dataframe(frame) == hash_dataframe(frame.copy())
    assert hash_dataframe(frame) != hash_dataframe(frame.iloc[::-1].reset_index(drop=True))


def test_published_files_are_not_owner_only(tmp_path):
    write_json(tmp_path / "a.json", {})
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"x")
    for name in ("a.json", "b.bin"):
        assert (tmp_path / name).stat().st_mode & 0o044 == 0o044


def test_published_folders_are_not_owner_only(tmp_path):
    # mkdtemp makes 0700 folders: a published results folder must be readable by others too.
    with atomic_dir(tmp_path / "results") as staging:
        (staging / "a.json").write_text("{}")
    assert (tmp_path / "results").stat().st_mode & 0o055 == 0o055

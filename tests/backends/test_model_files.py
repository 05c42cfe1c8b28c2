"""A model file that is not what it claims is refused with the reason, on every ONNX backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from golf_rt.backends import available_backends, create_runner
from golf_rt.errors import ModelFileError
from golf_rt.machine.paths import shipped_models_dir

ONNX_BACKENDS = [b for b in ("onnxruntime", "openvino") if b in available_backends()]


def _identity(path: Path, name_in: str, name_out: str) -> Path:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info(name_in, TensorProto.FLOAT, [None, 3, None, None])
    y = helper.make_tensor_value_info(name_out, TensorProto.FLOAT, [None, 3, None, None])
    graph = helper.make_graph([helper.make_node("Identity", [name_in], [name_out])], "other", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    truncated = tmp_path / "truncated.onnx"
    whole = (shipped_models_dir() / "g.onnx").read_bytes()
    truncated.write_bytes(whole[: len(whole) // 3])
    (tmp_path / "text.onnx").write_text("not a model")
    return {
        "another model's names": (_identity(tmp_path / "other.onnx", "x", "y"), "takes \\['x'\\] and gives \\['y'\\]"),
        "truncated": (truncated, "not a readable ONNX model"),
        "text": (tmp_path / "text.onnx", "not a readable ONNX model"),
    }


@pytest.mark.parametrize("backend", ONNX_BACKENDS)
@pytest.mark.parametrize("case", ["another model's names", "truncated", "text"])
def test_a_file_that_is_not_a_golf_rt_model_is_refused(backend, case, tmp_path):
    path, reason = _files(tmp_path)[case]
    batch = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(ModelFileError, match=reason):
        create_runner(backend, precision="fp32", model_file=path).deblur(batch)


@pytest.mark.parametrize("backend", ONNX_BACKENDS)
def test_a_file_whose_name_hides_its_precision_is_refused_on_load(backend, tmp_path):
    """The name says the precision before anything is opened; the file's metadata must agree when it loads."""
    from golf_rt.artifacts.names import file_precision

    renamed = tmp_path / "f.onnx"
    renamed.write_bytes((shipped_models_dir() / "f_int8.onnx").read_bytes())
    assert file_precision(renamed) == "fp32" and file_precision(shipped_models_dir() / "f_int8.onnx") == "int8"
    with pytest.raises(ModelFileError, match="holds an int8 model, but its name says fp32"):
        create_runner(backend, precision="fp32", model_file=renamed).activate()

from pathlib import Path

import numpy as np
import pytest

from golf_rt import __version__
from golf_rt.artifacts.names import read_onnx_metadata
from golf_rt.contract import INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import ExportError
from golf_rt.model.checkpoint import file_sha256

from .conftest import needs_torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytestmark = needs_torch


def test_four_files_with_fixed_names(onnx_files: dict[str, Path]):
    assert {k: p.name for k, p in onnx_files.items()} == {
        "f": "f.onnx", "g": "g.onnx", "g_unrolled": "g_x3.onnx", "fused": "fused_x3.onnx",
    }  # fmt: skip


@pytest.mark.parametrize("part", ["f", "g", "g_unrolled", "fused"])
def test_each_file_is_valid_with_dynamic_io_and_metadata(onnx_files, checkpoint_path, part):
    model = onnx.load(str(onnx_files[part]))
    onnx.checker.check_model(model, full_check=True)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    for tensors, name in ((model.graph.input, INPUT_NAME), (model.graph.output, OUTPUT_NAME)):
        assert [t.name for t in tensors] == [name]
        tensor_type = tensors[0].type.tensor_type
        assert tensor_type.elem_type == onnx.TensorProto.FLOAT
        dims = tensor_type.shape.dim
        assert [d.dim_value for d in dims][1] == 3
        assert all(dims[i].dim_param for i in (0, 2, 3)), "batch, height and width must be dynamic"
    metadata = read_onnx_metadata(onnx_files[part])
    assert metadata["golf_rt.checkpoint_sha256"] == file_sha256(checkpoint_path)
    assert metadata["golf_rt.iterations"] == ("3" if part in ("g_unrolled", "fused") else "1")
    assert metadata["golf_rt.version"] == __version__
    assert all(not node.metadata_props for node in model.graph.node), "stack traces must be stripped"


def test_unrolled_g_stores_its_weights_once(onnx_files):
    one = onnx.load(str(onnx_files["g"]))
    unrolled = onnx.load(str(onnx_files["g_unrolled"]))
    convs = sum(n.op_type == "Conv" for n in unrolled.graph.node)
    assert convs == 3 * sum(n.op_type == "Conv" for n in one.graph.node)
    assert len(unrolled.graph.initializer) == len(one.graph.initializer)
    assert onnx_files["g_unrolled"].stat().st_size < 1.2 * onnx_files["g"].stat().st_size


def test_files_run_at_any_batch_and_size(onnx_files):
    session = ort.InferenceSession(str(onnx_files["fused"]), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 17, 33), (3, 3, 24, 20)]:
        out = session.run(None, {INPUT_NAME: np.random.default_rng(1).random(shape, dtype=np.float32)})[0]
        assert out.shape == shape


def test_verification_detects_a_wrong_model(onnx_files, checkpoint_path):
    from golf_rt.artifacts.export import TOLERANCE, max_difference_from_torch, verification_inputs
    from golf_rt.model import checkpoint

    model = checkpoint.load(checkpoint_path)
    assert max_difference_from_torch(onnx_files["g"], model.g, verification_inputs()) <= TOLERANCE
    assert max_difference_from_torch(onnx_files["f"], model.g, verification_inputs()) > TOLERANCE


def test_export_of_a_missing_checkpoint_is_a_checkpoint_error(tmp_path):
    from golf_rt.artifacts.export import export_onnx
    from golf_rt.errors import CheckpointError

    with pytest.raises(CheckpointError):
        export_onnx(tmp_path / "missing.safetensors", 3, tmp_path)


def test_unknown_part_is_refused(checkpoint_path, tmp_path):
    from golf_rt.artifacts.export import onnx_from_checkpoint

    with pytest.raises((ExportError, ValueError), match="part"):
        onnx_from_checkpoint(checkpoint_path, "h", 3, tmp_path)


def test_fp16_onnx_keeps_io_and_instance_norm_fp32(onnx_files, tmp_path):
    from golf_rt.artifacts.export import fp16_onnx_from_onnx

    path = fp16_onnx_from_onnx(onnx_files["fused"], tmp_path / "fused_x3_fp16.onnx")
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    initializers = {i.name: i.data_type for i in model.graph.initializer}
    conv_weights = {n.input[1] for n in model.graph.node if n.op_type == "Conv"}
    assert {initializers[w] for w in conv_weights} == {onnx.TensorProto.FLOAT16}
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info}
    norms = [n for n in model.graph.node if n.op_type == "InstanceNormalization"]
    assert norms and all(types.get(n.output[0], onnx.TensorProto.FLOAT) == onnx.TensorProto.FLOAT for n in norms)
    assert read_onnx_metadata(path)["golf_rt.precision"] == "fp16"


def test_fp16_onnx_accuracy_on_the_cpu(onnx_files, tmp_path, blurry_batch, reference_output):
    """FP16 compute with FP32 Instance Norm stays close to the fp32 reference."""
    from golf_rt.artifacts.export import fp16_onnx_from_onnx

    path = fp16_onnx_from_onnx(onnx_files["fused"], tmp_path / "fused_x3_fp16.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {INPUT_NAME: blurry_batch})[0]
    assert out.dtype == np.float32
    assert np.abs(out - reference_output).max() < 0.05

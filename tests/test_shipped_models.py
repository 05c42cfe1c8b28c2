"""The ONNX files shipped in golf_rt/models must be what `golf-rt export` makes from the shipped checkpoint."""

import numpy as np
import pytest

from golf_rt.artifacts.names import read_onnx_metadata
from golf_rt.contract import INPUT_NAME
from golf_rt.machine.paths import shipped_models_dir
from golf_rt.model.checkpoint import default_checkpoint_path, file_sha256

from .conftest import needs_torch

SHIPPED = sorted(p for p in shipped_models_dir().glob("*.onnx") if not p.stem.endswith("_fp16"))
EXPORTED = [p for p in SHIPPED if not p.stem.endswith("_int8")]  # int8 files are quantised, not exported

pytestmark = pytest.mark.skipif(not SHIPPED, reason="no ONNX files ship in golf_rt/models yet")


def test_shipped_files_come_from_the_shipped_checkpoint():
    if not default_checkpoint_path().is_file():
        pytest.skip("the shipped checkpoint is not present")
    sha = file_sha256(default_checkpoint_path())
    for path in SHIPPED:
        assert read_onnx_metadata(path)["golf_rt.checkpoint_sha256"] == sha, path.name


@needs_torch
@pytest.mark.slow
def test_shipped_files_match_a_fresh_export(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import numpy_helper

    from golf_rt.artifacts.export import export_onnx

    iterations = int(read_onnx_metadata(next(p for p in EXPORTED if p.stem.startswith("fused")))["golf_rt.iterations"])
    fresh = {p.name: p for p in export_onnx(None, iterations, tmp_path).values()}
    batch = np.random.default_rng(0).random((1, 3, 48, 40), dtype=np.float32)
    for shipped in EXPORTED:
        assert shipped.name in fresh, f"{shipped.name} is not produced by `golf-rt export`"
        a, b = onnx.load(str(shipped)), onnx.load(str(fresh[shipped.name]))
        assert [n.op_type for n in a.graph.node] == [n.op_type for n in b.graph.node]
        weights_a = {i.name: numpy_helper.to_array(i) for i in a.graph.initializer}
        weights_b = {i.name: numpy_helper.to_array(i) for i in b.graph.initializer}
        assert weights_a.keys() == weights_b.keys()
        assert all(np.array_equal(weights_a[k], weights_b[k]) for k in weights_a)
        outputs = [
            ort.InferenceSession(str(p)).run(None, {INPUT_NAME: batch})[0] for p in (shipped, fresh[shipped.name])
        ]
        np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)

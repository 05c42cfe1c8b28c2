"""Typed configs, the pbtxt generator and the parser, against the checked-in fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

model_config_pb2 = pytest.importorskip(
    "tritonclient.grpc.model_config_pb2", reason="tritonclient is not installed (pip install -e '.[client]')"
)

from golf_rt.errors import ConfigurationError  # noqa: E402
from golf_rt.triton.config import (  # noqa: E402
    DynamicBatching,
    EnsembleConfig,
    EnsembleStep,
    InstanceGroup,
    PythonModelConfig,
    TensorRTModelConfig,
    TensorSpec,
)
from golf_rt.triton.generator import pbtxt_from_config  # noqa: E402
from golf_rt.triton.parser import config_from_pbtxt, proto_from_pbtxt, read_config  # noqa: E402
from golf_rt.triton.repository import RepositorySpec, model_configs, write_configs  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "triton"
LAYOUTS = [(t, layout) for t in ("cpu", "gpu") for layout in ("ensemble", "fused")]


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def _io(name: str = "m") -> dict:
    return {"name": name, "max_batch_size": 4, "inputs": (TensorSpec("BLURRY"),), "outputs": (TensorSpec("SHARP"),)}


@pytest.mark.parametrize(("target", "layout"), LAYOUTS)
def test_generator_writes_the_checked_in_fixtures(target: str, layout: str) -> None:
    expected = _files(FIXTURES / f"{target}-{layout}")
    configs = model_configs(RepositorySpec(target=target, layout=layout))
    assert {f"{c.name}/config.pbtxt": pbtxt_from_config(c) for c in configs} == expected


@pytest.mark.parametrize(("target", "layout"), LAYOUTS)
@pytest.mark.parametrize("style", ["steps", "unrolled"])
def test_every_generated_config_parses_back_to_itself(target: str, layout: str, style: str) -> None:
    for config in model_configs(RepositorySpec(target=target, layout=layout, ensemble_style=style)):
        assert config_from_pbtxt(pbtxt_from_config(config)) == config


def test_model_repository_folder_is_what_the_generator_writes_now(tmp_path: Path) -> None:
    write_configs(RepositorySpec(), tmp_path)
    assert _files(ROOT / "model_repository") == _files(tmp_path)


@pytest.mark.parametrize(("target", "layout"), LAYOUTS)
def test_public_model_contract(target: str, layout: str) -> None:
    proto = proto_from_pbtxt((FIXTURES / f"{target}-{layout}" / "golf" / "config.pbtxt").read_text())
    assert proto.max_batch_size > 0
    assert [(t.name, list(t.dims)) for t in proto.input] == [("BLURRY", [3, -1, -1])]
    assert [(t.name, list(t.dims)) for t in proto.output] == [("SHARP", [3, -1, -1])]
    assert {t.data_type for t in (*proto.input, *proto.output)} == {model_config_pb2.TYPE_FP32}


@pytest.mark.parametrize("layout", ["ensemble", "fused"])
def test_gpu_configs_are_tensorrt_plans_on_gpu_instances_with_dynamic_batching(layout: str) -> None:
    for config in model_configs(RepositorySpec(target="gpu", layout=layout)):
        proto = proto_from_pbtxt(pbtxt_from_config(config))
        if proto.platform == "ensemble":
            continue
        assert proto.platform == "tensorrt_plan"
        assert proto.default_model_filename.endswith("_fp16.plan")
        assert [g.kind for g in proto.instance_group] == [model_config_pb2.ModelInstanceGroup.KIND_GPU]
        assert proto.HasField("dynamic_batching")


def test_the_serving_doc_says_what_the_gpu_repository_serves() -> None:
    """docs/serving.md's GPU section agrees with the written configs and build-engine's default profile."""
    from golf_rt.artifacts.engines import DEFAULT_PROFILES

    doc = (ROOT / "docs" / "serving.md").read_text()
    gpu = doc[doc.index("## GPU: NVIDIA's tritonserver container") : doc.index("## Kubernetes")]
    config = read_config(FIXTURES / "gpu-ensemble" / "golf_f")
    listed = ", ".join(f'"{p}"' for p in config.instance_group.profiles)
    (tile,) = DEFAULT_PROFILES
    assert f"`max_batch_size` {config.max_batch_size}" in gpu and f"`profile: [ {listed} ]`" in gpu
    assert f"from {tile.min[2]} x {tile.min[3]} to {tile.max[2]} x {tile.max[3]} pixels" in gpu
    assert f"batches of up to {tile.max[0]}" in gpu


def test_steps_ensemble_calls_g_once_per_iteration() -> None:
    golf = model_configs(RepositorySpec(ensemble_style="steps", iterations=3))[0]
    assert isinstance(golf, EnsembleConfig)
    assert [s.model_name for s in golf.steps] == ["golf_f", "golf_g", "golf_g", "golf_g"]
    assert golf.steps[-1].output_map == (("SHARP", "SHARP"),)


def test_unrolled_ensemble_has_two_steps() -> None:
    golf = model_configs(RepositorySpec(ensemble_style="unrolled", iterations=2))[0]
    assert [s.model_name for s in golf.steps] == ["golf_f", "golf_g_x2"]


def test_python_model_parameters_name_file_runtime_and_threads() -> None:
    (golf,) = model_configs(RepositorySpec(layout="fused", runtime="onnxruntime", threads=2))
    assert isinstance(golf, PythonModelConfig)
    assert golf.parameter("model_file") == "fused_x3.onnx"
    assert golf.parameter("runtime") == "onnxruntime"
    assert golf.parameter("threads") == "2"
    with pytest.raises(ConfigurationError, match="has no parameter 'nope'"):
        golf.parameter("nope")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TensorSpec("BLURRY", dims=(3, 0, -1)), "must be positive or -1"),
        (lambda: TensorSpec("BLURRY", data_type="TYPE_STRING"), "is not one of"),
        (lambda: TensorSpec("bad name"), "not a valid name"),
        (lambda: InstanceGroup(count=0), "count must be >= 1"),
        (lambda: InstanceGroup(kind="KIND_TPU"), "is not one of"),
        (lambda: InstanceGroup(gpus=(0,)), "only be listed for KIND_GPU"),
        (lambda: DynamicBatching(max_queue_delay_us=-1), ">= 0"),
        (lambda: PythonModelConfig(**{**_io(), "max_batch_size": 0}), "batching on"),
        (lambda: PythonModelConfig(**{**_io(), "outputs": (TensorSpec("BLURRY"),)}), "repeats a tensor"),
        (lambda: PythonModelConfig(**_io(), parameters=(("a", "1"), ("a", "2"))), "repeats a parameter"),
        (lambda: TensorRTModelConfig(**_io(), instance_group=InstanceGroup()), "KIND_GPU instances only"),
        (lambda: TensorRTModelConfig(**_io(), default_model_filename="../x.plan"), "must be a"),
        (lambda: EnsembleConfig(**_io(), steps=()), "has no steps"),
        (
            lambda: EnsembleConfig(**_io(), steps=(EnsembleStep("g", (("BLURRY", "x0"),), (("SHARP", "SHARP"),)),)),
            "reads 'x0' before any step makes it",
        ),
        (
            lambda: EnsembleConfig(**_io(), steps=(EnsembleStep("f", (("BLURRY", "BLURRY"),), (("SHARP", "x0"),)),)),
            "no step produces output 'SHARP'",
        ),
        (lambda: RepositorySpec(target="tpu"), "target 'tpu' is not one of cpu, gpu"),
        (lambda: RepositorySpec(layout="chain"), "layout"),
        (lambda: RepositorySpec(iterations=0), "iterations"),
    ],
)
def test_invalid_configs_fail_on_construction_with_a_clear_message(build, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()


def test_parser_reports_syntax_errors_as_config_errors() -> None:
    with pytest.raises(ConfigurationError, match="does not parse"):
        proto_from_pbtxt('name: "golf"\ninput [ { name: "BLURRY" dims: [3, ] } ]')


def test_parser_rejects_a_backend_it_does_not_write() -> None:
    with pytest.raises(ConfigurationError, match="not one golf-rt writes"):
        config_from_pbtxt('name: "x"\nbackend: "onnxruntime"\nmax_batch_size: 1\n'
                          'input [{name: "BLURRY" data_type: TYPE_FP32 dims: [3, -1, -1]}]\n'
                          'output [{name: "SHARP" data_type: TYPE_FP32 dims: [3, -1, -1]}]\n'
                          'instance_group [{count: 1 kind: KIND_CPU}]')  # fmt: skip


def test_read_config_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="config.pbtxt"):
        read_config(tmp_path)

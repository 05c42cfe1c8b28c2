"""The measured table behind precision "auto": kept with the shipped model, never stale, read as documented."""

import json
from dataclasses import replace

import pytest

from golf_rt.artifacts.precision_table import (
    Measured,
    auto_precision,
    measured_rows,
    read_table,
    table_path,
    write_table,
)
from golf_rt.backends import available_backends, create_runner, precisions_here
from golf_rt.backends.gpu.door import standin_active
from golf_rt.catalog import RECORDS, backend_record, device_kind
from golf_rt.contract import DEFAULT_ITERATIONS, PRECISIONS, PSNR_BUDGET_DB
from golf_rt.errors import ConfigurationError
from golf_rt.machine.environment import cpu_has_native_bf16
from golf_rt.model.checkpoint import default_checkpoint_path, file_sha256

from ..conftest import needs_torch


def test_shipped_table_was_measured_on_the_shipped_checkpoint():
    """Retraining the default checkpoint means rerunning `golf-rt verify --write-table`."""
    table = json.loads(table_path().read_text())
    assert table["checkpoint_sha256"] == file_sha256(default_checkpoint_path()), "rerun golf-rt verify --write-table"
    assert table["iterations"] == DEFAULT_ITERATIONS and table["budget_db"] == PSNR_BUDGET_DB
    assert {row["precision"] for row in table["rows"]} <= set(PRECISIONS)
    measured = {row["backend"] for row in table["rows"]}
    assert all(any(r["backend"] == b and r["precision"] == "fp32" for r in table["rows"]) for b in measured)
    assert read_table() == table


def test_auto_is_the_fastest_runnable_precision_within_budget():
    for backend in available_backends():
        device, runs = next(iter(precisions_here(backend).items()))
        measured = [
            r for r in measured_rows(read_table()) if r.backend == backend and r.device_kind == device_kind(device)
        ]
        good = [r for r in measured if r.precision in runs and r.within_budget]
        expected = min(good, key=lambda r: r.median_ms).precision if good else "fp32"
        choice = auto_precision(backend)
        assert choice.precision == (expected if measured else backend_record(backend).unmeasured[device])
        assert choice.precision in choice.reason


@needs_torch
def test_a_table_decides_only_for_its_own_checkpoint(checkpoint_path, cached_onnx):
    rows = [
        Measured("onnxruntime", "fp32", 0.0, 100.0, "cpu"),
        Measured("onnxruntime", "fp16", -2 * PSNR_BUDGET_DB, 10.0, "cpu"),  # fastest, but over budget
        Measured("openvino", "fp32", 0.0, 100.0, "cpu"),
        Measured("openvino", "bf16", -PSNR_BUDGET_DB / 2, 50.0, "cpu"),
    ]
    assert auto_precision("onnxruntime", checkpoint_path).reason.startswith("no measured precision table")
    path = write_table(rows, checkpoint_path)
    try:
        assert auto_precision("onnxruntime", checkpoint_path).precision == "fp32"
        if "openvino" in available_backends():  # the table's bf16 row counts only where the CPU runs bf16
            expected = "bf16" if cpu_has_native_bf16() else "fp32"
            assert auto_precision("openvino", checkpoint_path).precision == expected
        write_table([Measured("onnxruntime", "fp16", 0.0, 10.0, "cpu")], checkpoint_path)
        kept = {(r["backend"], r["precision"]) for r in read_table(checkpoint_path)["rows"]}
        assert kept == {("onnxruntime", "fp16"), ("openvino", "fp32"), ("openvino", "bf16")}
        with create_runner("onnxruntime", precision="auto", iterations=3, checkpoint=checkpoint_path) as runner:
            assert runner.precision == "fp16"
        assert read_table(checkpoint_path, iterations=5) is None  # measured at 3 iterations
        table = json.loads(path.read_text())
        path.write_text(json.dumps({**table, "checkpoint_sha256": "0" * 64}))
        assert read_table(checkpoint_path) is None
        assert auto_precision("onnxruntime", checkpoint_path).precision == "fp32"
    finally:
        path.unlink()


def test_unknown_precision_lists_every_precision_and_auto():
    with pytest.raises(ConfigurationError, match="choose one of fp32, fp16, bf16, int8, auto"):
        create_runner("onnxruntime", precision="int4")


def test_a_row_counts_only_on_the_kind_of_device_it_was_measured_on(monkeypatch):
    """The CPU rows decided for the GPU: TensorRT, which has no row, and ONNX Runtime on CUDA ran fp32."""
    pytest.importorskip("onnxruntime", reason="the GPU stand-in runs engines with ONNX Runtime")
    monkeypatch.setenv("GOLF_RT_GPU_STANDIN", "1")
    if not standin_active():
        pytest.skip("TensorRT is installed here, so the real GPU is used, not the stand-in")
    tensorrt = auto_precision("tensorrt")
    assert tensorrt.precision == "fp16" and "TensorRT's default on cuda" in tensorrt.reason
    on_cuda = auto_precision("onnxruntime", device="cuda")
    assert on_cuda.precision == "fp16" and "no onnxruntime row measured on cuda" in on_cuda.reason
    on_cpu = auto_precision("onnxruntime", device="cpu")  # the shipped table's CPU rows: fp32 is faster there
    assert on_cpu.precision == "fp32" and "on AMD EPYC" in on_cpu.reason
    assert {row.device_kind for row in measured_rows(read_table())} == {"cpu"}, "the shipped rows name no kind"


@needs_torch
def test_rows_measured_on_a_gpu_do_not_decide_for_torch_on_the_cpu(checkpoint_path):
    rows = [
        Measured("onnxruntime", "fp32", 0.0, 100.0, "AMD EPYC (2 cores)", "cpu"),
        Measured("onnxruntime", "fp16", 0.0, 10.0, "NVIDIA H100 80GB HBM3", "cuda"),
        Measured("torch", "fp32", 0.0, 30.0, "NVIDIA H100 80GB HBM3", "cuda"),
    ]
    path = write_table(rows, checkpoint_path)
    try:
        assert auto_precision("onnxruntime", checkpoint_path, device="cpu").precision == "fp32"
        torch_here = auto_precision("torch", checkpoint_path, device="cpu")
        assert torch_here.precision == "fp32" and "no torch row measured on cpu" in torch_here.reason
        write_table([Measured("torch", "fp32", 0.0, 500.0, "AMD EPYC (2 cores)", "cpu")], checkpoint_path)
        kept = {(r.backend, r.precision, r.device_kind) for r in measured_rows(read_table(checkpoint_path))}
        assert ("torch", "fp32", "cuda") in kept and ("torch", "fp32", "cpu") in kept, "a CPU run kept the GPU rows"
    finally:
        path.unlink()


def test_verify_names_the_kind_of_device_each_row_ran_on():
    from golf_rt.quality.verify import VerifyRow, rows_to_measured

    on_gpu = VerifyRow("torch", "fp16", 60.0, 1e-3, 28.0, 0.8, -0.001, 3.0, device="cuda")
    on_cpu = VerifyRow("openvino", "int8", 60.0, 1e-3, 28.0, 0.8, -0.001, 90.0, device="cpu")
    assert [row.device_kind for row in rows_to_measured([on_gpu, on_cpu])] == ["cuda", "cpu"]
    assert Measured("tensorrt", "fp16", 0.0, 2.0, "NVIDIA H100 80GB HBM3").device_kind == "cuda", "rows before kinds"


def test_every_backend_has_a_precision_for_each_device_until_measured():
    for record in RECORDS:
        assert set(record.unmeasured) == set(record.precisions), record.name
        assert all(record.unmeasured[device] in runs for device, runs in record.precisions.items()), record.name
    assert backend_record("tensorrt").unmeasured == {"cuda": "fp16"}, "the precision engines are built and served at"
    with pytest.raises(ConfigurationError, match="bf16 on cpu"):
        replace(backend_record("openvino"), unmeasured={"cpu": "bf16"}, precisions={"cpu": ("fp32",)})

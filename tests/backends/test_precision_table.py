"""The measured table behind precision "auto": kept with the shipped model, never stale, read as documented."""

import json

import pytest

from golf_rt.artifacts.precision_table import (
    Measured,
    auto_precision,
    read_table,
    table_path,
    write_table,
)
from golf_rt.backends import available_backends, create_runner
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
    here = available_backends()
    table = read_table()
    for backend, precisions in here.items():
        rows = [r for r in table["rows"] if r["backend"] == backend and r["precision"] in precisions]
        good = [r for r in rows if r["psnr_delta"] >= -PSNR_BUDGET_DB]
        expected = min(good, key=lambda r: r["median_ms"])["precision"] if good else "fp32"
        choice = auto_precision(backend)
        assert choice.precision == expected and expected in choice.reason


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

import json

import pytest
import torch

from golf_rt.model import checkpoint
from golf_rt.model.networks import seeded_random_model
from golf_rt.report import load_result_files, report_markdown
from training.gpu_timing import (
    Timing,
    cudnn_autotuner,
    exact_fp32,
    label,
    markdown,
    result_document,
    time_model,
    time_runner,
)


def test_cpu_timings_become_a_result_file_the_report_reads(tmp_path, one_thread):
    model = seeded_random_model(0)
    timings = time_model(model, torch.device("cpu"), [(32, 48)], ["fp32", "bf16"], seconds=2.0, min_rounds=2)
    assert [(t.size, t.precision) for t in timings] == [((32, 48), "fp32"), ((32, 48), "bf16")]
    assert all(len(t.ms) >= 2 and min(t.ms) > 0 for t in timings)
    assert next(model.parameters()).dtype == torch.float32, "the timed model is a copy"

    path = checkpoint.save(model, tmp_path / "golf.safetensors", {})
    document = result_document(timings, path, "a test")
    results_file = tmp_path / "benchmark-gpu.json"
    results_file.write_text(json.dumps(document))
    (loaded,) = load_result_files([results_file])
    assert loaded.checkpoint["file"] == "golf.safetensors" and loaded.note == "a test"
    assert {(r.backend, r.precision, r.part, r.size, r.iterations) for r in loaded.results} == {
        ("torch", "fp32", "fused", "32x48", 3),
        ("torch", "bf16", "fused", "32x48", 3),
    }
    assert "| torch module cpu fp32 (the forward alone) | in-process |" in report_markdown([loaded])
    stats = document["benchmarks"][0]["stats"]
    assert stats["rounds"] == len(timings[0].ms) and stats["min"] <= stats["median"] <= stats["max"]
    assert document["benchmarks"][0]["extra_info"]["timer"] == "perf_counter"
    assert "| 32x48 | torch module cpu bf16 (the forward alone) |" in markdown(timings)


def test_the_runner_is_timed_end_to_end_and_labelled_apart_from_the_module(tmp_path, one_thread):
    model = seeded_random_model(0)
    path = checkpoint.save(model, tmp_path / "golf.safetensors", {})
    device = torch.device("cpu")
    timings = time_model(model, device, [(32, 32)], ["fp32"], seconds=0.2, min_rounds=2)
    timings += time_runner(path, device, [(32, 32)], ["fp32"], seconds=0.2, min_rounds=2)
    assert [t.timed for t in timings] == ["module", "runner"] and len(timings[1].ms) >= 2
    assert [label(t) for t in timings] == ["torch module cpu fp32 (the forward alone)",
                                           "golf-rt torch cpu fp32 (numpy in and out)"]  # fmt: skip

    document = result_document(timings, path, "both")
    names = [bench["name"] for bench in document["benchmarks"]]
    assert names == ["gpu_run[torch-cpu-fp32-32x32]", "gpu_run[torchrunner-cpu-fp32-32x32]"]
    assert "TorchRunner.deblur" in document["benchmarks"][1]["extra_info"]["timed"]
    results_file = tmp_path / "both.json"
    results_file.write_text(json.dumps(document))
    (loaded,) = load_result_files([results_file])
    assert {r.label for r in loaded.results} == {label(t) for t in timings}
    assert {r.route for r in loaded.results} == {"in-process"}


def test_no_case_starts_once_the_seconds_are_spent_and_each_is_handed_on_as_it_is_measured(tmp_path, one_thread):
    """Warm-ups and three rounds of every case ran whatever was left: a run past its budget timed all of them."""
    model, cpu = seeded_random_model(0), torch.device("cpu")
    path = checkpoint.save(model, tmp_path / "golf.safetensors", {})
    assert time_model(model, cpu, [(32, 32), (48, 48)], ["fp32"], seconds=0.0) == []
    assert time_runner(path, cpu, [(32, 32)], ["fp32"], seconds=0.0) == []
    seen = []
    timings = time_model(model, cpu, [(32, 32)], ["fp32"], seconds=0.2, min_rounds=2, batch=2, on_timing=seen.append)
    assert (
        seen == timings
        and timings[0].batch == 2
        and timings[0].gflop() == 2 * Timing((32, 32), "fp32", (1.0,), False, 3).gflop()
    )
    assert result_document(timings, path, "batch")["benchmarks"][0]["extra_info"]["shape"] == [2, 3, 32, 32]
    assert label(timings[0]) == "torch module cpu fp32 (the forward alone; batch 2)"


def test_gpu_labels_say_what_was_timed():
    module = Timing((64, 64), "fp32", (1.0,), cuda_graph=True, iterations=3, on_gpu=True)
    runner = Timing((64, 64), "bf16", (1.0,), cuda_graph=False, iterations=3, on_gpu=True, timed="runner")
    assert label(module) == "torch module cuda fp32 (GPU time of the forward; TF32 off, CUDA graph)"
    assert label(runner) == "golf-rt torch cuda bf16 (numpy in and out)"
    assert (module.timer, runner.timer) == ("cuda events", "perf_counter")
    with pytest.raises(ValueError, match="module, runner"):
        Timing((64, 64), "fp32", (1.0,), False, 3, timed="kernels")


def test_unknown_precisions_are_refused():
    with pytest.raises(ValueError, match="fp16"):
        time_model(seeded_random_model(0), torch.device("cpu"), [(16, 16)], ["int8"], seconds=0.1)


def test_exact_fp32_turns_tf32_off_and_restores_it():
    """The caller set TF32 with torch's new API, after which reading the legacy `allow_tf32` raised."""
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    before = matmul.fp32_precision, conv.fp32_precision
    matmul.fp32_precision = conv.fp32_precision = "tf32"
    try:
        with exact_fp32(True):
            assert (matmul.fp32_precision, conv.fp32_precision) == ("ieee", "ieee")
        assert (matmul.fp32_precision, conv.fp32_precision) == ("tf32", "tf32")
    finally:
        matmul.fp32_precision, conv.fp32_precision = before


def test_the_cudnn_autotuner_is_on_inside_the_block_only():
    before = torch.backends.cudnn.benchmark
    with cudnn_autotuner(True):
        assert torch.backends.cudnn.benchmark
    with cudnn_autotuner(False):
        assert torch.backends.cudnn.benchmark == before
    assert torch.backends.cudnn.benchmark == before


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU and a CUDA build of torch")
def test_cuda_graph_timing_names_the_gpu():
    timings = time_model(seeded_random_model(0).cuda(), torch.device("cuda"), [(64, 64)], ["fp32", "fp16"], 1.0)
    assert all(t.cuda_graph and len(t.ms) >= 3 for t in timings)
    assert label(timings[0]) == "torch module cuda fp32 (GPU time of the forward; TF32 off, CUDA graph)"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU and a CUDA build of torch")
def test_the_runner_on_cuda_takes_numpy_and_is_timed_by_the_wall_clock(tmp_path):
    path = checkpoint.save(seeded_random_model(0), tmp_path / "golf.safetensors", {})
    timings = time_runner(path, torch.device("cuda"), [(64, 64)], ["fp32", "bf16"], 1.0, cuda_graph=True)
    assert all(t.gpu and t.cuda_graph and t.timer == "perf_counter" and len(t.ms) >= 3 for t in timings)
    assert label(timings[0]) == "golf-rt torch cuda fp32 (numpy in and out; TF32 off, CUDA graph)"

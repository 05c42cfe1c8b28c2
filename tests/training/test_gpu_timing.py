import json

import pytest
import torch

from golf_rt import checkpoint
from golf_rt.networks import seeded_random_model
from golf_rt.report import load_result_files, report_markdown
from training.gpu_timing import exact_fp32, label, markdown, result_document, time_model


def test_cpu_timings_become_a_result_file_the_report_reads(tmp_path, one_thread):
    model = seeded_random_model(0)
    timings = time_model(model, torch.device("cpu"), [(32, 48)], ["fp32", "bf16"], seconds=0.5, min_rounds=2)
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
    assert "| golf-rt torch cpu fp32 | in-process |" in report_markdown([loaded])
    stats = document["benchmarks"][0]["stats"]
    assert stats["rounds"] == len(timings[0].ms) and stats["min"] <= stats["median"] <= stats["max"]
    assert "| 32x48 | golf-rt torch cpu bf16 |" in markdown(timings)


def test_unknown_precisions_are_refused():
    with pytest.raises(ValueError, match="fp16"):
        time_model(seeded_random_model(0), torch.device("cpu"), [(16, 16)], ["int8"], seconds=0.1)


def test_exact_fp32_turns_tf32_off_and_restores_it():
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    with exact_fp32(True):
        assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU and a CUDA build of torch")
def test_cuda_graph_timing_names_the_gpu():
    timings = time_model(seeded_random_model(0).cuda(), torch.device("cuda"), [(64, 64)], ["fp32", "fp16"], 1.0)
    assert all(t.cuda_graph and len(t.ms) >= 3 for t in timings)
    assert label(timings[0]) == "golf-rt torch cuda fp32 (TF32 off, CUDA graph)"

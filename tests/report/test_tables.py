"""The tables from the checked-in result files: a real run on this CPU and a made-up GPU server sample."""

import pytest

from golf_rt.contract import DEFAULT_ITERATIONS, F_FILTERS, G_FILTERS
from golf_rt.report.results import load_result_files
from golf_rt.report.tables import markdown_table, model_gflop, peers_table, table3, table4, table5

from .conftest import CPU_SAMPLE, GPU_SAMPLE

GPU = "NVIDIA H100 80GB HBM3 (made-up sample)"
XEON = "Intel(R) Xeon(R) Platinum 8480+ (made-up sample) (16 cores)"


@pytest.fixture(scope="module")
def files():
    return load_result_files([CPU_SAMPLE, GPU_SAMPLE])


@pytest.fixture(scope="module")
def results(files):
    return [r for f in files for r in f.results]


def rows(markdown: str) -> list[list[str]]:
    """The body rows of the first Markdown table, as cells."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_markdown_table_aligns_numbers_right():
    text = markdown_table(["Path", "Mean (ms)"], [["a", "1.50"], ["b", "-"]])
    assert text.splitlines()[1] == "| --- | ---: |"


def test_table4_lists_each_device_and_path_then_the_paper_quoted(results):
    table = rows(table4(results, "256x256"))
    gpu = [row for row in table if row[0] == GPU]
    assert gpu[0] == [GPU, "2022", "golf-rt tensorrt fp16", "in-process", "2.60", "1.80", "1.90", "2.10", "400"]
    assert [row[2] for row in gpu] == [
        "golf-rt tensorrt fp16",
        "triton grpc: tensorrt fp16 (running server)",
        "golf-rt tensorrt fp32",
        "golf-rt torch cuda fp32",
        "peer: torch eager cuda",
    ]
    assert [row[0] for row in table[-3:]] == ["GTX 1080 Ti", "GTX 1080", "GT 750M"]
    assert table[-3] == ["GTX 1080 Ti", "2017", "PyTorch (paper, quoted)", "-", "26.87", "10.91", "16.94", "-", "-"]
    assert {row[0] for row in table} == {GPU, XEON, "AMD EPYC (2 cores)", "GTX 1080 Ti", "GTX 1080", "GT 750M"}


def test_table4_rows_of_the_measured_cpu_sample(results):
    table = [row for row in rows(table4(results, "256x256")) if row[0] == "AMD EPYC (2 cores)"]
    assert table[0] == [
        "AMD EPYC (2 cores)",
        "-",
        "golf-rt openvino bf16",
        "in-process",
        "5,300",
        "3,393",
        "4,351",
        "5,206",
        "3",
    ]
    assert [row[2] for row in table] == [
        "golf-rt openvino bf16",
        "peer: openvino defaults",
        "golf-rt onnxruntime fp32",
        "peer: onnxruntime defaults",
        "golf-rt onnxruntime fp16",
        "golf-rt openvino fp32",
        "peer: torch eager",
        "golf-rt torch fp32",
    ]


def test_table4_of_the_large_size_has_no_paper_rows(results):
    table = rows(table4(results, "720x1280"))
    assert [row[2] for row in table] == ["golf-rt tensorrt fp16", "golf-rt tensorrt fp32", "peer: torch eager cuda"]
    assert table[0][6] == "24.50"


def test_table5_labels_the_quoted_runtimes_and_picks_the_fastest_path_per_device(results):
    table = rows(table5(results, "256x256"))
    assert table[0] == ["DeblurGAN (quoted)", "256 x 256", "0.85 s", "as reported in the paper", "paper, Table 5"]
    assert table[1][:3] == ["Gong et al. (quoted)", "256 x 256", "0.72 s"]
    assert table[2][:3] == ["Golf Optimizer, paper (quoted)", "256 x 256", "16.94-40.66 ms"]
    measured = {(row[0], row[3]): row[2] for row in table[3:]}
    assert measured[("golf-rt: golf-rt tensorrt fp16", GPU)] == "1.90 ms"
    assert measured[("golf-rt: peer: torch eager cuda", GPU)] == "10.20 ms"
    assert measured[("golf-rt: golf-rt openvino fp32", XEON)] == "95.00 ms"
    assert measured[("golf-rt: peer: torch eager", XEON)] == "410.00 ms"
    assert all(row[4].startswith("measured (") for row in table[3:])


def test_table3_measures_the_checkpoint_and_every_model_file(files):
    table = {row[0]: row for row in rows(table3(files))}
    assert table["F weights"][2:] == ["1.78", "1.78"]
    assert table["G weights"][2:] == ["0.46", "0.46"]
    assert table["fused_x3_fp16.plan"] == ["fused_x3_fp16.plan", f"TensorRT engine, fp16, {GPU}", "1.90", "-"]
    assert table["g_fp16.plan"][2] == "0.40"
    assert table["fused_x3.onnx"][1:] == ["ONNX, fp32", "2.30", "-"]
    assert table["fused_x3_fp16.onnx"][1:] == ["ONNX, fp16", "1.25", "-"]
    files_of_checkpoints = [row[1] for row in rows(table3(files)) if row[0] == "checkpoint file"]
    assert files_of_checkpoints == ["ck.safetensors", "golf_default.safetensors"]


def test_peers_table_divides_each_peer_by_the_path_on_the_same_device(results):
    table = {(row[0], row[1], row[2]): row[3:] for row in rows(peers_table(results))}
    trt = table[(GPU, "256x256", "golf-rt tensorrt fp16")]
    assert trt[0] == "1.90" and trt[2:] == ["-", "5.37x", "-", "-"]  # no CPU peak, no CPU peer on the GPU
    assert trt[1] == f"{model_gflop_256() / 1.90 * 1000:.1f}"
    openvino = table[(XEON, "256x256", "golf-rt openvino fp32")]
    assert openvino[3:] == ["4.32x", "1.89x", "1.05x"]  # 410 / 95, 180 / 95, 100 / 95
    assert table[(GPU, "720x1280", "golf-rt tensorrt fp16")][3] == "5.92x"
    bf16 = table[("AMD EPYC (2 cores)", "256x256", "golf-rt openvino bf16")]
    assert bf16 == ["4,351", "24.8", "-", "5.93x", "1.77x", "1.15x"]  # measured on this CPU: 25,783 / 4,351 ms ...


def test_speed_reads_as_a_fraction_of_the_cpu_peak_at_its_precision(results):
    from dataclasses import replace

    bf16 = next(r for r in results if r.label == "golf-rt openvino bf16" and r.size == "256x256")
    peaks = {"fp32": 332.3, "bf16": 664.6}
    measured = replace(bf16, peak_gflops=peaks, ms={**bf16.ms, "mean": 300.0})
    assert measured.peak() == 664.6 and replace(measured, precision="default").peak() == 664.6
    assert replace(measured, precision="fp16").peak() == 332.3 and replace(measured, precision="int8").peak() is None
    row = rows(peers_table([measured]))[0]
    assert row[4:6] == [f"{model_gflop_256() / 0.3:.1f}", f"{100 * model_gflop_256() / 0.3 / 664.6:.0f}"]


def model_gflop_256() -> float:
    from golf_rt.model.facts import gflop

    return gflop(F_FILTERS, 256, 256) + DEFAULT_ITERATIONS * gflop(G_FILTERS, 256, 256)


def test_gflop_counts_the_part_that_ran(results):
    by_part = {r.part: r for r in results if r.device == GPU and r.size == "256x256"}
    assert model_gflop(by_part["fused"]) == pytest.approx(108.1, abs=0.05)
    assert model_gflop(by_part["f"]) + 3 * model_gflop(by_part["g"]) == pytest.approx(model_gflop(by_part["fused"]))

import json

import pytest

from golf_rt.errors import ConfigurationError
from golf_rt.report.results import device_year, load_result_file, load_result_files

from .conftest import CPU_SAMPLE


@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("NVIDIA GeForce GTX 1080 Ti", 2017),
        ("NVIDIA GeForce GTX 1080", 2016),
        ("GeForce GT 750M", 2013),
        ("NVIDIA H100 80GB HBM3", 2022),
        ("NVIDIA A100-SXM4-80GB", 2020),
        ("NVIDIA A10", 2021),
        ("NVIDIA L4", 2023),
        ("NVIDIA L40S", 2023),
        ("AMD EPYC (2 cores)", None),
    ],
)
def test_device_year_matches_whole_model_names(name, year):
    assert device_year(name) == year


def test_a_result_file_keeps_our_results_and_counts_the_others():
    file = load_result_file(CPU_SAMPLE)
    document = json.loads(CPU_SAMPLE.read_text())
    assert len(file.results) + file.skipped == len(document["benchmarks"])
    assert file.machine == "AMD EPYC (2 cores)" and file.date == document["datetime"][:10]
    assert file.checkpoint["F_bytes"] == 466_348 * 4
    first = file.results[0]
    assert first.source == CPU_SAMPLE.name and first.size == "256x256" and first.rounds >= 3


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("not json")
    with pytest.raises(ConfigurationError, match="not a readable JSON file"):
        load_result_file(path)


def test_json_that_is_not_pytest_benchmark_output_is_refused(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"rows": []}')
    with pytest.raises(ConfigurationError, match="--benchmark-json"):
        load_result_file(path)


def test_files_without_any_golf_rt_result_are_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": [{"name": "x", "extra_info": {}}]}))
    with pytest.raises(ConfigurationError, match="none of .* holds a golf-rt benchmark result"):
        load_result_files([path])
    with pytest.raises(ConfigurationError, match="no result files given"):
        load_result_files([])


def test_a_result_without_statistics_is_refused(tmp_path):
    document = json.loads(CPU_SAMPLE.read_text())
    del document["benchmarks"][0]["extra_info"]["ms"]["p95"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigurationError, match="has no p95"):
        load_result_file(path)

"""benchmarks/gpu_preflight.py: one line per thing a GPU machine lacks for the GPU run, before its minutes are spent."""

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import gpu_preflight
from golf_rt.machine.environment import cuda_device_count
from training import photos

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = [photos.file_name(path) for path in photos.TRAINING_PHOTOS + photos.VALIDATION_PHOTOS]


@pytest.mark.skipif(cuda_device_count() > 0, reason="this machine has an NVIDIA GPU")
def test_here_it_says_there_is_no_cuda_gpu_and_fails(tmp_path):
    """The script as the GPU machine runs it, in its own process: no GPU, no photo folder, each on one line."""
    command = [sys.executable, "benchmarks/gpu_preflight.py", "--output", str(tmp_path / "out"),
               "--photos", str(tmp_path / "no-photos")]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert all(line.startswith("preflight: ") for line in lines) and lines[-1].endswith(" problems")
    problems = [line.removeprefix("preflight: ") for line in lines if "warning:" not in line][:-1]
    assert any(line.startswith("no CUDA GPU: ") for line in problems)
    assert f"no photo folder {tmp_path / 'no-photos'}: make it with `python -m training.photos" in result.stderr
    assert (tmp_path / "out").is_dir() and not any((tmp_path / "out").iterdir()), "the writability probe is gone"


def test_an_empty_photo_folder_is_a_problem(tmp_path):
    facts = []
    (problem,) = gpu_preflight.photo_problems(tmp_path, facts)
    assert problem.startswith(f"{len(PHOTOS)} of {len(PHOTOS)} photos missing or empty in {tmp_path} (e.g. ")
    assert facts == []


def test_a_full_photo_folder_passes_and_an_empty_file_does_not(tmp_path):
    for name in PHOTOS:
        (tmp_path / name).write_bytes(b"\xff\xd8")
    facts = []
    assert gpu_preflight.photo_problems(tmp_path, facts) == [] and facts == [f"{len(PHOTOS)} photos in {tmp_path}"]
    (tmp_path / PHOTOS[3]).write_bytes(b"")
    assert gpu_preflight.photo_problems(tmp_path, []) == [
        f"1 of {len(PHOTOS)} photos missing or empty in {tmp_path} (e.g. {PHOTOS[3]}): make it with "
        f"`python -m training.photos --output {tmp_path}` and carry it to the GPU machine"
    ]


def test_each_missing_module_is_named_on_its_own_line(monkeypatch):
    monkeypatch.setattr(gpu_preflight, "MODULES", {"numpy": "numpy", "no_such_module_a": "A", "no_such.b": "B"})
    assert gpu_preflight.missing_modules() == ["missing Python module 'no_such_module_a': A",
                                               "missing Python module 'no_such.b': B"]  # fmt: skip


def test_an_output_folder_that_cannot_be_made_is_a_problem(tmp_path):
    (tmp_path / "file").write_text("")
    (problem,) = gpu_preflight.output_problems(str(tmp_path / "file" / "out"), [])
    assert problem.startswith(f"output folder {tmp_path / 'file' / 'out'} cannot be written: ")
    assert gpu_preflight.output_problems(None, []) == ["no output folder: pass --output or set OUT"]
    facts = []
    assert gpu_preflight.output_problems(str(tmp_path / "a" / "b"), facts) == [] and facts


def test_without_photos_the_folder_is_not_checked(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_preflight, "cuda_problems", lambda facts: [])
    monkeypatch.setattr(gpu_preflight, "nvidia_smi_problems", lambda: [])
    problems, _, facts = gpu_preflight.preflight(str(tmp_path), check_photos=False)
    assert problems == gpu_preflight.missing_modules() and facts == [f"{tmp_path} writable"]
    problems, _, _ = gpu_preflight.preflight(str(tmp_path), photos=tmp_path / "none")
    assert problems[-1].startswith(f"no photo folder {tmp_path / 'none'}")

"""`golf-rt deblur` through the real entry point (`python -m golf_rt.cli`), on real files, as a user runs it."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from golf_rt.images.files import load_image, read_image, save_image

from ..cli_helpers import golf_rt, golf_rt_command
from ..conftest import needs_torch

RNG = np.random.default_rng(0)


def without_root_file_access() -> tuple[str, ...]:
    """A command prefix under which root obeys file permissions (as every other user does)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root, and setpriv (util-linux) is missing to drop root's file access")
    return ("setpriv", "--bounding-set", "-dac_override,-dac_read_search")


def rgb(height: int = 24, width: int = 32) -> np.ndarray:
    return (RNG.random((height, width, 3)) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    save_image(folder / "rgb.png", rgb())
    save_image(folder / "deep.png", (RNG.random((20, 20, 3)) * 65535).astype(np.uint16))
    save_image(folder / "grey.bmp", (RNG.random((20, 22)) * 255).astype(np.uint8))
    (folder / "notes.txt").write_text("not an image")
    return folder


@needs_torch
def test_deblur_keeps_names_kinds_and_writes_comparisons(image_folder, checkpoint_path, cached_onnx, tmp_path):
    result = golf_rt(
        "deblur", str(image_folder), "-o", str(tmp_path), "--checkpoint", str(checkpoint_path), "--compare"
    )
    assert result.returncode == 0, result.stderr
    assert "3 images in" in result.stdout and "images/s" in result.stdout and "median" in result.stdout
    assert load_image(tmp_path / "deep.png").dtype == np.uint16
    assert load_image(tmp_path / "grey.bmp").shape == (20, 22)
    assert load_image(tmp_path / "rgb_compare.png").shape == (24, 64, 3)
    assert load_image(tmp_path / "deep_compare.png").dtype == np.uint16
    assert not (tmp_path / "notes.txt").exists()


@needs_torch
def test_one_bad_file_does_not_stop_the_good_ones(checkpoint_path, cached_onnx, tmp_path):
    inputs = tmp_path / "in"
    for name in ("a.png", "c.jpg", "e.png"):
        save_image(inputs / name, rgb())
    truncated = (inputs / "a.png").read_bytes()
    (inputs / "b.png").write_bytes(truncated[: len(truncated) // 2])
    (inputs / "d.png").write_text("a text file named like an image")
    result = golf_rt("deblur", str(inputs), "-o", str(tmp_path / "out"), "--checkpoint", str(checkpoint_path))
    assert result.returncode == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.jpg", "e.png"]
    assert "3 images in" in result.stdout
    failures = result.stderr[result.stderr.index("error: 2 of 5 images failed:") :].splitlines()[1:]
    assert failures[0].startswith(f"  {inputs / 'b.png'}: truncated or corrupt")
    assert failures[1] == f"  {inputs / 'd.png'}: not an image file (no image format recognises its content)"


@needs_torch
def test_recursive_mirrors_subfolders_and_without_it_they_are_mentioned(checkpoint_path, cached_onnx, tmp_path):
    inputs = tmp_path / "in"
    for name in ("top.png", "2023/june/deep.png", "2024/b.png"):
        save_image(inputs / name, rgb())
    args = ["--checkpoint", str(checkpoint_path)]
    flat = golf_rt("deblur", str(inputs), "-o", str(tmp_path / "flat"), *args)
    assert flat.returncode == 0, flat.stderr
    assert "note: 2 subfolders not searched" in flat.stderr and "--recursive" in flat.stderr
    assert [p.name for p in (tmp_path / "flat").iterdir()] == ["top.png"]
    deep = golf_rt("deblur", str(inputs), "-o", str(inputs / "sharp"), "--recursive", *args)
    assert deep.returncode == 0, deep.stderr
    written = sorted(str(p.relative_to(inputs / "sharp")) for p in (inputs / "sharp").rglob("*.png"))
    assert written == ["2023/june/deep.png", "2024/b.png", "top.png"]
    again = golf_rt("deblur", str(inputs), "-o", str(inputs / "sharp"), "--recursive", *args, "--overwrite")
    assert again.returncode == 0 and "3 images in" in again.stdout  # earlier results are not inputs


@needs_torch
def test_jpeg_results_keep_quality_exif_icc_and_come_out_upright(checkpoint_path, cached_onnx, tmp_path):
    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "golf camera"  # stored on its side, shown rotated 90 degrees clockwise
    Image.fromarray(rgb(24, 32)).save(tmp_path / "photo.jpg", quality=83, exif=exif, icc_profile=b"\0\0\0\x10icc")
    result = golf_rt("deblur", str(tmp_path / "photo.jpg"), "-o", str(tmp_path / "out"), "--checkpoint",
                     str(checkpoint_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    given, out = read_image(tmp_path / "photo.jpg"), read_image(tmp_path / "out/photo.jpg")
    assert out.pixels.shape == given.pixels.shape == (32, 24, 3)
    assert out.jpeg_tables["qtables"] == given.jpeg_tables["qtables"]
    assert out.metadata["icc_profile"] == b"\0\0\0\x10icc"
    with Image.open(tmp_path / "out/photo.jpg") as saved:
        assert saved.getexif()[0x010F] == "golf camera" and 0x0112 not in saved.getexif()


@needs_torch
def test_deblur_never_overwrites_an_input(image_folder, checkpoint_path):
    before = (image_folder / "rgb.png").read_bytes()
    result = golf_rt(
        "deblur", str(image_folder / "rgb.png"), "-o", str(image_folder), "--checkpoint", str(checkpoint_path)
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and "overwrite an input" in result.stderr
    assert (image_folder / "rgb.png").read_bytes() == before


def test_deblur_of_a_missing_input_is_one_line(tmp_path):
    result = golf_rt("deblur", str(tmp_path / "missing.png"), "-o", str(tmp_path / "out"))
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0
    assert "no such file or folder" in result.stderr


@pytest.mark.parametrize("where", ["a file", "under /proc", "read-only"])
def test_an_unusable_output_is_refused_before_any_work(image_folder, tmp_path, where):
    prefix: tuple[str, ...] = ()
    if where == "a file":
        output = save_image(tmp_path / "taken.png", rgb())
    elif where == "under /proc":
        output = Path("/proc/golf-rt-results")
    else:
        prefix, output = without_root_file_access(), tmp_path / "locked" / "results"
        output.parent.mkdir()
        output.parent.chmod(0o555)
    missing = tmp_path / "no-such-checkpoint.safetensors"  # loading it would fail: the output is checked first
    result = golf_rt("deblur", str(image_folder), "-o", str(output), "--checkpoint", str(missing), prefix=prefix)
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("error: ") and str(output) in result.stderr and "checkpoint" not in result.stderr


@needs_torch
def test_ctrl_c_leaves_every_written_result_whole(checkpoint_path, cached_onnx, tmp_path):
    inputs, output = tmp_path / "in", tmp_path / "out"
    for i in range(150):  # minutes of work on a busy machine, so Ctrl-C lands mid-run
        save_image(inputs / f"{i:03d}.png", rgb(128, 128))
    command = golf_rt_command("deblur", str(inputs), "-o", str(output))
    process = subprocess.Popen([*command, "--checkpoint", str(checkpoint_path)], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(output.glob("*.png")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=300)
    written = sorted(output.iterdir())
    assert process.returncode == 130 and "interrupted" in stdout and 0 < len(written) < 150
    assert not [p for p in written if p.name.startswith(".")]  # no temporary file is left
    for path in written:
        assert load_image(path).shape == (128, 128, 3)


def test_a_second_run_keeps_the_results_in_place_and_overwrite_redoes_them(tmp_path):
    inputs, output = tmp_path / "in", tmp_path / "out"
    for name in ("a.png", "b.jpg", "c.png"):
        save_image(inputs / name, rgb())
    first = golf_rt("deblur", str(inputs), "-o", str(output), "--compare")  # shipped model
    assert first.returncode == 0 and "3 images in" in first.stdout, first.stderr
    (output / "b.jpg").unlink()
    (output / "c_compare.png").unlink()  # a job is done when all its results are in place
    kept = {name: (output / name).stat().st_ino for name in ("a.png", "a_compare.png")}
    second = golf_rt("deblur", str(inputs), "-o", str(output), "--compare")
    assert second.returncode == 0 and "2 images in" in second.stdout, second.stderr
    assert f"kept 1 results already in {output} (--overwrite deblurs them again)" in second.stdout
    assert kept == {name: (output / name).stat().st_ino for name in kept}
    assert load_image(output / "b.jpg").shape == (24, 32, 3) and (output / "c_compare.png").is_file()
    third = golf_rt("deblur", str(inputs), "-o", str(output), "--compare")
    assert third.returncode == 0 and third.stdout.startswith(f"nothing to do: all 3 results are already in {output}")
    redone = golf_rt("deblur", str(inputs), "-o", str(output), "--compare", "--overwrite")
    assert redone.returncode == 0 and "3 images in" in redone.stdout and "kept" not in redone.stdout
    assert all((output / name).stat().st_ino != inode for name, inode in kept.items())


def test_a_type_it_cannot_write_back_is_refused_before_any_inference(tmp_path):
    gif = tmp_path / "photo.gif"
    Image.fromarray(rgb(1500, 2000)).save(gif)
    missing = tmp_path / "no-such-checkpoint.safetensors"  # loading it would fail: the type is checked first
    started = time.monotonic()
    result = golf_rt("deblur", str(gif), "-o", str(tmp_path / "out"), "--checkpoint", str(missing))
    assert time.monotonic() - started < 30
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith(f"error: {gif}: golf-rt reads and writes png, ")
    assert "not .gif files; convert it to PNG first" in result.stderr
    assert not (tmp_path / "out").exists()


def test_webp_is_deblurred_with_its_metadata_and_the_comparison_keeps_the_colour_profile(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "golf camera"
    icc = b"\0\0\0\x10icc"
    Image.fromarray(rgb(48, 64)).save(tmp_path / "photo.webp", lossless=True, exif=exif, icc_profile=icc, xmp=b"<x/>")
    result = golf_rt("deblur", str(tmp_path / "photo.webp"), "-o", str(tmp_path / "out"), "--compare")  # shipped model
    assert result.returncode == 0, result.stderr
    out = read_image(tmp_path / "out/photo.webp")
    assert out.format == "WEBP" and out.webp_lossless and out.pixels.shape == (48, 64, 3)
    assert out.metadata["icc_profile"] == icc and out.metadata["xmp"] == b"<x/>"
    with Image.open(tmp_path / "out/photo.webp") as saved:
        assert saved.getexif()[0x010F] == "golf camera"
    assert read_image(tmp_path / "out/photo_compare.png").metadata["icc_profile"] == icc


def test_a_folder_run_lists_the_files_it_skipped_and_why(tmp_path):
    inputs = tmp_path / "in"
    save_image(inputs / "a.png", rgb())
    Image.fromarray(rgb()).save(inputs / "b.gif")
    (inputs / "notes.txt").write_text("not an image")
    (inputs / ".c.gif").write_bytes((inputs / "b.gif").read_bytes())  # a side file: left out silently
    result = golf_rt("deblur", str(inputs), "-o", str(tmp_path / "out"))  # shipped model
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]
    listed = result.stdout[result.stdout.index("skipped 2 files in the input folders:") :].splitlines()[1:3]
    assert listed[0].startswith(f"  {inputs / 'b.gif'}: golf-rt reads and writes png, ")
    assert listed[0].endswith("not .gif files")
    assert listed[1].startswith(f"  {inputs / 'notes.txt'}: ") and "not .txt files" in listed[1]


def test_a_precision_the_fastest_backend_lacks_names_the_backend_taken_and_why(tmp_path):
    from golf_rt.backends import available_backends

    here = available_backends()
    if "openvino" not in here or "fp16" in here["openvino"] or "fp16" not in here.get("onnxruntime", ()):
        pytest.skip("needs OpenVINO without fp16 and ONNX Runtime with it, as on a CPU without AVX512-FP16")
    image = save_image(tmp_path / "in.png", rgb())
    result = golf_rt("deblur", str(image), "-o", str(tmp_path / "out"), "--precision", "fp16")
    assert result.returncode == 0, result.stderr
    assert "note: deblurring with onnxruntime fp16: openvino, the fastest backend here, does not run fp16" in (
        result.stderr
    )
    assert "with onnxruntime fp16 ->" in result.stdout


def test_the_ray_rate_counts_from_the_first_batch_by_arrival_times_alone():
    from golf_rt.commands.deblur import steady_rate

    # 60 s of start-up, then batches of 4 every 2 s: 2 images/s, whatever the start-up took
    arrivals = [60.0 + 2 * (i // 4) for i in range(12)]
    assert steady_rate(arrivals, 4) == pytest.approx(8 / 4.0)
    assert steady_rate(arrivals[:4], 4) is None and steady_rate([1.0, 1.0], 1) is None

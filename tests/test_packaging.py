"""The wheel a user installs: the golf_rt package with its model files, nothing else at top level."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        str(ROOT),
        "-w",
        str(out),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    (found,) = out.glob("golf_rt-*.whl")
    return found


def test_the_wheel_installs_golf_rt_only_with_its_weights_and_models(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"golf_rt"}
    assert "golf_rt/weights/golf_default.safetensors" in names
    assert any(name.startswith("golf_rt/models/") and name.endswith(".onnx") for name in names)


def test_the_client_extra_brings_tritonclient_and_no_runtime(wheel: Path):
    archive = zipfile.ZipFile(wheel)
    (metadata,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
    requires = Parser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist")
    client = [req.split(";")[0].strip() for req in requires if 'extra == "client"' in req]
    base = [req for req in requires if "extra ==" not in req]
    assert client and all(req.startswith("tritonclient") for req in client)
    heavy = ("torch", "onnxruntime", "openvino", "tensorrt")
    assert not [req for req in base + client if req.startswith(heavy)]


def test_numpy_2_is_admitted_everywhere_but_beside_pytriton(wheel: Path):
    """numpy 1 has no wheel for Python 3.13: only the serve extra (PyTriton's pin) may hold it back."""
    from packaging.requirements import Requirement

    archive = zipfile.ZipFile(wheel)
    (metadata,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
    numpy = [Requirement(r) for r in Parser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist")
             if r.startswith("numpy")]  # fmt: skip
    pinned = {str(r.marker) for r in numpy if not r.specifier.contains("2.1.0")}
    assert pinned == {'extra == "serve"'}
    assert any(r.marker is None and r.specifier.contains("2.1.0") for r in numpy)


def _readme_set_up(marker: str) -> str:
    """The README's set-up command (from a fresh virtual environment) that runs `marker`."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt().parse((ROOT / "README.md").read_text(encoding="utf-8"))
    blocks = [t.content for t in tokens if t.type == "fence" and t.info.strip() == "bash"]
    (block,) = [b for b in blocks if b.startswith("python3 -m venv") and marker in b]
    return block


def _requirements(extras: list[str]) -> list[str]:
    """Every requirement the extras bring from pyproject.toml, golf-rt[...] references followed."""
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    found, todo = [], list(extras)
    while todo:
        for requirement in optional[todo.pop()]:
            if requirement.startswith("golf-rt["):
                todo.extend(requirement[len("golf-rt[") : -1].split(","))
            else:
                found.append(requirement)
    return found


def test_the_readme_main_job_installs_no_torch_and_the_tests_take_pytorchs_cpu_build():
    import re

    main_job = _readme_set_up("golf-rt demo")
    (extras,) = re.findall(r'pip install -e "\.\[([a-z,-]+)\]"', main_job)
    assert "torch" not in main_job and not [r for r in _requirements(extras.split(",")) if r.startswith("torch")]
    assert {"serve", "eval"} <= set(extras.split(","))  # Triton and the runtimes; PSNR and the held-out photos
    tests = _readme_set_up("python -m pytest -q tests")
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in ci
    assert "\npython -m pytest -q tests " in ci

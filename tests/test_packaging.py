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

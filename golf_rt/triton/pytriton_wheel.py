"""The `tritonserver` inside the nvidia-pytriton wheel: its binary, libraries, Python backend and stubs.

The wheel is the only pip-installable Triton server. It carries the server binary, its shared
libraries (`nvidia_pytriton.libs`, next to the package), the Python backend and one backend stub
per Python version; this module finds them and lays out a backend folder for the running Python,
so that `golf_rt.triton.server` only has to start a process.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from golf_rt.errors import ServerError
from golf_rt.machine.extras import require


def pytriton_distribution() -> tuple[Path, Path]:
    """The wheel's `tritonserver` folder and its `nvidia_pytriton.libs`; MissingPackageError without the wheel."""
    pytriton = require("pytriton", "running tritonserver on this machine")
    root = Path(pytriton.__file__).parent
    dist = root / "tritonserver"
    libs = root.parent / "nvidia_pytriton.libs"
    if not (dist / "bin" / "tritonserver").is_file():
        raise ServerError(f"the nvidia-pytriton wheel at {root} has no tritonserver binary; reinstall nvidia-pytriton")
    return dist, libs


def tritonserver_binary() -> Path:
    """The server executable of the installed wheel."""
    dist, _ = pytriton_distribution()
    return dist / "bin" / "tritonserver"


def backend_dir_from_pytriton(destination: Path) -> Path:
    """Assemble `<destination>/python/` with the Python backend and the stub for this Python version."""
    dist, _ = pytriton_distribution()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = dist / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        known = sorted(p.name for p in (dist / "python_backend_stubs").iterdir())
        raise ServerError(f"nvidia-pytriton ships no Python backend stub for Python {version} (it has {known})")
    python_dir = destination / "python"
    python_dir.mkdir(parents=True, exist_ok=True)
    for item in (dist / "backends" / "python").iterdir():
        if item.is_file():
            shutil.copy2(item, python_dir / item.name)
    shutil.copy2(stub, python_dir / stub.name)
    return destination


def server_environment() -> dict[str, str]:
    """Environment for the server and its stubs: the wheel's libraries, this venv first, this golf_rt importable.

    The stub imports `golf_rt.triton.python_model` (each model's `1/model.py` says so), so the
    folder holding this golf_rt goes first on PYTHONPATH: the server runs the code that wrote it.
    """
    _, libs = pytriton_distribution()
    env = os.environ.copy()
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(libs), env.get("LD_LIBRARY_PATH", "")) if p)
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env

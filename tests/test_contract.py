"""The model's contract: one light module, and the names every layer reads from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from golf_rt import contract
from golf_rt.machine.environment import installed

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "onnxruntime", "openvino", "tensorrt")


def _loaded_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    code = f"import sys; {statement}; print(','.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return [m for m in out.strip().split(",") if m]


def test_the_contract_imports_neither_numpy_nor_pillow_nor_a_runtime():
    assert _loaded_after("import golf_rt.contract", ("numpy", "PIL", *HEAVY)) == []


@pytest.mark.parametrize("module", ["golf_rt", "golf_rt.client", "golf_rt.triton.python_model", "golf_rt.cli"])
def test_importing_the_package_loads_no_inference_library(module: str):
    assert _loaded_after(f"import {module}", HEAVY) == []


def test_the_model_facts_agree_with_the_contract():
    from golf_rt.model.facts import PAPER, parameters, summary

    assert parameters(contract.F_FILTERS) == PAPER["params"]["F"]
    assert parameters(contract.G_FILTERS) == PAPER["params"]["G"]
    assert summary()["iterations"] == contract.DEFAULT_ITERATIONS
    assert contract.MAX_SIDE**2 <= contract.MAX_PIXELS < (contract.MAX_SIDE + 1) ** 2
    assert contract.TOLERANCE["fp32"] < contract.TOLERANCE["fp16"]


@pytest.mark.skipif(not installed("torch"), reason="torch is not installed")
def test_the_networks_build_what_the_contract_says():
    from golf_rt.model import networks

    assert (networks.F_FILTERS, networks.G_FILTERS) == (contract.F_FILTERS, contract.G_FILTERS)
    assert networks.DEFAULT_ITERATIONS == contract.DEFAULT_ITERATIONS
    assert (networks.build_f().filters, networks.build_g().filters) == (contract.F_FILTERS, contract.G_FILTERS)


@pytest.mark.parametrize("module", ["golf_rt", "golf_rt.client"])
def test_the_synchronous_client_loads_no_asyncio(module: str):
    assert _loaded_after(f"import {module}", ("asyncio",)) == []


def test_the_async_client_is_there_when_asked_for():
    assert _loaded_after("from golf_rt.client import AsyncGolfClient", ("asyncio",)) == ["asyncio"]

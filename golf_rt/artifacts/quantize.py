"""INT8 copies of the ONNX files: post-training quantisation with NNCF, calibrated on synthetic blur.

NNCF inserts QuantizeLinear/DequantizeLinear pairs around the convolutions (8-bit weights per
output channel, 8-bit activations) and leaves Instance Norm, the residual additions and the
output in float. OpenVINO runs such a QDQ ONNX file with int8 convolutions (VNNI/AMX on x86).

Calibration never uses photos a model is judged on: it blurs procedural dead-leaves images with
the training kernel mix, noise and 8-bit rounding, like the training data. G's parts are
calibrated on what G sees: F's output on those images.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from pathlib import Path

import numpy as np

from golf_rt.artifacts.names import META_PART, META_PRECISION, onnx_file_name, read_onnx_metadata
from golf_rt.contract import INPUT_NAME
from golf_rt.errors import ConfigurationError
from golf_rt.machine.atomic_files import atomic_path
from golf_rt.machine.extras import require

logger = logging.getLogger(__name__)

CALIBRATION_IMAGES = 32
CALIBRATION_SIZE = 256
CALIBRATION_SEED = 20261128
G_PARTS = frozenset({"g", "g_unrolled"})


def calibration_inputs(count: int = CALIBRATION_IMAGES, size: int = CALIBRATION_SIZE, seed: int = CALIBRATION_SEED):
    """`count` blurry 1x3xSxS float32 images like the training data, deterministic for `seed`."""
    from golf_rt.images.synthetic import BlurSpec, dead_leaves, degrade

    rng = np.random.default_rng(seed)
    spec = BlurSpec(extent=(3, 31), model="mixed", noise_sigma=(0.0, 0.02), quantize=True, sharp_fraction=0.25)
    inputs = []
    for _ in range(count):
        blurry, _ = degrade(dead_leaves(rng, size), rng, spec)
        inputs.append(np.ascontiguousarray(np.clip(blurry, 0, 1).transpose(2, 0, 1)[None], dtype=np.float32))
    return inputs


def f_outputs(f_onnx: str | Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """F's output for each input: what G's parts see, hence what they are calibrated on."""
    ort = require("onnxruntime", "calibrating G on F's output")
    session = ort.InferenceSession(str(f_onnx), providers=["CPUExecutionProvider"])
    return [session.run(None, {INPUT_NAME: x})[0] for x in inputs]


def int8_onnx_from_onnx(
    source: str | Path, destination: str | Path | None = None, inputs: list[np.ndarray] | None = None
) -> Path:
    """A QDQ INT8 copy of an FP32 ONNX file, calibrated on `inputs` (None = `calibration_inputs()`).

    Written next to the source as `<stem>_int8.onnx` unless `destination` is given; the file
    appears whole or not at all. For G's parts the inputs must be F's outputs (`f_outputs`).
    """
    onnx = require("onnx", "an INT8 ONNX file", extra="quantize")
    nncf = require("nncf", "an INT8 ONNX file", extra="quantize")
    source = Path(source)
    destination = source.with_name(f"{source.stem}_int8.onnx") if destination is None else Path(destination)
    metadata = read_onnx_metadata(source)
    if metadata.get(META_PRECISION, "fp32") != "fp32":
        raise ConfigurationError(f"{source} is {metadata[META_PRECISION]}; quantise the fp32 file")
    if metadata.get(META_PART) in G_PARTS and inputs is None:
        logger.warning("calibrating %s on blurry images, not on F's output", source.name)
    inputs = calibration_inputs() if inputs is None else inputs
    model = onnx.load(str(source))
    logger.info("quantising %s on %d calibration images", source.name, len(inputs))
    # NNCF draws its progress bar on stdout, which belongs to the command's table: move it to stderr
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        quantized = nncf.quantize(
            model, nncf.Dataset(inputs, lambda x: {INPUT_NAME: x}), subset_size=len(inputs), fast_bias_correction=True
        )
    del quantized.metadata_props[:]
    for key, value in metadata.items():
        quantized.metadata_props.add(key=key, value="int8" if key == META_PRECISION else value)
    quantized.graph.name = destination.stem
    onnx.checker.check_model(quantized)
    with atomic_path(destination) as temporary:
        onnx.save(quantized, str(temporary))
    return destination


def int8_onnx_files(
    sources: dict[str, Path],
    folder: str | Path,
    iterations: int,
    f_onnx: str | Path | None = None,
    images: int = CALIBRATION_IMAGES,
    size: int = CALIBRATION_SIZE,
) -> dict[str, Path]:
    """INT8 copies of `sources` (part -> fp32 ONNX file) in `folder`, named `*_int8.onnx`.

    One calibration set serves every part; G's parts see F's output on it, so `f_onnx` (F's fp32
    file) is needed when `sources` holds one of them.
    """
    inputs, g_inputs = calibration_inputs(images, size), None
    if G_PARTS & sources.keys():
        if f_onnx is None:
            raise ConfigurationError("quantising G's parts needs F's ONNX file (f_onnx): they calibrate on its output")
        g_inputs = f_outputs(f_onnx, inputs)
    return {
        part: int8_onnx_from_onnx(
            source, Path(folder) / onnx_file_name(part, iterations, int8=True), g_inputs if part in G_PARTS else inputs
        )
        for part, source in sources.items()
    }

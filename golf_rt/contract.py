"""The model's contract: the facts every layer must agree on, kept in one place that imports nothing.

The exporter writes these tensor names into the ONNX files, the runners and the Triton writer
read them back, and the client sends them over the wire; the size limits and tolerances are what
every backend promises. A change here is a change to the model's interface, so it lives in one
module that the Triton stub, the client and the training code can all import without torch,
numpy or Pillow.
"""

from __future__ import annotations

INPUT_NAME = "BLURRY"
"""The one input of every ONNX file and Triton model: float32 N x 3 x H x W in [0, 1]."""
OUTPUT_NAME = "SHARP"
"""The one output, same shape as the input, not clipped."""
MODEL_NAME = "golf"
"""The public Triton model that clients call, whatever the repository layout behind it."""
CHANNELS = 3
"""Colour channels the networks take and give (grey images are replicated to three)."""

F_FILTERS = 32
"""Filters of F, the network that makes the first, aggressive step."""
G_FILTERS = 16
"""Filters of G, the network applied recurrently after F."""
DEFAULT_ITERATIONS = 3
"""Times G runs after F at inference (the paper's setting)."""

MIN_SIDE = 4
"""Smallest height and width: a 7x7 convolution pads 3 pixels by reflection, which needs a side of
at least 4 (ONNX Runtime, OpenVINO and PyTorch all refuse less); Instance Norm needs 2."""
PEAK_BYTES_PER_PIXEL = 1250
"""Memory that deblurring one image takes per pixel at its peak, over the process at rest: measured
at fp32 on 1000x1333 and 4000x3000 photos, ONNX Runtime 1,173-1,216 bytes, OpenVINO 706-732
(docs/engines.md, "Large images"). The largest of the CPU backends, rounded up."""
MEMORY_BUDGET_BYTES = 16 * 2**30
"""Memory (16 GiB) that one image may take while it is deblurred: this sets the size limit."""
MAX_SIDE = int((MEMORY_BUDGET_BYTES // PEAK_BYTES_PER_PIXEL) ** 0.5)
"""Side of the largest square image within the memory budget (3707)."""
MAX_PIXELS = MAX_SIDE * MAX_SIDE
"""Largest image, in pixels (13,741,849, any shape: 4000 x 3000 fits, 4096 x 4096 does not); Instance
Norm is global, so an image is never tiled, and its memory grows with its pixels."""

PRECISIONS = ("fp32", "fp16", "bf16", "int8")
"""Every precision some backend can run; each backend says which of them it runs here."""
TOLERANCE = {"fp32": 1e-4, "fp16": 5e-2, "bf16": 1e-1, "int8": 5e-1}
"""Largest absolute difference from the fp32 PyTorch reference expected at each precision;
an export must match PyTorch within the fp32 one before it is kept. int8's worst pixel can be
far off where calibration saw no such input (the shipped model: 0.03); what it costs on average
is what the PSNR budget below judges."""
PSNR_BUDGET_DB = 0.05
"""Deblurring PSNR (dB) that a reduced precision may cost against the fp32 reference."""

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
MAX_PIXELS = 300_000_000
"""Largest image golf-rt reads or deblurs, in pixels (300 MP: a 100 MP panorama fits three times):
a guard against decompression bombs, not a memory bound, since images larger than a tile are
deblurred in tiles and memory does not grow with the photo beyond its own pixels. The variable
GOLF_RT_MAX_PIXELS changes it (`golf_rt.images.pixels.max_pixels`)."""
MAX_SIDE = int(MAX_PIXELS**0.5)
"""Side of the largest square image (17,320)."""
SERVED_MAX_PIXELS = 3707 * 3707
"""Largest image one request to the server may carry (13.7 MP, about 16 GiB while it runs whole on a
CPU): the server runs what it is sent whole; `GolfClient` sends larger photos as tiles."""

TILE_SIZE = 384
"""Side of the square tiles a large image is deblurred in (`golf_rt.images.tiles`): memory and engine
shapes are bounded by the tile, not the photo. An image no larger than one tile runs whole."""
TILE_OVERLAP = 32
"""Pixels that neighbouring tiles share; their outputs are blended linearly across it."""
CPU_TILE_SIZE = 768
"""Tile side for runners that take any input shape (the CPU backends); TILE_SIZE stays the side of
GPU engines' profiles and of the tiles a client sends. With the shipped checkpoint, tiles of 384
left their overlaps 0.18 dB worse than the rest of the photo against whole-image deblurring, and
tiles of 768 0.07 dB (the gate allows 0.1 dB: `training.tile_quality`); fewer overlaps also
redo less work (`benchmarks/sizes.py --tilings`)."""
GPU_TILE_BATCH = 4
"""Tiles per call on a GPU (enough to fill it); CPU backends take one tile per call, which keeps
each tile's feature maps in the caches."""

PRECISIONS = ("fp32", "fp16", "bf16", "int8")
"""Every precision some backend can run; each backend says which of them it runs here."""
TOLERANCE = {"fp32": 1e-4, "fp16": 5e-2, "bf16": 1e-1, "int8": 5e-1}
"""Largest absolute difference from the fp32 PyTorch reference expected at each precision;
an export must match PyTorch within the fp32 one before it is kept. int8's worst pixel can be
far off where calibration saw no such input (the shipped model: 0.03); what it costs on average
is what the PSNR budget below judges."""
HARD_TOLERANCE = {"fp32": 0.05, "fp16": 0.1, "bf16": 0.25, "int8": 0.5}
"""Largest absolute difference from fp32 PyTorch on the hard inputs (`golf_rt.quality.hard_inputs`): on a
1-pixel checkerboard Instance Norm divides by a near-zero variance, so even two fp32 runtimes
differ there (ONNX Runtime 0.027, OpenVINO 0.047 with the shipped model); fp16 (0.050) costs no
more than that, bf16 0.114, int8 0.055. Natural images stay within `TOLERANCE`."""
PSNR_BUDGET_DB = 0.05
"""Deblurring PSNR (dB) that a reduced precision may cost against the fp32 reference."""

API_KEY_HEADER = "golf-api-key"
"""The header that carries the API key of a server started with one: the server is told to demand
it, the client sends it (over gRPC, Triton expects it under `triton-grpc-protocol-` + this name)."""
API_KEY_ENV = "GOLF_RT_API_KEY"
"""The environment variable a client, `golf-rt serve` and a cluster's pods read the API key from."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Addresses only this machine reaches: a server bound to one needs neither an API key nor TLS,
and a client talking to one may use system shared memory."""

"""Large images in tiles: memory, engine shapes and CUDA graphs are bounded by the tile, not the photo.

An image larger than one tile is cut into tiles of at most `Tiling.size` a side that overlap by
`Tiling.overlap` pixels: the fewest that cover it, all of one shape, as even as they go
(`tile_span`), so that little is computed twice. Tiles go through the runner in batches (`Runner.tile_batch`: one on a
CPU, several on a GPU), and each output tile is weighted by a ramp across the overlaps (zero on
the pixels next to its own border, where its padding shows) and added into the result. The
weights are separable and sum to exactly one at every pixel, so no weight image is kept. An image
no larger than one tile, or `Tiling(0)`, runs whole as before.

The network's Instance Norm sees a tile's statistics instead of the photo's: the model was trained
on 64-96 px crops, where that is what it always saw. `training.gate` measures tiled against whole
image PSNR and the seams per checkpoint; docs/engines.md ("Tiles") has the numbers.

numpy only: `golf_rt.client` tiles with this module too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from golf_rt.contract import CHANNELS, TILE_OVERLAP, TILE_SIZE
from golf_rt.errors import ConfigurationError

SMALLEST_TILE = 64
"""Smallest tile side: smaller tiles give Instance Norm too few pixels and spend most time on overlaps."""

Progress = Callable[[int, int], None]
"""Called with (tiles done, tiles in all) after each batch of tiles."""


@dataclass(frozen=True)
class Tiling:
    """Tile side and overlap in pixels; size 0 deblurs every image whole.

    `even`: tiles as even as they go (`tile_span`: least work); False: every tile `size` a side,
    the last moved back to the border (one shape for every photo: TensorRT's engine and CUDA
    graphs of one shape, `Runner.fixed_tile_shape`).
    """

    size: int = TILE_SIZE
    overlap: int = TILE_OVERLAP
    even: bool = True

    def __post_init__(self) -> None:
        if self.size != 0 and self.size < SMALLEST_TILE:
            raise ConfigurationError(f"tile size must be 0 (whole image) or at least {SMALLEST_TILE}, got {self.size}")
        if self.size and not 0 <= self.overlap <= self.size // 4:
            raise ConfigurationError(
                f"tile overlap must be between 0 and a quarter of the tile ({self.size // 4}), got {self.overlap}"
            )

    def splits(self, height: int, width: int) -> bool:
        """Whether an image of this size is cut into tiles (else it runs whole)."""
        return self.size > 0 and (height > self.size or width > self.size)

    def count(self, height: int, width: int) -> int:
        """Tiles of one image of this size (1 when it runs whole)."""
        if not self.splits(height, width):
            return 1
        return len(self.starts(height)) * len(self.starts(width))

    def span(self, length: int) -> int:
        """The tiles' side along an axis of `length`."""
        return tile_span(length, self.size, self.overlap, self.even)

    def starts(self, length: int) -> list[int]:
        """Where the tiles start along an axis of `length`."""
        return tile_starts(length, self.size, self.overlap, self.even)


WHOLE = Tiling(0)
"""Every image at once, as the paper runs it."""


def tiling_from(tile: int | Tiling | None) -> Tiling:
    """None: the default tiles; 0: whole images; N: tiles of N pixels; or a Tiling as it is."""
    if tile is None:
        return Tiling()
    if tile == 0:
        return WHOLE
    if isinstance(tile, Tiling):
        return tile
    return Tiling(int(tile), min(Tiling().overlap, int(tile) // 4))


def tile_span(length: int, size: int, overlap: int, even: bool = True) -> int:
    """The side of the tiles along an axis of `length`: the fewest tiles of at most `size`, made as even as they go.

    Cutting 4000 px into tiles of 384 overlapping by 32 takes 12; equal tiles of 363 cover it with
    overlaps of 32-33, where 12 of 384 would overlap the last one by 256: 11% less work per axis at
    12 MP, and up to a third less for a photo a little larger than one tile.
    """
    if length <= size or not even:
        return min(length, size)
    count = math.ceil((length - overlap) / (size - overlap))
    return math.ceil((length + (count - 1) * overlap) / count)


def tile_starts(length: int, size: int, overlap: int, even: bool = True) -> list[int]:
    """Where the tiles (`tile_span` long) start along an axis of `length`, the last ending at the border."""
    span = tile_span(length, size, overlap, even)
    if span == length:
        return [0]
    return [*range(0, length - span, span - overlap), length - span]


def _ramp(shared: int) -> np.ndarray:
    """Rising weights across an overlap of `shared` pixels; with its mirror image they sum to 1.

    0 over the first sixteenth, the pixels next to the tile's own border (its padding), then
    linear, then 1 over the last sixteenth: a long ramp hides the change of Instance Norm
    statistics between tiles best (a quarter at 0 cost 0.07 dB more in the seams).
    """
    margin = shared // 16
    return np.clip((np.arange(shared) + 0.5 - margin) / max(shared - 2 * margin, 1), 0.0, 1.0)


def axis_weights(length: int, size: int, overlap: int, even: bool = True) -> list[np.ndarray]:
    """One float32 weight vector per tile along an axis: ramps across each overlap, summing to one everywhere."""
    starts, span = tile_starts(length, size, overlap, even), tile_span(length, size, overlap, even)
    raw = []
    for k, start in enumerate(starts):
        weight = np.ones(span, np.float64)
        if k > 0:
            shared = starts[k - 1] + span - start
            weight[:shared] = np.minimum(weight[:shared], _ramp(shared))
        if k < len(starts) - 1:
            shared = start + span - starts[k + 1]
            weight[span - shared :] = np.minimum(weight[span - shared :], _ramp(shared)[::-1])
        raw.append(weight)
    total = np.zeros(length, np.float64)
    for start, weight in zip(starts, raw):
        total[start : start + span] += weight
    return [(weight / total[start : start + span]).astype(np.float32) for start, weight in zip(starts, raw)]


Region = Callable[[int, int, int, int], np.ndarray]
"""`region(top, left, height, width)`: that part of one image as 3 x height x width float32 network values."""
WriteRows = Callable[[int, np.ndarray], None]
"""`write_rows(top, rows)`: finished rows of the result, 3 x n x width float32, from row `top` down."""


def run_in_strips(
    run: Callable[[np.ndarray], np.ndarray],
    height: int,
    width: int,
    region: Region,
    write_rows: WriteRows,
    tiling: Tiling = Tiling(),
    tile_batch: int = 1,
    progress: Progress | None = None,
) -> None:
    """Deblur one image larger than a tile a row of tiles at a time, handing on each band of rows once it is final.

    Only one band of `tiling.size` rows is held: tiles are read from `region` as they are needed
    and rows leave through `write_rows` as soon as no later tile touches them, so memory is bounded
    by the tile and the image's width whatever its height. `tile_batch` tiles go to `run` per call.
    """
    size, overlap, even = tiling.size, tiling.overlap, tiling.even
    rows, columns = tiling.starts(height), tiling.starts(width)
    row_weights, column_weights = axis_weights(height, size, overlap, even), axis_weights(width, size, overlap, even)
    tile_h, tile_w = tiling.span(height), tiling.span(width)
    per_call, total, done = max(1, tile_batch), len(rows) * len(columns), 0
    band = np.zeros((CHANNELS, tile_h, width), np.float32)  # image rows rows[k] .. rows[k] + tile_h
    for k, top in enumerate(rows):
        if k:  # keep the rows the last row of tiles shares with this one; the rest was written
            shift = top - rows[k - 1]
            band[:, : tile_h - shift] = band[:, shift:]
            band[:, tile_h - shift :] = 0
        for first in range(0, len(columns), per_call):
            chunk = range(first, min(first + per_call, len(columns)))
            tiles = np.empty((len(chunk), CHANNELS, tile_h, tile_w), np.float32)
            for tile, c in zip(tiles, chunk):
                tile[...] = region(top, columns[c], tile_h, tile_w)
            for result, c in zip(run(tiles), chunk):
                weight = row_weights[k][:, None] * column_weights[c][None, :]
                band[:, :, columns[c] : columns[c] + tile_w] += result * weight
            done += len(chunk)
            if progress:
                progress(done, total)
        final = (rows[k + 1] if k + 1 < len(rows) else height) - top
        write_rows(top, band[:, :final])


def tiles_per_call(tile_batch: int, max_batch: int | None) -> int:
    """Tiles per runner call: the runner's `tile_batch`, no more than the largest batch it takes."""
    return max(1, min(tile_batch, max_batch or tile_batch))


def run_in_tiles(
    run: Callable[[np.ndarray], np.ndarray],
    batch: np.ndarray,
    tiling: Tiling = Tiling(),
    tile_batch: int = 1,
    max_batch: int | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """`run` (a runner's `deblur`) over an N x 3 x H x W batch, in tiles where the images are larger than one.

    `tile_batch` tiles go to `run` per call; whole images go `max_batch` at a time (None: all).
    """
    n, _, height, width = batch.shape
    if not tiling.splits(height, width):
        step = max_batch or n
        parts = []
        for first in range(0, n, step):
            parts.append(run(batch[first : first + step]))
            if progress:
                progress(min(first + step, n), n)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    output = np.empty(batch.shape, np.float32)
    per_image = tiling.count(height, width)
    for i in range(n):

        def region(top: int, left: int, h: int, w: int, i: int = i) -> np.ndarray:
            return batch[i, :, top : top + h, left : left + w]

        def write_rows(top: int, rows: np.ndarray, i: int = i) -> None:
            output[i, :, top : top + rows.shape[1]] = rows

        def step(done: int, total: int, i: int = i) -> None:
            if progress:
                progress(i * per_image + done, n * per_image)

        run_in_strips(run, height, width, region, write_rows, tiling, tiles_per_call(tile_batch, max_batch),
                      step)  # fmt: skip
    return output

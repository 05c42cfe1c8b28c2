"""Tiles: where they start, how they blend, what the runner sees, and that small images run whole."""

import numpy as np
import pytest

from golf_rt.errors import ConfigurationError
from golf_rt.images.tiles import WHOLE, Tiling, axis_weights, run_in_tiles, tile_span, tile_starts, tiling_from


@pytest.mark.parametrize(
    ("length", "size", "overlap"), [(1000, 384, 32), (385, 384, 32), (2000, 64, 16), (700, 128, 0)]
)
def test_tiles_cover_the_axis_and_the_weights_sum_to_one(length, size, overlap):
    starts, span = tile_starts(length, size, overlap), tile_span(length, size, overlap)
    assert span <= size and starts[0] == 0 and starts[-1] == length - span
    assert all(b - a <= span - overlap for a, b in zip(starts, starts[1:]))  # neighbours share `overlap` at least
    assert len(starts) == -(-(length - overlap) // (size - overlap)), "the fewest tiles of at most `size`"
    total = np.zeros(length)
    for start, weight in zip(starts, axis_weights(length, size, overlap)):
        assert weight.shape == (span,) and (weight >= 0).all()
        total[start : start + span] += weight
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


@pytest.mark.parametrize(("length", "computed"), [(385, 418), (577, 610), (736, 768), (4000, 4356)])
def test_tiles_are_as_even_as_they_go_so_little_is_computed_twice(length, computed):
    """A photo a little larger than a tile is not cut into one whole tile and a mostly repeated one."""
    starts, span = tile_starts(length, 384, 32), tile_span(length, 384, 32)
    assert len(starts) * span == computed
    assert max(a + span - b for a, b in zip(starts, starts[1:])) <= 32 + len(starts)


def test_an_image_no_larger_than_a_tile_runs_whole_and_batches_are_split():
    seen = []

    def run(batch):
        seen.append(batch.shape)
        return batch * 2

    batch = np.random.default_rng(0).random((5, 3, 40, 30), dtype=np.float32)
    out = run_in_tiles(run, batch, Tiling(64, 16), tile_batch=4, max_batch=2)
    np.testing.assert_array_equal(out, batch * 2)
    assert seen == [(2, 3, 40, 30), (2, 3, 40, 30), (1, 3, 40, 30)]


def test_tiles_of_one_shape_are_batched_and_an_identity_comes_back_exactly():
    seen, progress = [], []

    def run(batch):
        seen.append(batch.shape)
        return np.array(batch)

    photo = np.random.default_rng(1).random((2, 3, 150, 230), dtype=np.float32)
    photo.flags.writeable = False
    out = run_in_tiles(run, photo, Tiling(64, 16), 3, progress=lambda d, t: progress.append((d, t)))
    np.testing.assert_allclose(out, photo, atol=1e-6)
    count = Tiling(64, 16).count(150, 230) * 2
    assert len({shape[1:] for shape in seen}) == 1 and all(max(shape[2:]) <= 64 for shape in seen)
    assert all(shape[0] <= 3 for shape in seen) and sum(s[0] for s in seen) == count
    assert progress[-1] == (count, count)


def test_a_tiled_local_operator_matches_the_whole_image_away_from_nothing():
    """A 3x3 box filter has a 1-pixel reach: with an overlap wider than that, tiles change nothing."""

    def box(batch):
        padded = np.pad(batch, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
        h, w = batch.shape[2:]
        return sum(padded[:, :, i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9

    photo = np.random.default_rng(2).random((1, 3, 200, 300), dtype=np.float32)
    np.testing.assert_allclose(run_in_tiles(box, photo, Tiling(64, 16)), box(photo), atol=1e-5)


def test_tilings_are_checked():
    assert tiling_from(None) == Tiling() and tiling_from(0) == WHOLE and tiling_from(128) == Tiling(128, 32)
    with pytest.raises(ConfigurationError, match="at least 64"):
        Tiling(32)
    with pytest.raises(ConfigurationError, match="quarter of the tile"):
        Tiling(128, 64)
    assert not WHOLE.splits(10_000, 10_000) and WHOLE.count(10_000, 10_000) == 1


def test_strips_read_one_row_of_tiles_and_hand_on_final_rows_in_order():
    from golf_rt.images.tiles import run_in_strips

    photo = np.random.default_rng(2).random((3, 300, 170), dtype=np.float32)
    events, written = [], np.full(photo.shape, np.nan, np.float32)

    def region(top, left, h, w):
        events.append(("read", top))
        return photo[:, top : top + h, left : left + w]

    def write_rows(top, rows):
        events.append(("write", top))
        written[:, top : top + rows.shape[1]] = rows

    run_in_strips(lambda tiles: tiles * 2, 300, 170, region, write_rows, Tiling(64, 16), tile_batch=2)
    np.testing.assert_allclose(written, photo * 2, rtol=1e-6)  # every row written once, weights sum to one
    columns = len(np.unique([left for left in range(0, 170 - 64, 48)] + [170 - 64]))
    tops = [top for kind, top in events if kind == "write"]
    assert tops == sorted(tops) and events[columns] == ("write", 0), "a band is handed on before the next is read"


def test_fixed_tiles_have_the_full_size_with_the_last_moved_back_to_the_border():
    fixed = Tiling(384, 32, even=False)
    assert fixed.span(4000) == 384 and fixed.starts(4000)[-1] == 4000 - 384 and fixed.span(300) == 300
    assert fixed.count(4000, 3000) == Tiling(384, 32).count(4000, 3000), "as many tiles, of the full size"
    starts = fixed.starts(1000)
    total = np.zeros(1000)
    for start, weight in zip(starts, axis_weights(1000, 384, 32, even=False)):
        total[start : start + 384] += weight
    np.testing.assert_allclose(total, 1.0, atol=1e-6)

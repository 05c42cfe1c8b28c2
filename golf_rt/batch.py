"""`TrustedBatch`: a network batch that passed every check when it was made, so no runner scans it again.

`golf_rt.image_arrays.prepare` checks each image as it converts it (shape, dtype, size, NaN, range)
and writes the result into a new N x 3 x H x W float32 array. It hands that array on as a read-only
`TrustedBatch`; `golf_rt.backends.base.validate_batch` still checks its shape (a few comparisons)
but skips the scan of every value, which costs a full pass over a 12-megapixel photo.

The trust cannot leak to other values: the array is read-only, views of it are read-only too,
copies are writable (so no longer trusted), and arithmetic on it gives a plain `numpy.ndarray`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class TrustedBatch(np.ndarray):
    """A read-only N x 3 x H x W float32 array whose values were checked when it was made."""

    def __array_wrap__(self, array: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        """Results of arithmetic on a trusted batch are plain arrays (or scalars), checked like any other."""
        return array.view(np.ndarray) if array.ndim else array[()]


def trusted(batch: np.ndarray) -> TrustedBatch:
    """`batch`, which the caller has just checked, as a read-only `TrustedBatch` (no copy).

    `batch` itself becomes read-only too, so that no one can change the values behind the view.
    """
    batch.flags.writeable = False
    return batch.view(TrustedBatch)


def is_trusted(batch: object) -> bool:
    """Whether `batch` is a `TrustedBatch` whose values cannot have changed since it was checked."""
    return isinstance(batch, TrustedBatch) and not batch.flags.writeable

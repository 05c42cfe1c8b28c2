"""No code of the repository uses what NumPy 2 removed (the installed NumPy may still be 1.x, which has it all).

Ruff's NPY201 finds the module-level names but not the ndarray methods (`x.ptp()`), so both are
searched for here, by pattern, in every Python file of the checkout.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("golf_rt", "training", "benchmarks", "tests", "campaign")
REMOVED = {
    r"(?<!\bnp)(?<!\bnumpy)\.ptp\(": "np.ptp(x)",
    r"\.newbyteorder\(": "x.view(x.dtype.newbyteorder())",
    r"\bnp\.float_\b": "np.float64",
    r"\bnp\.complex_\b": "np.complex128",
    r"\bnp\.product\(": "np.prod",
    r"\bnp\.cumproduct\(": "np.cumprod",
    r"\bnp\.alltrue\(": "np.all",
    r"\bnp\.sometrue\(": "np.any",
    r"\bnp\.in1d\(": "np.isin",
    r"\bnp\.row_stack\(": "np.vstack",
    r"\bnp\.trapz\(": "np.trapezoid (NumPy 2) or scipy",
    r"\bnp\.(NaN|NAN)\b": "np.nan",
    r"\bnp\.(Inf|Infinity|infty|PINF)\b": "np.inf",
    r"\bnp\.NINF\b": "-np.inf",
    r"\bnp\.asfarray\(": "np.asarray(x, dtype=float)",
    r"\bnp\.(string_|unicode_)\b": "np.bytes_ / np.str_",
}


def test_no_python_file_uses_what_numpy_2_removed():
    """tests/test_synthetic.py called `ndarray.ptp`, which NumPy 2 removed: the test errored there."""
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == Path(__file__).resolve():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                found += [f"{path.relative_to(ROOT)}:{number}: use {instead}: {line.strip()}"
                          for pattern, instead in REMOVED.items() if re.search(pattern, line)]  # fmt: skip
    assert not found, "\n".join(found)

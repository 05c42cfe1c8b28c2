"""The server layer and the client layer read the contract and never import each other (cycles: test_architecture).

Read from the source (every `import`, lazy and TYPE_CHECKING ones included), so a cycle or a
cross-layer import fails here even where no test happens to load both modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "golf_rt"


def _imports(layer: str) -> dict[str, set[str]]:
    """Module -> the golf_rt modules it imports, for every module of `golf_rt.<layer>`."""
    found = {}
    for path in sorted((PACKAGE / layer).glob("*.py")):
        name = f"golf_rt.{layer}.{path.stem}".removesuffix(".__init__")
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("golf_rt"):
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names if a.name.startswith("golf_rt"))
        found[name] = names
    return found


@pytest.mark.parametrize(("layer", "other"), [("triton", "client"), ("client", "triton"), ("tuning", "client")])
def test_the_server_and_client_layers_do_not_import_each_other(layer: str, other: str) -> None:
    crossing = {m: sorted(n for n in names if n.startswith(f"golf_rt.{other}")) for m, names in _imports(layer).items()}
    assert not {m: n for m, n in crossing.items() if n}

"""The plugin talks to the model and the loop only through their public interfaces."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "napari_miras"
# The interfaces of architecture.md: miras (load, errors), its synthetic scenes, and the loop.
ALLOWED = {
    "miras", "miras.synth",
    "active_learning", "active_learning.strategies", "active_learning.queue",
    "active_learning.registry",
}  # fmt: skip
FORBIDDEN_TOP = {"torch", "transformers", "safetensors", "timm", "open_clip", "segment_anything",
                 "zarr", "peft"}  # fmt: skip
# Helpers that are not widgets import napari only inside functions or for type checking.
WIDGETS = {"_chat_widget.py", "_al_widget.py"}


def _imports(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _strings(tree: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_only_public_interfaces_are_imported():
    bad = []
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text())
        for name in _imports(tree):
            top = name.split(".")[0]
            if top in FORBIDDEN_TOP:
                bad.append(f"{path.name}: {name}")
            if top in ("miras", "active_learning") and not _allowed(name):
                bad.append(f"{path.name}: {name}")
        bad += [f"{path.name}: '{s}'" for s in _strings(tree)
                if s.startswith(("miras.modeling", "miras.checkpoint", "torch"))]  # fmt: skip
    assert bad == []


def _allowed(name: str) -> bool:
    # "from miras import load" gives "miras.load": an attribute of an allowed module is fine.
    return name in ALLOWED or name.rsplit(".", 1)[0] in ALLOWED and name.split(".")[-1][0] != "_"


def test_helpers_import_napari_only_lazily():
    eager = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name in WIDGETS:
            continue
        for node in ast.parse(path.read_text()).body:  # module level, outside TYPE_CHECKING
            if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                name.split(".")[0] == "napari" for name in _imports(node)
            ):
                eager.append(path.name)
    assert eager == []


def test_the_checks_catch_a_forbidden_import():
    tree = ast.parse("from miras.modeling.miras import MirasModel\nimport torch\nfrom miras import _x")
    names = _imports(tree)
    assert not _allowed("miras.modeling.miras") and not _allowed("miras._x")
    assert "torch" in names and _allowed("miras.load") and _allowed("active_learning.open_store")

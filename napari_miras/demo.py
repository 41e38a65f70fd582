"""`python -m napari_miras.demo`: napari with both MIRAS docks, a model and a sample scene.

The demo model is loaded if its weights are bundled; otherwise the untrained "tiny" model is used,
with a warning. Corrections go to a fresh store in a temporary folder unless --store names one.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

PLUGIN = "napari-miras"


def build(
    viewer,
    model: str = "demo",
    fallback: str | None = "tiny",
    store: str | None = None,
    loader=None,
):
    """Open the sample scene and both docks in `viewer`, start loading `model` (with `loader`,
    default `miras.load`); returns the (chat dock, active-learning dock)."""
    [scene] = viewer.open_sample(PLUGIN, "scene")
    _, chat = viewer.window.add_plugin_dock_widget(PLUGIN, "MIRAS chat")
    _, annotate = viewer.window.add_plugin_dock_widget(PLUGIN, "MIRAS active learning", tabify=True)
    if loader is not None:
        chat.loader = loader
    chat.image_picker.value = scene
    questions = scene.metadata.get("example_questions") or []
    chat.message.value = questions[0] if questions else "Segment the largest object."
    if store:
        annotate.store_path.value = store
        annotate.open_store()
    pick(chat, model)
    chat.load(fallback=fallback if fallback != model else None)
    return chat, annotate


def pick(chat, model: str) -> None:
    """Set the chat's model picker to a choice or a folder, without loading yet."""
    from napari_miras._model_source import CHOICES, FOLDER

    # Blocked: the caller loads once, with its fallback.
    with chat.model_picker.changed.blocked(), chat.folder.changed.blocked():
        if model in CHOICES:
            chat.model_picker.value = model
        else:
            chat.model_picker.value, chat.folder.value = FOLDER, model
        chat.folder.visible = chat.model_picker.value == FOLDER


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m napari_miras.demo", description=__doc__)
    parser.add_argument("--model", default="demo", help='"demo", "tiny" or a checkpoint folder')
    parser.add_argument("--store", help="correction store (default: a new temporary one)")
    args = parser.parse_args(argv)
    import napari

    store = args.store or str(Path(tempfile.mkdtemp(prefix="miras-demo-")) / "corrections.zarr")
    viewer = napari.Viewer(title="MIRAS demo")
    build(viewer, model=args.model, store=store)
    napari.run()


if __name__ == "__main__":
    main()

"""Screenshots for the README: `xvfb-run -a python -m tests.plugin.make_screenshots [OUT]`.

The demo model is not trained yet, so the chat shot uses a scripted stand-in that answers with the
synthetic scene's ground truth (the dock does not know the difference); the AL shot uses a real
store and the real queue. Writes chat-dock.png and al-dock.png (palette PNG, < 300 KB).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .fakes import FakeReply

SCRIPT = [
    ("Which object in this picture would help when it rains?",
     "The [OBJ]orange house[SEG] in the bottom right and the [OBJ]pink house[SEG] near the "
     "centre could keep you dry in the rain.", ["obj04 orange house", "obj05 pink house"]),
    ("Which part of the orange house do people walk through?",
     "People enter through [OBJ]the orange house door[SEG], at its bottom.",
     ["obj04 orange house door"]),
]  # fmt: skip


def polygon_mask(annotation: dict, prefix: str) -> np.ndarray:
    from skimage.draw import polygon

    mask = np.zeros((annotation["imageHeight"], annotation["imageWidth"]), bool)
    for shape in annotation["shapes"]:
        if shape["label"].startswith(prefix):
            xy = np.asarray(shape["points"])
            rows, cols = polygon(xy[:, 1], xy[:, 0], mask.shape)
            mask[rows, cols] = True
    return mask


class ScriptedModel:
    """Answers SCRIPT turn by turn with the scene's ground-truth masks."""

    def __init__(self, annotation: dict) -> None:
        self.annotation = annotation

    def chat(self, image):
        return ScriptedChat(self.annotation)


class ScriptedChat:
    def __init__(self, annotation: dict) -> None:
        self.annotation, self.history = annotation, []

    def reset(self) -> None:
        self.history = []

    def send(self, text, *, should_stop=None, on_text=None):
        _, raw, prefixes = SCRIPT[len(self.history) // 2]
        time.sleep(0.3)
        masks = [polygon_mask(self.annotation, p) for p in prefixes]
        labels = [p.split(" ", 1)[1] for p in prefixes]
        self.history += [("human", text), ("gpt", raw)]
        scores = [0.93, 0.88, 0.81][: len(masks)]
        return FakeReply(raw.replace("[OBJ]", "").replace("[SEG]", ""), raw, masks, labels, scores)


def settle(seconds: float = 0.5) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.time() + seconds
    while time.time() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def wait_idle(widget, timeout: float = 60) -> None:
    end = time.time() + timeout
    while (widget.busy is not None) and time.time() < end:
        settle(0.05)


def save_png(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(array[..., :3]).quantize(colors=256).save(path, optimize=True)
    print(path, path.stat().st_size // 1024, "KB")


def chat_shot(viewer, out: Path):
    from miras.synth import generate_sample

    _, annotation, _ = generate_sample(np.random.default_rng(0), "base", 256)
    [scene] = viewer.open_sample("napari-miras", "scene")
    _, chat = viewer.window.add_plugin_dock_widget("napari-miras", "MIRAS chat")
    chat.loader = lambda target: ScriptedModel(annotation)
    with chat.model_picker.changed.blocked():
        chat.model_picker.value = "tiny"
    chat.image_picker.value = scene
    for question, _, _ in SCRIPT:
        chat.message.value = question
        chat.send()
        wait_idle(chat)
    chat.model_status.value = "model: scripted stand-in (the scene's ground truth)"
    chat.message.value = "Is the door open?"
    settle(0.5)
    viewer.reset_view()  # fit the scene into the canvas the dock left
    settle(0.5)
    save_png(viewer.screenshot(canvas_only=False, flash=False), out / "chat-dock.png")
    return chat


def al_shot(viewer, chat, out: Path) -> None:
    import active_learning

    store_path = Path(tempfile.mkdtemp()) / "corrections.zarr"
    store = active_learning.open_store(store_path)
    chat.session.set_store(store)
    chat.save("curate")
    wait_idle(chat)
    rng = np.random.default_rng(1)
    from miras.synth import generate_sample

    for _ in range(5):  # proposals waiting in the queue
        image, _, samples = generate_sample(rng, "base", 256)
        proposal = np.zeros(image.shape[:2], bool)
        proposal[60:140, 80:170] = True
        dialogue = [{"from": t.role, "value": t.text} for t in samples[0].dialogue]
        store.add_sample(image=image, dialogue=dialogue, focus=samples[0].focus,
                         proposal=proposal, score=float(rng.uniform(0.3, 0.9)),
                         model_version="v0001")  # fmt: skip
    registry = Path(tempfile.mkdtemp()) / "registry"
    (registry / "v0001").mkdir(parents=True)
    (registry / "current").write_text("v0001\n")

    _, dock = viewer.window.add_plugin_dock_widget("napari-miras", "MIRAS active learning")
    dock.annotator.value = "ada"
    dock.store_path.value = str(store_path)
    dock.open_store()
    wait_idle(dock)
    dock.registry.value = str(registry)
    dock.set_registry()
    dock.next()
    wait_idle(dock)
    chat.message.value = ""
    settle(1.0)
    viewer.reset_view()
    settle(0.5)
    save_png(viewer.screenshot(canvas_only=False, flash=False), out / "al-dock.png")


def main() -> None:
    import napari

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    viewer = napari.Viewer(show=True, title="MIRAS")
    viewer.window.resize(1400, 860)
    chat = chat_shot(viewer, out)
    al_shot(viewer, chat, out)
    viewer.close()


if __name__ == "__main__":
    main()

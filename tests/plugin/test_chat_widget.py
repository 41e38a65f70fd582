"""The chat dock: turns into Labels layers (2D, a plane of a stack), undo, stop, errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from napari_miras._conversation import METADATA_KEY

from .conftest import PLUGIN, ask, wait_idle
from .fakes import SCRIPT, FakeModel, box

pytestmark = pytest.mark.gui


def _labels(viewer):
    from napari.layers import Labels

    return [layer for layer in viewer.layers if isinstance(layer, Labels)]


def test_two_turns_fill_one_labels_layer_of_the_image_shape(viewer, chat_dock, qtbot, rgb_image):
    viewer.add_image(rgb_image, name="scene")
    ask(qtbot, chat_dock, "What is red?")
    ask(qtbot, chat_dock, "And its parts?")

    [labels] = _labels(viewer)
    assert labels.data.shape == rgb_image.shape[:2]
    for n in range(3):  # one label id per [SEG], over both turns
        assert np.all(labels.data[box(rgb_image.shape[:2], n)] == n + 1)
    assert np.count_nonzero(labels.data) == 3 * 60
    assert labels.name == "the red box (MIRAS)"  # the first [OBJ] class
    assert list(labels.features["class"]) == ["the red box", "the lid", "the handle"]
    meta = labels.metadata[METADATA_KEY]
    assert [t["value"] for t in meta["dialogue"]] == [
        "What is red?", SCRIPT[0][1], "And its parts?", SCRIPT[1][1]
    ]
    assert np.array_equal(meta["image"], rgb_image)
    text = chat_dock.transcript.value
    assert "What is red?" in text and "the handle" in text and "0.80" in text
    assert chat_dock.message.value == ""  # sent messages leave the box
    [chat] = chat_dock.loader("tiny").chats  # one chat, both turns
    assert len(chat.history) == 4


def test_transcript_colours_each_seg_like_its_label(viewer, chat_dock, qtbot, rgb_image):
    from napari_miras._layers import color_hex

    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    [labels] = _labels(viewer)
    html = chat_dock.transcript.native.toHtml()
    assert color_hex(labels, 1) in html
    assert color_hex(labels, 1) != color_hex(labels, 2)


def test_a_stack_gets_the_mask_in_its_current_plane(viewer, chat_dock, qtbot):
    stack = np.random.default_rng(1).integers(0, 4000, (5, 40, 50), dtype=np.uint16)
    viewer.add_image(stack, name="stack", scale=(2.0, 0.5, 0.5))
    viewer.dims.set_current_step(0, 3)
    ask(qtbot, chat_dock, "Segment the cell")

    [labels] = _labels(viewer)
    assert labels.data.shape == stack.shape
    assert np.array_equal(labels.scale, (2.0, 0.5, 0.5))
    assert np.array_equal(labels.data[3] == 1, box((40, 50), 0))
    assert not labels.data[[0, 1, 2, 4]].any()
    [chat] = chat_dock.loader("tiny").chats
    assert np.array_equal(chat.image, stack[3])  # the model saw the displayed plane

    viewer.dims.set_current_step(0, 1)  # another plane: another conversation and layer
    ask(qtbot, chat_dock, "Segment the cell")
    assert len(_labels(viewer)) == 2 and len(chat_dock.loader("tiny").chats) == 2


def test_multiscale_image_is_read_at_full_resolution(viewer, chat_dock, qtbot, rgb_image):
    viewer.add_image([rgb_image, rgb_image[::2, ::2]], multiscale=True, rgb=True)
    ask(qtbot, chat_dock, "What is red?")
    [chat] = chat_dock.loader("tiny").chats
    assert chat.image.shape == rgb_image.shape
    assert _labels(viewer)[0].data.shape == rgb_image.shape[:2]


def test_renaming_the_image_keeps_it_picked(viewer, chat_dock, qtbot):
    from napari_miras._layers import unwrap

    image = viewer.add_image(np.zeros((40, 50), np.uint8), name="A")
    image.name = "patient-7"
    assert unwrap(chat_dock.image_picker.value) is unwrap(image)
    ask(qtbot, chat_dock, "Segment the cell")
    assert chat_dock.conversation.image_name == "patient-7"


def test_undo_takes_back_a_whole_reply(viewer, chat_dock, qtbot, rgb_image):
    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    ask(qtbot, chat_dock, "And its parts?")
    [labels] = _labels(viewer)

    labels.undo()  # the second reply (two masks) goes at once
    assert set(np.unique(labels.data)) == {0, 1}
    labels.undo()
    assert not labels.data.any()
    labels.redo()
    assert np.array_equal(labels.data == 1, box(rgb_image.shape[:2], 0))


def test_masks_become_labels_off_the_gui_thread(viewer, chat_dock, qtbot, rgb_image, monkeypatch):
    """Image-sized masks painted pixel by pixel froze napari for seconds on the GUI thread."""
    from napari.layers import Labels

    from napari_miras import _layers

    on_gui_thread, make_stroke = [], _layers.make_stroke

    def spy(*args, **kwargs):
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        return make_stroke(*args, **kwargs)

    monkeypatch.setattr(_layers, "make_stroke", spy)
    per_pixel = []
    monkeypatch.setattr(Labels, "data_setitem", lambda *args, **kwargs: per_pixel.append(args))
    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    ask(qtbot, chat_dock, "And its parts?")

    assert on_gui_thread == [False, False] and per_pixel == []
    [labels] = _labels(viewer)
    for n in range(3):
        assert np.all(labels.data[box(rgb_image.shape[:2], n)] == n + 1)
    assert np.count_nonzero(labels.data) == 3 * 60


def test_undo_takes_back_the_annotators_edits_then_the_reply(viewer, chat_dock, qtbot, rgb_image):
    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    [labels] = _labels(viewer)
    replied = labels.data.copy()
    labels.brush_size = 3
    labels.paint((40, 55), 9)  # the annotator's brush, away from the masks
    ask(qtbot, chat_dock, "And its parts?")
    assert labels.data[40, 55] == 9  # a reply keeps the edits around its masks

    labels.undo()  # the second reply
    assert set(np.unique(labels.data)) == {0, 1, 9}
    labels.undo()  # the brush stroke
    assert np.array_equal(labels.data, replied)
    labels.undo()  # the first reply
    assert not labels.data.any()
    labels.redo()
    assert np.array_equal(labels.data, replied)


def test_new_conversation_reuses_the_chat_and_makes_a_new_layer(viewer, chat_dock, qtbot, rgb_image):
    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    chat_dock.new_button.native.click()
    ask(qtbot, chat_dock, "What is red?")

    first, second = _labels(viewer)
    assert np.array_equal(first.data, second.data)  # a fresh conversation: the same first answer
    [chat] = chat_dock.loader("tiny").chats  # image features kept: the chat was reset, not remade
    assert chat.resets == 1


def _start_a_slow_turn(viewer, chat_dock, qtbot, rgb_image) -> FakeModel:
    """Ask a model that takes 20 s to answer; return it once it is answering."""
    slow = FakeModel(delay=20.0, steps=2000)
    chat_dock.loader = lambda target: slow
    viewer.add_image(rgb_image)
    chat_dock.message.value = "What is red?"
    chat_dock.send()
    qtbot.waitUntil(lambda: chat_dock.busy == "answering", timeout=10_000)
    return slow


def test_stop_leaves_the_conversation_unchanged(viewer, chat_dock, qtbot, rgb_image, notes):
    _start_a_slow_turn(viewer, chat_dock, qtbot, rgb_image)
    qtbot.wait(100)
    chat_dock.stop_button.native.click()
    wait_idle(qtbot, chat_dock, timeout=10_000)  # far less than the 20 s the turn would take

    assert chat_dock.conversation.turns == []
    assert _labels(viewer) == []
    assert chat_dock.message.value == "What is red?"  # nothing typed is lost
    assert [kind for kind, _ in notes] == ["info"]


def test_model_errors_become_notifications_that_say_what_to_do(
    viewer, chat_dock, qtbot, rgb_image, notes
):
    import miras

    problem = miras.ContextLengthError("the conversation is too long; start a new conversation")
    chat_dock.loader = lambda target: FakeModel(error=problem)
    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    [(kind, message)] = notes
    assert kind == "error" and "start a new conversation" in message
    assert chat_dock.message.value == "What is red?"
    assert chat_dock.send_button.enabled  # nothing is stuck


def test_a_full_context_says_to_press_new_conversation(viewer, chat_dock, qtbot, rgb_image, notes):
    import miras
    from napari_miras._chat_widget import _turn_error

    full = miras.ContextLengthError(
        "this message makes the conversation 1100 tokens long; the model's context holds 1024. "
        "Shorten the message or start a new conversation (chat.reset())."
    )  # miras's wording: it names its API
    chat_dock.loader = lambda target: FakeModel(error=full)
    viewer.add_image(rgb_image)
    ask(qtbot, chat_dock, "What is red?")
    [(kind, message)] = notes
    assert kind == "error" and message.endswith('Shorten the message or press "New conversation".')
    reworded = _turn_error(miras.ContextLengthError("the conversation is too long (chat.reset())"))
    assert reworded.endswith('too long. Press "New conversation" to start over.')


def test_missing_demo_weights_explain_the_way_out(viewer, chat_dock, qtbot, rgb_image, notes):
    import miras

    def loader(target):
        if target == "demo":
            raise miras.CheckpointError("the bundled demo model is not at .../weights/demo")
        return FakeModel()

    chat_dock.loader = loader
    chat_dock.model_picker.value = "demo"
    wait_idle(qtbot, chat_dock)
    [(kind, message)] = notes
    assert kind == "error" and "'tiny'" in message and "folder" in message

    viewer.add_image(rgb_image)
    chat_dock.model_picker.value = "tiny"
    wait_idle(qtbot, chat_dock)
    ask(qtbot, chat_dock, "What is red?")
    assert len(_labels(viewer)) == 1


def test_demo_falls_back_to_tiny_with_a_warning(viewer, qtbot, notes):
    import miras
    from napari_miras.demo import build

    loaded = []

    def loader(target):
        loaded.append(target)
        if target == "demo":
            raise miras.CheckpointError("no demo weights")
        return FakeModel()

    chat, _ = build(viewer, loader=loader)
    qtbot.waitUntil(lambda: loaded == ["demo", "tiny"] and chat.busy is None, timeout=20_000)
    assert chat.model_picker.value == "tiny" and chat.model is not None
    assert any(kind == "warning" and "Using 'tiny'" in message for kind, message in notes)
    assert viewer.layers[0].data.shape == (256, 256, 3)


def test_shortcuts_send_and_accept(viewer, chat_dock, qtbot, rgb_image, notes):
    from qtpy.QtGui import QKeySequence, QShortcut

    from napari_miras import _shortcuts

    keys = {s.key().toString(QKeySequence.SequenceFormat.PortableText): s
            for s in chat_dock.native.findChildren(QShortcut)}  # fmt: skip
    assert set(keys) >= {"Ctrl+Return", "Ctrl+Shift+A"}
    viewer.add_image(rgb_image)
    chat_dock.message.value = "What is red?"
    keys[_shortcuts.SEND].activated.emit()
    wait_idle(qtbot, chat_dock)
    assert len(_labels(viewer)) == 1
    keys[_shortcuts.ACCEPT].activated.emit()  # no store open: says where to open one
    assert notes and "active learning" in notes[-1][1]



def test_closing_napari_during_a_turn_stops_the_model(make_napari_viewer, qtbot, rgb_image):
    viewer = make_napari_viewer()
    _, chat = viewer.window.add_plugin_dock_widget("napari-miras", "MIRAS chat")
    slow = FakeModel(delay=20.0, steps=2000)
    chat.loader = lambda target: slow
    viewer.add_image(rgb_image)
    chat.message.value = "What is red?"
    chat.send()
    qtbot.waitUntil(lambda: chat.busy == "answering", timeout=10_000)
    stop = chat._stop
    viewer.close()
    qtbot.waitUntil(stop.is_set, timeout=10_000)  # the model is told to stop, not left running
    worker = chat._worker
    qtbot.waitUntil(lambda: not worker.is_running, timeout=10_000)  # well before its 20 s
    qtbot.wait(100)  # let its result reach the event loop
    assert slow.chats[0].history == []  # the turn was cancelled
    assert chat.busy == "answering"  # its callbacks found the dock gone and did nothing


def _close_dock(viewer) -> None:
    """Press the close button (x) of the chat dock's title bar."""
    dock, _ = viewer.window.add_plugin_dock_widget(PLUGIN, "MIRAS chat")  # the open one
    dock.title.close_button.click()


def test_closing_the_dock_stops_the_turn(viewer, chat_dock, qtbot, rgb_image, notes):
    slow = _start_a_slow_turn(viewer, chat_dock, qtbot, rgb_image)

    _close_dock(viewer)
    assert chat_dock._stop.is_set()  # napari keeps the widget: it must stop the model itself
    wait_idle(qtbot, chat_dock)
    assert slow.chats[0].history == [] and _labels(viewer) == [] and notes == []


class _DeafModel(FakeModel):
    """Answers once `answer` is set, never checking Stop: its reply comes whatever happens."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()

    def chat(self, image):
        chat = super().chat(image)
        send = chat.send

        def send_when_told(text, **_):
            self.answer.wait(20)
            return send(text)

        chat.send = send_when_told
        return chat


def test_an_answer_arriving_after_the_dock_closed_is_dropped(viewer, chat_dock, qtbot, rgb_image):
    deaf = _DeafModel()
    chat_dock.loader = lambda target: deaf
    viewer.add_image(rgb_image)
    chat_dock.message.value = "What is red?"
    chat_dock.send()
    qtbot.waitUntil(lambda: chat_dock.busy == "answering", timeout=10_000)

    _close_dock(viewer)
    deaf.answer.set()
    wait_idle(qtbot, chat_dock)
    assert len(deaf.chats[0].history) == 2  # the model did answer...
    assert _labels(viewer) == [] and chat_dock.conversation.turns == []  # ...into a closed dock


def _ask_deaf(viewer, chat_dock, qtbot) -> _DeafModel:
    """Send a question to a model that answers only once told (`.answer.set()`)."""
    deaf = _DeafModel()
    chat_dock.loader = lambda target: deaf
    chat_dock.message.value = "Segment the cell"
    chat_dock.send()
    qtbot.waitUntil(lambda: chat_dock.busy == "answering", timeout=10_000)
    return deaf


def test_an_image_selected_during_a_reply_is_picked_once_it_is_done(viewer, chat_dock, qtbot):
    from napari_miras._layers import unwrap

    a = viewer.add_image(np.zeros((40, 50), np.uint8), name="A")
    b = viewer.add_image(np.ones((40, 50), np.uint8), name="B")
    viewer.layers.selection.active = a
    deaf = _ask_deaf(viewer, chat_dock, qtbot)
    viewer.layers.selection.active = b  # the annotator clicks B in the layer list

    assert unwrap(chat_dock.image_picker.value) is unwrap(a)  # the image being answered about
    assert "'B' is picked for the next question" in chat_dock.status.value
    deaf.answer.set()
    wait_idle(qtbot, chat_dock)
    assert unwrap(chat_dock.image_picker.value) is unwrap(b)
    ask(qtbot, chat_dock, "Segment the cell")
    assert chat_dock.conversation.image_name == "B"


def test_picking_an_image_selects_it_in_the_layer_list(viewer, chat_dock):
    a = viewer.add_image(np.zeros((40, 50), np.uint8), name="A")
    viewer.add_image(np.ones((40, 50), np.uint8), name="B")  # selected: the last one added
    picker = chat_dock.image_picker
    picker.value = a
    picker.native.activated.emit(picker.native.currentIndex())  # what a pick by hand sends
    # so that a click on B in the list, to pick it again, is a selection change napari reports
    assert viewer.layers.selection.active is a


def test_an_image_closed_during_the_reply_gets_no_labels_layer(viewer, chat_dock, qtbot, notes):
    image = viewer.add_image(np.zeros((40, 50), np.uint8), name="A")
    deaf = _ask_deaf(viewer, chat_dock, qtbot)
    viewer.layers.remove(image)
    deaf.answer.set()
    wait_idle(qtbot, chat_dock)

    assert _labels(viewer) == []
    assert "Sure, it is" in chat_dock.transcript.native.toPlainText()  # the reply's text
    [(kind, message)] = notes
    assert kind == "warning" and "'A' was closed" in message
    assert not chat_dock.accept_button.enabled

"""The viewer keeps responding while the model works (micro-sam #740: measure it).

A timer asks for a tick every 10 ms while turns run (see stall.py). Printed with -s and kept in
the report's user properties: the worst wall-clock stall, and the worst stall while this process
was busy, which is asserted: on this shared 2-core machine a training run at a higher priority
can hold the whole process for hundreds of ms, which says nothing about the plugin. A
measurement over the limit is repeated (up to 3 times): a stall our code causes shows every time.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import ask
from .fakes import FakeModel
from .stall import StallMeter
from .test_chat_widget import _labels

pytestmark = pytest.mark.gui
LIMIT_MS = 250


def measure(run: Callable[[], None], attempts: int = 3) -> list[StallMeter]:
    """A StallMeter per run of `run()`, stopping at the first under the limit."""
    meters = []
    for _ in range(attempts):
        with StallMeter() as meter:
            run()
        meters.append(meter)
        if meter.worst_busy_ms < LIMIT_MS:
            break
    return meters


def test_event_loop_keeps_ticking_during_slow_turns(viewer, chat_dock, qtbot, record_property):
    model = FakeModel(delay=1.5, steps=150)  # a token every 10 ms for 1.5 s, streamed
    chat_dock.loader = lambda target: model
    [scene] = viewer.open_sample("napari-miras", "scene")
    chat_dock.image_picker.value = scene
    chat_dock.load()
    qtbot.waitUntil(lambda: chat_dock.model is not None, timeout=20_000)
    with StallMeter() as first:  # also adds the conversation's Labels layer: napari's work
        ask(qtbot, chat_dock, "What is red?")

    def two_turns():
        ask(qtbot, chat_dock, "And its parts?")
        ask(qtbot, chat_dock, "And now?")

    meters = measure(two_turns)
    record_property("stall_fake_turns", [str(m) for m in meters])
    record_property("stall_fake_first_turn", str(first))
    print(f"\nfake model, two 1.5 s turns: worst stall {'; '.join(map(str, meters))}; "
          f"first turn (adds the Labels layer): {first}")  # fmt: skip
    assert meters[-1].ticks > 30  # the timer really ran through the turns (300 when idle)
    assert min(m.worst_busy_ms for m in meters) < LIMIT_MS
    assert len(_labels(viewer)) == 1 and len(chat_dock.conversation.turns) == 2 + 4 * len(meters)


@pytest.mark.slow
def test_the_real_tiny_model_through_the_widget(viewer, qtbot, record_property):
    """miras.load("tiny") with the default loader, off-thread, then real turns."""
    _, chat = viewer.window.add_plugin_dock_widget("napari-miras", "MIRAS chat")
    [scene] = viewer.open_sample("napari-miras", "scene")
    chat.image_picker.value = scene
    with StallMeter() as loading:
        chat.model_picker.value = "tiny"  # loads it
        qtbot.waitUntil(lambda: chat.model is not None, timeout=120_000)
    with StallMeter() as first:
        ask(qtbot, chat, "What is in the picture?", timeout=120_000)

    def two_turns():
        ask(qtbot, chat, "Segment the largest object.", timeout=120_000)
        ask(qtbot, chat, "And the smallest?", timeout=120_000)

    meters = measure(two_turns)
    record_property("stall_tiny_turns", [str(m) for m in meters])
    record_property("stall_tiny_first_turn", str(first))
    record_property("stall_tiny_load", str(loading))
    print(f"\ntiny model, two turns: worst stall {'; '.join(map(str, meters))}; first turn "
          f"(adds the layer): {first}; loading (imports torch): {loading}")  # fmt: skip

    [labels] = _labels(viewer)
    assert labels.data.shape == (256, 256)
    conversation = chat.conversation
    assert [role for role, _ in conversation.turns] == ["human", "gpt"] * (1 + 2 * len(meters))
    assert conversation.model_version == "tiny"
    assert "And the smallest?" in chat.transcript.value
    assert min(m.worst_busy_ms for m in meters) < LIMIT_MS

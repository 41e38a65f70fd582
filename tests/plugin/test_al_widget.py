"""The active-learning dock: store, queue (Next / Previous), counts, retrain and promotion.

Strategies, queue and registry are `active_learning` modules written in parallel; these tests
put small stand-ins with the agreed names into sys.modules.
"""

from __future__ import annotations

import gc
import sys
import threading
import types
from types import SimpleNamespace

import numpy as np
import pytest

from .conftest import PLUGIN, wait_idle

pytestmark = pytest.mark.gui


@pytest.fixture
def fake_loop(monkeypatch):
    """Stand-ins for active_learning.strategies / .queue / .registry; records queue calls."""
    calls = []
    strategies = types.ModuleType("active_learning.strategies")
    strategies.STRATEGIES = {
        "uncertainty": SimpleNamespace(name="uncertainty", description="lowest score first"),
        "random": SimpleNamespace(name="random", description="any order"),
    }
    queue = types.ModuleType("active_learning.queue")

    def next_items(store, strategy, k, annotator, lease_seconds=900):
        calls.append((strategy, k, annotator))
        records = sorted(store.samples(status="proposed"), key=lambda r: r.score)
        return [SimpleNamespace(sample_id=r.sample_id, image_id=r.image_id, score=r.score)
                for r in records[:k]]  # fmt: skip

    queue.next_items = next_items
    registry = types.ModuleType("active_learning.registry")

    class Registry:
        def __init__(self, path):
            self.path = path

        @property
        def current(self):
            pointer = __import__("pathlib").Path(self.path) / "current"
            return pointer.read_text().strip() if pointer.exists() else None

    registry.Registry = Registry
    for name, module in (("strategies", strategies), ("queue", queue), ("registry", registry)):
        monkeypatch.setitem(sys.modules, f"active_learning.{name}", module)
    return calls


@pytest.fixture
def filled_store(tmp_path):
    import active_learning

    store = active_learning.open_store(tmp_path / "queue.zarr")
    rng = np.random.default_rng(3)
    for score in (0.7, 0.2):
        image = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
        proposal = np.zeros((30, 40), bool)
        proposal[5:15, 5:25] = True
        store.add_sample(image=image, proposal=proposal, focus="the box", score=score,
                         dialogue=[{"from": "human", "value": "Where is the box?"},
                                   {"from": "gpt", "value": "Here: [SEG]."}])  # fmt: skip
    return store


def _open(qtbot, dock, store) -> None:
    dock.annotator.value = "ada"
    dock.store_path.value = store.where
    dock.open_button.native.click()
    wait_idle(qtbot, dock)
    qtbot.waitUntil(lambda: "proposed 2" in dock.counts.value, timeout=10_000)


def test_next_opens_the_most_informative_item_and_accept_corrects_it(
    fake_loop, viewer, chat_dock, al_dock, filled_store, qtbot
):
    _open(qtbot, al_dock, filled_store)
    assert al_dock.strategy.choices == ("uncertainty", "random")
    al_dock.next_button.native.click()
    wait_idle(qtbot, al_dock)

    first = min(filled_store.samples(), key=lambda r: r.score)
    assert fake_loop == [("uncertainty", 10, "ada")]
    image, labels = viewer.layers[-2:]
    assert np.array_equal(image.data, first.image)
    assert np.array_equal(labels.data, first.proposal.astype(np.uint8))
    assert chat_dock.conversation.sample_id == first.sample_id
    assert "Where is the box?" in chat_dock.transcript.value
    assert al_dock.item.value.startswith("1 of 2")

    labels.data_setitem((np.array([20]), np.array([30])), 2)  # the annotator's fix
    chat_dock.accept_button.native.click()
    wait_idle(qtbot, chat_dock)
    record = filled_store.get(first.sample_id)
    assert record.status == "corrected" and np.array_equal(record.correction, labels.data)
    qtbot.waitUntil(lambda: "corrected 1" in al_dock.counts.value, timeout=10_000)

    al_dock.next_button.native.click()  # the saved item's layers make way for the next
    wait_idle(qtbot, al_dock)
    assert labels not in viewer.layers and len(viewer.layers) == 2
    assert al_dock.item.value.startswith("2 of 2")
    al_dock.previous_button.native.click()
    wait_idle(qtbot, al_dock)
    assert "corrected" in al_dock.item.value
    assert np.array_equal(viewer.layers[-1].data, record.correction)


def test_next_while_accept_is_saving_moves_the_chat_to_the_next_item(
    fake_loop, monkeypatch, viewer, chat_dock, al_dock, filled_store, qtbot, notes
):
    _open(qtbot, al_dock, filled_store)
    al_dock.next_button.native.click()
    wait_idle(qtbot, al_dock)
    first, first_labels = chat_dock.conversation.sample_id, viewer.layers[-1]
    release, set_correction = threading.Event(), type(filled_store).set_correction

    def slow_write(store, *args, **kwargs):  # a remote store: the write takes a while
        release.wait(10)
        return set_correction(store, *args, **kwargs)

    monkeypatch.setattr(type(filled_store), "set_correction", slow_write)
    first_labels.data_setitem((np.array([20]), np.array([30])), 2)
    chat_dock.accept_button.native.click()
    al_dock.next_button.native.click()  # right away, while the Accept is still saving
    wait_idle(qtbot, al_dock)
    assert chat_dock.busy == "saving"
    release.set()
    wait_idle(qtbot, chat_dock)

    second_labels = viewer.layers[-1]
    second = second_labels.metadata["miras"]["sample_id"]
    assert chat_dock.conversation.sample_id == second != first
    assert first_labels not in viewer.layers  # saved as it was: it made way
    assert not any("unsaved edits" in message for _, message in notes)
    second_labels.data_setitem((np.array([2]), np.array([2])), 7)
    chat_dock.accept_button.native.click()
    wait_idle(qtbot, chat_dock)
    assert filled_store.get(second).correction[2, 2] == 7  # item 2's edits on item 2's sample
    assert filled_store.get(first).correction[20, 30] == 2
    assert filled_store.get(first).correction[2, 2] == 0


def test_edits_made_after_accept_are_kept_on_next(fake_loop, viewer, chat_dock, al_dock,
                                                  filled_store, qtbot, notes):  # fmt: skip
    _open(qtbot, al_dock, filled_store)
    al_dock.next_button.native.click()
    wait_idle(qtbot, al_dock)
    labels = viewer.layers[-1]
    labels.data_setitem((np.array([20]), np.array([30])), 2)
    chat_dock.accept_button.native.click()
    wait_idle(qtbot, chat_dock)
    labels.data_setitem((np.array([25]), np.array([35])), 3)  # another fix, not accepted yet

    al_dock.next_button.native.click()
    wait_idle(qtbot, al_dock)
    assert labels in viewer.layers and labels.data[25, 35] == 3
    assert any("unsaved edits" in message for _, message in notes)


def test_a_reopened_dock_shares_the_session_of_the_other(viewer, qtbot):
    _, dock = viewer.window.add_plugin_dock_widget(PLUGIN, "MIRAS active learning")
    _, chat = viewer.window.add_plugin_dock_widget(PLUGIN, "MIRAS chat")
    viewer.window.remove_dock_widget(dock.native)  # its close button
    del dock
    gc.collect()
    qtbot.wait(100)  # Qt deletes the closed dock
    gc.collect()
    _, reopened = viewer.window.add_plugin_dock_widget(PLUGIN, "MIRAS active learning")
    assert reopened.session is chat.session  # a store opened there is the chat's to save to


def test_without_the_queue_modules_the_dock_says_what_is_missing(
    monkeypatch, viewer, al_dock_factory, notes
):
    monkeypatch.setitem(sys.modules, "active_learning.strategies", None)  # not installed
    dock = al_dock_factory()
    assert not dock.next_button.enabled
    assert "active_learning.strategies" in dock.strategy_info.value
    dock.next()
    assert notes and notes[-1][0] == "warning"


@pytest.fixture
def al_dock_factory(viewer):
    from napari_miras._al_widget import ActiveLearningWidget

    def make():
        dock = ActiveLearningWidget(viewer)
        viewer.window.add_dock_widget(dock, name="MIRAS active learning (test)")
        return dock

    return make


def _fake_retrain(monkeypatch, stdout: str, code: int = 0, pause: float = 0.05):
    script = (
        "import sys, time\n"
        "for i in range(1, 4):\n"
        f"    print(f'fine-tuning {{i}}/3', file=sys.stderr, flush=True); time.sleep({pause})\n"
        f"print({stdout!r}); sys.exit({code})\n"
    )
    argvs = []

    def command(store, registry, base=None):
        argvs.append((store, registry, base))
        return [sys.executable, "-c", script]

    monkeypatch.setattr("napari_miras._retrain.command", command)
    return argvs


def test_retrain_promotes_and_the_chat_loads_the_new_model(
    fake_loop, monkeypatch, viewer, chat_dock, al_dock, filled_store, qtbot, tmp_path
):
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "current").write_text("v0002\n")
    loaded = []
    chat_dock.loader = lambda target: loaded.append(target) or object()
    report = '{"promoted": true, "before": {"ciou": 0.4}, "after": {"ciou": 0.5}, "version": "v0002"}'
    argvs = _fake_retrain(monkeypatch, report)
    _open(qtbot, al_dock, filled_store)
    al_dock.registry.value = str(registry)
    al_dock.set_registry()
    assert al_dock.version.value == "v0002"

    al_dock.retrain_button.native.click()
    assert not al_dock.retrain_progress.native.isHidden()
    qtbot.waitUntil(lambda: "promoted v0002" in al_dock.retrain_result.value, timeout=20_000)
    assert argvs == [(filled_store.where, str(registry), None)]  # a started registry: no base
    assert al_dock.retrain_progress.native.isHidden()
    qtbot.waitUntil(lambda: loaded == [str(registry)] and chat_dock.busy is None, timeout=10_000)
    assert chat_dock.model_picker.value == "registry (current)"
    assert chat_dock.model_version == "v0002"


def test_a_failed_retrain_is_reported(fake_loop, monkeypatch, viewer, al_dock, filled_store,
                                      qtbot, tmp_path, notes):  # fmt: skip
    argvs = _fake_retrain(monkeypatch, "", code=3)
    _open(qtbot, al_dock, filled_store)
    al_dock.registry.value = str(tmp_path)
    al_dock.retrain_button.native.click()
    qtbot.waitUntil(lambda: al_dock.retrain_result.value == "retraining failed", timeout=20_000)
    assert any(kind == "error" and "code 3" in message for kind, message in notes)
    assert argvs[0][2] == "demo"  # an empty registry starts from the chat's model (none yet)
    assert al_dock.retrain_button.enabled


def test_a_running_retrain_can_be_stopped(fake_loop, monkeypatch, viewer, al_dock, filled_store,
                                          qtbot, tmp_path, notes):  # fmt: skip
    from napari_miras._retrain import RetrainJob

    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "current").write_text("v0002\n")
    _fake_retrain(monkeypatch, '{"promoted": true, "version": "v0003"}', pause=60)
    cancelled, cancel = [], RetrainJob.cancel
    monkeypatch.setattr(RetrainJob, "cancel", lambda job: cancelled.append(job) or cancel(job))
    _open(qtbot, al_dock, filled_store)
    al_dock.registry.value = str(registry)

    al_dock.retrain_button.native.click()
    assert al_dock.retrain_button.text == "Stop retrain" and al_dock.retrain_button.enabled
    al_dock.retrain_button.native.click()
    qtbot.waitUntil(lambda: al_dock.retrain_result.value == "retraining stopped", timeout=20_000)

    assert cancelled == [al_dock._job] and not al_dock._job.running()
    assert al_dock.retrain_button.text == "Retrain now" and al_dock.retrain_button.enabled
    assert al_dock.retrain_progress.native.isHidden()
    assert al_dock.version.value == "v0002"  # the registry keeps its current model
    assert not [message for kind, message in notes if kind == "error"]


def test_with_the_real_queue_next_serves_proposed_samples(viewer, chat_dock, al_dock,
                                                          filled_store, qtbot, tmp_path):  # fmt: skip
    pytest.importorskip("active_learning.queue")
    import active_learning.strategies as strategies

    assert set(al_dock.strategy.choices) == set(strategies.STRATEGIES)
    al_dock.strategy.value = "uncertainty"
    _open(qtbot, al_dock, filled_store)
    al_dock.next_button.native.click()
    wait_idle(qtbot, al_dock)
    served = chat_dock.conversation.sample_id
    assert served in {r.sample_id for r in filled_store.samples(status="proposed")}
    al_dock.next_button.native.click()
    wait_idle(qtbot, al_dock)
    assert chat_dock.conversation.sample_id not in (served, None)  # both leased to "ada"

    al_dock.registry.value = str(tmp_path / "empty-registry")
    al_dock.set_registry()
    assert al_dock.version.value == "none promoted yet"

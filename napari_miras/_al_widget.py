"""The "MIRAS active learning" dock: the store, the queue, the counts, retraining.

- Store: open (or create) a correction store; the chat dock saves into it.
- Queue: Next asks the picked strategy for the most informative samples (leased to this
  annotator) and opens one: its image and its proposal as Labels, its dialogue in the chat dock.
- Retrain now: `miras-al retrain` in a child process; a promoted model is loaded by the chat.
  While it runs the button reads "Stop retrain" and kills it.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from magicgui.widgets import ComboBox, Container, Label, LineEdit, ProgressBar, PushButton, SpinBox

from napari_miras import _al_api, _retrain, _shortcuts
from napari_miras._conversation import METADATA_KEY
from napari_miras._layers import digest, unwrap
from napari_miras._notify import notify
from napari_miras._queue_cursor import QueueCursor
from napari_miras._sample_layers import image_layer_data, labels_layer_data
from napari_miras._session import session_for
from napari_miras._workers import start

if TYPE_CHECKING:
    import napari

PLUGIN, CHAT_DOCK = "napari-miras", "MIRAS chat"
UNAVAILABLE = "(unavailable)"


def _open_store(location: str):
    import active_learning

    return active_learning.open_store(location)


def _read_item(store, sample_id: str):
    """The sample, arrays read (off the GUI thread), and the layer data to show it."""
    record = store.get(sample_id).load()
    image = record.image
    return record, image_layer_data(record, image), labels_layer_data(store, record, image)


class ActiveLearningWidget(Container):
    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = viewer
        self.session = session_for(viewer)
        self.cursor = QueueCursor()
        self.busy: str | None = None
        self._worker = None
        self._job: _retrain.RetrainJob | None = None
        # The item on screen: (image layer, labels layer, digest of the labels as opened).
        self._shown: tuple[Any, Any, str] | None = None
        self._leaving: list[tuple[Any, Any, str]] = []  # earlier items whose save is under way
        self._strategies: dict[str, Any] = {}  # before _build: the strategy picker lists them
        self._build()
        self._connect()
        self._load_strategies()
        self._refresh()

    # -- layout --------------------------------------------------------------------------------

    def _build(self) -> None:
        row = partial(Container, layout="horizontal", labels=False)
        self.store_path = LineEdit(label="Store", value=self.session.store.where
                                   if self.session.store is not None else "")  # fmt: skip
        self.store_path.native.setPlaceholderText("corrections.zarr or s3://bucket/x.zarr")
        self.open_button = PushButton(text="Open store")
        self.browse_store = PushButton(text="Browse…")
        self.annotator = LineEdit(label="Annotator", value=self.session.annotator)
        self.counts = Label(label="Counts", value="no store open")
        # A callable: napari resets every dock's choices when layers change.
        self.strategy = ComboBox(label="Strategy", choices=self._strategy_names)
        self.strategy_info = Label(label="", value="")
        self.batch = SpinBox(label="Batch", min=1, max=200, value=10)
        self.previous_button = PushButton(text="Previous")
        self.next_button = PushButton(text="Next")
        self.item = Label(label="Item", value="—")
        self.registry = LineEdit(label="Registry", value=self.session.registry)
        self.registry.native.setPlaceholderText("a model registry folder")
        self.browse_registry = PushButton(text="Browse…")
        self.version = Label(label="Model", value="no registry set")
        self.retrain_button = PushButton(text="Retrain now")
        self.retrain_progress = ProgressBar(label="", visible=False, min=0, max=100)
        self.retrain_result = Label(label="", value="")
        self.extend([
            self.store_path, row(widgets=[self.open_button, self.browse_store]),
            self.annotator, self.counts,
            self.strategy, self.strategy_info, self.batch,
            row(widgets=[self.previous_button, self.next_button]), self.item,
            self.registry, self.browse_registry, self.version,
            self.retrain_button, self.retrain_progress, self.retrain_result,
        ])  # fmt: skip
        self.next_button.tooltip = f"Open the next item of the queue ({_shortcuts.NEXT})"
        self.previous_button.tooltip = f"Back to the previous item ({_shortcuts.PREVIOUS})"

    def _connect(self) -> None:
        self.open_button.changed.connect(self.open_store)
        self.store_path.native.returnPressed.connect(self.open_store)
        self.browse_store.changed.connect(partial(self._browse, self.store_path, self.open_store))
        self.browse_registry.changed.connect(partial(self._browse, self.registry, self.set_registry))
        self.registry.native.editingFinished.connect(self.set_registry)
        self.annotator.changed.connect(self._on_annotator)
        self.strategy.changed.connect(self._on_strategy)
        self.next_button.changed.connect(self.next)
        self.previous_button.changed.connect(self.previous)
        self.retrain_button.changed.connect(self._on_retrain_button)
        self.session.saved.connect(self._on_saved)
        self.session.store_changed.connect(self._on_store_changed)
        self._shortcuts = [
            _shortcuts.bind(self.native, _shortcuts.NEXT, self.next),
            _shortcuts.bind(self.native, _shortcuts.PREVIOUS, self.previous),
        ]

    def _load_strategies(self) -> None:
        try:
            self._strategies = _al_api.strategies()
        except _al_api.FeatureMissing as err:
            self.strategy_info.value = f"queue unavailable: {err}"
            return
        self.strategy.reset_choices()
        self._on_strategy()

    def _strategy_names(self, _widget=None) -> list[str]:
        return list(self._strategies) or [UNAVAILABLE]

    def _on_strategy(self, _value=None) -> None:
        chosen = self._strategies.get(self.strategy.value)
        self.strategy_info.value = getattr(chosen, "description", "") if chosen else ""
        self.cursor.reset()  # another strategy ranks differently: fetch afresh

    def _on_annotator(self, value: str) -> None:
        self.session.annotator = value.strip()

    def _browse(self, field: LineEdit, then, _value=None) -> None:
        from qtpy.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self.native, "Choose a folder", field.value)
        if folder:
            field.value = folder
            then()

    # -- store ---------------------------------------------------------------------------------

    def open_store(self, _value=None) -> None:
        """Open (or create) the store named in the Store box; the chat dock saves into it."""
        location = self.store_path.value.strip()
        if self.busy or not location:
            if not location:
                notify("warning", "Type a store location (a folder ending in .zarr, or a URL).")
            return
        self._run("opening", _open_store, location, desc="Opening the correction store",
                  on_done=self.session.set_store,
                  on_error=partial(_fail, f"Could not open the store {location}"))  # fmt: skip

    def _on_store_changed(self, store) -> None:
        self.cursor.reset()
        if store is not None:
            self.store_path.value = store.where
        self.refresh_counts()

    def refresh_counts(self) -> None:
        store = self.session.store
        if store is None:
            self.counts.value = "no store open"
            return
        # Counting reads every sample's metadata: cheap locally, not on a remote store.
        start(store.counts, desc="Counting samples", on_done=self._show_counts, widget=self.native,
              on_error=partial(_fail, "Could not count the samples"))  # fmt: skip

    def _show_counts(self, counts: dict[str, int]) -> None:
        names = ("proposed", "corrected", "curated", "rejected")
        self.counts.value = " · ".join(f"{name} {counts.get(name, 0)}" for name in names)

    def _on_saved(self, sample_id: str, status: str) -> None:
        self.refresh_counts()
        leaving, self._leaving = self._leaving, []
        for item in leaving:
            self._leave(*item)

    # -- queue ---------------------------------------------------------------------------------

    def next(self, _value=None) -> None:
        """Open the next item; fetches the next batch from the strategy when needed."""
        if self.busy or not self._queue_ready():
            return
        if self.cursor.has_next():
            self._show(self.cursor.forward())
            return
        self._run("fetching", _al_api.next_items, self.session.store, self.strategy.value,
                  self.batch.value, self.session.annotator,
                  desc="Choosing the next samples", on_done=self._on_fetched,
                  on_error=partial(_fail, "Could not fetch the queue"))  # fmt: skip

    def previous(self, _value=None) -> None:
        if self.busy or not self.cursor.has_previous():
            return
        self._show(self.cursor.back())

    def _queue_ready(self) -> bool:
        if not self._strategies:
            notify("warning", f"The queue is not available: {self.strategy_info.value}")
            return False
        if self.session.store is None:
            notify("warning", "Open a correction store first (Store, then Open store).")
            return False
        if not self.session.annotator:
            notify("warning", "Type your name under Annotator: queue items are leased to you.")
            return False
        return True

    def _on_fetched(self, items: list) -> None:
        if self.cursor.extend(items) == 0:
            notify("info", "The queue is empty: nothing left to annotate with this strategy.")
            self._refresh()
            return
        self._show(self.cursor.forward())

    def _show(self, item) -> None:
        self._run("opening", _read_item, self.session.store, item.sample_id,
                  desc="Opening the sample", on_done=partial(self._on_item_read, item),
                  on_error=partial(_fail, f"Could not open sample {item.sample_id}"))  # fmt: skip

    def _on_item_read(self, item, result) -> None:
        from napari.layers import Layer

        record, image_data, labels_data = result
        self._clear_shown()
        image = self.viewer.add_layer(Layer.create(*image_data))
        labels = self.viewer.add_layer(Layer.create(*labels_data))
        self._shown = (image, labels, digest(labels.data))
        score = "" if item.score is None else f", score {item.score:.3f}"
        self.item.value = (
            f"{self.cursor.position + 1} of {len(self.cursor.items)}: {record.sample_id} "
            f"({record.status}{score})"
        )
        self._ensure_chat_dock()
        self.session.sample_opened.emit(labels)
        self._refresh()

    def _clear_shown(self) -> None:
        if self._shown is not None:
            shown, self._shown = self._shown, None
            self._leave(*shown)

    def _leave(self, image, labels, opened: str) -> None:
        """Remove a previous item's layers, unless they hold edits not saved (yet)."""
        saved = labels.metadata.get(METADATA_KEY, {}).get("saved_digest")
        if digest(labels.data) in (opened, saved):
            for layer in (labels, image):
                if layer in self.viewer.layers:
                    self.viewer.layers.remove(layer)
        elif unwrap(self.session.saving) is unwrap(labels):
            self._leaving.append((image, labels, opened))  # decided once it is saved
        else:
            notify("info", f"Kept the layers of the previous item ('{labels.name}'): they "
                            "hold unsaved edits. Accept them in the chat dock, or delete them.")

    def _ensure_chat_dock(self) -> None:
        """The chat dock holds Accept / Curate / Reject: open it if it is not."""
        window = getattr(self.viewer, "window", None)
        try:
            window.add_plugin_dock_widget(PLUGIN, CHAT_DOCK)
        except Exception as err:  # no Qt window (headless model) or the plugin is not registered
            notify("warning", f"Open the MIRAS chat dock to accept this item ({err}).")

    # -- registry and retraining ---------------------------------------------------------------

    def set_registry(self, _value=None) -> None:
        path = self.registry.value.strip()
        if path != self.session.registry:
            self.session.set_registry(path)
        self.show_version()

    def show_version(self) -> None:
        path = self.session.registry
        if not path:
            self.version.value = "no registry set"
            return
        try:
            current = _al_api.registry_current(path)
        except _al_api.FeatureMissing as err:
            self.version.value = f"unknown: {err}"
        except Exception as err:  # a folder that is not a registry (yet)
            self.version.value = f"unknown: {err}"
        else:
            self.version.value = current or "none promoted yet"

    def _on_retrain_button(self, _value=None) -> None:
        if self._retraining():
            self.stop_retrain()
        else:
            self.retrain()

    def _retraining(self) -> bool:
        return self._job is not None and self._job.running()

    def retrain(self, _value=None) -> None:
        """Fine-tune on the curated samples in a child process; promote only if better."""
        store, registry = self.session.store, self.registry.value.strip()
        if self._retraining():
            return
        if store is None or not registry:
            notify("warning", "Retraining needs an open store and a registry folder.")
            return
        self.set_registry()
        try:
            argv = _retrain.command(store.where, registry, self._base_for(registry))
        except _al_api.FeatureMissing as err:
            notify("error", str(err))
            return
        self._job = _retrain.RetrainJob(argv, self.native)
        self._job.progress.connect(self._on_retrain_progress)
        self._job.done.connect(self._on_retrained)
        self._job.failed.connect(self._on_retrain_failed)
        self._job.stopped.connect(self._on_retrain_stopped)
        self.retrain_progress.native.setRange(0, 0)  # busy until the job reports figures
        self.retrain_progress.visible = True
        self.retrain_result.value = "retraining…"
        self._job.start()
        self._refresh()

    def _base_for(self, registry: str) -> str | None:
        """The model an empty registry starts from: the one the chat uses (else "demo")."""
        try:
            if _al_api.registry_current(registry) is not None:
                return None
        except _al_api.FeatureMissing:
            return None
        return self.session.model_target or "demo"

    def _on_retrain_progress(self, done: int, total: int) -> None:
        self.retrain_progress.native.setRange(0, total)
        self.retrain_progress.native.setValue(done)

    def _on_retrained(self, result: dict) -> None:
        self._end_retrain(_retrain.describe(result))
        self.show_version()
        self.refresh_counts()
        if result.get("promoted"):
            self.session.promoted.emit(str(result.get("version") or ""))

    def stop_retrain(self, _value=None) -> None:
        """Kill the running retrain; it promotes only as its last step, so the model stays."""
        if self._retraining():
            self.retrain_result.value = "stopping…"
            self._job.cancel()

    def _on_retrain_stopped(self) -> None:
        self._end_retrain("retraining stopped")
        self.show_version()

    def _on_retrain_failed(self, message: str) -> None:
        self._end_retrain("retraining failed")
        notify("error", f"Retraining failed: {message}")

    def _end_retrain(self, text: str) -> None:
        self.retrain_progress.visible = False
        self.retrain_result.value = text
        self._refresh()

    # -- state ---------------------------------------------------------------------------------

    def _run(self, what: str, function, *args, desc: str, on_done, on_error) -> None:
        def done(result):
            self._set_idle()
            on_done(result)

        def failed(error):
            self._set_idle()
            on_error(error)

        self.busy = what
        self._refresh()
        self._worker = start(function, *args, desc=desc, on_done=done, on_error=failed,
                             widget=self.native)

    def _set_idle(self) -> None:
        self.busy, self._worker = None, None
        self._refresh()

    def _refresh(self) -> None:
        idle = self.busy is None
        queue = idle and bool(self._strategies)
        self.strategy.enabled = queue
        self.next_button.enabled = queue
        self.previous_button.enabled = queue and self.cursor.has_previous()
        self.open_button.enabled = idle
        self.retrain_button.text = "Stop retrain" if self._retraining() else "Retrain now"


def _fail(what: str, error: BaseException) -> None:
    notify("error", f"{what}: {error}")

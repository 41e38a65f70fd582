"""The "MIRAS chat" dock: talk to the model about the image on screen, correct, accept.

Flow of one turn: Send -> (load the model off-thread if needed) -> the worker reads the displayed
plane, makes the chat on the first turn, sends the question and turns the reply's masks into
label ids -> those are painted into the conversation's Labels layer as one undo step, the
transcript shows each [SEG] in its label colour. Stop asks the model to stop between tokens; the
conversation is then unchanged. Closing the dock stops the turn too, and drops its answer.

Accept / Curate / Reject save the conversation into the store the active-learning dock opened.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import partial
from typing import TYPE_CHECKING, Any

from magicgui.widgets import (
    ComboBox,
    Container,
    FileEdit,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    TextEdit,
)

from napari_miras import _layers, _shortcuts, _transcript
from napari_miras._conversation import Conversation
from napari_miras._conversation_book import ConversationBook
from napari_miras._model_source import (
    CHOICES,
    DEMO,
    FOLDER,
    REGISTRY,
    ModelSource,
    SourceError,
    explain,
)
from napari_miras._notify import notify
from napari_miras._saving import save
from napari_miras._session import session_for
from napari_miras._workers import Stream, is_cancelled, run_turn, start

if TYPE_CHECKING:
    from collections.abc import Callable

    import napari

log = logging.getLogger(__name__)
# miras's advice when the context is full names its API: "start a new conversation (chat.reset())"
_RESET_HINT = re.compile(r"start a new\s+conversation\s*\(chat\.reset\(\)\)")
_RESET_CALL = re.compile(r"\s*\(chat\.reset\(\)\)")


def load_model(target: str):
    """The default loader: `miras.load` (imports torch: call it off the GUI thread)."""
    from napari_miras._triton_guard import keep_triton_out_if_unsafe

    keep_triton_out_if_unsafe()  # else the first load can crash napari (see the module)
    import miras

    return miras.load(target)


def _load(loader: Callable[[str], Any], source: ModelSource) -> tuple[Any, str]:
    # napari imports pandas for the first Labels layer's features: 0.4 s on the GUI thread
    # when the first reply arrives, unless it is already imported here, off the GUI thread.
    import pandas  # noqa: F401

    return loader(source.target()), source.version()


class ChatWidget(Container):
    """See the module docstring. `loader(target) -> model` can be replaced (tests, fakes)."""

    def __init__(
        self, viewer: napari.viewer.Viewer, loader: Callable[[str], Any] | None = None
    ) -> None:
        super().__init__()
        self.viewer = viewer
        self.session = session_for(viewer)
        self.loader = loader or load_model
        self.model: Any = None
        self.model_version: str | None = None
        self._loaded_source: ModelSource | None = None
        self.book = ConversationBook(viewer)
        self.busy: str | None = None  # "loading", "answering" or "saving"
        self._worker = None
        self._stop = threading.Event()
        self._stream = Stream()
        self._question = ""
        self._pending_layer = None  # a layer to show once idle (Next while saving)
        self._pending_image = None  # an image selected while busy: picked once idle
        self._closed = False  # the dock was closed: late answers are dropped
        self._build()
        self._connect()
        self._refresh()

    # -- layout --------------------------------------------------------------------------------

    def _build(self) -> None:
        self.image_picker = ComboBox(label="Image", choices=self._image_choices, nullable=True)
        self.image_picker.tooltip = (
            "The image the next question is about. Fixed while MIRAS answers or saves; an "
            "image selected in the layer list meanwhile is picked when it is done."
        )
        self.model_picker = ComboBox(label="Model", choices=CHOICES, value=DEMO)
        self.folder = FileEdit(label="Folder", mode="d", visible=False)
        self.model_status = Label(label="", value="model: loads with the first message")
        self.transcript = TextEdit(label="")
        self.transcript.read_only = True
        self.transcript.native.setMinimumHeight(220)
        self.message = LineEdit(label="Message")
        self.message.native.setPlaceholderText("Ask about the image, e.g. 'Segment the mug'")
        self.send_button = PushButton(text="Send")
        self.stop_button = PushButton(text="Stop")
        self.new_button = PushButton(text="New conversation")
        self.progress = ProgressBar(label="", visible=False)
        self.progress.native.setRange(0, 0)  # busy indicator: a turn has no known length
        self.accept_button = PushButton(text="Accept")
        self.curate_button = PushButton(text="Curate")
        self.reject_button = PushButton(text="Reject")
        self.status = Label(label="", value="")
        row = partial(Container, layout="horizontal", labels=False)
        self.extend([
            self.image_picker, self.model_picker, self.folder, self.model_status,
            self.transcript, self.message,
            row(widgets=[self.send_button, self.stop_button, self.new_button]),
            self.progress,
            row(widgets=[self.accept_button, self.curate_button, self.reject_button]),
            self.status,
        ])  # fmt: skip
        self.accept_button.tooltip = f"Save the labels as the correction ({_shortcuts.ACCEPT})"
        self.curate_button.tooltip = "Accept and mark the sample fit for training"
        self.reject_button.tooltip = "Keep the proposal on record as wrong; never train on it"

    def _connect(self) -> None:
        self.send_button.changed.connect(self.send)
        self.message.native.returnPressed.connect(self.send)
        self.stop_button.changed.connect(self.stop)
        self.new_button.changed.connect(self.new_conversation)
        self.accept_button.changed.connect(partial(self.save, "accept"))
        self.curate_button.changed.connect(partial(self.save, "curate"))
        self.reject_button.changed.connect(partial(self.save, "reject"))
        self.image_picker.native.activated.connect(self._select_picked)  # the user's picks only
        self.model_picker.changed.connect(self._on_model_choice)
        self.folder.changed.connect(self._on_model_choice)
        layers = self.viewer.layers
        layers.events.inserted.connect(self._on_layers_changed)
        layers.events.removed.connect(self._on_layers_changed)
        layers.selection.events.active.connect(self._on_active_layer)
        self.session.sample_opened.connect(self.show_layer)
        self.session.promoted.connect(self._on_promoted)
        self._shortcuts = [
            _shortcuts.bind(self.native, _shortcuts.SEND, self.send),
            _shortcuts.bind(self.native, _shortcuts.ACCEPT, partial(self.save, "accept")),
        ]
        self._ticker = _timer(self.native, 150, self._show_stream)
        # A closing viewer stops a running turn (the current turn's event, looked up then).
        self.native.destroyed.connect(lambda *_: self._stop.set())
        self._undock_watch = _when_undocked(self.native, self._on_dock_closed)

    def _image_choices(self, _widget=None) -> list[tuple[str, Any]]:
        from napari.layers import Image

        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Image)]

    # -- the model -----------------------------------------------------------------------------

    def source(self) -> ModelSource:
        return ModelSource(
            self.model_picker.value, folder=self._folder(), registry=self.session.registry
        )

    def _folder(self) -> str:
        value = self.folder.value
        return "" if value is None or str(value) in ("", ".") else str(value)

    def load(self, then: Callable[[], Any] | None = None, fallback: str | None = None) -> bool:
        """Load the picked model off-thread; `then()` runs after success. False if not started."""
        if self.busy:
            return False
        source = self.source()
        try:
            source.target()
        except SourceError as err:
            notify("warning", str(err))
            return False
        self._set_busy("loading", f"loading the {source.choice} model…")
        self._worker = start(
            _load, self.loader, source,
            widget=self.native, desc=f"Loading MIRAS model ({source.choice})",
            on_done=partial(self._on_loaded, source, then),
            on_error=partial(self._on_load_failed, source, fallback),
        )  # fmt: skip
        return True

    def _on_loaded(self, source: ModelSource, then, result) -> None:
        self.model, self.model_version = result
        self._loaded_source = source
        if source.choice != REGISTRY:
            self.session.model_target = source.target()  # starts an empty registry
        self._set_idle()
        if self._closed:
            return  # what it was loaded for (a message) went with the dock
        self.model_status.value = f"model: {source.choice} ({self.model_version})"
        if self.source() != source:  # the picker moved on while this one loaded
            self.load(then)
        elif then is not None:
            then()

    def _on_load_failed(self, source: ModelSource, fallback: str | None, error) -> None:
        self._set_idle()
        _log_unexpected(error, f"loading the {source.choice} model")
        self.model, self._loaded_source = None, None
        if fallback:
            notify("warning", f"Could not load the {source.choice} model ({error}). Using "
                              f"'{fallback}' instead; pick another model under Model.")
            self.model_picker.value = fallback  # loads it (see _on_model_choice)
            return
        self.model_status.value = f"model: {source.choice} could not be loaded"
        notify("error", explain(error, source))

    def _on_model_choice(self, _value=None) -> None:
        self.folder.visible = self.model_picker.value == FOLDER
        if self.model_picker.value == FOLDER and not self._folder():
            self.model_status.value = "model: choose a checkpoint or registry folder"
            return
        if self.source() != self._loaded_source:
            self.load()

    def _on_promoted(self, version: str) -> None:
        """A retrain promoted a new model: chat with it from the next conversation on."""
        notify("info", f"Model {version} was promoted; the chat now uses it.")
        self._loaded_source = None
        if self.model_picker.value != REGISTRY:
            self.model_picker.value = REGISTRY  # loads it
        else:
            self.load()

    # -- a turn --------------------------------------------------------------------------------

    def send(self, _value=None) -> None:
        """Ask the question in the message box about the displayed plane of the picked image."""
        if self.busy:
            return
        text = self.message.value.strip()
        if not text:
            notify("warning", "Type a question or request in the message box first.")
            return
        if self.model is None or self.source() != self._loaded_source:
            self.load(then=self.send)
            return
        layer = self.image_picker.value
        if layer is None:
            notify("warning", "Open an image first (File > Open Sample > napari-miras), "
                               "then pick it under Image.")  # fmt: skip
            return
        try:
            index = _layers.plane_index(layer, self.viewer.dims)
        except _layers.PlaneError as err:
            notify("warning", f"MIRAS cannot read the image as shown: {err}.")
            return
        conversation = self.book.for_turn(layer, index, self.model, self.model_version)
        self._ask(conversation, layer, index, text)

    def _ask(self, conversation: Conversation, layer, index, text: str) -> None:
        self._stop, self._stream, self._question = threading.Event(), Stream(), text
        self._set_busy("answering", "MIRAS is answering… (Stop to cancel)")
        self._show_stream()
        plane_shape = _layers.spatial_shape(layer)[len(index) :]
        to_stroke = partial(_layers.make_stroke, plane_shape, first_id=conversation.next_label_id())
        self._worker = start(
            _answer, to_stroke, conversation, self.model.chat,
            partial(_layers.read_plane, layer, index), text, self._stop, self._stream,
            widget=self.native, desc="MIRAS is answering",
            on_done=partial(self._on_reply, conversation, text),
            on_error=self._on_turn_failed,
        )  # fmt: skip

    def stop(self, _value=None) -> None:
        if self.busy == "answering":
            self._stop.set()
            self.status.value = "stopping…"

    def _on_reply(self, conversation: Conversation, text: str, result) -> None:
        self._set_idle()
        if self._closed:
            return  # the dock was closed during the turn: nobody waits for its masks
        reply, stroke = result
        new = conversation.add_turn(text, reply.raw, reply.masks, reply.labels, reply.scores)
        scores = ", ".join(f"{s.score:.2f}" for s in new if s.score is not None)
        self.status.value = f"{len(new)} mask(s)" + (f", scores {scores}" if scores else "")
        if self._image_closed(conversation):
            self._drop_masks(conversation)
        else:
            self._paint(conversation, stroke)
        self.book.sync(conversation)
        if self.message.value.strip() == text:
            self.message.value = ""
        self._refresh()

    def _paint(self, conversation: Conversation, stroke) -> None:
        labels = self.book.labels_of(conversation)
        if isinstance(stroke, ValueError):
            notify("error", f"The reply's masks could not be shown: {stroke}")
        elif stroke is not None:
            _layers.paint(labels, conversation.index, stroke)

    def _image_closed(self, conversation: Conversation) -> bool:
        """The image was closed during the turn, and no layer of the conversation is left."""
        labels = conversation.labels_layer
        if labels is not None and _layers.holds(self.viewer.layers, labels):
            return False
        return not _layers.holds(self.viewer.layers, conversation.image_layer)

    def _drop_masks(self, conversation: Conversation) -> None:
        """Show the reply's text only: a new Labels layer would have no image under it."""
        conversation.closed = True  # its image is gone: the next message starts over
        self.status.value = "the image was closed: the reply's masks are not shown"
        notify("warning", f"The image '{conversation.image_name}' was closed while MIRAS "
                          "answered: the reply's text is shown, its masks are not. Open the "
                          "image again and ask in a new conversation to get them.")  # fmt: skip

    def _on_turn_failed(self, error: BaseException) -> None:
        self._set_idle()
        if self._closed:
            return
        if is_cancelled(error, self._stop):
            self.status.value = "stopped; the conversation is unchanged"
            notify("info", "Stopped: the conversation is as it was; your message is kept.")
        else:
            _log_unexpected(error, "a turn")
            notify("error", _turn_error(error))
            self.status.value = "the last message failed; it is still in the box"
        self._refresh()

    def _on_dock_closed(self) -> None:
        """Stop the running turn: the annotator closed the dock, so its answer is not wanted."""
        self._closed = True
        self._stop.set()
        # The session outlives the dock: a promotion must not load a model into a closed one.
        self.session.sample_opened.disconnect(self.show_layer)
        self.session.promoted.disconnect(self._on_promoted)

    def _show_stream(self) -> None:
        if self.busy != "answering":
            return
        html = _transcript.render(self.conversation, self._color_of(self.conversation))
        html += _transcript.pending(self._question, self._stream.text)
        self._set_transcript(html)

    # -- conversations and their layers --------------------------------------------------------

    @property
    def conversation(self) -> Conversation | None:
        """The conversation on show: the next turn, Accept, Curate and Reject go to it."""
        return self.book.current

    def new_conversation(self, _value=None) -> None:
        """Start over: the next message opens a new conversation (and a new Labels layer)."""
        if self.busy:
            return
        self.book.close_current()
        self.status.value = "the next message starts a new conversation"
        self._refresh()

    def show_layer(self, labels) -> None:
        """Show the conversation kept in a MIRAS Labels layer (queue item, reader, older one)."""
        if self.busy:  # the running turn or save belongs to the conversation on show
            self._pending_layer = labels
        elif self.book.adopt(labels) is not None:
            self._refresh()

    def _show_pending_layer(self) -> None:
        labels, self._pending_layer = self._pending_layer, None
        if labels is not None and _layers.holds(self.viewer.layers, labels):
            self.show_layer(labels)

    def _on_active_layer(self, event=None) -> None:
        from napari.layers import Image, Labels

        layer = self.viewer.layers.selection.active
        if isinstance(layer, Labels):
            self.show_layer(layer)
        elif isinstance(layer, Image):
            self._pick(layer)

    def _pick(self, image) -> None:
        """Pick `image` for the next question; while busy, once done (the turn keeps its own)."""
        if not self.busy:
            self.image_picker.value = image
            return
        self._pending_image = image
        self.status.value = f"{self.busy}…; then '{image.name}' is picked for the next question"

    def _select_picked(self, _index=None) -> None:
        """Select the image picked here in the layer list too: else a click there on the image
        already selected, to pick it, is no change and napari does not report it."""
        image = self.image_picker.value
        if image is not None:
            self.viewer.layers.selection.active = image

    def _pick_pending_image(self) -> None:
        image, self._pending_image = self._pending_image, None
        if image is not None and _layers.holds(self.viewer.layers, image):
            self._pick(image)

    def _on_layers_changed(self, event=None) -> None:
        self.reset_choices()
        self.book.prune()
        self._refresh()  # Accept needs the conversation's layer to be there

    def reset_choices(self, *_: Any) -> None:
        """Refresh the pickers (napari calls it when layers change, renamed ones too)."""
        picked = _layers.unwrap(self.image_picker.value)
        super().reset_choices()
        # The picker matches by name: a renamed image would fall out of it; pick it again.
        for layer in self.image_picker.choices:
            if picked is not None and _layers.unwrap(layer) is picked:
                self.image_picker.value = layer

    # -- accept / curate / reject --------------------------------------------------------------

    def save(self, action: str, _value=None) -> None:
        """Write the current conversation to the session's store (off-thread)."""
        conversation = self.conversation
        if self.busy or conversation is None:
            if conversation is None:
                notify("warning", "No conversation to save: ask the model something first.")
            return
        store = self.session.store
        if store is None:
            notify("warning", "No correction store is open: open or create one in the 'MIRAS "
                               "active learning' dock (Plugins menu), then press again. Your "
                               "labels stay in their layer.")  # fmt: skip
            return
        labels = conversation.labels_layer
        if labels is None:
            notify("warning", "Nothing to save yet: the model has not answered.")
            return
        if not self._layer_shown(conversation):
            notify("warning", f"Nothing saved: the layer '{labels.name}' of this conversation "
                               "was deleted. Ask again to get a new layer, or pick another "
                               "conversation's layer in the layer list.")  # fmt: skip
            return
        self.book.take_file_save(conversation)  # File > Save may have written its sample
        correction = _layers.labels_plane(labels.data, conversation.index, labels.name)
        saved = _layers.digest(labels.data)
        self.session.saving = labels
        self._set_busy("saving", f"saving ({action})…")
        # Reject stores no correction; Accept and Curate look for edits they cannot store.
        whole = labels.data if action != "reject" else None
        self._worker = start(
            _save_plane, whole, store, conversation, correction, action,
            self.session.annotator or None,
            widget=self.native, desc="Saving to the correction store",
            on_done=partial(self._on_saved, conversation, store, saved),
            on_error=partial(self._on_save_failed, labels.name),
        )  # fmt: skip

    def _on_saved(self, conversation: Conversation, store, saved: str, done) -> None:
        result, unsaved_planes = done
        self.session.saving = None
        self._set_idle()
        conversation.sample_id, conversation.status = result
        conversation.store, conversation.saved_digest = store.where, saved
        self.book.sync(conversation)
        self.status.value = f"saved: sample {result[0]} is {result[1]}"
        if unsaved_planes:
            self._warn_unsaved_planes(conversation, unsaved_planes)
        self._refresh()
        self.session.saved.emit(*result)

    def _warn_unsaved_planes(self, conversation: Conversation, planes) -> None:
        here = _plane_names([conversation.index])
        self.status.value += f" (plane {here} only)"
        notify("warning", f"Saved plane {here} only: a conversation is about one plane. Labels "
                          f"on plane(s) {_plane_names(planes)} of "
                          f"'{conversation.labels_layer.name}' are not stored. To store them, "
                          "go to that plane and ask about it in a new conversation, then "
                          "correct and accept there.")  # fmt: skip

    def _on_save_failed(self, layer_name: str, error) -> None:
        self.session.saving = None
        self._set_idle()
        _log_unexpected(error, "saving")
        notify("error", f"Could not save to the store: {error}. Nothing was lost: your labels "
                         f"are still in layer '{layer_name}'; fix the cause and press again, or "
                         "save the layer with File > Save Selected Layers… as a .zarr store.")
        self._refresh()

    # -- state and display ---------------------------------------------------------------------

    def _set_busy(self, what: str, message: str) -> None:
        self.busy = what
        self.status.value = message
        self.progress.visible = True
        if what == "answering":
            self._ticker.start()
        self._refresh()

    def _set_idle(self) -> None:
        self.busy = None
        self._worker = None
        self.progress.visible = False
        self._ticker.stop()
        self.status.value = ""
        self._refresh()
        self._show_pending_layer()
        self._pick_pending_image()

    def _refresh(self) -> None:
        idle = self.busy is None
        for button in (self.send_button, self.new_button, self.model_picker, self.image_picker):
            button.enabled = idle
        self.stop_button.enabled = self.busy == "answering"
        conversation = self.conversation
        can_save = idle and conversation is not None and bool(conversation.turns)
        can_save = can_save and self._layer_shown(conversation)
        for button in (self.accept_button, self.curate_button, self.reject_button):
            button.enabled = can_save
        if idle:
            self._set_transcript(_transcript.render(conversation, self._color_of(conversation)))

    def _layer_shown(self, conversation: Conversation) -> bool:
        """Whether the conversation's Labels layer is in the viewer (none: nothing to save)."""
        labels = conversation.labels_layer
        return labels is not None and _layers.holds(self.viewer.layers, labels)

    def _color_of(self, conversation: Conversation | None):
        labels = conversation.labels_layer if conversation is not None else None
        if labels is None:
            return lambda _id: "#808080"
        return partial(_layers.color_hex, labels)

    def _set_transcript(self, html: str) -> None:
        self.transcript.native.setHtml(html)
        bar = self.transcript.native.verticalScrollBar()
        bar.setValue(bar.maximum())


def _answer(to_stroke: Callable[[Any], Any], *turn: Any) -> tuple[Any, Any]:
    """`run_turn(*turn)` and its masks as a stroke of label ids, both in the worker (masks can
    be image-sized). A mask that does not fit comes back as its ValueError: the turn stands."""
    reply = run_turn(*turn)
    try:
        return reply, to_stroke(reply.masks)
    except ValueError as err:
        return reply, err


def _save_plane(labels_data: Any, store, conversation: Conversation, *rest: Any):
    """`save(store, conversation, *rest)`, and the planes of `labels_data` (None: not looked at)
    that hold labels besides the conversation's: in the worker, as it reads the whole stack."""
    result = save(store, conversation, *rest)
    if labels_data is None:
        return result, []
    return result, _layers.planes_with_labels(labels_data, conversation.index)


def _plane_names(planes, most: int = 5) -> str:
    """(2,), (3, 1) -> "2, (3, 1)", listing at most `most` planes."""
    names = [str(p[0]) if len(p) == 1 else str(p) for p in planes]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _turn_error(error: BaseException) -> str:
    from miras import ContextLengthError, MirasError

    if isinstance(error, ContextLengthError):
        return f"MIRAS could not answer: {_in_dock_terms(str(error))}"
    if isinstance(error, MirasError):
        return f"MIRAS could not answer: {error}"
    return (
        f"MIRAS failed unexpectedly ({type(error).__name__}: {error}). The conversation is "
        "unchanged and your message is still in the box; see the console for details."
    )


def _in_dock_terms(message: str) -> str:
    """A context-length message with the dock's button where miras names its API."""
    message, found = _RESET_HINT.subn('press "New conversation"', message)
    if found:
        return message
    message = _RESET_CALL.sub("", message)  # reworded in miras: drop the API, name the button
    return f'{message.rstrip(". ")}. Press "New conversation" to start over.'


def _log_unexpected(error: BaseException, during: str) -> None:
    """Keep the traceback of what is not a user error (the notification shows only a line)."""
    from miras import MirasError

    if not isinstance(error, MirasError):
        log.error("MIRAS: %s failed", during, exc_info=(type(error), error, error.__traceback__))


def _when_undocked(widget, callback: Callable[[], Any]):
    """Call `callback()` when `widget` leaves its dock; returns the event filter (keep it).

    napari's close button (x) does not delete a dock's widget: it takes the widget out of the
    dock (setParent(None)) and deletes the dock, so `destroyed` does not fire (napari 0.9).
    """
    from qtpy.QtCore import QEvent, QObject

    class Watch(QObject):
        docked = False  # a widget not docked yet has no parent either

        def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.ParentChange:
                was_docked, self.docked = self.docked, watched.parent() is not None
                if was_docked and not self.docked:
                    callback()
            return False

    watch = Watch(widget)
    widget.installEventFilter(watch)
    return watch


def _timer(parent, interval_ms: int, callback):
    from qtpy.QtCore import QTimer

    timer = QTimer(parent)
    timer.setInterval(interval_ms)
    timer.timeout.connect(callback)
    return timer

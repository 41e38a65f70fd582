"""The transcript as HTML: each turn on its own line, each [SEG] as a chip in its label's colour.

Model text is escaped: a reply is whatever the model wrote (an untrained model writes bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from napari_miras._conversation import GPT, Conversation, Segment, split_reply

_ROLE = {"human": ("You", "#9ecbff"), GPT: ("MIRAS", "#c8e6a0")}


def render(conversation: Conversation | None, color_of: Callable[[int], str]) -> str:
    """The whole transcript; `color_of(label_id)` gives the label's #rrggbb."""
    if conversation is None or not conversation.turns:
        return "<p><i>Ask about the image: type below and press Enter.</i></p>"
    rows = [_header(conversation)]
    for number, (role, text) in enumerate(conversation.turns):
        body = (
            _reply_html(text, conversation.segments_of(number), color_of)
            if role == GPT
            else escape(text)
        )
        rows.append(_row(role, body))
    return "\n".join(rows)


def pending(question: str, partial: str = "") -> str:
    """The question being answered and the reply so far (streamed), in grey."""
    row = _row("human", escape(question))
    answer = escape(partial[-400:]) if partial else "…"
    return f'{row}\n<p style="color:#888888"><b>MIRAS</b>: {answer}</p>'


def _header(conversation: Conversation) -> str:
    where = escape(conversation.image_name)
    if conversation.index:
        where += " plane " + ", ".join(str(i) for i in conversation.index)
    state = ""
    if conversation.sample_id:
        state = f" · sample {escape(conversation.sample_id)} ({escape(conversation.status or '')})"
    return f'<p style="color:#888888">{where}{state}</p>'


def _row(role: str, body: str) -> str:
    name, colour = _ROLE.get(role, (role, "#dddddd"))
    return f'<p><b style="color:{colour}">{name}</b>: {body}</p>'


def _reply_html(raw: str, segments: list[Segment], color_of: Callable[[int], str]) -> str:
    parts = []
    for text, number in split_reply(raw):
        if number is None:
            parts.append(escape(text))
        elif number < len(segments):
            parts.append(_chip(segments[number], text, color_of))
        else:  # a [SEG] the model gave no mask for
            parts.append(escape(text) + " <i>(no mask)</i>")
    return "".join(parts)


def _chip(segment: Segment, text: str, color_of: Callable[[int], str]) -> str:
    colour = color_of(segment.label_id)
    name = escape(text or segment.label or f"mask {segment.label_id}")
    score = "" if segment.score is None else f" {segment.score:.2f}"
    return (
        f'<span style="background-color:{colour}; color:#000000">&nbsp;■ {name}&nbsp;</span>'
        f'<span style="color:#888888"> #{segment.label_id}{score}</span>'
    )

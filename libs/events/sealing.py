"""Free text in events, sealed with the matter's key (反映内容、理由、意见、说明……).

A reason, a note, a finding or a narrative can name a person and tells what a secret matter
is about, so no event carries one in clear: the store seals it on append with the key of
the matter the stream is about (``Vault.seal_matter_text``; the context is the stream's id,
the clue's, case's or inquiry's UUID), before the event is hashed, so the hash chain covers
the sealed form and ``zhengfeng verify`` checks it as it checks everything else. The domain
decides on the plain text (the command's body) and never reads the text back for a decision.

Which fields: :data:`FREE_TEXT` by name, where the contract types the field as text
(``str``, ``str | None`` or ``list[str]``; an enum or a code named ``opinion`` or ``reason``
is left as it is), in the event and in every model or mapping it holds (a proposal's
command body, a transition's details). A text already sealed (a token copied from another
service's event) is kept as it is. ``docs/event-store.md`` lists the fields.

Reading: ``pii.open_texts`` opens the tokens of an answer for a reader who may read the
matter (``libs/kit/texts.py`` does it for every JSON answer of a service) and puts
``[已封存]`` in their place for everyone else; a shredded matter reads ``[已销毁]``.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts import Event

FREE_TEXT = frozenset(
    {
        "narrative",
        "reason",
        "reasons",
        "remark",
        "remarks",
        "note",
        "notes",
        "opinion",
        "comment",
        "summary",
        "message",
        "content",
        "explanation",
        "recorded_explanation",
        "text",
        "conclusion_text",
        "facts",
        "description",
    }
)
"""Field names that hold free text (where the contract types them as text)."""

MAPPING_TEXT = FREE_TEXT - {"opinion"}
"""Keys whose text values are sealed inside a mapping (a command body as proposed), where
no type says whether ``opinion`` is a code (``agree``) or words."""

EXEMPT = frozenset({("Question", "text")})
"""(model, field) pairs that are not free text about a matter (a questionnaire's wording)."""

ALSO = frozenset(
    {
        ("RectificationItemReviewed", "finding"),
        ("RectificationItemAssigned", "problem"),
        ("RectificationItemAssigned", "measures"),
        ("RectificationItemCompleted", "accountability"),
        ("SuggestionIssued", "problems"),
        ("SuggestionIssued", "recommendations"),
    }
)
"""(model, field) pairs of free text whose name elsewhere is a code (``finding``: ``ours``,
``confirmed``…)."""

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def matter_of(stream_id: str) -> str:
    """The context a stream's free text is sealed in: the matter's UUID in the stream's id
    (``case-<id>`` → ``<id>``), else the stream's id itself."""
    found = _UUID.findall(stream_id)
    if found:
        return str(found[-1]).lower()
    return re.sub(r"[^A-Za-z0-9_:-]", "_", stream_id)[:120]


def _is_text(annotation: Any) -> str | None:
    """``"str"`` for a text field, ``"list"`` for a list of texts, else None."""
    if annotation is str:
        return "str"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _is_text(args[0]) if len(args) == 1 else None
    if origin is list and typing.get_args(annotation) == (str,):
        return "list"
    return None


class TextSealer:
    """Seals the free text of events before the store hashes and writes them."""

    def __init__(self, vault: pii.Vault) -> None:
        self.vault = vault

    async def __call__(
        self, conn: AsyncConnection | None, stream_id: str, events: Sequence[Event]
    ) -> list[Event]:
        context = matter_of(stream_id)
        return [await self._model(conn, e, context) for e in events]

    async def text(self, conn: AsyncConnection | None, value: str, context: str) -> str:
        """One text sealed (empty, already sealed or ``[已销毁]`` kept as it is)."""
        if not value or value == pii.SHREDDED or pii.MATTER_TEXT.fullmatch(value):
            return value
        sealed: str = await self.vault.seal_matter_text(conn, value, context=context)
        return sealed

    async def _model(self, conn: AsyncConnection | None, model: Any, context: str) -> Any:
        update: dict[str, Any] = {}
        name = type(model).__name__
        for field, info in type(model).model_fields.items():
            value = getattr(model, field)
            if value is None:
                continue
            kind = _is_text(info.annotation)
            named = field in FREE_TEXT and (name, field) not in EXEMPT
            if (named or (name, field) in ALSO) and kind is not None:
                if kind == "str" and isinstance(value, str):
                    sealed: Any = await self.text(conn, value, context)
                elif kind == "list":
                    sealed = [await self.text(conn, v, context) for v in value]
                else:
                    continue
                if sealed != value:
                    update[field] = sealed
            elif isinstance(value, (BaseModel, list, tuple, dict)):
                sealed = await self._value(conn, value, context)
                if sealed is not value:
                    update[field] = sealed
        return model.model_copy(update=update) if update else model

    async def _value(self, conn: AsyncConnection | None, value: Any, context: str) -> Any:
        if isinstance(value, BaseModel):
            return await self._model(conn, value, context)
        if isinstance(value, (list, tuple)):
            items = [await self._value(conn, v, context) for v in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return type(value)(items) if isinstance(value, tuple) else items
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            changed = False
            for k, v in value.items():
                if k in MAPPING_TEXT and isinstance(v, str):
                    s: Any = await self.text(conn, v, context)
                elif (
                    k in MAPPING_TEXT and isinstance(v, list) and all(isinstance(x, str) for x in v)
                ):
                    s = [await self.text(conn, x, context) for x in v]
                else:
                    s = await self._value(conn, v, context)
                changed = changed or s is not v
                out[k] = s
            return out if changed else value
        return value


__all__ = ["FREE_TEXT", "TextSealer", "matter_of"]

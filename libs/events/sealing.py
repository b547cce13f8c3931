"""Free text in events, sealed with the matter's key (反映内容、理由、意见、说明……).

A reason, a note, a finding or a narrative can name a person and tells what a secret matter
is about, so no event carries one in clear: the store seals it on append with the key of
the matter the stream is about (``Vault.seal_matter_text``; the context is the stream's id,
the clue's, case's or inquiry's UUID), before the event is hashed, so the hash chain covers
the sealed form and ``zhengfeng verify`` checks it as it checks everything else. The domain
decides on the plain text (the command's body) and never reads the text back for a decision.

Which fields: :data:`FREE_TEXT` by name, where the contract types the field as text
(``str``, ``str | None``, ``list[str]`` or ``dict[str, str]``; an enum or a code named
``opinion`` or ``reason`` is left as it is), in the event and in every model or mapping it
holds (a proposal's command body, a transition's details), and the pairs of :data:`ALSO`.
A text already sealed (a token copied from another service's event) is kept as it is.
An event whose stream is not its matter's names its matter in a field
(:data:`SEALED_IN`: a survey's answers, each on a stream of its own so that nothing links
them, are sealed with the survey's key). ``docs/event-store.md`` lists the fields.

Left in clear, on purpose: catalogue wording that a clerk picks rather than writes — a
document's title (its kind's label, ``立案决定书``, from the templates), a questionnaire's
title and question text (shown to every respondent holding a link, who has no role to open
a token), a responsibility list's posts, the rules' labels — and codes. A title a clerk
types about a matter (a rectification list's, a typical case's publication) can name a
person and tell what the matter is about, so it is sealed (:data:`ALSO`).

Reading: ``pii.open_texts`` opens the tokens of an answer for a reader who may read the
matter (``libs/kit/texts.py`` does it for every JSON answer of a service) and puts
``[已封存]`` in their place for everyone else; a shredded matter reads ``[已销毁]``, a token
that does not open for its matter (forged, relabelled, corrupted) ``[无法解封]``, logged.
"""

from __future__ import annotations

import functools
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

BODY_TEXT = MAPPING_TEXT | {"title"}
"""Keys sealed inside a proposed command's body (:data:`BODIES`): there a ``title`` is one a
clerk typed (a typical case's publication), while elsewhere a mapping's title is the rules'
wording (an analysis report's table)."""

BODIES = frozenset({("ProposalSubmitted", "body"), ("ProposalResubmitted", "body")})
"""(model, field) pairs holding a command's body as proposed."""

EXEMPT = frozenset({("Question", "text"), ("SurveyAnswered", "answers")})
"""(model, field) pairs that are not free text about a matter: a questionnaire's wording, a
survey's scale and choice answers (codes the tally counts, whatever a question's code is —
one named ``note`` holds a choice, not words)."""

ALSO = frozenset(
    {
        ("RectificationItemReviewed", "finding"),
        ("RectificationItemAssigned", "problem"),
        ("RectificationItemAssigned", "measures"),
        ("RectificationItemCompleted", "accountability"),
        ("SuggestionIssued", "problems"),
        ("SuggestionIssued", "recommendations"),
        ("SurveyAnswered", "texts"),
        ("RectificationListOpened", "title"),
        ("AttachmentRef", "name"),
        ("TypicalCasePublished", "title"),
        ("ClueReceived", "place"),
        ("ClueMerged", "place"),
        ("MeetingRecorded", "attendees"),
        ("Dissent", "attendee"),
    }
)
"""(model, field) pairs of free text whose name elsewhere is a code (``finding``: ``ours``,
``confirmed``…) or says nothing of what it holds: a survey's free answers by question code,
a title a clerk types about a matter (a rectification list's, a typical case's), a clue's
attachment's file name as the sender gave it (``王五收受购物卡证据.pdf``) and its place
(``王五家中``, ``某县财政局王五办公室``: where can say who), a meeting's
attendees and the attendee of a dissent (the minutes list people as the clerk writes them,
often by name)."""

SEALED_IN = {"SurveyAnswered": "survey_id", "PersonalDataShredded": "person_ref"}
"""Event type → the field naming the matter its text is sealed in, where the event's stream
is not the matter's (a survey's answer is on a stream of its own: nothing links it to a
link or a respondent, and its words are sealed with the survey's key; a shred's reason is
sealed in the destroyed key's own id — its stream's matter is the one just shredded, and
the record of why must outlive it)."""

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def matter_of(stream_id: str) -> str:
    """The context a stream's free text is sealed in: the matter's UUID in the stream's id
    (``case-<id>`` → ``<id>``), else the stream's id itself."""
    found = _UUID.findall(stream_id)
    if found:
        return str(found[-1]).lower()
    return re.sub(r"[^A-Za-z0-9_:-]", "_", stream_id)[:120]


def _matter(event: Event) -> str | None:
    """The matter an event names as its own (:data:`SEALED_IN`), else None."""
    field = SEALED_IN.get(type(event).__name__)
    value = getattr(event, field, None) if field else None
    return None if value is None else matter_of(str(value))


def _is_text(annotation: Any) -> str | None:
    """``"str"`` for a text field, ``"list"`` for a list of texts, ``"dict"`` for texts by
    key, else None."""
    if annotation is str:
        return "str"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _is_text(args[0]) if len(args) == 1 else None
    if origin is list and typing.get_args(annotation) == (str,):
        return "list"
    if origin is dict and typing.get_args(annotation) == (str, str):
        return "dict"
    return None


@functools.cache
def _plan(model: type[BaseModel]) -> tuple[tuple[str, str | None, frozenset[str]], ...]:
    """How a model's fields are sealed, worked out once per model class: each field that may
    hold text with its kind (``_is_text``) when it is free text itself, else ``None`` and
    the mapping keys sealed inside it (exempt fields are left out)."""
    name = model.__name__
    plan = []
    for field, info in model.model_fields.items():
        if (name, field) in EXEMPT:
            continue
        kind = _is_text(info.annotation)
        named = field in FREE_TEXT or (name, field) in ALSO
        keys = BODY_TEXT if (name, field) in BODIES else MAPPING_TEXT
        plan.append((field, kind if named else None, keys))
    return tuple(plan)


class TextSealer:
    """Seals the free text of events before the store hashes and writes them."""

    def __init__(self, vault: pii.Vault) -> None:
        self.vault = vault

    async def __call__(
        self, conn: AsyncConnection | None, stream_id: str, events: Sequence[Event]
    ) -> list[Event]:
        context = matter_of(stream_id)
        return [await self._model(conn, e, _matter(e) or context) for e in events]

    async def text(self, conn: AsyncConnection | None, value: str, context: str) -> str:
        """One text sealed (empty, already sealed or ``[已销毁]`` kept as it is)."""
        if not value or value == pii.SHREDDED or pii.MATTER_TEXT.fullmatch(value):
            return value
        sealed: str = await self.vault.seal_matter_text(conn, value, context=context)
        return sealed

    async def _model(self, conn: AsyncConnection | None, model: Any, context: str) -> Any:
        update: dict[str, Any] = {}
        cls: type[BaseModel] = type(model)
        for field, kind, keys in _plan(cls):
            value = getattr(model, field)
            if value is None:
                continue
            if kind is not None:
                if kind == "str" and isinstance(value, str):
                    sealed: Any = await self.text(conn, value, context)
                elif kind == "list":
                    sealed = [await self.text(conn, v, context) for v in value]
                elif kind == "dict":
                    sealed = {k: await self.text(conn, v, context) for k, v in value.items()}
                else:
                    continue
                if sealed != value:
                    update[field] = sealed
            elif isinstance(value, (BaseModel, list, tuple, dict)):
                sealed = await self._value(conn, value, context, keys)
                if sealed is not value:
                    update[field] = sealed
        return model.model_copy(update=update) if update else model

    async def _value(
        self,
        conn: AsyncConnection | None,
        value: Any,
        context: str,
        keys: frozenset[str] = MAPPING_TEXT,
    ) -> Any:
        if isinstance(value, BaseModel):
            return await self._model(conn, value, context)
        if isinstance(value, (list, tuple)):
            items = [await self._value(conn, v, context, keys) for v in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return type(value)(items) if isinstance(value, tuple) else items
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            changed = False
            for k, v in value.items():
                if k in keys and isinstance(v, str):
                    s: Any = await self.text(conn, v, context)
                elif k in keys and isinstance(v, list) and all(isinstance(x, str) for x in v):
                    s = [await self.text(conn, x, context) for x in v]
                else:
                    s = await self._value(conn, v, context, keys)
                changed = changed or s is not v
                out[k] = s
            return out if changed else value
        return value


__all__ = ["ALSO", "FREE_TEXT", "SEALED_IN", "TextSealer", "matter_of"]

"""Is a text a clerk reads Chinese? English words in it, found two ways.

``english_words`` is strict, for texts that are wholly for people (labels, explanations,
document lines, CSV headers): any word of Latin letters is English, except the few
abbreviations and units clerks use (ID, UUID, JSON, CSV…). ``english_prose`` is for
refusal details, which may name a machine field or code (``party_id``, ``commission``)
so that an API caller can act: it finds English sentences and English function words,
not single codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

ALLOWED = frozenset(
    """ID UUID JSON CSV HTML PDF docx UTF ASCII URL HTTP HTTPS GB ETag If-Match
    Idempotency-Key Content-Type YYYY MM DD HH SS km kg true false A4 SHA-256 QR ETC
    GPS""".split()
)
"""Abbreviations, units and literals a Chinese screen uses as they are."""

_FUNCTION_WORDS = frozenset(
    """a an the is are was were be been not no of to for in on at by with from this that
    these those it its and or but if then than because must should may can cannot could
    would will please required invalid unknown missing found error failed allowed only
    already exists does did has have had when where which who what why how need needs
    expected got given use used""".split()
)

_MACHINE = [
    re.compile(r"`[^`]*`"),  # quoted code
    re.compile(r"https?://\S+|/[\w\-/{}.~]+"),  # addresses and paths
    re.compile(r"\b\w*[_\d]\w*\b"),  # identifiers with _ or digits
    re.compile(r"\b[\w-]+(?:\.[\w-]+)+\b"),  # dotted field paths
]


def _without_machine(text: str) -> str:
    for pattern in _MACHINE:
        text = pattern.sub(" ", text)
    return text


def english_words(text: str) -> list[str]:
    """Latin-letter words in a text meant wholly for people, except ``ALLOWED`` ones."""
    text = re.sub(r"\{\w+\}", " ", text)  # a template's placeholders
    words = re.findall(r"[A-Za-z][A-Za-z\-]*[A-Za-z]|[A-Za-z]", text)
    parts = [p for w in words if w not in ALLOWED for p in w.split("-")]
    return [p for p in parts if p not in ALLOWED and len(p) > 1]


def english_prose(text: str) -> list[str]:
    """English function words and phrases in a text that may also name machine codes."""
    rest = _without_machine(text)
    rest = re.sub(r"\b[A-Za-z]+(?:-[A-Za-z]+)+\b", " ", rest)  # header names, media types
    found = [w for w in re.findall(r"[A-Za-z]+", rest) if w.lower() in _FUNCTION_WORDS]
    found += re.findall(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,})+\b", rest)
    return found


HUMAN_KEYS = ("explanation", "title", "detail", "reason", "summary", "label", "text", "note")


def human_texts(doc: Any, key: str = "") -> Iterator[str]:
    """Every string of a JSON answer a clerk reads: explanations, titles, details, labels
    (``…_label``, ``…_labels``) — not codes, ids, names of people or units."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from human_texts(v, k)
    elif isinstance(doc, list):
        for v in doc:
            yield from human_texts(v, key)
    elif isinstance(doc, str) and (key in HUMAN_KEYS or key.endswith(("_label", "_labels"))):
        yield doc


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def html_text(page: str) -> list[str]:
    """The text of an HTML page as printed (no markup, style or script)."""
    parser = _Text()
    parser.feed(page)
    return parser.parts

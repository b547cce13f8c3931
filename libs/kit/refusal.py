"""Why a domain will not do what it was asked: the one refusal type of every service.

A domain knows nothing of HTTP. It says what kind of refusal it is — the content breaks a
rule, the matter is not in a state that allows the command, there is no such matter, or the
caller may not give it — and ``libs.kit.problems`` turns that into problem+json in one place.
"""

from __future__ import annotations

from typing import Any, Literal

Kind = Literal["invalid", "conflict", "missing", "forbidden"]
"""``invalid``: the content breaks a rule; ``conflict``: not allowed in the current state;
``missing``: no such matter; ``forbidden``: not this caller's to give."""


class Refused(Exception):
    """A command the rules do not allow, in words a clerk can act on.

    ``slug`` is the stable machine name of the reason, ``field`` the input at fault (if
    any) and ``reason`` what is wrong with it in a few words (the detail when not given);
    ``facts`` are machine fields the caller needs to go on (e.g. the commands allowed
    now).
    """

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        kind: Kind = "invalid",
        field: str | None = None,
        title: str | None = None,
        reason: str | None = None,
        **facts: Any,
    ) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.kind: Kind = kind
        self.field = field
        self.title = title
        self.reason = reason
        self.facts = facts

    @property
    def code(self) -> str:
        """The reason's machine name (the same as ``slug``)."""
        return self.slug

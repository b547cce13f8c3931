"""Why the domain refuses a command; the API turns it into a problem+json answer."""

from __future__ import annotations


class Refused(Exception):
    """A command the rules do not allow: ``status`` 409 (state) or 422 (content)."""

    def __init__(
        self, slug: str, detail: str, *, field: str | None = None, status: int = 422
    ) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.field = field
        self.status = status

"""Constrained field types the services share, so that each OpenAPI document says what the
domain refuses wherever a JSON Schema can say it (a request the schema allows is never
refused as ``validation-error``; ``tests/integration/contract.py`` holds the services to
it).

What a schema cannot say — an ID number's check digit, dates in order, a parameter that
depends on the rule named in the path — is refused with a problem type of its own, which
the route documents with ``libs.kit.openapi.refusals``; the ``(status, slug, title)`` of
the shared ones are here too.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

CATEGORY_CATALOGUE = "categories"
"""``x-catalogue`` of a problem-category code: the document lists the deployment's codes
(``libs/events/taxonomy.py``, former codes included) as its ``enum``."""

CATEGORY_FILTER_CATALOGUE = "category-filters"
"""``x-catalogue`` of a filter by category: a code of the taxonomy or of one of its groups
(大类)."""

CategoryCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="问题类别代码（GET /v1/categories）",
        json_schema_extra={"x-catalogue": CATEGORY_CATALOGUE},
    ),
]
"""A code of the problem-category taxonomy; a code the deployment does not know is still
refused by the service's own check (``unknown-category``)."""

RESIDENT_ID_PATTERN = r"^[0-9]{17}[0-9Xx]$"
"""The form of an 18-character resident ID number (公民身份号码, GB 11643): 17 digits and
a check character; the check character and the date of birth are the domain's check
(:data:`INVALID_RESIDENT_ID`)."""

INVALID_RESIDENT_ID = (422, "invalid-resident-id", "公民身份号码无效（出生日期或校验码不符）")
DATE_ORDER = (422, "date-order", "截止日期早于起始日期")
"""Two dates of one request out of order (a schema cannot compare fields)."""


def not_blank(least: int = 1) -> str:
    """A pattern for text with at least ``least`` characters that are not white space (and
    no NUL): what a field stripped of surrounding white space, then held to
    ``min_length=least``, accepts."""
    return "^[^\\x00]*" + "[^\\s\\x00][^\\x00]*" * least + "$"


def _stated_not_blank(schema: Any) -> None:
    if isinstance(schema, list):
        for item in schema:
            _stated_not_blank(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(schema):
        if (least := schema.get("minLength", 0)) >= 1:
            schema["pattern"] = not_blank(least)
    for key in ("anyOf", "oneOf", "items"):
        _stated_not_blank(schema.get(key))


def strips_whitespace(schema: dict[str, Any], model: type) -> None:
    """``json_schema_extra`` of a model that strips its text: each text property with a
    ``min_length`` gets the pattern saying it may not be blank (:func:`not_blank`)."""
    for prop in schema.get("properties", {}).values():
        _stated_not_blank(prop)


STRIPPED = ConfigDict(
    extra="forbid", str_strip_whitespace=True, json_schema_extra=strips_whitespace
)
"""The ``model_config`` of a request body that refuses unknown fields and strips the white
space around its text: its document says that a text with a ``min_length`` may not be blank
(white space only), as stripping makes it too short."""


def stripped(one_of: list[dict[str, Any]]) -> ConfigDict:
    """:data:`STRIPPED` for a body whose fields depend on each other, stated as the
    ``oneOf`` of its allowed shapes (an anonymous report sets a secret and names no
    reporter; a real-name one names the reporter)."""

    def extra(schema: dict[str, Any], model: type) -> None:
        strips_whitespace(schema, model)
        schema["oneOf"] = one_of

    return ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=extra)

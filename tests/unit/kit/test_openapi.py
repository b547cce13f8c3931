"""Each service's OpenAPI document describes its error answers as problems."""

from __future__ import annotations

from typing import Any

import pytest

from services.accountability import app as accountability_app
from services.analysis import app as analysis_app
from services.casework import app as casework_app
from services.intake import app as intake_app

SERVICES = {
    "intake": intake_app,
    "analysis": analysis_app,
    "casework": casework_app,
    "accountability": accountability_app,
}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


def document(service: str) -> dict[str, Any]:
    module = SERVICES[service]
    settings = module.Settings(database_url="postgresql://nobody@127.0.0.1/none")
    return module.create(settings).openapi()  # type: ignore[no-any-return]


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_its_errors_as_problems(service: str) -> None:
    doc = document(service)

    assert doc["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, method, op in operations(doc):
        responses = op["responses"]
        for status in ("413", "422", "500", "503", "default"):
            content = responses[status]["content"]
            assert content == {"application/problem+json": {"schema": PROBLEM}}, (path, status)
        if "{" in path:
            assert "404" in responses, (method, path)
        if method in ("post", "put", "patch", "delete"):
            assert {"409", "412", "428"} <= set(responses), (method, path)


@pytest.mark.parametrize("service", SERVICES)
def test_every_integer_query_parameter_is_bounded(service: str) -> None:
    # An unbounded integer reaches the database as a value it cannot hold: a 500.
    unbounded = [
        (path, p["name"])
        for path, _method, op in operations(document(service))
        for p in op.get("parameters", [])
        if p["in"] == "query"
        for schema in [p["schema"], *p["schema"].get("anyOf", [])]
        if schema.get("type") == "integer" and "maximum" not in schema
    ]

    assert unbounded == []

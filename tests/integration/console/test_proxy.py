"""What the console passes on and back for a service: the OpenAPI document the command forms
are built from is kept by the browser and revalidated (304 without the body); the services'
data is never kept (``no-store``)."""

from __future__ import annotations

import httpx

from console.sessions import COOKIE
from libs.kit.auth import Principal
from tests.conftest import Schemas
from tests.integration.console.conftest import client, running

OFFICER = Principal(
    subject="liqiang",
    kind="operator",
    name="第一监督检查室 李强",
    roles=frozenset({"investigator"}),
)
DOCUMENT = b'{"openapi":"3.1.0","paths":{}}'
ETAG = '"d0c"'


def _casework(seen: list[httpx.Request]):  # type: ignore[no-untyped-def]
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        cached = {"ETag": ETAG, "Cache-Control": "no-cache"}
        if request.url.path == "/openapi.json":
            if request.headers.get("if-none-match") == ETAG:
                return httpx.Response(304, headers=cached)
            return httpx.Response(
                200, content=DOCUMENT, headers={**cached, "Content-Type": "application/json"}
            )
        return httpx.Response(200, json={"items": []}, headers={"ETag": '"7"'})

    return answer


async def test_the_openapi_document_is_revalidated_and_data_never_kept(schemas: Schemas) -> None:
    seen: list[httpx.Request] = []
    async with running(schemas) as (app, _):
        app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(_casework(seen)))
        sid, _session = await app.state.sessions.open("officer-token", OFFICER, 900, "r", 3600)
        async with client(app) as http:
            http.cookies.set(COOKIE, sid)
            first = await http.get("/api/casework/openapi.json")
            again = await http.get("/api/casework/openapi.json", headers={"If-None-Match": ETAG})
            cases = await http.get("/api/casework/v1/cases", headers={"If-None-Match": '"7"'})

    assert first.status_code == 200 and first.content == DOCUMENT
    assert first.headers["etag"] == ETAG and first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == ETAG
    assert seen[1].headers["if-none-match"] == ETAG
    assert seen[1].headers["authorization"] == "Bearer officer-token"
    # A case list is the operator's data: not kept, and no If-None-Match passed on for it.
    assert cases.status_code == 200 and cases.headers["cache-control"] == "no-store"
    assert "if-none-match" not in seen[2].headers

"""The HTTP catch-up feed: a service's whole store, page by page, for other systems.

Kafka keeps only so much (and the embedded broker nothing across restarts), so a new
subscriber replays history here, then switches to the topic. Pages follow the same
commit-safe order and no-skip horizon as the relay (``EventStore.read_all``): a page
never passes an event that is still being committed, so following ``next_after`` sees
every event exactly once. The cursor is a plain global position: the store looks up
that event's transaction to continue in commit-safe order.

Events come in CloudEvents *structured* JSON with the attributes the Kafka records carry
as ``ce_*`` headers, including ``position``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from libs.events.asyncapi import FEED_PATH, FEED_SCOPE
from libs.events.envelope import Envelope, to_structured
from libs.events.signing import Signer
from libs.events.store import EventStore
from libs.kit.auth import Principal, require_scopes
from libs.kit.openapi import refusals
from libs.kit.problems import Problem

MAX_PAGE = 1000

Subscriber = Annotated[Principal, require_scopes(FEED_SCOPE)]


class FeedPage(BaseModel):
    """One page of the catch-up feed."""

    items: list[dict[str, Any]]
    """Events in CloudEvents structured JSON, in the store's commit-safe order."""
    next_after: int
    """Pass as ``after`` for the next page (unchanged when the page is empty)."""
    caught_up: bool
    """True when the page was not full: nothing more is readable now."""


def _signed(request: Request, envelope: Envelope) -> Envelope:
    signer: Signer | None = request.app.state.runtime.signer
    return signer.sign(envelope) if signer is not None else envelope


def feed_router(service: str) -> APIRouter:
    """``GET /v1/events``: the service's events after a position, paged."""
    api = APIRouter(tags=["streams"])

    @api.get(
        FEED_PATH,
        response_model=FeedPage,
        summary=f"Catch-up feed of every {service} event",
        responses={
            200: {"description": "A page of events; Link rel=next when not caught up"},
            **refusals((400, "unknown-position", "位置不存在（after 不是已有事件的位置）")),
        },
    )
    async def events(
        request: Request,
        subscriber: Subscriber,
        after: Annotated[
            int,
            Query(
                ge=0,
                le=2**63 - 1,  # a bigint, like the positions themselves
                description="Global position of the last event already seen",
            ),
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> JSONResponse:
        store: EventStore = request.app.state.runtime.store
        checkpoint = await store.checkpoint_at(after)
        if checkpoint is None:
            raise Problem(
                400,
                "unknown-position",
                "位置不存在",
                f"{service} 的事件中没有位置 {after}：请从 0 开始，或原样使用上一页返回的 "
                "next_after。",
                errors=[{"field": "after", "reason": "该位置没有事件"}],
            )
        batch = await store.read_all(checkpoint, limit=limit)
        next_after = batch[-1].checkpoint.position if batch else after
        caught_up = len(batch) < limit
        page = FeedPage(
            items=[to_structured(_signed(request, r.envelope)) for r in batch],
            next_after=next_after,
            caught_up=caught_up,
        )
        headers = {"Cache-Control": "no-store"}
        if not caught_up:
            headers["Link"] = f'<{FEED_PATH}?after={next_after}&limit={limit}>; rel="next"'
        return JSONResponse(page.model_dump(mode="json"), headers=headers)

    return api

"""The command pipeline every service's commands run on, against a real PostgreSQL store.

A toy aggregate (a notebook of notes) stands for any matter: what is checked is what the
pipeline promises every command — retries answered once, stale versions refused, unpinned
commands run again on the new state, refusals named and nothing half-written.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import text as sql

from libs.events.contracts import Event
from libs.events.store import ANY, EventStore, Metadata
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Command, Context, Pipeline
from libs.kit.problems import Problem
from libs.kit.refusal import Refused
from tests.factories import NoteTaken, note

pytestmark = pytest.mark.integration

CLERK = Principal(subject="clerk-1", kind="operator", roles=frozenset({"clerk"}))

NOTEBOOK: Aggregate[tuple[str, ...]] = Aggregate(
    noun="notebook",
    label="笔记本",
    stream=lambda key: f"notebook-{key}",
    initial=tuple,
    evolve=lambda state, event: (*state, event.text) if isinstance(event, NoteTaken) else state,
    facts=lambda state: {"notes": len(state)},
)


def _take(state: tuple[str, ...], body: dict[str, Any], ctx: Context) -> list[Event]:
    if body["text"] == "":
        raise Refused("empty-note", "笔记须有内容。", field="text")
    if body["text"] in state:
        raise Refused("duplicate-note", "笔记本中已有这条笔记。", kind="conflict")
    return [note(body["text"], len(state))]


def _render(state: tuple[str, ...], ctx: Context) -> dict[str, Any]:
    return {"notes": list(state), "version": ctx.version}


TAKE = Command(name="take", aggregate=NOTEBOOK, decide=_take, render=_render)
OPEN = Command(name="open", aggregate=NOTEBOOK, decide=_take, render=_render, creates=True)
PINNED = Command(
    name="take_pinned", aggregate=NOTEBOOK, decide=_take, render=_render, if_match="required"
)


async def _notebook(store: EventStore, *texts: str) -> str:
    key = uuid4().hex[:8]
    for text in texts:
        await store.append(
            NOTEBOOK.stream(key), [note(text)], expected_version=ANY, meta=Metadata(actor="t")
        )
    return key


async def test_a_retry_with_the_same_key_gets_the_first_answer_and_records_nothing_twice(
    store: EventStore,
) -> None:
    pipeline = Pipeline(store)
    key = await _notebook(store, "立案")
    first = await pipeline.execute(TAKE, key, {"text": "初核"}, CLERK, idempotency_key="k-1")
    again = await pipeline.execute(TAKE, key, {"text": "初核"}, CLERK, idempotency_key="k-1")

    assert (first.body, first.replayed) == ({"notes": ["立案", "初核"], "version": 2}, False)
    assert (again.body, again.replayed, again.status_code) == (first.body, True, 200)
    assert await store.stream_version(NOTEBOOK.stream(key)) == 2
    with pytest.raises(Problem) as reused:
        await pipeline.execute(TAKE, key, {"text": "别的"}, CLERK, idempotency_key="k-1")
    assert reused.value.status == 422 and reused.value.slug == "idempotency-key-reused"


async def test_a_refused_command_writes_nothing_and_its_key_can_be_used_again(
    store: EventStore,
) -> None:
    pipeline = Pipeline(store)
    key = await _notebook(store, "立案")
    with pytest.raises(Problem) as refused:
        await pipeline.execute(TAKE, key, {"text": ""}, CLERK, idempotency_key="k-2")

    assert refused.value.status == 422 and refused.value.slug == "empty-note"
    assert refused.value.errors == [{"field": "text", "reason": "笔记须有内容。"}]
    assert refused.value.extra == {"notes": 1}  # the aggregate's facts ride along
    assert await store.stream_version(NOTEBOOK.stream(key)) == 1
    fixed = await pipeline.execute(TAKE, key, {"text": "初核"}, CLERK, idempotency_key="k-2")
    assert fixed.body["notes"] == ["立案", "初核"]


async def test_a_state_conflict_is_a_409_and_a_missing_matter_a_404(store: EventStore) -> None:
    pipeline = Pipeline(store)
    key = await _notebook(store, "立案")
    with pytest.raises(Problem) as twice:
        await pipeline.execute(TAKE, key, {"text": "立案"}, CLERK)
    with pytest.raises(Problem) as nowhere:
        await pipeline.execute(TAKE, "nowhere", {"text": "初核"}, CLERK)
    with pytest.raises(Problem) as exists:
        await pipeline.execute(OPEN, key, {"text": "初核"}, CLERK)

    assert (twice.value.status, twice.value.slug) == (409, "duplicate-note")
    assert (nowhere.value.status, nowhere.value.detail) == (404, "没有笔记本 nowhere。")
    assert (exists.value.status, exists.value.slug) == (409, "already-exists")
    opened = await pipeline.execute(OPEN, "fresh-" + key, {"text": "受理"}, CLERK)
    assert opened.body == {"notes": ["受理"], "version": 1}


async def test_a_stale_if_match_is_refused_with_the_current_version(store: EventStore) -> None:
    pipeline = Pipeline(store)
    key = await _notebook(store, "立案", "初核")
    with pytest.raises(Problem) as missing:
        await pipeline.execute(PINNED, key, {"text": "审理"}, CLERK)
    with pytest.raises(Problem) as stale:
        await pipeline.execute(PINNED, key, {"text": "审理"}, CLERK, if_match=1)

    assert (missing.value.status, missing.value.slug) == (428, "if-match-required")
    assert (stale.value.status, stale.value.slug) == (409, "stale-version")
    assert stale.value.extra["current_version"] == 2
    assert stale.value.title == "笔记本已被修改"
    assert stale.value.detail == (
        "该笔记本在您读取后已被修改（您提交的版本 1，当前版本 2）。请重新读取后再提交。"
    )
    done = await pipeline.execute(PINNED, key, {"text": "审理"}, CLERK, if_match=2)
    assert done.version == 3 and done.response().headers["etag"] == '"3"'


def _moving(store: EventStore, times: int) -> tuple[list[int], Command[tuple[str, ...]]]:
    """A command whose stream another writer moves while it decides, the first ``times`` runs."""
    runs: list[int] = []

    async def decide(state: tuple[str, ...], body: dict[str, Any], ctx: Context) -> list[Event]:
        runs.append(len(state))
        if len(runs) <= times:  # another writer (a consumer, a scheduler) appends meanwhile
            await store.append(
                NOTEBOOK.stream(ctx.key),
                [note(f"进展{len(runs)}")],
                expected_version=len(state),
                meta=Metadata(actor="scheduler"),
            )
        return _take(state, body, ctx)

    return runs, Command(name="take", aggregate=NOTEBOOK, decide=decide, render=_render)


async def test_an_unpinned_command_runs_again_on_the_state_its_stream_moved_to(
    store: EventStore,
) -> None:
    key = await _notebook(store, "立案")
    runs, command = _moving(store, times=2)
    done = await Pipeline(store).execute(command, key, {"text": "初核"}, CLERK)

    assert runs == [1, 2, 3]  # decided three times, each on the newer state
    assert done.body["notes"] == ["立案", "进展1", "进展2", "初核"]


async def test_a_pinned_command_whose_stream_moved_gets_the_409(store: EventStore) -> None:
    key = await _notebook(store, "立案")
    runs, command = _moving(store, times=1)
    with pytest.raises(Problem) as stale:
        await Pipeline(store).execute(command, key, {"text": "初核"}, CLERK, if_match=1)

    assert runs == [1]
    assert stale.value.status == 409 and stale.value.extra["current_version"] == 2
    assert await store.stream_version(NOTEBOOK.stream(key)) == 2  # only the other writer's


async def test_a_lock_comes_first_and_the_answer_says_where_its_matter_is(
    store: EventStore,
) -> None:
    seen: list[str] = []

    async def lock(body: dict[str, Any], ctx: Context) -> None:
        # First in the transaction: nothing written yet, not even the retry's key.
        taken = await ctx.conn.execute(sql("SELECT count(*) FROM idempotency_keys"))
        seen.append(f"lock after {taken.scalar()} key(s)")

    def decide(state: tuple[str, ...], body: dict[str, Any], ctx: Context) -> list[Event]:
        ctx.result = f"found {len(state)}"  # what decide learned, for render
        return _take(state, body, ctx)

    receipt = Command(
        name="take",
        aggregate=NOTEBOOK,
        decide=decide,
        render=lambda state, ctx: {"said": ctx.result, "at": f"/notebooks/{ctx.key}"},
        lock=lock,
        location=lambda answer: answer["at"],
        etag=False,
    )
    key = await _notebook(store, "立案")
    before = await _keys(store)
    done = await Pipeline(store).execute(receipt, key, {"text": "初核"}, CLERK, idempotency_key="k")
    again = await Pipeline(store).execute(
        receipt, key, {"text": "初核"}, CLERK, idempotency_key="k"
    )

    assert seen == [f"lock after {before} key(s)", f"lock after {before + 1} key(s)"]
    assert done.body == {"said": "found 1", "at": f"/notebooks/{key}"}
    headers = done.response().headers
    assert headers["location"] == f"/notebooks/{key}" and "etag" not in headers
    assert again.replayed and again.response().headers["location"] == f"/notebooks/{key}"


async def _keys(store: EventStore) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(sql("SELECT count(*) FROM idempotency_keys"))).scalar())

"""审批 in the command pipeline, on a real PostgreSQL store: a toy notebook whose ``take``
needs one sign-off shows what every service's approvals rely on — the proposal changes
nothing but its own record, the last sign-off carries the command out the way a direct run
does (on the state as it is then, ``after`` once), and refusals write nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from libs.events.contracts import Event
from libs.kit.approvals.gate import Approvable, Approvals, OnProposal, SignIn, WithdrawIn
from libs.kit.approvals.policy import Policy
from libs.kit.auth import Principal
from libs.kit.commands import Command, Context, Pipeline
from libs.kit.problems import Problem
from libs.kit.workdays import WorkCalendar
from tests.integration.test_pipeline import NOTEBOOK, TAKE, _notebook, _render, _take

pytestmark = pytest.mark.integration

WRITER = Principal(subject="writer-1", kind="operator", roles=frozenset({"clerk", "director"}))
DIRECTOR = Principal(subject="director-1", kind="operator", roles=frozenset({"director"}))
LEADER = Principal(subject="leader-1", kind="operator", roles=frozenset({"leader"}))

AFTERS: list[tuple[str, ...]] = []


async def _after(state: tuple[str, ...], events: list[Event], ctx: Context) -> None:
    AFTERS.append(state)


SIGNED = Command(
    name="take_signed", aggregate=NOTEBOOK, decide=_take, render=_render, after=_after,
    body_model=None,
)  # fmt: skip
POLICY = Policy.model_validate(
    {
        "version": "t",
        "commands": {"take_signed": {"steps": [{"role": "director", "label": "室主任审核"}]}},
    }
)
APPROVALS = Approvals(
    POLICY,
    WorkCalendar(),
    [Approvable(NOTEBOOK, {"take_signed": SIGNED, "take": TAKE}, lambda s, b: {}, "/n/{key}")],
)


def _pipeline(store: Any) -> Pipeline:
    return Pipeline(store, gate=APPROVALS)


async def _act(store: Any, key: str, pid: str, who: Principal, body: Any) -> dict[str, Any]:
    """An approval action, pinned to the version just read (actions need If-Match)."""
    action = "approve" if isinstance(body, SignIn) else "withdraw"
    command = APPROVALS.actions["notebook"][action]
    seen = await store.stream_version(f"notebook-{key}")
    on = OnProposal(proposal_id=UUID(pid), body=body)
    done = await _pipeline(store).execute(command, key, on, who, if_match=seen)
    return done.body


async def test_a_command_without_a_chain_takes_effect_at_once(store: Any) -> None:
    key = await _notebook(store, "立案")

    done = await _pipeline(store).execute(TAKE, key, {"text": "初核"}, WRITER)

    assert (done.status_code, done.body["notes"]) == (200, ["立案", "初核"])


async def test_a_proposal_takes_effect_at_its_last_sign_off_on_the_state_then(store: Any) -> None:
    key = await _notebook(store, "立案")
    AFTERS.clear()

    proposed = await _pipeline(store).execute(SIGNED, key, {"text": "初核"}, WRITER)
    await _pipeline(store).execute(TAKE, key, {"text": "谈话"}, WRITER)  # the matter moves on
    own = _act(store, key, proposed.body["proposal_id"], WRITER, SignIn(opinion="agree"))
    with pytest.raises(Problem) as refused:
        await own

    assert (proposed.status_code, proposed.location) == (202, proposed.body["location"])
    assert AFTERS == [] and refused.value.status == 403
    done = await _act(store, key, proposed.body["proposal_id"], DIRECTOR, SignIn(comment="同意"))
    assert done["notes"] == ["立案", "谈话", "初核"] and AFTERS == [("立案", "谈话", "初核")]
    kinds = [r.envelope.type.rsplit(".", 1)[-1] for r in await store.read_stream(f"notebook-{key}")]
    assert kinds[-3:] == ["approval_recorded", "note_taken", "proposal_took_effect"]


async def test_a_proposal_that_could_never_take_effect_is_refused_and_writes_nothing(
    store: Any,
) -> None:
    key = await _notebook(store, "立案")

    with pytest.raises(Problem) as refused:
        await _pipeline(store).execute(SIGNED, key, {"text": "立案"}, WRITER)

    assert refused.value.status == 409
    assert len(await store.read_stream(f"notebook-{key}")) == 1


async def test_a_withdrawn_proposal_never_takes_effect(store: Any) -> None:
    key = await _notebook(store, "立案")
    proposed = await _pipeline(store).execute(SIGNED, key, {"text": "初核"}, WRITER)

    withdrawn = await _act(
        store, key, proposed.body["proposal_id"], WRITER, WithdrawIn(reason="撤回")
    )
    late = _act(store, key, proposed.body["proposal_id"], DIRECTOR, SignIn())

    assert withdrawn["status"] == "withdrawn"
    with pytest.raises(Problem) as refused:
        await late
    assert refused.value.status == 409
    again = await _pipeline(store).execute(SIGNED, key, {"text": "初核"}, WRITER)
    assert again.status_code == 202  # nothing pending any more


async def test_a_retried_proposal_answers_where_to_read_it_like_the_first_answer(
    store: Any,
) -> None:
    key = await _notebook(store, "立案")
    propose = _pipeline(store).execute

    first = await propose(SIGNED, key, {"text": "初核"}, WRITER, idempotency_key="p-1")
    again = await propose(SIGNED, key, {"text": "初核"}, WRITER, idempotency_key="p-1")

    headers = again.response().headers
    assert again.replayed and again.status_code == 202
    assert headers["Location"] == first.response().headers["Location"] == first.body["location"]
    assert headers["ETag"] == f'"{first.body["version"]}"'
    assert len(await store.read_stream(f"notebook-{key}")) == 2  # one proposal, not two

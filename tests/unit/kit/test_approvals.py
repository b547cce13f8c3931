"""审批, pure: a state machine over proposals and their sign-offs, and the policy's key test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from libs.events.contracts import Event
from libs.events.contracts.approvals import (
    ApprovalRecorded,
    ChainStep,
    MeetingRecorded,
    ProposalSubmitted,
    ProposalTookEffect,
)
from libs.kit.approvals import proposals as pr
from libs.kit.approvals.policy import Policy
from libs.kit.refusal import Refused

CHAIN = [
    ChainStep(role="director", label="室主任审核"),
    ChainStep(role="leader", label="分管领导审批"),
    ChainStep(role="secretary", label="常委会集体研究", kind="meeting", body="常委会"),
]
PEOPLE: dict[str, frozenset[str]] = {
    "officer": frozenset({"investigator"}),
    "director": frozenset({"director"}),
    "officer-director": frozenset({"investigator", "director"}),
    "leader": frozenset({"leader"}),
    "secretary": frozenset({"secretary"}),
    "all-roles": frozenset({"director", "leader", "secretary", "investigator"}),
}
PROPOSERS = ["officer", "officer-director", "all-roles"]
DAY = datetime(2026, 12, 1, 9, tzinfo=UTC)
OPINIONS = st.sampled_from(["agree", "agree", "agree", "disagree", "return"])


class ProposalMachine(RuleBasedStateMachine):
    """Proposals of one command on one matter, acted on by anyone in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[Event] = []
        self.live: pr.Proposals = {}
        self.effects: list[UUID] = []
        self.now = DAY

    def _record(self, events: list[Event]) -> None:
        self.now += timedelta(minutes=5)
        self.log += events
        self.live = pr.fold(events, self.live)
        for event in events:
            pid = getattr(event, "proposal_id", None)
            if pid is not None and self.live[pid].approved:  # what the gate does
                took = pr.took_effect(self.live[pid], self.now)
                self.effects.append(pid)
                self.log.append(took)
                self.live = pr.fold([took], self.live)

    def _pending(self) -> pr.Proposal | None:
        return pr.pending(self.live, "decide")

    @rule(proposer=st.sampled_from(PROPOSERS))
    def propose(self, proposer: str) -> None:
        try:
            submitted = pr.submit(
                self.live,
                proposal_id=uuid4(),
                command="decide",
                matter="m",
                body={"form": 2},
                proposer=proposer,
                steps=CHAIN,
                key_reasons=[],
                policy_version="t",
                due_on=date(2026, 12, 4),
                now=self.now,
            )
        except Refused:
            assert self._pending() is not None  # one pending proposal per command
            return
        self._record([submitted])

    @precondition(lambda self: self._pending() is not None)
    @rule(who=st.sampled_from(sorted(PEOPLE)), opinion=OPINIONS, meeting=st.booleans())
    def act(self, who: str, opinion: str, meeting: bool) -> None:
        p = self._pending()
        assert p is not None
        try:
            if meeting:
                minutes = pr.Meeting("第1次", date(2026, 12, 2), [who], opinion, "结论")  # type: ignore[arg-type]
                events = pr.meet(p, who, PEOPLE[who], minutes, self.now, date(2026, 12, 9))
            else:
                events = pr.sign(p, who, PEOPLE[who], opinion, "意见", self.now, date(2026, 12, 9))  # type: ignore[arg-type]
        except Refused:
            return
        assert who != p.proposer
        self._record(events)

    @precondition(lambda self: self._pending() is not None)
    @rule(data=st.data())
    def act_in_turn(self, data: st.DataObject) -> None:
        """Someone holding the waiting step's role acts in the step's way (reaches the end)."""
        p = self._pending()
        assert p is not None
        step = p.current
        if step is None:
            return
        who = data.draw(st.sampled_from(sorted(w for w, r in PEOPLE.items() if step.role in r)))
        self.act(who, data.draw(OPINIONS), step.kind == "meeting")

    @precondition(lambda self: self._pending() is not None)
    @rule(who=st.sampled_from(sorted(PEOPLE)), withdraw=st.booleans())
    def proposer_acts(self, who: str, withdraw: bool) -> None:
        p = self._pending()
        assert p is not None
        try:
            if withdraw:
                event: Event = pr.withdraw(p, who, "撤回", self.now)
            else:
                event = pr.resubmit(p, who, {"form": 1}, "已修改", self.now, date(2026, 12, 9))
        except Refused:
            return
        assert who == p.proposer
        self._record([event])

    @invariant()
    def replay_equals_live(self) -> None:
        assert pr.fold(self.log) == self.live

    @invariant()
    def nothing_takes_effect_without_every_approval_of_its_round(self) -> None:
        took = [e.proposal_id for e in self.log if isinstance(e, ProposalTookEffect)]
        assert took == self.effects
        for pid in took:
            submitted = next(
                e for e in self.log if isinstance(e, ProposalSubmitted) and e.proposal_id == pid
            )
            round_events = self._last_round(pid)
            agreed = [
                e
                for e in round_events
                if isinstance(e, ApprovalRecorded | MeetingRecorded)
                and (e.opinion if isinstance(e, ApprovalRecorded) else e.conclusion) == "agree"
            ]
            assert [e.step for e in agreed] == list(range(len(CHAIN)))
            for e, step in zip(agreed, CHAIN, strict=True):
                who = e.approver if isinstance(e, ApprovalRecorded) else e.recorded_by
                assert who != submitted.proposer and step.role in PEOPLE[who]

    @invariant()
    def nobody_approves_their_own_proposal(self) -> None:
        proposer = {e.proposal_id: e.proposer for e in self.log if isinstance(e, ProposalSubmitted)}
        for e in self.log:
            if isinstance(e, ApprovalRecorded):
                assert e.approver != proposer[e.proposal_id]
            if isinstance(e, MeetingRecorded):
                assert e.recorded_by != proposer[e.proposal_id]

    def _last_round(self, pid: UUID) -> list[Event]:
        mine = [e for e in self.log if getattr(e, "proposal_id", None) == pid]
        starts = [i for i, e in enumerate(mine) if type(e).__name__ == "ProposalResubmitted"]
        return mine[starts[-1] if starts else 0 :]


ProposalMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30)
TestProposalMachine = ProposalMachine.TestCase


POLICY = Policy.model_validate(
    {
        "version": "t",
        "key": [
            {"fact": "top_leader", "label": "一把手"},
            {"fact": "repeat_count", "at_least": 2, "label": "重复举报"},
        ],
        "commands": {
            "dispose": {
                "steps": [{"role": "director", "label": "室主任审核"}],
                "key_steps": [{"role": "secretary", "label": "主要负责人审批"}],
            }
        },
    }
)


def test_a_key_matter_gets_the_key_steps_and_says_why() -> None:
    route = POLICY.route("dispose", {"top_leader": False, "repeat_count": 3})

    assert route is not None
    assert [s.label for s in route.steps] == ["室主任审核", "主要负责人审批"]
    assert route.key_reasons == ["重复举报"]


def test_a_plain_matter_gets_the_chain_and_a_command_without_one_none() -> None:
    route = POLICY.route("dispose", {"top_leader": False, "repeat_count": 1})

    assert route is not None and [s.role for s in route.steps] == ["director"]
    assert POLICY.route("record_visit", {}) is None


def test_a_step_is_overdue_once_per_round() -> None:
    submitted = pr.submit(
        {}, proposal_id=uuid4(), command="dispose", matter="m", body={}, proposer="a",
        steps=CHAIN, key_reasons=[], policy_version="t", due_on=date(2026, 12, 4), now=DAY,
    )  # fmt: skip
    p = pr.fold([submitted])[submitted.proposal_id]

    notice = pr.overdue(p, date(2026, 12, 5), "supervisor-1", DAY)

    assert notice is not None and notice.escalated_to == "supervisor-1"
    assert pr.overdue(p, date(2026, 12, 4), None, DAY) is None
    after = pr.fold([notice], {p.proposal_id: p})[p.proposal_id]
    assert pr.overdue(after, date(2026, 12, 8), None, DAY) is None

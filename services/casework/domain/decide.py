"""决定: ``decide(state, command, now, rules) -> events``, pure; illegal steps are refused."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from libs.events.contracts import Event
from libs.events.contracts.casework import (
    CaseAssigned,
    CaseClosed,
    CaseDecided,
    CaseDecisionRevised,
    CaseFiled,
    CasesLinked,
    CaseTransferredForProsecution,
    CaseTransitioned,
    ClueDisposed,
    DisposalMethod,
    FirstFormApplied,
    NameCleared,
    Subject,
)
from libs.kit.refusal import Kind, Refused
from services.casework.domain import commands as c
from services.casework.domain.rules import InvestigationKind, Rules
from services.casework.domain.state import AFTER_CLOSING, CaseState, Status

S = Status
OPEN = frozenset(s for s in Status if not s.terminal and s is not S.NEW)
CASE_OPEN = frozenset(
    {S.FILED, S.INVESTIGATION, S.REVIEW, S.DECIDED, S.APPEAL, S.EXECUTION, S.FOLLOW_UP}
)

ALLOWED_FROM: dict[str, frozenset[Status]] = {
    "assign": OPEN,
    "dispose": frozenset({S.PENDING_DISPOSAL}),
    "record_reply": frozenset({S.TALK_OR_INQUIRY}),
    "evaluate_reply": frozenset({S.REPLY_RECEIVED}),
    "conclude_verification": frozenset({S.PRELIMINARY_VERIFICATION}),
    "extend_verification": frozenset({S.PRELIMINARY_VERIFICATION}),
    "resume": frozenset({S.ON_HOLD}),
    "file_case": frozenset({S.PROPOSED_FILING}),
    "start_investigation": frozenset({S.FILED}),
    "extend_investigation": frozenset({S.INVESTIGATION}),
    "answer_checklist": frozenset({S.FILED, S.INVESTIGATION}),
    "find_unfounded": frozenset({S.INVESTIGATION}),
    "transfer_for_review": frozenset({S.INVESTIGATION}),
    "extend_review": frozenset({S.REVIEW}),
    "review_opinion": frozenset({S.REVIEW}),
    "decide": frozenset({S.REVIEW}),
    "transfer_for_prosecution": frozenset({S.DECIDED, S.EXECUTION}),
    "appeal": frozenset({S.DECIDED, S.EXECUTION}),
    "decide_appeal": frozenset({S.APPEAL}),
    "start_execution": frozenset({S.DECIDED}),
    "complete_execution": frozenset({S.EXECUTION}),
    "record_visit": frozenset({S.FOLLOW_UP}),
    "close_case": frozenset({S.FOLLOW_UP}),
    "clear_name": frozenset({S.CLEARING}),
    "record_feedback": frozenset({S.CLOSED, S.PROSECUTED, S.TRANSFERRED}),
    "list_for_supervision": OPEN,
    "report_supervision": OPEN,
    "assign_task": OPEN,
    "track_task": OPEN,
    "feedback_task": OPEN,
    "revisit_task": OPEN,
    "link_case": OPEN,
}
"""From which statuses each command may be given: the lifecycle, as a table."""

COMMAND_LABELS: dict[str, str] = {
    "assign": "分办",
    "dispose": "线索处置",
    "record_reply": "登记函询回复",
    "evaluate_reply": "评估函询回复",
    "conclude_verification": "初核结论",
    "extend_verification": "延长初步核实期限",
    "resume": "恢复办理",
    "file_case": "立案",
    "start_investigation": "开始审查调查",
    "extend_investigation": "延长审查调查期限",
    "answer_checklist": "填写七必问",
    "find_unfounded": "认定反映不实",
    "transfer_for_review": "移送审理",
    "extend_review": "延长审理期限",
    "review_opinion": "提出审理意见",
    "decide": "作出处分决定",
    "transfer_for_prosecution": "移送检察机关审查起诉",
    "appeal": "申请复审复核",
    "decide_appeal": "复审复核决定",
    "start_execution": "开始执行",
    "complete_execution": "执行完毕",
    "record_visit": "登记回访教育",
    "close_case": "销号",
    "clear_name": "澄清正名",
    "record_feedback": "实名举报结果反馈",
    "list_for_supervision": "挂牌督办",
    "report_supervision": "督办报告",
    "assign_task": "清单交办",
    "track_task": "跟踪督办",
    "feedback_task": "结果反馈",
    "revisit_task": "回访销号",
    "link_case": "关联案件",
}
"""How a clerk names each command (the command's name stays the machine value)."""

_TASK_LABELS = {
    "assigned": "已交办",
    "tracking": "跟踪督办",
    "reported": "已反馈结果",
    "closed": "已回访销号",
}
"""清单交办—跟踪督办—结果反馈—回访销号: a list item's stages as a clerk names them."""


def command_label(name: str) -> str:
    """The Chinese name of a command (its machine name when it has none)."""
    return COMMAND_LABELS.get(name, name)


_FOR_SOURCE = {
    "talk_or_inquiry": "已采取谈话函询方式处置",
    "preliminary_verification": "已进行初步核实",
    "hold": "已暂存待查",
    "close": "已予以了结",
    "clear": "反映不实，已予以澄清",
    "escalate": "已进行初步核实",
    "propose_filing": "拟立案审查",
    "talk_reminder": "已予以谈话提醒",
    "criticism_education": "已予以批评教育",
    "ordered_examination": "已责令其作出检查",
    "admonition": "已予以诫勉",
    "reinquiry": "已再次函询",
    "transfer": "已移送有关单位处理",
}


class IllegalTransition(Refused):
    """This command cannot be given in the current status."""

    def __init__(self, command: str, status: Status, allowed: list[str]) -> None:
        now = "、".join(command_label(a) for a in allowed) or "无"
        super().__init__(
            "illegal-transition",
            f"案件当前处于「{status.label}」阶段，不能办理「{command_label(command)}」。"
            f"当前可办理：{now}。",
            kind="conflict",
            title="当前阶段不能办理此事项",
            status_label=status.label,
            allowed_commands=allowed,
        )
        self.command, self.status, self.allowed = command, status, allowed


class Rejected(Refused):
    """The command is allowed here but breaks a rule: given the state (``conflict``) or in
    its own content (``invalid``)."""

    def __init__(self, field: str, reason: str, kind: Kind = "conflict") -> None:
        super().__init__(
            "rule-violated" if kind == "conflict" else "invalid-command",
            reason,
            kind=kind,
            field=field,
            title="不符合办理规定",
        )
        self.reason = reason


def allowed_commands(state: CaseState) -> list[str]:
    """The commands that may be given now."""
    return [
        name
        for name, froms in ALLOWED_FROM.items()
        if state.status in froms and (name != "record_feedback" or _feedback_owed(state))
    ]


def _feedback_owed(state: CaseState) -> bool:
    return state.real_name_reporter and state.reporter_feedback_on is None


def decide(
    state: CaseState, cmd: c.Command, now: datetime, rules: Rules, actor: str = ""
) -> list[Event]:
    """The events a command produces on this state, or ``IllegalTransition`` / ``Rejected``."""
    if state.case_id is None or state.status not in ALLOWED_FROM[cmd.name]:
        raise IllegalTransition(cmd.name, state.status, allowed_commands(state))
    step = _Step(state, cmd, now, rules, actor)
    handler = getattr(step, cmd.name)
    handler()
    return step.events()


class _Step:
    """One command's decision: collects the transition record and the published facts."""

    def __init__(
        self, state: CaseState, cmd: c.Command, now: datetime, rules: Rules, actor: str
    ) -> None:
        self.s, self.cmd, self.now, self.rules, self.actor = state, cmd, now, rules, actor
        self.today = now.date()
        self.to = state.status
        self.details: dict[str, Any] = {}
        self.set: dict[str, date] = {}
        self.cleared: list[str] = []
        self.facts: list[Event] = []

    # --- helpers -------------------------------------------------------------------------

    @property
    def case_id(self) -> Any:
        return self.s.case_id

    def due(self, kind: str, start: date | None = None) -> date:
        return self.rules.calendar.due(start or self.today, self.rules.limits[kind])

    def clear(self, *kinds: str) -> None:
        self.cleared += [k for k in kinds if k in self.s.deadlines]

    def disposed(self, method: DisposalMethod, outcome: str) -> None:
        self.facts.append(
            ClueDisposed(
                clue_id=self.case_id,
                clue_number=self.s.clue_number,
                method=method,
                outcome=outcome,
                outcome_for_source=_FOR_SOURCE.get(outcome, outcome),
                decided_by=self.actor,
                disposed_at=self.now,
            )
        )

    def subject(self) -> Subject:
        if self.s.subject is not None:
            return self.s.subject
        person = self.s.reported_persons[0] if self.s.reported_persons else None
        if person is None:
            return Subject(name="", unit="")
        return Subject(  # the reported person's tokens: same person, same case as context
            name=person.name,
            unit=person.unit,
            person_ref=person.person_ref,
            blind_index=person.blind_index,
            sealed=dict(person.sealed),
        )

    def events(self) -> list[Event]:
        if self.to.terminal:
            self.cleared = sorted(set(self.cleared) | set(self.s.deadlines))
            self.set = {k: v for k, v in self.set.items() if k in AFTER_CLOSING}
            if not self.s.status.terminal and _feedback_owed(self.s):
                # 实名举报: the reporter is told the result within 15 working days of closing.
                self.set["reporter_feedback"] = self.due("reporter_feedback")
        record = CaseTransitioned(
            case_id=self.case_id,
            command=self.cmd.name,
            from_status=self.s.status.value,
            to_status=self.to.value,
            reason=self.cmd.reason,
            documents=list(self.cmd.documents),
            details=self.details,
            deadlines_set=self.set,
            deadlines_cleared=self.cleared,
            at=self.now,
        )
        return [record, *self.facts]

    # --- clue disposal ----------------------------------------------------------------------

    def assign(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.Assign)
        self.facts.append(
            CaseAssigned(
                case_id=self.case_id,
                department=cmd.department,
                officer=cmd.officer,
                supervisor=cmd.supervisor,
                leader=cmd.leader or self.s.leader,
                reason=cmd.reason,
                at=self.now,
            )
        )

    def dispose(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.Dispose)
        self.clear("clue_disposal")
        self.details["method"] = cmd.method.value
        if cmd.method is DisposalMethod.TALK_OR_INQUIRY:
            # The reply period runs from the letter's receipt (送达 of the 函询通知书).
            self.to = S.TALK_OR_INQUIRY
        elif cmd.method is DisposalMethod.PRELIMINARY_VERIFICATION:
            self._verify()
        elif cmd.method is DisposalMethod.HOLD:
            self._hold(cmd.review_on)
        else:
            self.to = S.CLOSED
            self.details["outcome"] = "close"
        self.disposed(cmd.method, cmd.method.value)

    def _hold(self, review_on: date | None) -> None:
        if review_on is None or review_on <= self.today:
            raise Rejected("review_on", "暂存待查须定一个今天以后的复查日期", "invalid")
        self.to = S.ON_HOLD
        self.details["review_on"] = review_on.isoformat()
        self.set["hold_review"] = review_on

    def record_reply(self) -> None:
        self.clear("inquiry_reply")
        self.to = S.REPLY_RECEIVED
        self.set["reply_report"] = self.due("reply_report")

    def evaluate_reply(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.EvaluateReply)
        self.clear("reply_report")
        self.details["outcome"] = cmd.outcome
        if cmd.outcome == "close":
            self.to = S.CLOSED
        elif cmd.outcome == "clear":
            self.to = S.CLEARING
            self.set["name_clearing"] = self.due("name_clearing")
        elif cmd.outcome == "reinquiry":
            # 再次函询: a new letter; its reply period runs from that letter's receipt.
            self.to = S.TALK_OR_INQUIRY
        elif cmd.outcome in c.FIRST_FORM_OUTCOMES:
            self.first_form(cmd.outcome)
        else:
            self._verify()
        self.disposed(DisposalMethod.TALK_OR_INQUIRY, cmd.outcome)

    def _verify(self) -> None:
        self.to = S.PRELIMINARY_VERIFICATION
        self.set["preliminary_verification"] = self.due("preliminary_verification")

    def extend_verification(self) -> None:
        limits = self.rules.limits
        most = limits.preliminary_verification_extensions_max
        if self.s.verification_extensions >= most:
            raise Rejected(
                "command", f"初步核实期限只能延长 {most} 次" if most else "初步核实期限不能延长"
            )
        current = self.s.deadlines["preliminary_verification"].due
        self.set["preliminary_verification"] = self.rules.calendar.due(
            current, limits["preliminary_verification_extension"]
        )
        self.details["extension"] = self.s.verification_extensions + 1

    def conclude_verification(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.ConcludeVerification)
        self.clear("preliminary_verification")
        self.details["outcome"] = cmd.outcome
        if cmd.outcome == "propose_filing":
            self.to = S.PROPOSED_FILING
        elif cmd.outcome == "close":
            self.to = S.CLOSED
        elif cmd.outcome in c.FIRST_FORM_OUTCOMES:
            self.first_form(cmd.outcome)
        elif cmd.outcome == "hold":
            self._hold(cmd.review_on)
        else:
            if not cmd.transfer_to:
                raise Rejected("transfer_to", "移送须写明移送的单位", "invalid")
            self.details["transfer_to"] = cmd.transfer_to
            self.to = S.TRANSFERRED
        self.disposed(DisposalMethod.PRELIMINARY_VERIFICATION, cmd.outcome)

    def first_form(self, measure: str) -> None:
        """第一种形态 on the clue: it closes with the measure recorded and counted."""
        self.check_measures(1, [measure])
        self.to = S.CLOSED
        self.details.update(form=1, measures=[measure])
        self.facts.append(
            FirstFormApplied(
                case_id=self.case_id,
                clue_number=self.s.clue_number,
                subject=self.subject(),
                categories=list(self.s.categories),
                measures=[measure],
                via=self.cmd.name,
                decided_by=self.actor,
                applied_at=self.now,
            )
        )

    def resume(self) -> None:
        self.clear("hold_review")
        self.to = S.PENDING_DISPOSAL
        self.set["clue_disposal"] = self.due("clue_disposal")

    # --- the case ---------------------------------------------------------------------------

    def file_case(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.FileCase)
        kinds = self.rules.limits.investigation_kinds
        if kinds and cmd.investigation_kind not in kinds:
            known = "、".join(f"{k.label}（{code}）" for code, k in kinds.items())
            raise Rejected(
                "investigation_kind",
                f"没有案件类别「{cmd.investigation_kind}」，可选：{known}",
                "invalid",
            )
        kind = self.rules.limits.investigation(cmd.investigation_kind)
        self.to = S.FILED
        # 审查调查 counts from 立案: the clock runs before the investigation formally starts.
        self.set["investigation"] = self.due(kind.limit)
        self.details.update(
            case_number=cmd.case_number,
            subject=cmd.subject.model_dump(mode="json"),
            major=cmd.major,
            misconduct_date=cmd.misconduct_date.isoformat() if cmd.misconduct_date else None,
            investigation_kind=kind.code,
        )
        self.facts.append(
            CaseFiled(
                case_id=self.case_id,
                case_number=cmd.case_number,
                clue_ids=[self.case_id],
                subject=cmd.subject,
                categories=list(self.s.categories),
                filed_by=self.actor,
                filed_at=self.now,
            )
        )

    def start_investigation(self) -> None:
        self.to = S.INVESTIGATION
        if "investigation" not in self.s.deadlines:  # filed before 立案 started the clock
            self.set["investigation"] = self.due(self.kind().limit)

    def kind(self) -> InvestigationKind:
        return self.rules.limits.investigation(self.s.investigation_kind)

    def extend_investigation(self) -> None:
        kind = self.kind()
        if self.s.investigation_extensions >= kind.extensions_max:
            raise Rejected("command", f"{kind.label}期限只能延长 {kind.extensions_max} 次")
        current = self.s.deadlines["investigation"].due
        self.set["investigation"] = self.rules.calendar.due(
            current, self.rules.limits[kind.extension]
        )
        self.details["extension"] = self.s.investigation_extensions + 1

    def answer_checklist(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.AnswerChecklist)
        known = {code for code, _ in self.rules.checklist}
        unknown = sorted(set(cmd.answers) - known)
        if unknown:
            raise Rejected("answers", f"以下不是七必问的问题：{'、'.join(unknown)}", "invalid")
        empty = sorted(k for k, v in cmd.answers.items() if not v.strip())
        if empty:
            raise Rejected("answers", f"以下问题未作回答：{self.questions(empty)}", "invalid")
        self.details["answers"] = dict(cmd.answers)

    def questions(self, codes: list[str]) -> str:
        labels = dict(self.rules.checklist)
        return "、".join(labels.get(code, code) for code in codes)

    def missing_checklist(self) -> list[str]:
        """七必问 questions still unanswered, when the case is about dining."""
        if not self.rules.checklist_applies(self.s.categories):
            return []
        return [code for code, _ in self.rules.checklist if code not in self.s.checklist]

    def find_unfounded(self) -> None:
        self.to = S.CLEARING
        self.clear("investigation")
        self.set["name_clearing"] = self.due("name_clearing")

    def transfer_for_review(self) -> None:
        missing = self.missing_checklist()
        if missing:
            raise Rejected("checklist", f"移送审理前须答完七必问，尚缺：{self.questions(missing)}")
        self.to = S.REVIEW
        self.clear("investigation")
        self.set["review"] = self.due("review")

    def extend_review(self) -> None:
        if not self.s.major:
            raise Rejected("major", "只有重大案件可以延长审理期限")
        limit = self.rules.limits.review_extensions_max
        if self.s.review_extensions >= limit:
            raise Rejected("command", f"审理期限只能延长 {limit} 次")
        current = self.s.deadlines["review"].due
        self.set["review"] = self.rules.calendar.due(current, self.rules.limits["review_extension"])
        self.details["extension"] = self.s.review_extensions + 1

    def check_measures(self, form: int, codes: list[str]) -> None:
        """Each measure must be in the catalogue and belong to the 形态 decided."""
        why = self.rules.measures.refusal(form, codes)
        if why:
            raise Rejected("measures", why, "invalid")

    def proposals(self, codes: list[str]) -> list[str]:
        """Measures another body decides (组织处理: 组织部门): the decision proposes them."""
        return [c for c in codes if self.rules.measures.measures[c].authority != "commission"]

    def review_opinion(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.ReviewOpinion)
        self.check_measures(cmd.form, cmd.measures)
        misconduct = self.misconduct(cmd.misconduct_date)
        self.details.update(
            form=cmd.form,
            measures=list(cmd.measures),
            facts=cmd.facts,
            misconduct_date=misconduct.isoformat(),
        )

    def misconduct(self, given: date | None) -> date:
        misconduct = given or self.s.misconduct_date
        if misconduct is None:
            raise Rejected("misconduct_date", "须填写违纪违法行为发生日期", "invalid")
        return misconduct

    def decide(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.Decide)
        if self.s.review_opinion is None:
            raise Rejected("review_opinion", "作出处分决定前须有审理室的审理意见，本案尚未提出")
        self.check_measures(cmd.form, cmd.measures)
        misconduct = self.misconduct(cmd.misconduct_date)
        self.to = S.DECIDED
        self.clear("review")
        self.set["decision_service"] = self.due("decision_service")
        self.details.update(
            form=cmd.form,
            measures=list(cmd.measures),
            prosecution=cmd.form == 4,
            misconduct_date=misconduct.isoformat(),
            proposals=self.proposals(cmd.measures),
        )
        self.facts.append(
            CaseDecided(
                case_id=self.case_id,
                case_number=self.s.case_number or "",
                clue_ids=[self.case_id],
                subject=self.subject(),
                categories=list(self.s.categories),
                form=cmd.form,
                measures=list(cmd.measures),
                major=self.s.major,
                misconduct_date=misconduct,
                decided_by=self.actor,
                decided_at=self.now,
                summary=cmd.summary,
            )
        )

    def appeal(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.Appeal)
        if cmd.kind == "reexamination":
            if "reexamination" in self.s.appeals:
                raise Rejected("kind", "已申请过复审，下一步只能申请复核")
            since, window = self.s.decision_served_on, "reexamination_apply"
        else:
            if "reexamination" not in self.s.appeals or "recheck" in self.s.appeals:
                raise Rejected("kind", "复核须在复审决定之后提出，且只能申请一次")
            since, window = self.s.reexamination_served_on, "recheck_apply"
        # The window opens when the decision reaches the person (送达), not on its date;
        # before it was served it has not begun.
        if since is not None and self.today > (last := self.due(window, since)):
            period = self.rules.limits[window].label
            raise Rejected(
                "kind",
                f"已超过申请期限：应自{since.isoformat()}送达之日起{period}内提出，"
                f"即{last.isoformat()}前",
            )
        self.to = S.APPEAL
        self.details.update(kind=cmd.kind, back_to=self.s.status.value)
        self.set[cmd.kind] = self.due(cmd.kind)

    def decide_appeal(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.DecideAppeal)
        if cmd.result == "changed" and (cmd.form is None or not cmd.measures):
            raise Rejected("form", "变更原决定须写明处理形态和处分措施", "invalid")
        if cmd.result == "changed" and cmd.form is not None:
            self.check_measures(cmd.form, cmd.measures)
        self.clear("reexamination", "recheck", "decision_service")
        self.to = S.EXECUTION
        self.details.update(result=cmd.result, form=cmd.form, measures=list(cmd.measures))
        self.details["appeal_kind"] = self.s.appeal_kind
        if cmd.result == "changed" and cmd.form is not None:
            self.facts.append(
                CaseDecisionRevised(
                    case_id=self.case_id,
                    case_number=self.s.case_number or "",
                    clue_ids=[self.case_id],
                    subject=self.subject(),
                    categories=list(self.s.categories),
                    appeal_kind=self.s.appeal_kind or "reexamination",
                    previous_form=self.s.form or 0,
                    previous_measures=list(self.s.measures),
                    previous_legacy_measures=list(self.s.legacy_measures),
                    form=cmd.form,
                    measures=list(cmd.measures),
                    major=self.s.major,
                    misconduct_date=self.s.misconduct_date or self.today,
                    revised_by=self.actor,
                    revised_at=self.now,
                    reason=cmd.reason,
                )
            )

    def start_execution(self) -> None:
        self.clear("decision_service")
        self.to = S.EXECUTION

    def complete_execution(self) -> None:
        if self.s.form == 4:
            raise Rejected("form", "第四种形态案件执行后须移送检察机关审查起诉，不进行回访教育")
        if self.s.form in self.rules.follow_up_forms:
            self.to = S.FOLLOW_UP
            return
        # 回访教育 is for the forms the policy names (data/follow_up.json): the others
        # are 销号 once executed.
        self.closed("执行完毕，无须回访教育")

    def closed(self, note: str) -> None:
        self.to = S.CLOSED
        self.details["closed"] = note
        self.facts.append(
            CaseClosed(
                case_id=self.case_id,
                case_number=self.s.case_number or "",
                clue_ids=[self.case_id],
                outcome="closed",
                outcome_for_source="已办结",
                closed_at=self.now,
            )
        )

    def transfer_for_prosecution(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.TransferForProsecution)
        if self.s.form != 4:
            raise Rejected("form", "只有第四种形态的案件移送检察机关审查起诉")
        if cmd.transferred_on > self.today or (
            self.s.decided_on is not None and cmd.transferred_on < self.s.decided_on
        ):
            raise Rejected("transferred_on", "移送日期须在处分决定之后、不晚于今天", "invalid")
        self.to = S.PROSECUTED
        self.details.update(
            procuratorate=cmd.procuratorate, transferred_on=cmd.transferred_on.isoformat()
        )
        self.facts.append(
            CaseTransferredForProsecution(
                case_id=self.case_id,
                case_number=self.s.case_number or "",
                clue_ids=[self.case_id],
                procuratorate=cmd.procuratorate,
                transferred_on=cmd.transferred_on,
                transferred_by=self.actor,
                at=self.now,
            )
        )
        self.facts.append(
            CaseClosed(
                case_id=self.case_id,
                case_number=self.s.case_number or "",
                clue_ids=[self.case_id],
                outcome="prosecuted",
                outcome_for_source="已移送检察机关依法审查起诉",
                closed_at=self.now,
            )
        )

    def record_visit(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.RecordVisit)
        same_year = [v for v in self.s.visits if v.on.year == cmd.visited_on.year]
        if len(same_year) >= self.rules.limits.visits_per_year:
            raise Rejected(
                "visited_on", f"每年回访教育不超过 {self.rules.limits.visits_per_year} 次"
            )
        self.details.update(visited_on=cmd.visited_on.isoformat(), rating=cmd.rating)

    def close_case(self) -> None:
        if self.s.form in self.rules.follow_up_forms and not self.s.visits:
            raise Rejected("command", f"第{self.s.form}种形态的案件销号前须至少进行一次回访教育")
        self.closed("回访教育后销号")

    def clear_name(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.ClearName)
        self.to = S.CLOSED
        self.details["false_accusation"] = cmd.false_accusation
        approved = self.s.deadlines.get("name_clearing")
        self.facts.append(
            NameCleared(
                case_id=self.case_id if self.s.case_number else None,
                clue_ids=[self.case_id],
                subject=self.subject(),
                approved_at=self.now
                if approved is None
                else datetime.combine(
                    self.rules.calendar.add_workdays(
                        approved.due, -self.rules.limits["name_clearing"].amount
                    ),
                    self.now.timetz(),
                ),
                cleared_at=self.now,
            )
        )
        if self.s.case_number:
            self.facts.append(
                CaseClosed(
                    case_id=self.case_id,
                    case_number=self.s.case_number,
                    clue_ids=[self.case_id],
                    outcome="name_cleared",
                    outcome_for_source="反映不实，已予以澄清",
                    closed_at=self.now,
                )
            )

    def record_feedback(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.RecordFeedback)
        if not self.s.real_name_reporter:
            raise Rejected("command", "本事项没有实名举报人，无须反馈办理结果")
        if self.s.reporter_feedback_on is not None:
            done = self.s.reporter_feedback_on.isoformat()
            raise Rejected("command", f"已于{done}向实名举报人反馈办理结果")
        if cmd.fed_back_on > self.today:
            raise Rejected("fed_back_on", "反馈日期不能晚于今天", "invalid")
        self.clear("reporter_feedback")
        self.details.update(fed_back_on=cmd.fed_back_on.isoformat(), manner=cmd.manner)

    # --- supervision ------------------------------------------------------------------------

    def list_for_supervision(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.ListForSupervision)
        if cmd.report_due <= self.today:
            raise Rejected("report_due", "报告期限须在今天以后", "invalid")
        self.details.update(body=cmd.body, report_due=cmd.report_due.isoformat())
        self.set["supervision_report"] = cmd.report_due

    def report_supervision(self) -> None:
        if self.s.supervision is None:
            raise Rejected("command", "本案未被挂牌督办")
        self.clear("supervision_report")

    def _task(self, expected: str, to: str) -> str:
        item = str(self.cmd.model_dump()["item"])
        have = self.s.tasks.get(item)
        if have != expected:
            raise Rejected(
                "item",
                f"清单事项「{item}」当前为「{_TASK_LABELS.get(have or '', '尚未交办')}」，"
                f"此步须在「{_TASK_LABELS[expected]}」时办理",
            )
        self.details.update(item=item, task_status=to)
        return str(item)

    def assign_task(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.AssignTask)
        if cmd.item in self.s.tasks:
            raise Rejected("item", f"清单事项「{cmd.item}」已经交办")
        self.details.update(item=cmd.item, task_status="assigned", due=cmd.due.isoformat())
        self.set[f"task:{cmd.item}"] = cmd.due

    def track_task(self) -> None:
        self._task("assigned", "tracking")

    def feedback_task(self) -> None:
        item = self._task("tracking", "reported")
        self.clear(f"task:{item}")

    def revisit_task(self) -> None:
        self._task("reported", "closed")

    def link_case(self) -> None:
        cmd = self.cmd
        assert isinstance(cmd, c.LinkCase)
        if cmd.other_case_id == self.case_id:
            raise Rejected("other_case_id", "案件不能与自身关联", "invalid")
        if any(link.case_id == cmd.other_case_id for link in self.s.links):
            raise Rejected("other_case_id", "两案已经关联")
        self.facts.append(
            CasesLinked(
                case_id=self.case_id,
                other_case_id=cmd.other_case_id,
                relation=cmd.relation,
                reason=cmd.reason,
                at=self.now,
            )
        )

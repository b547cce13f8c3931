"""Events intake publishes: the clue contracts every other service consumes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from libs.events.contracts import Event, registry
from libs.events.taxonomy import canonical_codes


class ReportedPerson(BaseModel):
    """A person a clue is about (被反映人).

    Since ClueReceived v3 the personal fields are sealed (see ``libs/events/pii.py``):
    ``name`` holds only a masked form (``王*``), ``id_number`` is empty, and the plain
    values are in ``sealed`` (``"name"``, ``"id_number"``), readable with the person's key
    for the clue's id as context. ``person_ref`` is a stable pseudonym of the person.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    unit: str
    post: str | None = None
    id_number: str | None = None
    person_ref: UUID | None = None
    """The person's key in the personal-data vault; stable across clues about them."""
    blind_index: str | None = None
    """Keyed hash of the ID number (or of name and unit), for duplicate lookups."""
    sealed: dict[str, str] = Field(default_factory=dict)
    """Field name -> sealed token (AES-GCM under the person's key)."""
    rank: str | None = None
    """级别, e.g. 正处级 / 副科级, as the source states it."""
    top_leader: bool = False
    """一把手: the head of the unit."""
    key_minority: bool = False
    """关键少数: a leading cadre the commission watches most closely."""


class AttachmentRef(BaseModel):
    """An attachment of a clue: stored outside the event, content-addressed by SHA-256."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str
    size: int
    content_type: str
    name: str


class ClueContent(BaseModel):
    """线索内容: what a clue says — whom it is about, what they did, when and where.

    The one list of a clue's content fields. The events that carry a clue
    (``ClueReceived``, ``ClueMerged``), intake's commands and its answers take their
    fields from here, and a merge or a split passes them on whole (``content_fields``),
    so a field added here goes wherever the clue goes. A new field needs a default:
    events stored before it must still parse.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reported_persons: list[ReportedPerson]
    categories: list[str]
    narrative: str
    urgency: str = "normal"
    """normal 一般 / urgent 紧急 / very_urgent 特急."""
    occurred_from: date | None = None
    occurred_to: date | None = None
    place: str | None = None
    attachments: list[AttachmentRef] = Field(default_factory=list)
    sealed_narrative: str = ""
    """The narrative as written, sealed under the reported persons' keys (``pii.seal_text``,
    the clue's id as context); ``narrative`` then carries it with their names and ID numbers
    masked. Empty on clues received before narratives were sealed."""

    @field_validator("categories")
    @classmethod
    def _todays_codes(cls, codes: list[str]) -> list[str]:
        # Category codes outlive taxonomy versions: a code an earlier version used reads as
        # today's (the taxonomy's ``formerly``), in stored events of every version as in new
        # ones. The shape is unchanged, so this is the upcast, with no new version.
        return canonical_codes(codes)

    def content_fields(self) -> dict[str, Any]:
        """The clue's content by field name, values as they are: to build another model
        that carries the same content (``ClueMerged(**received.content_fields(), ...)``)."""
        return {name: getattr(self, name) for name in ClueContent.model_fields}


class _ClueReceivedHead(Event):
    # ClueReceived's fields before its content: pydantic orders fields from the last base
    # to the class itself, so the published schema keeps its order of required fields.
    clue_id: UUID
    clue_number: str
    source_kind: str
    source_department: str | None = None
    source_reference: str | None = None


@registry.register
class ClueReceived(ClueContent, _ClueReceivedHead):
    """线索已接收: a clue entered the commission through intake."""

    type_name = "zhengfeng.intake.clue_received"
    version = 3

    received_at: datetime


@registry.upcaster(ClueReceived.type_name, from_version=1)
def _clue_received_v1_to_v2(data: dict[str, object]) -> dict[str, object]:
    # v1 carried a single "department" and no source kind: every v1 clue was a transfer.
    data["source_kind"] = "partner_transfer"
    data["source_department"] = data.pop("department", None)
    return data


@registry.upcaster(ClueReceived.type_name, from_version=2)
def _clue_received_v2_to_v3(data: dict[str, object]) -> dict[str, object]:
    # v2 carried names and ID numbers in plain text; they stay as they were (nothing to
    # seal them with here), with no sealed fields and no person reference.
    return data


@registry.register
class HotlineOrderReceived(Event):
    """12345 工单: a hotline work order forwarded by the 12345 platform."""

    type_name = "zhengfeng.intake.hotline_order_received"
    version = 1

    order_number: str
    unit: str
    category: str
    content: str
    deadline: datetime | None = None
    status: str
    reopened: bool = False
    satisfaction: str | None = None
    """满意 / 基本满意 / 不满意 as the platform reports it, when known."""
    received_at: datetime


@registry.register
class HotlineOrderUpdated(Event):
    """A later state of a 12345 work order (status, reopened, satisfaction)."""

    type_name = "zhengfeng.intake.hotline_order_updated"
    version = 1

    order_number: str
    unit: str
    status: str
    reopened: bool = False
    satisfaction: str | None = None
    updated_at: datetime


@registry.register
class ClueMerged(Event, ClueContent):
    """重复件: a new report of the same matter was merged into an existing clue.

    Recorded on the existing clue's stream. Besides the count, it keeps the repeat report
    whole (its own number, sealed persons, categories, narrative, attachments, source), so
    a split can restore it as a clue of its own; the sealed fields open with the repeat's
    id as context, as they would have on its own clue.
    """

    type_name = "zhengfeng.intake.clue_merged"
    version = 1

    clue_id: UUID
    """The existing clue the repeat report joined."""
    repeat_id: UUID
    """The id the repeat report was given (its receipt points at it)."""
    repeat_count: int
    """Repeat reports on the existing clue after this one (splits subtracted)."""
    source_kind: str
    source_department: str | None = None
    source_reference: str | None = None
    merged_at: datetime
    repeat_number: str = ""
    """The number the repeat report's submitter was given (it keeps it if split)."""
    priority: str = "normal"
    """The existing clue's priority after this repeat (rules in intake's duplicates.json)."""
    matched_on: list[str] = Field(default_factory=list)
    """Why it is the same matter: ``id_number`` / ``name_unit``, and the shared categories."""
    overlapping_categories: list[str] = Field(default_factory=list)
    rules_version: str = ""
    received_at: datetime | None = None
    # As first published, a merge may leave these out (the rest of the content has defaults).
    reported_persons: list[ReportedPerson] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    narrative: str = ""


@registry.register
class ClueSplit(Event):
    """A clerk undid a wrong merge: the repeat report becomes a clue of its own.

    Recorded on the existing clue's stream; the new clue's ``ClueReceived`` follows on its
    own stream. The new clue keeps the repeat's id and number (``new_clue_id`` equals
    ``repeat_id``), so the submitter's receipt and status link stay valid.
    """

    type_name = "zhengfeng.intake.clue_split"
    version = 1

    clue_id: UUID
    repeat_id: UUID
    new_clue_id: UUID
    new_clue_number: str
    repeat_count: int
    """Repeat reports left on the existing clue."""
    reason: str
    split_by: str
    split_at: datetime
    priority: str = "normal"
    """The existing clue's priority after the split."""


@registry.register
class PersonalDataAccessed(Event):
    """个人信息查阅记录: someone read a clue's personal data unmasked."""

    type_name = "zhengfeng.intake.personal_data_accessed"
    version = 1

    clue_id: UUID
    person_refs: list[UUID]
    fields: list[str]
    accessed_by: str
    role: str
    purpose: str
    accessed_at: datetime


@registry.register
class PersonalDataShredded(Event):
    """个人信息销毁: a person's data key was destroyed; their sealed fields are unreadable."""

    type_name = "zhengfeng.intake.personal_data_shredded"
    version = 1

    person_ref: UUID
    shredded_by: str
    reason: str
    shredded_at: datetime
    matter: str | None = None
    """Set when a matter's key was destroyed (its free text; ``person_ref`` is then the key's
    row, ``pii.matter_key_id``), not a person's."""


@registry.register
class ClueProgressNoted(Event):
    """线索办理进展: what the clue's source may now learn, noted from casework's events."""

    type_name = "zhengfeng.intake.clue_progress_noted"
    version = 1

    clue_id: UUID
    status: str
    """registered / disposed / case_filed / closed / name_cleared."""
    outcome_for_source: str | None = None
    learned_from: str
    """The casework event type it was learned from."""
    noted_at: datetime


@registry.register
class ReportReceived(Event):
    """信访举报: a public report's reporter side, next to its ClueReceived.

    The reporter's contact details are sealed under their own key (``reporter_ref``);
    a real-name reporter must be told of acceptance by ``acknowledge_by`` (15 working days).
    """

    type_name = "zhengfeng.intake.report_received"
    version = 1

    clue_id: UUID
    anonymous: bool
    reporter_ref: UUID
    sealed: dict[str, str] = Field(default_factory=dict)
    acknowledge_by: date | None = None
    received_at: datetime


@registry.register
class ReportAcknowledged(Event):
    """受理告知: the real-name reporter was told their report was accepted."""

    type_name = "zhengfeng.intake.report_acknowledged"
    version = 1

    clue_id: UUID
    acknowledged_by: str
    acknowledged_at: datetime


@registry.register
class ReportMessagePosted(Event):
    """A message between the reporter and the intake clerk (text sealed, reporter's key)."""

    type_name = "zhengfeng.intake.report_message_posted"
    version = 1

    clue_id: UUID
    message_id: UUID
    author: str
    """``reporter`` or ``clerk``."""
    clerk: str | None = None
    sealed_text: str
    posted_at: datetime


class UnitFinding(BaseModel):
    """管辖认定: what the unit registry says about one reported person's unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str
    """The unit as the source wrote it."""
    finding: str
    """``ours`` (本委管辖), ``other`` (非本委管辖) or ``unknown`` (not in the registry)."""
    registered_as: str | None = None
    """The registry's name of the unit, when it was found."""
    authority: str | None = None
    """For ``other``: the body it belongs to (e.g. 市纪委监委), where the registry knows it."""
    rank: str | None = None
    """The person's 级别 as the source wrote it (a rank, never a name)."""
    cadre: str | None = None
    """干部管理权限: the rule that decided (``city_managed`` 市管干部, ``county_managed`` 县管干部,
    ``unrecognised_rank``…); empty when no rank was stated and the unit alone decided."""
    cadre_label: str | None = None
    """The rule as a clerk reads it (市管干部)."""


@registry.register
class ClueMarkedForForwarding(Event):
    """待转办: a clue about persons outside this commission's jurisdiction must be forwarded.

    Marked on receipt by the unit registry (``marked_by`` = ``service:intake``) or later by
    a clerk; ``forward_by`` is 5 working days from receipt (DOMAIN §1).
    """

    type_name = "zhengfeng.intake.clue_marked_for_forwarding"
    version = 2

    clue_id: UUID
    clue_number: str
    authority: str | None
    """Where it goes, when known; a clerk names it when forwarding otherwise."""
    reason: str
    findings: list[UnitFinding] = Field(default_factory=list)
    registry_version: str = ""
    cadre_rules_version: str = ""
    """The 干部管理权限 rules that judged the persons' ranks (v2)."""
    forward_by: date
    marked_by: str
    marked_at: datetime


@registry.register
class ClueJurisdictionUndetermined(Event):
    """管辖待定: the registry cannot say whose the clue is; a clerk must decide.

    Units missing from the registry, or persons of several jurisdictions on one clue.
    The forwarding limit runs from receipt all the same (``decide_by``).
    """

    type_name = "zhengfeng.intake.clue_jurisdiction_undetermined"
    version = 2

    clue_id: UUID
    clue_number: str
    reason: str
    findings: list[UnitFinding]
    registry_version: str = ""
    cadre_rules_version: str = ""
    """The 干部管理权限 rules that judged the persons' ranks (v2)."""
    decide_by: date
    noted_at: datetime


@registry.upcaster(ClueMarkedForForwarding.type_name, from_version=1)
@registry.upcaster(ClueJurisdictionUndetermined.type_name, from_version=1)
def _jurisdiction_v1_to_v2(data: dict[str, object]) -> dict[str, object]:
    # v1 judged by the unit registry alone: its findings carry no rank or cadre rule, which
    # v2 reads as "no rank stated" (the unit decided), and no cadre rules were consulted.
    return data


@registry.register
class ClueKeptInJurisdiction(Event):
    """留本委办理: a clerk decided a marked or undetermined clue is this commission's after all."""

    type_name = "zhengfeng.intake.clue_kept_in_jurisdiction"
    version = 1

    clue_id: UUID
    clue_number: str
    reason: str
    decided_by: str
    decided_at: datetime


@registry.register
class ClueForwarded(Event):
    """已转办: the clue was forwarded to the body that has jurisdiction."""

    type_name = "zhengfeng.intake.clue_forwarded"
    version = 1

    clue_id: UUID
    clue_number: str
    authority: str
    """The body it went to (e.g. 市纪委监委)."""
    method: str
    """official_letter 公函 / document_system 公文交换系统 / confidential_delivery 机要交通 / in_person 当面移交."""
    letter_number: str | None = None
    """转办文号, when there is one."""
    note: str | None = None
    forward_by: date | None = None
    in_time: bool
    forwarded_by: str
    forwarded_at: datetime


@registry.register
class ClueTakenUp(Event):
    """提级办理: a higher commission took the matter up; it leaves this commission.

    Recorded by a clerk from the higher body's decision (``decision_number``) at any stage
    before the clue was sent away; casework closes its matter as forwarded.
    """

    type_name = "zhengfeng.intake.clue_taken_up"
    version = 1

    clue_id: UUID
    clue_number: str
    authority: str
    """The higher commission that takes the matter up (e.g. 市纪委监委)."""
    decision_number: str
    """The higher body's decision (提级办理决定) number."""
    reason: str
    recorded_by: str
    recorded_at: datetime


@registry.register
class ClueJurisdictionDesignated(Event):
    """指定管辖: a higher commission designated the commission that handles the matter.

    ``here`` is true when it designated this commission (the clue stays, as if kept);
    otherwise the clue leaves for ``designated_to``.
    """

    type_name = "zhengfeng.intake.clue_jurisdiction_designated"
    version = 1

    clue_id: UUID
    clue_number: str
    designated_by: str
    """The higher commission that decided."""
    designated_to: str
    """The commission that handles the matter (this one's name when ``here``)."""
    here: bool
    decision_number: str
    """The 指定管辖决定 number."""
    reason: str
    recorded_by: str
    recorded_at: datetime


@registry.register
class ForwardingOverdue(Event):
    """转办逾期: ``forward_by`` passed and the clue was neither forwarded nor kept.

    Escalated to the intake supervisor; said once per (clue, due date).
    """

    type_name = "zhengfeng.intake.forwarding_overdue"
    version = 1

    deadline_id: str
    clue_id: UUID
    clue_number: str
    due: date
    undetermined: bool = False
    """True when no clerk has even decided whose the clue is."""
    escalated_to: str | None
    noticed_at: datetime


@registry.register
class ReportAcknowledgementOverdue(Event):
    """受理告知逾期: a real-name reporter was not told of acceptance by ``acknowledge_by``."""

    type_name = "zhengfeng.intake.report_acknowledgement_overdue"
    version = 1

    deadline_id: str
    clue_id: UUID
    clue_number: str
    due: date
    escalated_to: str | None
    noticed_at: datetime


@registry.register
class ClueViewed(Event):
    """线索查阅记录: an operator opened a clue with personal data masked.

    Every opening of a case file is recorded, like a paper file's borrowing slip: masked
    reads here (stream ``clue-reads-{clue_id}``), unmasked ones as PersonalDataAccessed.
    Kept off the clue's own stream so that reading never changes the clue's version.
    """

    type_name = "zhengfeng.intake.clue_viewed"
    version = 1

    clue_id: UUID
    viewed_by: str
    roles: list[str]
    """The caller's roles that allowed the read."""
    part: str
    """``clue`` (the clue itself) or ``messages`` (the conversation with the reporter)."""
    viewed_at: datetime


# The directory of accounts (系统): operator accounts and partner/system clients, kept by an
# administrator. The issuer's ``clients`` table is what logins read; these events are the
# record of who changed it, when and why. A person's name never enters them in clear:
# ``name`` is masked and ``sealed["name"]`` opens with the person's key (context: the
# account's stream id, ``account-<account_id>``).


@registry.register
class OperatorAccountCreated(Event):
    """工作人员账号开设: an administrator opened an operator account."""

    type_name = "zhengfeng.intake.operator_account_created"
    version = 1

    account_id: str
    name: str
    """Masked (``张*``); the name as written is in ``sealed``."""
    person_ref: UUID
    sealed: dict[str, str]
    department: str | None = None
    roles: list[str]
    created_by: str
    created_at: datetime


@registry.register
class OperatorRolesChanged(Event):
    """工作人员角色调整: an operator's roles were changed (effective at their next token)."""

    type_name = "zhengfeng.intake.operator_roles_changed"
    version = 1

    account_id: str
    roles: list[str]
    previous_roles: list[str]
    reason: str
    changed_by: str
    changed_at: datetime


@registry.register
class OperatorAccountDeactivated(Event):
    """工作人员账号停用: the operator can no longer log in or renew a session."""

    type_name = "zhengfeng.intake.operator_account_deactivated"
    version = 1

    account_id: str
    reason: str
    deactivated_by: str
    deactivated_at: datetime


@registry.register
class OperatorAccountReactivated(Event):
    """工作人员账号启用: a deactivated operator may log in again."""

    type_name = "zhengfeng.intake.operator_account_reactivated"
    version = 1

    account_id: str
    reason: str
    reactivated_by: str
    reactivated_at: datetime


@registry.register
class PartnerClientRegistered(Event):
    """合作单位客户端登记: a partner department's or a system's client was registered
    (its secret is never recorded: it was shown once to the administrator)."""

    type_name = "zhengfeng.intake.partner_client_registered"
    version = 1

    client_id: str
    kind: str
    """partner (合作单位) / system (系统)."""
    name: str
    """The department or system (not a person)."""
    department: str | None = None
    scopes: list[str]
    registered_by: str
    registered_at: datetime


@registry.register
class PartnerClientRevoked(Event):
    """合作单位客户端吊销: the client gets no more tokens."""

    type_name = "zhengfeng.intake.partner_client_revoked"
    version = 1

    client_id: str
    reason: str
    revoked_by: str
    revoked_at: datetime

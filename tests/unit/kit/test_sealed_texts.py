"""Which event fields the store seals, and how answers open or withhold them (no database:
a vault that seals by base64)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from libs.events import pii
from libs.events.contracts import registry
from libs.events.contracts.accountability import TypicalCasePublished
from libs.events.contracts.approvals import ApprovalRecorded, ProposalSubmitted
from libs.events.contracts.casework import CaseTransitioned
from libs.events.contracts.documents import DocumentIssued
from libs.events.contracts.oversight import (
    AnalysisReportIssued,
    Question,
    SurveyAnswered,
    SurveyPublished,
)
from libs.events.contracts.rectification import RectificationListOpened
from libs.events.sealing import TextSealer, matter_of
from libs.kit import documents
from libs.kit.auth import Principal
from libs.kit.texts import OpenSealedTexts, may_read_texts

NOW = datetime(2026, 12, 7, tzinfo=UTC)


class FakeVault:
    """Seals as ``pii1m.<context>.<base64>``; a shredded context opens to None."""

    def __init__(self) -> None:
        self.shredded: set[str] = set()

    async def seal_matter_text(self, conn: Any, value: str, *, context: str) -> str:
        blob = base64.urlsafe_b64encode(("x" * 30 + value).encode()).decode()
        return f"{pii.MATTER_TEXT_PREFIX}{context}.{blob}"

    async def open_matter_text(self, token: str, **_: Any) -> str | None:
        found = pii.MATTER_TEXT.fullmatch(token)
        assert found is not None
        if found["context"] in self.shredded:
            return None
        return base64.urlsafe_b64decode(found["blob"]).decode()[30:]


def test_the_matter_is_the_uuid_in_the_streams_id() -> None:
    case = uuid4()
    assert matter_of(f"case-{case}") == str(case)
    assert matter_of(f"pii-access-{case}") == str(case)
    assert matter_of("period-2026.Q3") == "period-2026_Q3"


async def test_text_fields_are_sealed_codes_and_questionnaire_wording_are_not() -> None:
    vault = FakeVault()
    sealer = TextSealer(vault)  # type: ignore[arg-type]
    case = uuid4()
    transition = CaseTransitioned.model_construct(
        **{f: None for f in CaseTransitioned.model_fields},
    ).model_copy(update={"reason": "王五收受购物卡", "details": {"note": "附件三份", "form": 2}})
    approval = ApprovalRecorded.model_construct(
        **{f: None for f in ApprovalRecorded.model_fields}
    ).model_copy(update={"opinion": "agree", "comment": "同意"})
    survey = SurveyPublished(
        survey_id=uuid4(), title="2026年民主评议", unit="某局", period="2026",
        questions=[Question(code="q1", text="您对本单位作风是否满意", kind="scale")],
        tokens=10, published_by="operator:a", published_at=NOW,
    )  # fmt: skip

    sealed = await sealer(None, f"case-{case}", [transition, approval, survey])

    t, a, s = sealed
    assert t.reason.startswith(f"{pii.MATTER_TEXT_PREFIX}{case}.")
    assert t.details["note"].startswith(pii.MATTER_TEXT_PREFIX) and t.details["form"] == 2
    assert a.opinion == "agree" and a.comment.startswith(pii.MATTER_TEXT_PREFIX)
    assert s.questions[0].text == "您对本单位作风是否满意"
    assert (await sealer(None, f"case-{case}", [t]))[0].reason == t.reason  # sealed once
    assert await pii.open_texts(vault, t.reason) == "王五收受购物卡"  # type: ignore[arg-type]


async def test_a_proposed_bodys_reason_is_sealed_inside_the_mapping() -> None:
    sealer = TextSealer(FakeVault())  # type: ignore[arg-type]
    proposal = ProposalSubmitted.model_construct(
        **{f: None for f in ProposalSubmitted.model_fields}
    ).model_copy(
        update={"body": {"reason": "拟立案", "measures": ["warning"], "form": 2, "title": "王五案"}}
    )
    report = AnalysisReportIssued.model_construct(
        **{f: None for f in AnalysisReportIssued.model_fields}
    ).model_copy(update={"figures": {"eight_rules_table": {"title": "违反中央八项规定精神问题"}}})

    [sealed, kept] = await sealer(None, f"case-{uuid4()}", [proposal, report])

    assert sealed.body["reason"].startswith(pii.MATTER_TEXT_PREFIX)
    assert sealed.body["title"].startswith(pii.MATTER_TEXT_PREFIX)  # a typed title
    assert sealed.body["measures"] == ["warning"]
    assert kept.figures["eight_rules_table"]["title"] == "违反中央八项规定精神问题"  # the rules'


def _app(vault: FakeVault, token: str, principal: Principal | None) -> Starlette:
    async def answer(request: Request) -> JSONResponse:
        if principal is not None:
            request.state.principal = principal
        return JSONResponse({"reason": token, "quoted": f"见{token}。", "n": 1})

    async def page(request: Request) -> HTMLResponse:
        if principal is not None:
            request.state.principal = principal
        return HTMLResponse(f"<p>{token}</p>")

    app = Starlette(routes=[Route("/a", answer), Route("/p", page)])
    app.add_middleware(OpenSealedTexts, vault=vault)
    return app


async def test_answers_open_sealed_text_for_the_commissions_roles_and_withhold_it_otherwise() -> (
    None
):
    vault = FakeVault()
    context = str(uuid4())
    token = await vault.seal_matter_text(None, "<理由> & 说明", context=context)
    officer = Principal(subject="o", kind="operator", roles=frozenset({"investigator"}))
    partner = Principal(subject="p", kind="partner", scopes=frozenset({"clues:write"}))

    async def get(principal: Principal | None, path: str = "/a") -> httpx.Response:
        transport = httpx.ASGITransport(app=_app(vault, token, principal))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(path)

    opened = (await get(officer)).json()
    withheld = (await get(partner)).json()
    anonymous = (await get(None)).json()
    page = (await get(officer, "/p")).text
    vault.shredded.add(context)
    shredded = (await get(officer)).json()

    assert opened == {"reason": "<理由> & 说明", "quoted": "见<理由> & 说明。", "n": 1}
    assert withheld["reason"] == anonymous["reason"] == pii.WITHHELD
    assert page == "<p>&lt;理由&gt; &amp; 说明</p>"
    assert shredded["reason"] == pii.SHREDDED
    assert may_read_texts(officer) and not may_read_texts(partner)


async def test_a_surveys_free_answers_are_sealed_with_the_surveys_key_and_its_codes_kept() -> None:
    sealer = TextSealer(FakeVault())  # type: ignore[arg-type]
    survey_id = uuid4()
    answered = SurveyAnswered(
        survey_id=survey_id,
        answers={"overall": 2, "worst": "推诿扯皮", "note": "办事拖沓"},  # codes, whatever named
        texts={"advice": "窗口的王五常年不在岗"},
    )

    [sealed] = await sealer(None, f"survey-response-{uuid4()}", [answered])

    assert sealed.answers == {"overall": 2, "worst": "推诿扯皮", "note": "办事拖沓"}
    assert sealed.texts["advice"].startswith(f"{pii.MATTER_TEXT_PREFIX}{survey_id}.")
    assert await pii.open_texts(FakeVault(), sealed.texts) == {"advice": "窗口的王五常年不在岗"}  # type: ignore[arg-type]


def test_an_answer_recorded_before_v2_keeps_its_words_where_they_were() -> None:
    survey_id = uuid4()
    data = {"survey_id": str(survey_id), "answers": {"overall": 1, "advice": "写下的话"}}

    lifted = registry.decode(SurveyAnswered.type_name, 1, data)

    assert isinstance(lifted, SurveyAnswered)
    assert lifted.answers == {"overall": 1, "advice": "写下的话"} and lifted.texts == {}


async def test_a_title_a_clerk_types_is_sealed_a_catalogue_title_is_not() -> None:
    sealer = TextSealer(FakeVault())  # type: ignore[arg-type]
    case = uuid4()
    published = TypicalCasePublished(
        publication_id=uuid4(), case_id=case, title="某局原局长王五严重违纪违法案",
        text="经查，王五……", published_by="operator:a", published_at=NOW,
    )  # fmt: skip
    opened = RectificationListOpened.model_construct(
        **{f: None for f in RectificationListOpened.model_fields}
    ).model_copy(update={"title": "关于王五问题的整改清单", "unit": "某局"})
    issued = DocumentIssued.model_construct(
        **{f: None for f in DocumentIssued.model_fields}
    ).model_copy(update={"title": "立案决定书", "kind": "filing_decision"})

    p, o, d = await sealer(None, f"case-{case}", [published, opened, issued])

    assert p.title.startswith(f"{pii.MATTER_TEXT_PREFIX}{case}.") and "王五" not in p.title
    assert o.title.startswith(pii.MATTER_TEXT_PREFIX) and o.unit == "某局"
    assert d.title == "立案决定书"  # a document's title is its kind's label


class ForgingVault(FakeVault):
    """A vault where the matter ``forged`` opens nothing: every token of it is unopenable."""

    async def open_matter_text(self, token: str, **kw: Any) -> str | None:
        found = pii.MATTER_TEXT.fullmatch(token)
        if found is not None and found["context"] == "forged":
            raise pii.Unopenable("forged", "text")
        return await super().open_matter_text(token, **kw)


async def test_a_token_that_does_not_open_reads_unopenable_in_answers_and_refuses_a_document() -> (
    None
):
    vault = ForgingVault()
    good = await vault.seal_matter_text(None, "经查属实", context=str(uuid4()))
    bad = await vault.seal_matter_text(None, "另案的话", context="forged")
    fields = {"facts": good, "reason": bad}

    answer = await pii.open_texts(vault, fields)  # type: ignore[arg-type]
    printed = await documents.opened(vault, fields)  # type: ignore[arg-type]

    assert answer == {"facts": "经查属实", "reason": pii.UNOPENABLE}
    assert printed == answer  # a document printed again no longer matches its hash
    with pytest.raises(pii.Unopenable):
        await documents.opened(vault, fields, strict=True)  # type: ignore[arg-type]
    with pytest.raises(pii.Unopenable):  # a proposal's body is never decided on as a marker
        await pii.open_texts(vault, fields, strict=True)  # type: ignore[arg-type]

"""Documents: numbers as GB/T 9704 writes them, templates as data, the same bytes each time."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest

from libs.kit import documents, files
from libs.kit.documents import Issue, TemplateError

CASEWORK = Path("services/casework/data/documents")
ISSUED_AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def _fields(**more: str) -> dict[str, str]:
    base = {
        "subject_name": "王小明",
        "subject_unit": "青山市财政局",
        "subject_post": "副局长",
        "categories": "违规吃喝",
        "case_number": "青纪案〔2026〕12号",
        "reason": "经集体研究决定。",
    }
    return {**base, **more}


def _filing() -> tuple[documents.Templates, documents.Template, Issue]:
    templates = documents.load(CASEWORK)
    template = templates["filing_decision"]
    number = documents.number_text(templates.body_of(template), template, 2026, 3)
    return templates, template, Issue(number, templates.local(ISSUED_AT), _fields())


def test_number_reads_abbreviation_code_year_and_sequence() -> None:
    templates, template, _ = _filing()
    body = templates.body_of(template)
    assert documents.number_text(body, template, 2026, 3) == "青纪立〔2026〕3号"
    sanction = templates["administrative_sanction_decision"]
    number = documents.number_text(templates.body_of(sanction), sanction, 2027, 1)
    assert number == "青监政处〔2027〕1号"


def test_every_casework_kind_has_its_own_code() -> None:
    templates = documents.load(CASEWORK)
    codes = [(templates.body_of(t).abbreviation, t.code) for t in templates.kinds.values()]
    assert len(codes) == len(set(codes)) >= 9


def test_rendering_twice_gives_the_same_bytes() -> None:
    templates, template, issue = _filing()
    first = documents.render(templates, template, issue)
    second = documents.render(templates, template, issue)
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    entries = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert {e.date_time for e in entries} == {(2026, 12, 7, 0, 0, 0)}


def test_another_number_or_name_gives_another_document() -> None:
    templates, template, issue = _filing()
    base = documents.render(templates, template, issue)
    renumbered = Issue("青纪立〔2026〕4号", issue.issued_at, issue.fields)
    renamed = Issue(issue.number, issue.issued_at, _fields(subject_name="李四"))
    assert documents.render(templates, template, renumbered) != base
    assert documents.render(templates, template, renamed) != base


def test_document_opens_with_mark_number_title_names_and_date() -> None:
    templates, template, issue = _filing()
    opened = docx.Document(io.BytesIO(documents.render(templates, template, issue)))
    lines = [p.text for p in opened.paragraphs]
    assert lines[0] == "中共青山市纪律检查委员会"
    assert "青纪立〔2026〕3号" in lines
    assert "立案决定书" in lines
    assert "青山市财政局：" in lines
    assert any("王小明" in line for line in lines)
    assert lines[-1] == "2026年12月7日"
    assert opened.core_properties.title == "立案决定书"
    assert opened.core_properties.created == ISSUED_AT


def test_control_characters_a_field_carries_are_left_out_of_the_document() -> None:
    templates, template, issue = _filing()
    fields = _fields(subject_unit="青山市\x0b财政局\x00", reason="经集体\x1f研究决定。")

    rendered = documents.render(templates, template, Issue(issue.number, issue.issued_at, fields))

    lines = [p.text for p in docx.Document(io.BytesIO(rendered)).paragraphs]
    assert "青山市财政局：" in lines


def test_layout_is_a4_with_the_standard_margins_and_red_mark() -> None:
    templates, template, issue = _filing()
    opened = docx.Document(io.BytesIO(documents.render(templates, template, issue)))
    section = opened.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert round(section.top_margin.mm) == 37 and round(section.left_margin.mm) == 28
    mark = opened.paragraphs[0].runs[0]
    assert str(mark.font.color.rgb) == "FF0000"
    assert mark.font.name == documents.TITLE_FONT


def test_a_field_the_matter_lacks_is_an_error_not_a_blank() -> None:
    templates, template, issue = _filing()
    fields = {k: v for k, v in issue.fields.items() if k != "subject_name"}
    with pytest.raises(TemplateError, match="subject_name"):
        documents.render(templates, template, Issue(issue.number, issue.issued_at, fields))


def test_a_template_with_an_expression_is_refused() -> None:
    with pytest.raises(TemplateError):
        documents.parse(
            {"kind": "x", "version": "1", "title": "{a.__class__}", "code": "x", "body": []}
        )


def test_stored_files_are_named_by_their_hash(tmp_path: Path) -> None:
    stored = files.put(tmp_path, b"content")
    assert stored.sha256 == hashlib.sha256(b"content").hexdigest()
    assert files.read(tmp_path, stored.sha256) == b"content"
    files.path_of(tmp_path, stored.sha256).write_bytes(b"altered")
    assert files.read(tmp_path, stored.sha256) is None


def test_the_year_of_a_number_is_the_issuers_local_year() -> None:
    templates = documents.load(CASEWORK)
    new_years_eve_utc = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 2027-01-01 01:00 in 青山
    local = templates.local(new_years_eve_utc)
    assert (local.year, documents.date_text(local)) == (2027, "2027年1月1日")

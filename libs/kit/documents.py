"""Official documents (公文/文书): templates as data, numbers (文号), deterministic .docx.

A service keeps one JSON file per kind of document in a folder of its own (with an
``issuer.json`` naming the issuing bodies); :func:`load` reads them once at start. A
decision's document is filled from the matter's state (names revealed from the vault at
render time, never kept in an event), numbered in the command's transaction and rendered
in the layout of GB/T 9704-2012: 发文机关标志 in red 小标宋, 发文字号 ``青纪立〔2026〕3号``, the
red separator line, 标题, 主送机关, 正文 in 仿宋 三号, 落款 and 成文日期, on A4 with the
standard margins. The same inputs give the same bytes: the zip's entries keep their order
and a fixed timestamp, the core properties come from the issue time, and no id is random
— so a document rendered again from the events has the hash its ``DocumentIssued`` names.

Only .docx is produced: no maintained PDF renderer with CJK fonts installs from the
project's own files.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import string
import zipfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from fastapi import Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts.documents import DocumentIssued
from libs.kit import files

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
RED = RGBColor(0xFF, 0x00, 0x00)
SIZE_MARK = Pt(36)  # 发文机关标志: no larger than 22mm × 15mm; 小初 here
SIZE_TITLE = Pt(22)  # 二号
SIZE_BODY = Pt(16)  # 三号
SIZE_CELL = Pt(12)  # 小四, a ledger's cells
LINE = Pt(28)  # fixed line pitch: 22 lines of 28 characters on the 版心
INDENT = Pt(32)  # two characters of 三号


class TemplateError(ValueError):
    """A template file that is not a template, or a field the matter does not provide."""


@dataclass(frozen=True)
class Body:
    """An issuing body (发文机关): its full name (标志, 落款) and abbreviation (文号)."""

    name: str
    abbreviation: str
    mark: str = ""
    """The 发文机关标志 when it differs from the name (e.g. ``…文件``)."""


@dataclass(frozen=True)
class Template:
    """One kind of document, as its file says."""

    kind: str
    version: str
    title: str
    """The 标题; it may name the person (``关于给予{subject_name}…的决定``)."""
    code: str
    """The kind's code in the number: ``立`` in ``青纪立〔2026〕3号``."""
    issuer: str
    """Which body of ``issuer.json`` issues it."""
    addressee: str
    body: tuple[str, ...]
    """The 正文, one paragraph per entry; ``{field}`` is filled from the matter."""
    headings: tuple[int, ...] = ()
    """Paragraphs (by index) set as first-level headings (黑体, no indent)."""
    label: str = ""
    """What the kind is called (``党纪处分决定书``): events and lists name a document by it,
    never by its 标题, which may hold a name."""
    table: tuple[str, ...] = ()
    """A ledger's column headings (台账, 清单): the rows come with the issue, drawn as a
    table after the 正文."""


@dataclass(frozen=True)
class Templates:
    """Every kind a service issues, its bodies and the time zone its dates are in."""

    kinds: Mapping[str, Template]
    bodies: Mapping[str, Body]
    timezone: str = "Asia/Shanghai"

    def __getitem__(self, kind: str) -> Template:
        return self.kinds[kind]

    def body_of(self, template: Template) -> Body:
        """The body that issues ``template``."""
        return self.bodies[template.issuer]

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the issuer's time zone (the document's date and year)."""
        return moment.astimezone(ZoneInfo(self.timezone))


def load(directory: Path) -> Templates:
    """The templates in ``directory`` (``*.json``, one per kind) and its ``issuer.json``."""
    issuer = json.loads((directory / "issuer.json").read_text(encoding="utf-8"))
    bodies = {key: Body(**value) for key, value in issuer["bodies"].items()}
    kinds: dict[str, Template] = {}
    for path in sorted(directory.glob("*.json")):
        if path.name == "issuer.json":
            continue
        template = parse(json.loads(path.read_text(encoding="utf-8")))
        if template.issuer not in bodies:
            raise TemplateError(f"{path.name}: issuer {template.issuer!r} is not in issuer.json")
        kinds[template.kind] = template
    return Templates(kinds, bodies, issuer.get("timezone", "Asia/Shanghai"))


def parse(data: Mapping[str, Any]) -> Template:
    """A template from its file's content; every field named in it must be a plain name."""
    try:
        template = Template(
            kind=data["kind"],
            version=str(data["version"]),
            title=data["title"],
            code=data["code"],
            issuer=data.get("issuer", "commission"),
            addressee=data.get("addressee", ""),
            body=tuple(data["body"]),
            headings=tuple(data.get("headings", ())),
            label=data.get("label", data["title"]),
            table=tuple(data.get("table", ())),
        )
    except KeyError as missing:
        raise TemplateError(f"template lacks {missing}") from None
    for line in (template.title, template.addressee, *template.body):
        for _, name, _, _ in string.Formatter().parse(line):
            if name is not None and not name.isidentifier():
                raise TemplateError(f"{template.kind}: {{{name}}} is not a field name")
    if "{" in template.label:
        raise TemplateError(f"{template.kind}: the label names no field")
    return template


def fields_of(template: Template) -> set[str]:
    """The fields a template asks the matter for."""
    lines = (template.title, template.addressee, *template.body)
    return {n for line in lines for _, n, _, _ in string.Formatter().parse(line) if n}


def fill(line: str, fields: Mapping[str, Any]) -> str:
    """``line`` with its ``{field}`` places filled; a field the matter lacks is an error."""
    try:
        return line.format_map(fields)
    except KeyError as missing:
        raise TemplateError(f"no value for field {missing}") from None


def number_text(body: Body, template: Template, year: int, sequence: int) -> str:
    """发文字号: ``青纪立〔2026〕3号`` (abbreviation, code, year in 〔〕, sequence, 号)."""
    return f"{body.abbreviation}{template.code}〔{year}〕{sequence}号"


def date_text(moment: date) -> str:
    """成文日期 in Arabic numerals, as GB/T 9704 writes it: ``2026年12月7日``."""
    return f"{moment.year}年{moment.month}月{moment.day}日"


# --- numbers --------------------------------------------------------------------------------

COUNTER_DDL = """
CREATE TABLE IF NOT EXISTS document_numbers (
    kind text NOT NULL,
    year integer NOT NULL,
    last integer NOT NULL CHECK (last > 0),
    PRIMARY KEY (kind, year)
)"""
"""The counter of numbers issued per kind and year (one row each); a service's migration
creates it (``libs.kit.migrations.create_document_numbers``)."""


async def allocate(conn: AsyncConnection, kind: str, year: int) -> int:
    """The next number of ``kind`` in ``year``, taken in the caller's transaction.

    The row stays locked until the transaction ends: concurrent issuers wait, and a
    transaction that rolls back gives its number back — so numbers have no gaps and none
    is used twice.
    """
    row = await conn.execute(
        text(
            """INSERT INTO document_numbers (kind, year, last) VALUES (:k, :y, 1)
               ON CONFLICT (kind, year) DO UPDATE SET last = document_numbers.last + 1
               RETURNING last"""
        ),
        {"k": kind, "y": year},
    )
    return int(row.scalar_one())


# --- issuing --------------------------------------------------------------------------------


Sealer = Callable[[bytes], Awaitable[bytes]]
"""Seals a document's bytes at rest (under the keys of the persons it names)."""
Opener = Callable[[bytes], Awaitable[bytes | None]]
"""Opens a sealed document (``None`` once a person's key was destroyed)."""


@dataclass(frozen=True)
class Matter:
    """What a document is issued on: the matter, its version, the decision (command)."""

    matter_id: UUID
    version: int
    command: str
    service: str
    """Whose numbers these are (the document's id is unique per service and number)."""


async def issue(
    conn: AsyncConnection,
    templates: Templates,
    directory: Path,
    kind: str,
    now: datetime,
    fields: Mapping[str, Any],
    matter: Matter,
    seal: Sealer | None = None,
    vault: pii.Vault | None = None,
) -> DocumentIssued:
    """One document: the next number of its kind and year (in ``conn``'s transaction),
    rendered, stored by its hash under ``directory`` (sealed at rest by ``seal``, still
    named by the hash of its plain bytes); the event that records it. Free text the
    fields hold sealed (from the matter's events) is opened with ``vault`` first; a text
    that does not open refuses the issue (409) rather than print ``[无法解封]`` in it."""
    fields = await opened(vault, fields, conn, strict=True)
    template = templates[kind]
    local = templates.local(now)
    sequence = await allocate(conn, kind, local.year)
    number = number_text(templates.body_of(template), template, local.year, sequence)
    # Rendering takes tens of milliseconds of CPU: off the event loop, so the service's
    # other requests and consumers go on meanwhile.
    content = await asyncio.to_thread(render, templates, template, Issue(number, local, fields))
    stored = await store(directory, content, seal)
    return DocumentIssued(
        document_id=uuid5(NAMESPACE_URL, f"zhengfeng:{matter.service}:document:{number}"),
        matter_id=matter.matter_id,
        kind=kind,
        number=number,
        year=local.year,
        sequence=sequence,
        title=template.label,
        command=matter.command,
        media_type=MEDIA_TYPE,
        sha256=stored.sha256,
        size=stored.size,
        template_version=template.version,
        matter_version=matter.version,
        issued_at=now,
    )


async def store(directory: Path, content: bytes, seal: Sealer | None = None) -> files.Stored:
    """Store a document under the hash of its plain bytes, sealed at rest if ``seal`` is
    given (the persons it names: libs/events/pii.py)."""
    if seal is None:
        return await asyncio.to_thread(files.put, directory, content)
    sha = hashlib.sha256(content).hexdigest()
    files.put_as(directory, sha, await seal(content))
    return files.Stored(sha, len(content))


def sealed_for(
    vault: pii.Vault | None, conn: AsyncConnection, persons: Sequence[UUID], context: str
) -> Sealer | None:
    """A sealer of documents under the keys of the persons they name (``None``: a matter
    whose persons were recorded before sealing, stored as it is)."""
    if vault is None or not persons:
        return None

    async def seal(content: bytes) -> bytes:
        return await vault.seal_file(conn, persons, content, context=context)

    return seal


def opener(vault: pii.Vault | None, context: str) -> Opener | None:
    """How a matter's sealed documents are opened."""
    if vault is None:
        return None

    async def open_(sealed: bytes) -> bytes | None:
        return await vault.open_file(sealed, context=context)

    return open_


class Unreadable(Exception):
    """A stored document sealed under a person whose key was destroyed (个人信息已销毁)."""


async def stored_content(directory: Path, sha256: str, open_: Opener | None) -> bytes | None:
    """A stored document's plain bytes, opened if sealed and checked against its hash;
    ``None`` when missing or altered; :class:`Unreadable` once a person was shredded."""
    raw = files.read_raw(directory, sha256)
    if raw is None:
        return None
    if pii.is_sealed_file(raw):
        if open_ is None:
            return None
        try:
            opened = await open_(raw)
        except pii.Unopenable as exc:  # altered, or another matter's file: nothing served
            pii.unopenable(exc)
            return None
        if opened is None:
            raise Unreadable(sha256)
        raw = opened
    return raw if hashlib.sha256(raw).hexdigest() == sha256 else None


async def opened(
    vault: pii.Vault | None,
    fields: Mapping[str, Any],
    conn: AsyncConnection | None = None,
    *,
    strict: bool = False,
) -> Mapping[str, Any]:
    """A document's fields with the matter's sealed free text opened (a reason, the facts:
    ``[已销毁]`` once shredded, ``[无法解封]`` when a token does not open, so a document
    rendered again no longer matches its hash); ``strict``: such a token raises
    ``pii.Unopenable`` (a document being issued)."""
    if vault is None or not pii.holds_sealed_text(dict(fields)):
        return fields
    result: Mapping[str, Any] = await pii.open_texts(vault, dict(fields), conn=conn, strict=strict)
    return result


def rerender(templates: Templates, issued: DocumentIssued, fields: Mapping[str, Any]) -> bytes:
    """The document an event recorded, rendered again (``fields`` from the matter at its
    ``matter_version``): the same bytes while the template is the version it names."""
    template = templates[issued.kind]
    if template.version != issued.template_version:
        raise TemplateError(
            f"{issued.kind} is at template {template.version}, "
            f"the document was rendered with {issued.template_version}"
        )
    issue_ = Issue(issued.number, templates.local(issued.issued_at), fields)
    return render(templates, template, issue_)


# --- rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """What one document is rendered from besides its template."""

    number: str
    issued_at: datetime
    """In the issuer's time zone: the 成文日期 and the core properties."""
    fields: Mapping[str, Any]
    rows: Sequence[Sequence[str]] = ()
    """The table's rows, for a template with ``table`` headings."""


def render(templates: Templates, template: Template, issue: Issue) -> bytes:
    """The document as .docx bytes — the same bytes for the same template and issue."""
    body = templates.body_of(template)
    doc = Document()
    _page(doc)
    _head(doc, body, issue.number)
    _para(doc, fill(template.title, issue.fields), TITLE_FONT, SIZE_TITLE, center=True)
    if template.addressee:
        _para(doc, fill(template.addressee, issue.fields) + "：", BODY_FONT, SIZE_BODY)
    for i, line in enumerate(template.body):
        heading = i in template.headings
        font = "黑体" if heading else BODY_FONT
        _para(doc, fill(line, issue.fields), font, SIZE_BODY, indent=not heading)
    if template.table:
        _table(doc, template.table, issue.rows)
    _para(doc, "", BODY_FONT, SIZE_BODY)
    _para(doc, body.name, BODY_FONT, SIZE_BODY, right=True)
    _para(doc, date_text(issue.issued_at), BODY_FONT, SIZE_BODY, right=True)
    _properties(doc, fill(template.title, issue.fields), body, issue)
    raw = io.BytesIO()
    doc.save(raw)
    return _fixed_zip(raw.getvalue(), issue.issued_at)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(content: str) -> str:
    """``content`` without the characters XML 1.0 cannot hold (control characters a
    form field may carry): a document prints what can be printed rather than failing."""
    return _NOT_XML.sub("", content)


def _page(doc: Any) -> None:
    """A4, 天头 37mm, 订口 28mm, 版心 156mm × 225mm."""
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)


def _head(doc: Any, body: Body, number: str) -> None:
    """版头: the red 发文机关标志, the 发文字号 and the red separator line under it."""
    mark = _para(doc, body.mark or body.name, TITLE_FONT, SIZE_MARK, center=True, color=RED)
    mark.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    _para(doc, "", BODY_FONT, SIZE_BODY)
    numbered = _para(doc, number, BODY_FONT, SIZE_BODY, center=True)
    _red_line(numbered)
    _para(doc, "", BODY_FONT, SIZE_BODY)


def _red_line(paragraph: Paragraph) -> None:
    """The 分隔线: a red rule as wide as the 版心 under the paragraph."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "12"), ("space", "6"), ("color", "FF0000")):
        bottom.set(qn(f"w:{key}"), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _para(
    doc: Any,
    content: str,
    font: str,
    size: Pt,
    *,
    center: bool = False,
    right: bool = False,
    indent: bool = False,
    color: RGBColor | None = None,
) -> Paragraph:
    paragraph: Paragraph = doc.add_paragraph()
    content = _xml_text(content)
    form = paragraph.paragraph_format
    form.line_spacing_rule, form.line_spacing = WD_LINE_SPACING.EXACTLY, LINE
    form.space_before = form.space_after = Pt(0)
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        form.right_indent = INDENT * 2  # 落款 right-indented four characters
    if indent:
        form.first_line_indent = INDENT
    if content:
        run = paragraph.add_run(content)
        run.font.name, run.font.size = font, size
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
        if color is not None:
            run.font.color.rgb = color
    return paragraph


def _table(doc: Any, headings: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A ledger as a bordered table: headings in 黑体, cells in 仿宋 小四."""
    table = doc.add_table(rows=1, cols=len(headings))
    table.style = "Table Grid"
    for cell, heading in zip(table.rows[0].cells, headings, strict=True):
        _cell(cell, heading, "黑体")
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            _cell(cell, value, BODY_FONT)


def _cell(cell: Any, content: str, font: str) -> None:
    run = cell.paragraphs[0].add_run(_xml_text(content))
    run.font.name, run.font.size = font, SIZE_CELL
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def _properties(doc: Any, title: str, body: Body, issue: Issue) -> None:
    props = doc.core_properties
    props.title, props.author = _xml_text(title), body.name
    props.last_modified_by = body.name
    props.subject, props.identifier = issue.number, issue.number
    props.comments, props.keywords, props.category = "", "", "公文"
    moment = issue.issued_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    props.created = props.modified = moment  # W3CDTF, in UTC
    props.revision = 1


def _fixed_zip(content: bytes, issued_at: datetime) -> bytes:
    """The package again, each entry in the same order with the issue date as its time.

    Deflated at a fixed level: the same zlib gives the same bytes (stored entries would not
    depend on zlib at all, but python-docx's styles make that 830 KB a document)."""
    stamp = (max(issued_at.year, 1980), issued_at.month, issued_at.day, 0, 0, 0)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=stamp)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            info.create_system = 3
            target.writestr(info, source.read(entry), compresslevel=6)
    return out.getvalue()


def download(content: bytes, *, number: str, title: str, sha256: str, media_type: str) -> Response:
    """A document as the file it was issued as: its SHA-256 is the ``ETag``, its number and
    title the file name (RFC 6266, UTF-8)."""
    name = quote(f"{number}{title}.docx")
    return Response(
        content,
        media_type=media_type,
        headers={
            "ETag": f'"{sha256}"',
            "Content-Disposition": f"attachment; filename=\"document.docx\"; filename*=UTF-8''{name}",
        },
    )

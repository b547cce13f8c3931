"""The four standard lists of a unit's rectification (重点问题清单, 整改措施清单, 整改成效清单,
问责处理清单), printable: each a .docx in the GB/T 9704 layout with its ledger as a table,
rendered from the list as it stands (templates ``data/documents/rectification_*.json``)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from libs.events import pii
from libs.events.taxonomy import Taxonomy
from libs.kit import documents
from libs.kit.documents import Templates
from services.accountability.domain.rectification import (
    STATUS_LABELS,
    Item,
    RectificationList,
    RectificationRules,
    progress,
)

KINDS = {
    "key_problems": "rectification_key_problems",
    "measures": "rectification_measures",
    "results": "rectification_results",
    "accountability": "rectification_accountability",
}
"""A list's name in the path -> its template's kind."""

LABELS = {
    "key_problems": "重点问题清单",
    "measures": "整改措施清单",
    "results": "整改成效清单",
    "accountability": "问责处理清单",
}


def _rows(kind: str, items: list[Item], taxonomy: Taxonomy) -> list[list[str]]:
    rows: list[list[str]] = []
    for n, item in enumerate(items, 1):
        a, done = item.assigned, item.completed
        if kind == "key_problems":
            category = taxonomy.label(a.category) if a.category else ""
            rows.append([str(n), a.problem, category, a.owner, "是" if a.immediate else "否"])
        elif kind == "measures":
            measures = "；".join(a.measures) or "（待单位制定）"
            rows.append([str(n), a.problem, measures, a.owner, item.deadline.isoformat()])
        elif kind == "results":
            status = STATUS_LABELS[item.status] + (
                f"（第{item.round}轮）" if item.round > 1 else ""
            )
            evidence = "；".join(e.description for e in done.evidence) if done else ""
            rows.append([str(n), a.problem, done.summary if done else "", evidence, status])
        elif done and done.accountability:
            rows.append([str(len(rows) + 1), a.problem, done.accountability, a.owner])
    return rows


async def printable(
    vault: pii.Vault | None,
    state: RectificationList,
    kind: str,
    rules: RectificationRules,
    templates: Templates,
    taxonomy: Taxonomy,
    now: datetime,
) -> tuple[bytes, str]:
    """One of the four lists as .docx bytes, and its title (no person is named in it)."""
    opened = state.opened
    assert opened is not None
    template = templates[KINDS[kind]]
    items = list(state.items.values())
    rows = _rows(kind, items, taxonomy)
    local = templates.local(now)
    fields: dict[str, Any] = {
        "unit": opened.unit,
        "list_title": opened.title,
        "source": f"{rules.source_kinds.get(opened.source.kind, opened.source.kind)}"
        f"（{opened.source.reference}）",
        "as_of": documents.date_text(local),
        "handled": len(rows) if kind == "accountability" else 0,
        **progress(state),
    }
    if vault is not None:  # the problems, measures and results are sealed in the events
        rows = await pii.open_texts(vault, rows)
        fields = dict(await documents.opened(vault, fields))
    issue = documents.Issue(f"{opened.source.reference}　{LABELS[kind]}", local, fields, rows)
    content = documents.render(templates, template, issue)
    return content, documents.fill(template.title, fields)


def sha256(content: bytes) -> str:
    """The printed list's SHA-256 (its ``ETag``)."""
    return hashlib.sha256(content).hexdigest()

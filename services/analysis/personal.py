"""Sealing the persons an alert names (see libs/events/pii.py): the subject's name leaves
analysis only masked, with its token under the person's key (context: the alert's id);
a name in an evidence row is sealed the same way. Feeds keep their raw rows in analysis's
own tables; nothing analysis publishes carries a clear name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts.analysis import AlertRaised

PERSON_FEEDS = frozenset({"people", "drunk_driving"})
"""Feeds whose rows name a person in their ``name`` column."""


async def seal_alert(
    vault: pii.Vault, conn: AsyncConnection, alert: AlertRaised, now: datetime
) -> AlertRaised:
    """The alert as its event carries it: the subject's name and the evidence's sealed."""
    subject = alert.subject
    if not subject.person_name:
        return alert.model_copy(update={"evidence": _masked(alert.evidence)})
    context = str(alert.alert_id)
    sealed = await pii.sealed_person(
        vault, conn, name=subject.person_name, unit=subject.unit or "", context=context, now=now
    )
    ref = sealed["person_ref"]
    evidence = [
        await _sealed_row(vault, conn, ref, row, i, context) for i, row in enumerate(alert.evidence)
    ]
    person = subject.model_copy(
        update={
            "person_name": sealed["name"],
            "person_ref": ref,
            "blind_index": sealed["blind_index"],
            "sealed": sealed["sealed"],
        }
    )
    summary = alert.summary.replace(subject.person_name, sealed["name"])  # a rule's text
    return alert.model_copy(update={"subject": person, "evidence": evidence, "summary": summary})


async def _sealed_row(
    vault: pii.Vault, conn: AsyncConnection, ref: Any, row: dict[str, Any], i: int, context: str
) -> dict[str, Any]:
    if row.get("feed") not in PERSON_FEEDS or not row.get("name"):
        return row
    field = f"evidence.{i}.name"
    token = await vault.seal(conn, ref, str(row["name"]), context=context, field=field)
    return {**row, "name": pii.mask_name(str(row["name"])), "sealed_name": token}


def _masked(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**r, "name": pii.mask_name(str(r["name"]))}
        if r.get("feed") in PERSON_FEEDS and r.get("name")
        else r
        for r in evidence
    ]


async def subject_name(vault: pii.Vault, alert: AlertRaised, conn: AsyncConnection) -> str | None:
    """The subject's name revealed (``[已销毁]`` once shredded); an alert from before
    sealing as it recorded it."""
    token = alert.subject.sealed.get("name")
    if token is None:
        return alert.subject.person_name
    value = await vault.reveal(token, context=str(alert.alert_id), field="name", conn=conn)
    return pii.display(value)

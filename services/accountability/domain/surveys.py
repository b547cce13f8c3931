"""民主评议 surveys, pure: questionnaires as data, answers checked against them, tokens,
and the anonymous tally.

A survey's tokens (one per respondent, handed out as links or QR codes) are derived from
the survey's id and a serial number with a keyed hash, so none is stored: a token is valid
when its hash matches and its serial is below the number issued. Answers carry no token
and no respondent; the tally counts them, per question, and turns the scale questions into
the unit's 民主评议 score out of 100.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from libs.events.contracts.oversight import Question

DATA = Path(__file__).resolve().parent.parent / "data" / "surveys.json"

Mac = Callable[[str, int], str]
"""``(survey_id, serial) -> keyed hash``: the service's key never reaches the domain."""


def load_questionnaires(path: str | None = None) -> dict[str, dict[str, Any]]:
    """The deployment's questionnaires by code (``data/surveys.json``)."""
    raw = json.loads(Path(path or DATA).read_text(encoding="utf-8"))
    return {q["code"]: q for q in raw["questionnaires"]}


def token(survey_id: str, serial: int, mac: Mac) -> str:
    """The ``serial``-th token of a survey: ``7-3f9a…``."""
    return f"{serial}-{mac(survey_id, serial)[:24]}"


def valid(survey_id: str, issued: int, presented: str, mac: Mac) -> bool:
    """Whether a presented token is one the survey issued."""
    serial, _, _ = presented.partition("-")
    if not serial.isdigit() or not 0 <= int(serial) < issued:
        return False
    return presented == token(survey_id, int(serial), mac)


def problems(questions: Sequence[Question], answers: Mapping[str, Any]) -> list[dict[str, str]]:
    """What is wrong with a response, field by field (empty: it may be counted)."""
    out: list[dict[str, str]] = []
    known = {q.code for q in questions}
    for code in answers:
        if code not in known:
            out.append({"field": f"answers.{code}", "reason": "问卷中没有这道题"})
    for q in questions:
        value = answers.get(q.code)
        field = f"answers.{q.code}"
        if value is None or value == "":
            if q.required:
                out.append({"field": field, "reason": "必答题"})
            continue
        if q.kind == "scale" and not (isinstance(value, int) and 1 <= value <= q.scale):
            out.append({"field": field, "reason": f"应为1到{q.scale}的整数"})
        elif q.kind == "choice" and value not in q.choices:
            out.append({"field": field, "reason": "应为所列选项之一"})
        elif q.kind == "text" and not (isinstance(value, str) and len(value) <= 500):
            out.append({"field": field, "reason": "应为不超过500字的文字"})
    return out


def free_answers(
    questions: Sequence[Question], responses: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The free answers, question by question, in an order that says nothing about who
    answered when (sealed tokens sort at random; older words as written, alphabetically)."""
    out = []
    for q in questions:
        if q.kind != "text":
            continue
        words = sorted(r[q.code] for r in responses if isinstance(r.get(q.code), str) and r[q.code])
        out += [{"code": q.code, "question": q.text, "text": w} for w in words]
    return out


def tally(questions: Sequence[Question], responses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The anonymous results: responses, per question the distribution (and the mean of a
    scale), and the score out of 100 (the scale questions' mean share of their maximum)."""
    per_question = []
    shares: list[float] = []
    for q in questions:
        values = [r[q.code] for r in responses if r.get(q.code) not in (None, "")]
        entry: dict[str, Any] = {
            "code": q.code,
            "text": q.text,
            "kind": q.kind,
            "answered": len(values),
        }
        if q.kind == "scale":
            entry["distribution"] = {str(v): values.count(v) for v in range(1, q.scale + 1)}
            if values:
                mean = sum(values) / len(values)
                entry["mean"] = round(mean, 2)
                shares.append((mean - 1) / (q.scale - 1))
        elif q.kind == "choice":
            entry["distribution"] = {c: values.count(c) for c in q.choices}
        else:
            entry["texts"] = len(values)  # the words stay with the office (free_answers)
        per_question.append(entry)
    score = round(sum(shares) * 100 / len(shares), 1) if shares else None
    return {"responses": len(responses), "questions": per_question, "score": score}

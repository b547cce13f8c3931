"""考核评价 and 民主评议, pure: the model's score and explanation, tokens, answers, tally."""

from __future__ import annotations

import hashlib

from libs.events.contracts.oversight import Question
from services.accountability.domain.appraisal import UnitFigures, appraise, load_appraisal_model
from services.accountability.domain.surveys import (
    load_questionnaires,
    problems,
    tally,
    token,
    valid,
)

MODEL = load_appraisal_model()
QUESTIONS = [Question(**q) for q in load_questionnaires()["democratic_appraisal"]["questions"]]


def mac(survey_id: str, serial: int) -> str:
    return hashlib.sha256(f"k|{survey_id}|{serial}".encode()).hexdigest()


def test_a_unit_without_blemish_scores_full_marks_on_the_indicators_with_data() -> None:
    result = appraise("青山市财政局", UnitFigures(rating="green"), MODEL)
    assert (result.score, result.grade_label, result.interview) == (100.0, "优秀", False)
    assert (
        "未计入：12345热线满意度（暂无12345热线满意度数据）、民主评议（暂无民主评议结果）"
        in result.explanation
    )


def test_a_low_score_owes_an_interview_and_the_explanation_names_each_indicator() -> None:
    figures = UnitFigures(
        cases=4, major_cases=1, rating="red", rectification_total=4, rectification_done=1,
        rectification_overdue=2, hotline=62.0, survey=35.0, survey_responses=40,
    )  # fmt: skip
    result = appraise("青山市住房和城乡建设局", figures, MODEL)
    # 25×50 + 15×40 + 20×5 + 15×62 + 25×35 = 3755 over 100
    assert result.score == 37.6 and result.grade_label == "不合格" and result.interview
    assert result.explanation.startswith(
        "不合格：综合得分37.6分。违纪违法案件50分（权重25；期内作出处理决定4件（其中重大1件），扣50分）"
    )
    assert result.explanation.endswith("低于60分，应予约谈。")


def test_tokens_are_valid_once_issued_and_not_beyond() -> None:
    t = token("s1", 3, mac)
    assert valid("s1", 10, t, mac)
    assert not valid("s1", 3, t, mac)  # only 3 issued: serials 0..2
    assert not valid("s2", 10, t, mac)
    assert not valid("s1", 10, "3-forged", mac)


def test_answers_are_checked_against_the_questionnaire() -> None:
    wrong = problems(QUESTIONS, {"overall": 6, "worst": "别的", "bogus": 1})
    assert {p["field"] for p in wrong} == {
        "answers.overall", "answers.worst", "answers.bogus", "answers.efficiency",
        "answers.integrity", "answers.service",
    }  # fmt: skip


def test_the_tally_counts_answers_and_scores_the_scale_questions() -> None:
    full = {"overall": 5, "efficiency": 5, "integrity": 5, "service": 5, "worst": "没有明显问题"}
    poor = {"overall": 1, "efficiency": 1, "integrity": 3, "service": 1, "worst": "推诿扯皮"}
    result = tally(QUESTIONS, [full, poor])
    assert result["responses"] == 2
    assert result["score"] == 56.2  # (100 + 0 + 100·(0.5+1)/2 …) mean share of the maximum
    worst = next(q for q in result["questions"] if q["code"] == "worst")
    assert worst["distribution"]["推诿扯皮"] == 1

"""How fast decision documents render: `python -m bench.documents`.

Renders casework's decision documents (立案决定书, 党纪处分决定书, 审理报告) to .docx the way a
decision's ``after`` step does — fill, GB/T 9704 layout, deterministic zip, SHA-256 — and,
in the same run, a no-op template (no 标题, no 正文: python-docx's package and the zip
rewrite alone), so the cost of the document itself reads against the fixed cost. Prints
documents per second and the load average; asserts nothing. Sizes scale with BENCH_SCALE.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime

from libs.kit import documents
from libs.kit.documents import Issue, Template, Templates
from services.casework.documents import DATA

FIELDS = {
    "subject_name": "王建国",
    "persons": "王建国",
    "subject_unit": "某市住建局",
    "subject_post": "副局长",
    "department": "第一审查调查室",
    "clue_number": "XS-2026-000731",
    "case_number": "青纪案〔2026〕12号",
    "matter_number": "青纪案〔2026〕12号",
    "categories": "违规收送礼品礼金、违规吃喝",
    "reason": "经委常委会集体研究决定。" * 5,
    "reply_limit": "15个工作日",
    "appeal_limit": "1个月",
    "conclusion": "反映的主要问题属实",
    "form_label": "二",
    "measures": "严重警告",
    "party_measures": "严重警告",
    "administrative_measures": "记过",
    "misconduct_date": "2025年12月1日",
    "false_accusation": "",
    "supervising_body": "省纪委监委",
    "report_due": "2027年1月31日",
}
KINDS = ("filing_decision", "party_sanction_decision", "review_report")
NO_OP = Template(
    kind="no_op", version="0", title="", code="无", issuer="commission", addressee="", body=()
)


def _rate(templates: Templates, template: Template, n: int) -> tuple[float, int]:
    """Documents per second over ``n`` renders, and the size of one."""
    issued_at = templates.local(datetime(2026, 12, 7, 9, 30, tzinfo=UTC))
    size = 0
    t0 = time.perf_counter()
    for i in range(n):
        issue = Issue(f"青纪立〔2026〕{i + 1}号", issued_at, FIELDS)
        content = documents.render(templates, template, issue)
        hashlib.sha256(content).hexdigest()
        size = len(content)
    return n / (time.perf_counter() - t0), size


def main() -> None:
    """Print the table."""
    n = max(10, int(200 * float(os.environ.get("BENCH_SCALE", "1"))))
    templates = documents.load(DATA / "documents")
    _rate(templates, templates["filing_decision"], 5)  # warm the imports and caches
    rows = [("no-op template (package + zip only)", *_rate(templates, NO_OP, n))]
    rows += [(f"{templates[k].label} ({k})", *_rate(templates, templates[k], n)) for k in KINDS]
    floor = rows[0][1]
    print(f"documents rendered per kind: {n}; load average {os.getloadavg()}")
    print(f"{'template':<48} {'docs/s':>8} {'ms/doc':>8} {'bytes':>7} {'vs no-op':>9}")
    for label, rate, size in rows:
        print(f"{label:<48} {rate:>8.1f} {1000 / rate:>8.2f} {size:>7} {floor / rate:>8.2f}x")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

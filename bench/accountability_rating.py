"""How long accountability's pure decisions take on a busy unit: `python -m bench.accountability_rating`.

Rating a unit and checking the recurrence trigger both fold the unit's whole stream,
so their cost grows with the unit's history. Prints timings; asserts nothing.
Sizes scale with BENCH_SCALE (float, default 1).
"""

from __future__ import annotations

import os
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from libs.events.contracts import Event
from libs.events.contracts.accountability import AlertNoted, CaseDecisionNoted, OverdueNoted
from libs.events.taxonomy import load as load_taxonomy
from services.accountability.domain.rating import rate
from services.accountability.domain.rules import load_rules
from services.accountability.domain.triggers import decision_triggers

CATEGORIES = ["violation_dining", "violation_gifts", "inaction_sloth", "embezzlement"]


def history(n: int, now: datetime) -> list[Event]:
    out: list[Event] = []
    for i in range(n):
        at = now - timedelta(hours=i * 3)
        kind = i % 3
        if kind == 0:
            out.append(
                CaseDecisionNoted(
                    case_id=uuid4(),
                    case_number=f"LA-{i}",
                    unit="某局",
                    subject_name="某",
                    categories=[CATEGORIES[i % 4]],
                    form=1 + i % 4,
                    measures=[],
                    misconduct_date=date(2026, 1, 1),
                    decided_at=at,
                )
            )
        elif kind == 1:
            out.append(
                AlertNoted(
                    alert_id=uuid4(),
                    unit="某局",
                    level="red" if i % 2 else "yellow",
                    category="violation_dining",
                    summary="",
                    raised_at=at,
                )
            )
        else:
            out.append(
                OverdueNoted(
                    deadline_id=str(i),
                    unit="某局",
                    item_kind="inquiry_reply",
                    due_at=at,
                    noticed_at=at,
                )
            )
    return out


def main() -> None:
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    rules = load_rules()
    label = load_taxonomy().label
    now = datetime(2026, 10, 1, tzinfo=UTC)
    print(f"{'events in unit stream':>24} {'rate() ms':>10} {'trigger ms':>11} {'peak KiB':>9}")
    for n in (100, 1_000, 10_000):
        n = int(n * scale)
        events = history(n, now)
        probe = events[0]
        assert isinstance(probe, CaseDecisionNoted)
        tracemalloc.start()
        t0 = time.perf_counter()
        rate(events, now, rules.rating, label)
        t1 = time.perf_counter()
        decision_triggers(probe, events[1:], rules.triggers)
        t2 = time.perf_counter()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{n:>24} {1000 * (t1 - t0):>10.2f} {1000 * (t2 - t1):>11.2f} {peak / 1024:>9.0f}")


if __name__ == "__main__":
    main()

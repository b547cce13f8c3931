"""What every workload shares: the event payload and the run sizes."""

import asyncio
import json
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

# A clue event, ~300 bytes of UTF-8 JSON.
PAYLOAD: dict[str, object] = {
    "reference": "ZF-XS-2024-000731",
    "source": "partner_transfer",
    "subject": {"name": "王建国", "unit": "某市住建局", "position": "副局长"},
    "categories": ["违反中央八项规定精神", "违规收送礼品礼金"],
    "narrative": "反映其节日期间收受企业购物卡。",
    "received_at": "2024-05-17T09:30:00+08:00",
}
PAYLOAD_JSON = json.dumps(PAYLOAD, ensure_ascii=False)
PAYLOAD_BYTES = PAYLOAD_JSON.encode()
EVENT_TYPE = "ClueReceived.v1"
HASH = "0" * 64  # stand-in for a sha-256 hex digest (the ceilings do not hash)

T = TypeVar("T")

SCALE = float(os.environ.get("BENCH_SCALE") or 1)
WRITERS = 8
BATCH_SIZE = 100
EVENTS_PER_STREAM = 10  # single appends: each writer fills streams of this many events


def _scaled(n: int, multiple: int) -> int:
    return max(multiple, round(n * SCALE) // multiple * multiple)


SINGLE_EVENTS = _scaled(2_000, WRITERS)  # per writer configuration, split across writers
BULK_EVENTS = _scaled(20_000, BATCH_SIZE)  # batches and COPY
PRODUCE_EVENTS = _scaled(20_000, 1)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a bench on the event loop the services run on: ``zhengfeng serve`` starts them
    with ``uvicorn.run``, which takes uvloop when it is installed (``uvicorn[standard]``),
    so code measured here runs as it does there — and its raw ceilings beside it on the
    same loop."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)

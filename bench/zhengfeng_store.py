"""# >>> TO BE FILLED IN BY THE LEAD: the project's own event store under the bench. <<<

The runner (bench/__main__.py) calls these in this order, timing each call itself
with time.perf_counter() (so do all preparation in `setup`):

    ctx = await setup(database_url, bootstrap)
    await append_single(ctx, 0, N)                                   # 1 writer
    await asyncio.gather(*(append_single(ctx, w, N // 8) for w in range(1, 9)))  # 8 writers
    await append_batch(ctx, n_batches, 100)
    count = await read_all(ctx)
    count = await relay(ctx)
    await teardown(ctx)                                              # always, in `finally`

A function that raises NotImplementedError shows as "n/a" in the table; if `setup` raises
it, every zhengfeng row does. Any other exception shows as "error" (traceback on stderr)
and the bench goes on. The payload to append is `bench.common.PAYLOAD` (a ~300-byte clue
event); use the event type `bench.common.EVENT_TYPE` or any clue event type of the project.
"""

from typing import Any


async def setup(database_url: str, bootstrap: str | None) -> Any:
    """Prepare a fresh store and return a context passed to every other call.

    `database_url` is a plain `postgresql://user[:pw]@host:port/db` URL (the bench database,
    shared with the ceilings, which use the schemas bench_raw and bench_es). Create the
    store's tables in a schema of your own (or a fresh database) so runs are repeatable,
    open the connection pool (>= 8 connections), and, when `bootstrap` is given, create a
    fresh topic and start the producer the relay will use. Nothing here is timed.
    """
    raise NotImplementedError


async def append_single(ctx: Any, writer: int, n: int) -> None:
    """Append `n` events, one per store append (one transaction each), via the real path.

    Events go to streams owned by `writer` alone (e.g. `clue-{writer}-{k}`, 10 events per
    stream, each append with the expected stream version), so concurrent writers never
    conflict on a stream. Writer ids are unique within a run: 0 for the 1-writer case,
    1..8 for the 8 concurrent calls (asyncio.gather) of the 8-writer case.
    """
    raise NotImplementedError


async def append_batch(ctx: Any, n_batches: int, size: int) -> None:
    """Append `n_batches` batches of `size` events; each batch is one append (one
    transaction) to a new stream of its own, versions 1..size."""
    raise NotImplementedError


async def read_all(ctx: Any) -> int:
    """Read every event in the store in global-position order, the way the relay and
    replay do (chunked, decoded to the project's envelope); return how many were read."""
    raise NotImplementedError


async def relay(ctx: Any) -> int:
    """Publish everything appended so far from the store to the broker (the real relay,
    cursor kept in the database, key = stream id), waiting for every delivery (acks=all);
    return how many events were published. Raise NotImplementedError if `bootstrap` was None.
    """
    raise NotImplementedError


async def teardown(ctx: Any) -> None:
    """Close pools and producers; drop what `setup` created (schema/database, topic)."""
    raise NotImplementedError

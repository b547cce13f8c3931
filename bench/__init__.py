"""Zhengfeng benchmark harness: `python -m bench`.

Prints throughput (events/s) of the project's event store next to the ceilings it
cannot beat (raw asyncpg / aiokafka) and the `eventsourcing` library on the same
PostgreSQL. It asserts nothing. Sizes scale with BENCH_SCALE (float, default 1).
"""

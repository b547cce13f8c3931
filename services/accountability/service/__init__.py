"""Accountability's service layer: the aggregates and commands the pipeline runs, and the
orchestration a read or a job needs beyond one query."""

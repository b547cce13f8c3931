"""审批: approval chains as data, proposals on a matter's own stream, one way to take effect.

- ``policy``: the versioned policy file (which commands, which roles in which order, the
  key test, collective decisions, the limit per step);
- ``proposals``: the pure state of a matter's proposals and what each action records;
- ``gate``: the pipeline's ``Gate`` — a command with a chain becomes a proposal, the last
  sign-off carries the command out — and the approval actions as pipeline commands;
- ``inbox``: the inbox read model (``GET /v1/approvals?assignee=me``) and the overdue job;
- ``routes``: the HTTP routes a service mounts for its approvable aggregates.
"""

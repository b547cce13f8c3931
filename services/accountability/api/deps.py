"""Who may call accountability's endpoints."""

from __future__ import annotations

from typing import Annotated

from libs.kit.auth import Principal, require_roles

Reader = Annotated[Principal, require_roles("accountability", "supervisor", "leader", "auditor")]
Officer = Annotated[Principal, require_roles("accountability")]
"""党风政风监督室: opens inquiries, records findings, proposes measures."""
Reviewer = Annotated[Principal, require_roles("accountability", "reviewer", "supervisor")]
Rerater = Annotated[Principal, require_roles("accountability", "supervisor")]

"""What accountability's endpoints depend on: who may call them, and the service's deps."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from libs.kit.auth import Principal, require_roles
from libs.kit.service import get_deps
from services.accountability.service import Deps

Reader = Annotated[
    Principal,
    require_roles("accountability", "supervisor", "leader", "director", "secretary", "auditor"),
]
Officer = Annotated[Principal, require_roles("accountability")]
"""党风政风监督室: opens inquiries, records findings, proposes measures."""
Reviewer = Annotated[Principal, require_roles("accountability", "reviewer", "supervisor")]
Rerater = Annotated[Principal, require_roles("accountability", "supervisor")]

AccountabilityDeps = Annotated[Deps, Depends(get_deps)]
"""The service's rules and categories, loaded when it started."""

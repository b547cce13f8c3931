"""Why the domain refuses a command: the platform's one refusal type, which names the kind
of refusal (``invalid``, ``conflict``, ``missing``), never an HTTP status."""

from __future__ import annotations

from libs.kit.refusal import Refused

__all__ = ["Refused"]

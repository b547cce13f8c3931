"""Development mode: where a missing secret may be made up on the spot.

Outside development, a service without its keys must refuse to start: a replica that made
up its own personal-data master key would seal data no other replica can open, and one
that made up its own signing key would publish events no consumer believes. ``zhengfeng
up`` (the local platform) and the test suite turn development mode on (``ZF_DEV_MODE=1``);
containers and manifests get their keys from secrets instead.
"""

from __future__ import annotations

import os

ENV = "ZF_DEV_MODE"


def dev_mode() -> bool:
    """Whether missing keys may be generated (``ZF_DEV_MODE`` = 1/true/yes)."""
    return os.environ.get(ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class MissingSecret(RuntimeError):
    """A key the service needs is not configured and development mode is off."""

"""Settings: one pydantic-settings class per service on a shared base.

Each service reads ``ZF_<SERVICE>_*`` variables; the platform-wide ``DATABASE_URL`` and
``KAFKA_BOOTSTRAP_SERVERS`` apply to every service unless a prefixed one overrides them.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {"intake": 8001, "analysis": 8002, "casework": 8003, "accountability": 8004}


class ServiceSettings(BaseSettings):
    """What every service needs to run; subclasses set ``service`` and the env prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    service: ClassVar[str]

    host: str = "127.0.0.1"
    port: int = 0
    database_url: str = ""
    db_schema: str = ""
    db_pool_size: int = 10
    kafka_bootstrap_servers: str = ""
    topic_partitions: int = 6
    max_body_bytes: int = 256 * 1024
    """Largest request body of a command; anything bigger is a 413 before authentication
    and before it is parsed (routes taking uploads or feeds have their own limits)."""
    jwks_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['intake']}/.well-known/jwks.json"
    token_issuer: str = "zhengfeng"
    token_audience: str = "zhengfeng"
    access_token_ttl_seconds: int = 900
    log_level: str = "INFO"
    log_json: bool = True
    run_relay: bool = True
    run_consumers: bool = True
    run_projections: bool = True
    consumer_max_attempts: int = 5
    consumer_backoff_seconds: float = 0.2
    event_keys_dir: str = ""
    """Where the Ed25519 event keys are (``<service>/<kid>.key`` own private key,
    ``<service>/<kid>.pub`` every service's public keys); unset, ``ZF_EVENT_KEYS_DIR``, else
    the development directory where missing keys are made."""
    dead_letter_replay_interval_seconds: float = 2.0
    """How often the consumer looks for parked records an operator asked to replay."""
    consumer_session_timeout_ms: int = 10000
    consumer_concurrency: int = 2
    """Transactions the consumer applies records in at once, over all its partitions (each
    on its own connection; a partition's records one after the other)."""
    consumer_records_per_transaction: int = 16
    """Ready records of a partition's fetched batch the consumer applies in one transaction
    at most (1: each record in its own, as before issue 18; ``ConsumerRunner``)."""
    consumer_fetch_wait_ms: int = 500
    """How long the consumer's fetch waits at the broker for a record when there has been
    no traffic for a few seconds."""
    consumer_busy_fetch_wait_ms: int = 100
    """The same while records keep coming: a broker that answers a fetch only when its wait
    is over (the embedded one) holds each record up to this long (``ConsumerRunner``). With
    Apache Kafka, which answers as soon as a record arrives, setting it to the idle wait
    saves the empty fetches."""
    poll_fallback_seconds: float = 2.0
    """How often the relay and the projections look at the store when no notification came
    (they wake on the notification every append sends at commit)."""
    topic_check_interval_seconds: float = 2.0
    """How often the service makes sure its topics exist (0 turns it off): a broker that
    lost its data is noticed, its topics made again and the store republished. Each look
    that finds them there doubles the wait, up to ``topic_check_max_interval_seconds``
    (each look starts an admin client of the broker); a look that fails or makes a topic
    starts over. The relay's look at whether the broker kept what it published, while
    idle, backs off the same way."""
    topic_check_max_interval_seconds: float = 30.0
    store_checkpoint_interval_seconds: float = 3600.0
    """How often the service records a whole-store checkpoint (0 turns it off)."""

    @model_validator(mode="before")
    @classmethod
    def _platform_defaults(cls, values: Any) -> Any:
        if isinstance(values, dict):
            values.setdefault("database_url", os.environ.get("DATABASE_URL", ""))
            values.setdefault(
                "kafka_bootstrap_servers", os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
            )
        return values

    @model_validator(mode="after")
    def _service_defaults(self) -> ServiceSettings:
        if not self.port:
            self.port = DEFAULT_PORTS.get(self.service, 8000)
        if not self.db_schema:
            self.db_schema = self.service
        return self

    @property
    def source(self) -> str:
        """CloudEvents ``source`` of the events this service writes."""
        return f"/zhengfeng/{self.service}"


def settings_class(
    service: str, base: type[ServiceSettings] = ServiceSettings
) -> type[ServiceSettings]:
    """The settings class of one service, reading ``ZF_<SERVICE>_*``.

    A service with settings of its own passes a ``base`` subclass that declares them.
    """
    return type(
        f"{service.capitalize()}Settings",
        (base,),
        {
            "service": service,
            "model_config": SettingsConfigDict(env_prefix=f"ZF_{service.upper()}_", extra="ignore"),
            "__module__": __name__,
        },
    )

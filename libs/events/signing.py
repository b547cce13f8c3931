"""Every event a service publishes is signed by it; consumers apply only what its owner signed.

The event hash (``eventhash``) covers every attribute and the data, but anyone can compute
it: a writer with access to a topic could change an event, recompute the hash and publish
it. So each service signs the hash of what its relay publishes with its own Ed25519 key;
the key id and the signature travel as the CloudEvents extensions ``signingkeyid`` and
``signature`` (``ce_signingkeyid``, ``ce_signature``; base64url, no padding). A consumer
applies an event only when

- the topic's owner is the service named by the event's ``source``, and
- the signature verifies under one of that service's public keys (by key id).

Keys live in a directory (``ZF_EVENT_KEYS_DIR``, searched with its subdirectories): a key
id starts with its service's name (``intake-20261207T091500-3fa9c1``); ``<key id>.key`` is a
private key (PKCS#8 PEM — a service is given only its own, from a secret) and
``<key id>.pub`` a public key (every service's). A service signs with its newest private key and verifies with every public
key, so keys rotate by adding a new pair and retiring the old private key later. Without a
configured directory, a service refuses to start — unless in development mode
(``ZF_DEV_MODE=1``), where one under ``~/.zhengfeng`` is used and every missing key is
generated. The public keys are served JWKS-style (``/.well-known/event-keys.json``)
so any subscriber can check a record with a stock Ed25519 library.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from libs.events.devmode import MissingSecret, dev_mode
from libs.events.envelope import Envelope

log = logging.getLogger(__name__)

DEV_KEYS_DIR = Path.home() / ".zhengfeng" / "event-keys"
CONTEXT = b"zhengfeng-event-signature-v1:"
"""Domain separation: what is signed is this prefix followed by the event hash."""
RELOAD_AFTER = 5.0
"""Seconds before an unknown key id makes the keyring read its directory again."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_message(eventhash: str) -> bytes:
    """The bytes a signature covers."""
    return CONTEXT + eventhash.encode()


ORDER_CONTEXT = b"zhengfeng-event-order-v1:"
"""What an order signature covers: this prefix, the event hash, ``:txid:position``."""


def order_message(eventhash: str, txid: int, position: int) -> bytes:
    """The bytes an order signature covers."""
    return ORDER_CONTEXT + f"{eventhash}:{txid}:{position}".encode()


def service_of(source: str) -> str:
    """The service named by a CloudEvents ``source`` (``/zhengfeng/<service>``)."""
    prefix = "/zhengfeng/"
    return source[len(prefix) :] if source.startswith(prefix) else ""


def _signing_function(key: Ed25519PrivateKey) -> Callable[[bytes], bytes]:
    """What signs with ``key``: libsodium's Ed25519 when PyNaCl is there, about twice as
    fast as OpenSSL's on the relay's path (every event published), else ``key.sign``.
    Ed25519 signatures are deterministic (RFC 8032): both give the same bytes, and any
    stock Ed25519 library verifies them (tests/unit/test_signing.py).

    libsodium is called through PyNaCl's own binding (``nacl._sodium``) rather than its
    ``crypto_sign``, which makes a second buffer, checks and copies the signed message
    twice: 17.4 -> 16.5 µs a signature (0.9 µs of every event the relay publishes). The
    output buffer is made per call, so a signer may sign from several threads at once."""
    try:
        from nacl._sodium import ffi, lib
        from nacl.bindings import crypto_sign_seed_keypair
    except ImportError:  # pragma: no cover - PyNaCl is a dependency
        return key.sign
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    secret = crypto_sign_seed_keypair(seed)[1]
    new, buffer, null, crypto_sign = ffi.new, ffi.buffer, ffi.NULL, lib.crypto_sign

    def sign(message: bytes) -> bytes:
        signed = new("unsigned char[]", len(message) + 64)  # signature, then the message
        crypto_sign(signed, null, message, len(message), secret)  # cannot fail
        return buffer(signed, 64)[:]  # type: ignore[no-any-return]

    return sign


Verify = Callable[[bytes, bytes], bool]
"""Whether a signature (first argument) verifies over a message (second) under one key."""


def _verifying_function(public: Ed25519PublicKey) -> Verify:
    """What verifies under ``public``: libsodium's Ed25519 when PyNaCl is there (about twice
    as fast as OpenSSL's, and a consumer verifies every event it applies), else
    ``public.verify``. libsodium is the stricter of the two (it also refuses small-order
    keys and non-canonical encodings), never the looser: what it accepts, OpenSSL does."""
    try:
        from nacl.bindings import crypto_sign_open
        from nacl.exceptions import CryptoError
    except ImportError:  # pragma: no cover - PyNaCl is a dependency
        return _openssl_verify(public)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def verify(signature: bytes, message: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            crypto_sign_open(signature + message, raw)  # signature, then the message
        except (CryptoError, ValueError, TypeError):
            return False
        return True

    return verify


def _openssl_verify(public: Ed25519PublicKey) -> Verify:
    def verify(signature: bytes, message: bytes) -> bool:
        try:
            public.verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    return verify


@dataclass(frozen=True)
class Signer:
    """A service's signing key."""

    service: str
    key_id: str
    key: Ed25519PrivateKey
    _sign: Callable[[bytes], bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sign", _signing_function(self.key))

    def sign(self, envelope: Envelope, *, place: bool = False) -> Envelope:
        """The envelope with its signature and key id (the hash is left as it is); with
        ``place``, its place in the source store's order (``txid``, ``position``) signed
        too (``ordersignature``)."""
        order = None
        if place and envelope.txid is not None and envelope.position is not None:
            order = self.order_signature(envelope.eventhash, envelope.txid, envelope.position)
        return envelope.signed(self.signature(envelope.eventhash), self.key_id, order)

    def signature(self, eventhash: str) -> str:
        """The signature (``signature``) of an event with this hash."""
        return _b64(self._sign(signed_message(eventhash)))

    def order_signature(self, eventhash: str, txid: int, position: int) -> str:
        """The signature (``ordersignature``) of an event's place in its store's order."""
        return _b64(self._sign(order_message(eventhash, txid, position)))


@dataclass
class Keyring:
    """The public keys of every service, by key id; reads its directory again (at most every
    few seconds) when asked for a key id it does not know."""

    directory: Path
    keys: dict[str, tuple[str, Ed25519PublicKey]] = field(default_factory=dict)
    """key id → (service, public key)."""
    _read_at: float = float("-inf")
    _verifiers: dict[str, tuple[Ed25519PublicKey, Verify]] = field(default_factory=dict)
    """key id → (the key it was made for, how to verify under it)."""

    def reload(self) -> None:
        self.keys = dict(_public_keys(self.directory))
        self._read_at = time.monotonic()

    def _verifies(
        self, key_id: str, public: Ed25519PublicKey, signature: str, message: bytes
    ) -> bool:
        made = self._verifiers.get(key_id)
        if made is None or made[0] is not public:  # new, or the key id names another key now
            made = self._verifiers[key_id] = (public, _verifying_function(public))
        try:
            raw = _unb64(signature)
        except ValueError:  # not base64url (binascii.Error is a ValueError)
            return False
        return made[1](raw, message)

    def lookup(self, key_id: str) -> tuple[str, Ed25519PublicKey] | None:
        found = self.keys.get(key_id)
        if found is None and time.monotonic() - self._read_at > RELOAD_AFTER:
            self.reload()
            found = self.keys.get(key_id)
        return found

    def refusal(self, envelope: Envelope, owner: str | None) -> str | None:
        """Why ``envelope`` must not be applied (``None``: its owner signed it).

        ``owner`` is the service whose topic it came from (``None``: any service)."""
        source = service_of(envelope.source)
        if owner is not None and source != owner:
            return f"source {envelope.source!r} is not the owner of the topic ({owner})"
        if not envelope.signature or not envelope.signingkeyid:
            return "unsigned: no ce_signature / ce_signingkeyid"
        found = self.lookup(envelope.signingkeyid)
        if found is None:
            return f"signed with an unknown key {envelope.signingkeyid!r}"
        signer, public = found
        if signer != source:
            return f"key {envelope.signingkeyid!r} belongs to {signer}, not to {source}"
        message = signed_message(envelope.eventhash)
        if not self._verifies(envelope.signingkeyid, public, envelope.signature, message):
            return f"signature does not verify under key {envelope.signingkeyid!r}"
        return None

    def order_refusal(self, envelope: Envelope) -> str | None:
        """Why ``envelope``'s place in its source's order (``txid``, ``position``) must not
        be believed (``None``: its signer signed it). Check ``refusal`` first."""
        if envelope.txid is None or envelope.position is None or not envelope.ordersignature:
            return "no signed place in the order: no ce_txid / ce_position / ce_ordersignature"
        found = self.lookup(envelope.signingkeyid or "")
        if found is None:
            return f"signed with an unknown key {envelope.signingkeyid!r}"
        message = order_message(envelope.eventhash, envelope.txid, envelope.position)
        key_id = envelope.signingkeyid or ""
        if not self._verifies(key_id, found[1], envelope.ordersignature, message):
            return f"order signature does not verify under key {envelope.signingkeyid!r}"
        return None

    def jwks(self, services: Iterable[str] | None = None) -> dict[str, Any]:
        """The public keys (of ``services``, else all) as a JWKS-style document."""
        wanted = set(services) if services is not None else None
        keys = []
        for key_id, (service, public) in sorted(self.keys.items()):
            if wanted is not None and service not in wanted:
                continue
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            keys.append(
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": key_id,
                    "x": _b64(raw),
                    "service": service,
                }
            )
        return {"keys": keys}


def owner_of(key_id: str) -> str:
    """The service a key id belongs to (its first part)."""
    return key_id.split("-", 1)[0]


def _public_keys(directory: Path) -> Iterable[tuple[str, tuple[str, Ed25519PublicKey]]]:
    for path in sorted(directory.rglob("*.pub")):
        try:
            public = serialization.load_pem_public_key(path.read_bytes())
        except (ValueError, OSError) as exc:
            log.warning("event key %s cannot be read: %s", path, exc)
            continue
        if isinstance(public, Ed25519PublicKey):
            yield path.stem, (owner_of(path.stem), public)


def keys_directory(configured: str = "") -> tuple[Path, bool]:
    """The keys directory, and whether it is the development one (keys made when missing)."""
    if configured:
        return Path(configured), False
    env = os.environ.get("ZF_EVENT_KEYS_DIR", "")
    if env:
        return Path(env), False
    if not dev_mode():
        raise MissingSecret(
            "ZF_EVENT_KEYS_DIR is not set: a service signs its events with its own key and "
            "verifies the others' (`zhengfeng keys create --dir DIR`, then mount DIR; see "
            "deploy/README.md). For a local run set ZF_DEV_MODE=1 to use generated keys."
        )
    return DEV_KEYS_DIR, True


def ensure_keys(directory: Path, services: Iterable[str], *, rotate: bool = False) -> list[str]:
    """Make a key pair for each service that has none (or, rotating, a new one for each);
    the key ids made. Safe to race: files are created exclusively."""
    directory.mkdir(parents=True, exist_ok=True)
    made = []
    for service in services:
        if not rotate and any(directory.rglob(f"{service}-*.key")):
            continue
        made.append(_make_pair(directory, service))
    return made


def _make_pair(directory: Path, service: str) -> str:
    key_id = f"{service}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (directory / f"{key_id}.pub").write_bytes(public)
    fd = os.open(directory / f"{key_id}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    return key_id


def signer_for(directory: Path, service: str) -> Signer:
    """The service's newest private key (key ids sort by the time they were made)."""
    candidates = sorted(directory.rglob(f"{service}-*.key"), key=lambda p: p.stem)
    if not candidates:
        raise RuntimeError(
            f"no event signing key for {service} in {directory}: put the service's "
            f"{service}-<date>-<suffix>.key (PKCS#8 PEM, Ed25519; `zhengfeng keys create` "
            "makes them) there, or leave ZF_EVENT_KEYS_DIR unset in development to have one "
            "made"
        )
    path = candidates[-1]
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{path} is not an Ed25519 private key")
    return Signer(service, path.stem, key)


def load(service: str, services: Iterable[str], configured: str = "") -> tuple[Signer, Keyring]:
    """A service's signer and the keyring of every service's public keys."""
    directory, development = keys_directory(configured)
    if development:
        ensure_keys(directory, services)
    keyring = Keyring(directory)
    keyring.reload()
    return signer_for(directory, service), keyring


__all__ = [
    "Keyring",
    "Signer",
    "ensure_keys",
    "keys_directory",
    "load",
    "owner_of",
    "service_of",
    "signer_for",
]

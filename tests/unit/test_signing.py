"""Events are believed only when the service that owns the topic signed them."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from libs.events import pii, signing
from libs.events.devmode import MissingSecret
from libs.events.envelope import (
    Envelope,
    chain_hash,
    envelope_hash,
    from_kafka,
    kafka_record,
    to_kafka,
)

Keys = tuple[dict[str, signing.Signer], signing.Keyring]


def event(source: str = "/zhengfeng/intake", text: str = "审计发现问题") -> Envelope:
    fields = {
        "prev_hash": "0" * 64,
        "event_id": uuid.uuid4(),
        "source": source,
        "type": "zhengfeng.intake.note_taken",
        "type_version": 1,
        "stream_id": "clue-1",
        "stream_version": 1,
        "time": datetime(2026, 12, 7, 9, 30, tzinfo=UTC),
        "data": {"text": text},
        "correlation_id": "c-1",
        "causation_id": None,
        "actor": "partner:audit",
    }
    return Envelope(
        id=fields["event_id"],
        source=source,
        type="zhengfeng.intake.note_taken",
        subject="clue-1",
        time=fields["time"],
        dataschema="/schemas/zhengfeng.intake.note_taken/1",
        data={"text": text},
        typeversion=1,
        streamversion=1,
        correlationid="c-1",
        actor="partner:audit",
        prevhash="0" * 64,
        eventhash=chain_hash(**fields),
    )


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    signing.ensure_keys(tmp_path, ["intake", "casework"])
    keyring = signing.Keyring(tmp_path)
    keyring.reload()
    return {s: signing.signer_for(tmp_path, s) for s in ("intake", "casework")}, keyring


def test_a_signed_event_travels_and_verifies_under_its_owners_key(keys: Keys) -> None:
    signers, keyring = keys
    signed = signers["intake"].sign(event())
    _, value, headers = to_kafka(signed)
    received = from_kafka(value, headers)
    assert received.signingkeyid == signers["intake"].key_id
    assert keyring.refusal(received, "intake") is None


def test_a_forged_event_with_a_recomputed_hash_is_refused(keys: Keys) -> None:
    signers, keyring = keys
    genuine = signers["intake"].sign(event())
    forged = dataclasses.replace(genuine, data={"text": "伪造的线索"}, encoded_data=None)
    forged = dataclasses.replace(forged, eventhash=envelope_hash(forged))
    assert envelope_hash(forged) == forged.eventhash, "the forger's hash checks out"
    assert "does not verify" in (keyring.refusal(forged, "intake") or "")


def test_a_signature_cut_short_garbled_or_made_for_another_event_is_refused(keys: Keys) -> None:
    signers, keyring = keys
    genuine = signers["intake"].sign(event())
    other = signers["intake"].sign(event(text="另一条线索"))
    assert genuine.signature is not None and other.signature is not None
    for signature in (genuine.signature[:40], "!!not base64!!", other.signature, "A" * 86):
        bad = dataclasses.replace(genuine, signature=signature)
        assert "does not verify" in (keyring.refusal(bad, "intake") or ""), signature
    assert keyring.refusal(genuine, "intake") is None, "the genuine one still verifies"


def test_unsigned_foreign_and_misattributed_events_are_refused(keys: Keys) -> None:
    signers, keyring = keys
    assert "unsigned" in (keyring.refusal(event(), "intake") or "")
    by_casework = signers["casework"].sign(event())
    assert "belongs to casework" in (keyring.refusal(by_casework, "intake") or "")
    from_casework = signers["casework"].sign(event(source="/zhengfeng/casework"))
    assert "not the owner" in (keyring.refusal(from_casework, "intake") or "")
    stranger = signing.Signer("intake", "intake-19700101-000000", Ed25519PrivateKey.generate())
    assert "unknown key" in (keyring.refusal(stranger.sign(event()), "intake") or "")


def test_the_published_keys_let_a_subscriber_verify_with_a_stock_library(keys: Keys) -> None:
    signers, keyring = keys
    signed = signers["intake"].sign(event())
    (jwk,) = keyring.jwks(["intake"])["keys"]
    assert (jwk["kid"], jwk["crv"], jwk["service"]) == (signed.signingkeyid, "Ed25519", "intake")
    public = Ed25519PublicKey.from_public_bytes(signing._unb64(jwk["x"]))
    assert signed.signature is not None
    public.verify(
        signing._unb64(signed.signature),
        b"zhengfeng-event-signature-v1:" + signed.eventhash.encode(),
    )


def test_without_a_configured_directory_development_keys_are_made_once(tmp_path: Path) -> None:
    signing.ensure_keys(tmp_path, ["intake"])
    first = signing.signer_for(tmp_path, "intake").key_id
    signing.ensure_keys(tmp_path, ["intake"])
    assert signing.signer_for(tmp_path, "intake").key_id == first
    with pytest.raises(RuntimeError, match="no event signing key for casework"):
        signing.signer_for(tmp_path, "casework")


def test_outside_development_a_service_without_its_keys_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ZF_DEV_MODE", raising=False)
    monkeypatch.delenv("ZF_EVENT_KEYS_DIR", raising=False)
    monkeypatch.delenv("ZF_PII_MASTER_KEY", raising=False)
    monkeypatch.delenv("ZF_PII_MASTER_KEY_FILE", raising=False)
    with pytest.raises(MissingSecret, match="ZF_EVENT_KEYS_DIR"):
        signing.load("intake", ["intake"])
    with pytest.raises(MissingSecret, match="ZF_PII_MASTER_KEY"):
        pii.master_key_from_env()
    secret = tmp_path / "pii-master.key"
    secret.write_text(base64.b64encode(b"k" * 32).decode())
    monkeypatch.setenv("ZF_PII_MASTER_KEY_FILE", str(secret))
    assert pii.master_key_from_env() == b"k" * 32, "a mounted secret file is read"


def test_an_events_place_in_the_order_is_believed_only_as_its_publisher_signed_it(
    keys: Keys,
) -> None:
    signers, keyring = keys
    placed = signers["intake"].sign(
        dataclasses.replace(event(), txid=7410, position=52), place=True
    )
    _, value, headers = to_kafka(placed)
    received = from_kafka(value, headers)
    assert (received.txid, received.position) == (7410, 52)
    assert keyring.refusal(received, "intake") is None
    assert keyring.order_refusal(received) is None
    ahead = dataclasses.replace(received, txid=10**12)  # the event's own signature still holds
    assert keyring.refusal(ahead, "intake") is None
    assert "does not verify" in (keyring.order_refusal(ahead) or "")
    unplaced = signers["intake"].sign(dataclasses.replace(event(), txid=7410, position=52))
    assert "no signed place" in (keyring.order_refusal(unplaced) or "")


def test_the_fast_signer_gives_the_bytes_any_ed25519_library_gives_and_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    signer = signing.Signer("intake", "intake-20261207T000000-abcdef", key)
    envelope = dataclasses.replace(event(), txid=7, position=3)
    signed = signer.sign(envelope, place=True)
    assert signed.signature is not None and signed.ordersignature is not None

    def raw(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    message = signing.signed_message(envelope.eventhash)
    assert raw(signed.signature) == key.sign(message), "Ed25519 is deterministic"
    key.public_key().verify(raw(signed.signature), message)
    order = signing.order_message(envelope.eventhash, 7, 3)
    key.public_key().verify(raw(signed.ordersignature), order)


def test_the_relays_record_of_a_stored_event_is_that_of_the_placed_and_signed_envelope() -> None:
    signer = signing.Signer("intake", "intake-20261207T000000-abcdef", Ed25519PrivateKey.generate())
    traced = "0af7651916cd43dd8448eb211c80319c"
    # Correlation ids with and without a trace's shape, each after another (each record
    # reuses what it can of the one before).
    for correlation in (traced, "c-1", traced, traced, "0" * 32, "c-2"):
        stored = dataclasses.replace(event(), correlationid=correlation, position=52)
        for place in (False, True):
            expected = to_kafka(signer.sign(stored.placed(7410), place=place))
            order = signer.order_signature(stored.eventhash, 7410, 52) if place else None
            made = kafka_record(
                stored, 7410, signer.key_id, signer.signature(stored.eventhash), order
            )
            assert made == expected
    unsigned = dataclasses.replace(event(), correlationid=traced, position=52)
    assert kafka_record(unsigned, 7410, None, None, None) == to_kafka(unsigned.placed(7410))

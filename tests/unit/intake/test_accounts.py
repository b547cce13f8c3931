"""账号管理's rules on a directory entry, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from libs.kit.refusal import Refused
from services.intake.domain import accounts

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def entry(account_id: str = "zhangmin", *roles: str, active: bool = True) -> accounts.Entry:
    return accounts.Entry(account_id, "operator", "张敏", None, roles or ("clerk",), (), active)


def refusal(call: object) -> Refused:
    assert callable(call)
    with pytest.raises(Refused) as caught:
        call()
    return caught.value


def test_roles_must_be_known_and_keep_their_order_without_repeats() -> None:
    assert accounts.check_roles(["clerk", "admin", "clerk"]) == ("clerk", "admin")
    unknown = refusal(lambda: accounts.check_roles(["clerk", "boss"]))
    assert (unknown.slug, unknown.field, unknown.kind) == ("unknown-role", "roles", "invalid")
    assert "boss" in unknown.detail and "系统管理员" in unknown.detail


def test_feeds_scopes_are_known_by_their_prefix() -> None:
    assert accounts.check_scopes(["clue:transfer", "feeds:gps_points"]) == (
        "clue:transfer",
        "feeds:gps_points",
    )
    for bad in ("feeds:", "feeds:GPS", "root", "feeds:a b"):
        assert refusal(lambda bad=bad: accounts.check_scopes([bad])).field == "scopes"


def test_one_cannot_stop_oneself_nor_the_last_administrator() -> None:
    own = refusal(
        lambda: accounts.deactivate(
            entry("root", "admin"), caller="root", reason="x", active_admins=2, by="o", now=NOW
        )
    )
    last = refusal(
        lambda: accounts.deactivate(
            entry("root", "admin"), caller="other", reason="x", active_admins=1, by="o", now=NOW
        )
    )
    demoted = refusal(
        lambda: accounts.change_roles(
            entry("root", "admin"), ["clerk"], reason="x", active_admins=1, by="o", now=NOW
        )
    )

    assert (own.slug, own.field) == ("own-account", "account_id")
    assert (last.slug, last.field, last.kind) == ("last-administrator", "account_id", "conflict")
    assert (demoted.slug, demoted.field) == ("last-administrator", "roles")


def test_a_second_administrator_may_go_and_come_back() -> None:
    stopped, events = accounts.deactivate(
        entry("root", "admin"), caller="other", reason="离任", active_admins=2, by="o", now=NOW
    )
    back, again = accounts.reactivate(stopped, reason="返岗", by="o", now=NOW)

    assert not stopped.active and back.active
    assert [type(e).__name__ for e in (*events, *again)] == [
        "OperatorAccountDeactivated",
        "OperatorAccountReactivated",
    ]


def test_a_taken_id_is_refused_naming_the_field_it_came_in() -> None:
    taken = refusal(lambda: accounts.account_free(entry(), "zhangmin", "client_id"))
    assert (taken.slug, taken.field, taken.kind) == ("duplicate-account", "client_id", "conflict")

"""Which source kind a partner's transfer records: its client's own, else 部门移送."""

from services.intake.domain.transfers import source_kind_of


def test_an_inspection_groups_scope_makes_its_transfers_inspection_clues() -> None:
    assert source_kind_of({"clue:transfer", "source:inspection"}) == "inspection"


def test_any_other_partner_transfers_partner_clues() -> None:
    assert source_kind_of({"clue:transfer"}) == "partner_transfer"

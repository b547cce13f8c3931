"""The AsyncAPI document other government systems read to subscribe."""

from __future__ import annotations

from libs.events.asyncapi import asyncapi_document
from libs.events.contracts import registry
from services.casework.domain import ClueRegistered


def test_document_lists_the_services_own_stream_and_the_streams_it_consumes() -> None:
    doc = asyncapi_document("casework", registry, consumes=["intake"], kafka_host="kafka:9092")

    assert doc["asyncapi"] == "3.0.0"
    assert doc["channels"]["casework"]["address"] == "zhengfeng.casework.events"
    assert doc["channels"]["intake"]["address"] == "zhengfeng.intake.events"
    assert doc["operations"]["send_casework_events"]["action"] == "send"
    assert doc["operations"]["receive_intake_events"]["action"] == "receive"


def test_every_message_carries_its_json_schema_and_the_cloudevents_headers() -> None:
    doc = asyncapi_document("casework", registry, consumes=["intake"])
    message = doc["components"]["messages"]["casework_clue_registered"]

    assert message["name"] == ClueRegistered.type_name
    assert "clue_number" in message["payload"]["properties"]
    assert {"ce_id", "ce_type", "ce_subject", "ce_streamversion", "ce_eventhash"} <= set(
        message["headers"]["properties"]
    )
    assert "intake_clue_received" in doc["components"]["messages"]
    # Every channel's message reference resolves to a component.
    for channel in doc["channels"].values():
        for ref in channel["messages"].values():
            assert ref["$ref"].split("/")[-1] in doc["components"]["messages"]


def test_a_service_with_approvals_lists_the_approval_events_on_its_own_channel() -> None:
    from libs.events.contracts.approvals import ProposalTookEffect

    doc = asyncapi_document("casework", registry, consumes=["intake"], shares=["approvals"])

    mine = doc["channels"]["casework"]["messages"]
    assert {"approvals_proposal_submitted", "approvals_approval_recorded"} <= set(mine)
    took = doc["components"]["messages"]["approvals_proposal_took_effect"]
    assert took["name"] == ProposalTookEffect.type_name
    assert "approvers" in took["payload"]["properties"]
    assert "approvals_proposal_submitted" not in doc["channels"]["intake"]["messages"]


def test_a_service_that_issues_documents_lists_them_on_its_own_channel() -> None:
    from libs.events.contracts.documents import DocumentIssued

    doc = asyncapi_document("casework", registry, consumes=["intake"], shares=["documents"])

    mine = doc["channels"]["casework"]["messages"]
    assert {"documents_document_issued", "documents_document_served"} <= set(mine)
    issued = doc["components"]["messages"]["documents_document_issued"]["payload"]
    assert issued["title"] == DocumentIssued.type_name
    assert {"number", "sha256", "template_version", "matter_version"} <= set(issued["properties"])
    assert not {"name", "subject_name"} & set(issued["properties"])

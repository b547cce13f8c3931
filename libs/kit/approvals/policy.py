"""Approval policy (审批规则) as data: which commands need sign-off, by whom, in which order.

A service keeps one versioned JSON file (``services/<name>/data/approvals.json``)::

    {"version": "2026-12",
     "key": [{"fact": "top_leader", "label": "一把手"},
             {"fact": "repeat_count", "at_least": 2, "label": "重复举报"}],
     "commands": {
       "dispose": {"steps": [{"role": "director", "label": "室主任审核"},
                             {"role": "leader", "label": "分管领导审批"}],
                   "key_steps": [{"role": "secretary", "label": "主要负责人审批"}]}}}

``key`` is the test that makes a matter key (any condition holding); a key matter's chain
gets ``key_steps`` after its ``steps``. ``when`` limits a chain to some inputs (e.g. only
the outcomes of a conclusion that decide something). Facts are what the service says about
the matter and the command's body (``facts(state, body)``); the policy names them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts.approvals import ChainStep


class Condition(BaseModel):
    """A test on one fact: true when set (default), at least a number, or one of values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fact: str
    label: str = ""
    """What a clerk reads when it holds, e.g. 一把手."""
    at_least: int | None = None
    one_of: list[Any] | None = None

    def holds(self, facts: dict[str, Any]) -> bool:
        """Whether the fact meets the condition."""
        value = facts.get(self.fact)
        if self.at_least is not None:
            return isinstance(value, int) and value >= self.at_least
        if self.one_of is not None:
            return value in self.one_of
        return bool(value)


class Chain(BaseModel):
    """The sign-offs one command needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: list[ChainStep] = Field(min_length=1)
    key_steps: list[ChainStep] = Field(default_factory=list)
    when: list[Condition] = Field(default_factory=list)
    """All must hold for the chain to apply (none: always)."""


class Route(BaseModel):
    """The chain a proposal follows and why the matter counts as key."""

    model_config = ConfigDict(frozen=True)

    steps: list[ChainStep]
    key_reasons: list[str]


class Policy(BaseModel):
    """A service's approval policy, one version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    key: list[Condition] = Field(default_factory=list)
    commands: dict[str, Chain] = Field(default_factory=dict)

    def key_reasons(self, facts: dict[str, Any]) -> list[str]:
        """Why a matter is key (the labels of the conditions that hold); empty: it is not."""
        return [c.label or c.fact for c in self.key if c.holds(facts)]

    def route(self, command: str, facts: dict[str, Any]) -> Route | None:
        """The chain ``command`` follows on a matter with these facts; ``None``: no sign-off."""
        chain = self.commands.get(command)
        if chain is None or not all(c.holds(facts) for c in chain.when):
            return None
        reasons = self.key_reasons(facts)
        steps = [*chain.steps, *(chain.key_steps if reasons else [])]
        return Route(steps=steps, key_reasons=reasons)


def load(path: str | Path) -> Policy:
    """Read a policy file (UTF-8 JSON)."""
    return Policy.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))

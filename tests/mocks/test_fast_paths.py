"""The mocks' hot paths answer exactly what the plain code they replaced answered.

- CRM entities render every field in declaration order, as
  ``dataclasses.asdict`` did, with the address copied (a later edit of the
  account cannot reach an answer already rendered);
- ``Backend.now_iso`` renders the clock's time as ``iso`` does, also
  after the clock moves, including back and forth;
- a JSON body is still refused for nesting deeper than the limit once it
  has more brackets than the limit, and read below it.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from mocks.core.clock import FixedClock, iso
from mocks.core.problems import BadRequest
from mocks.core.routing import MAX_JSON_DEPTH, ApiRequest
from mocks.crm.models import CrmBackend
from tests.mocks.factories import address


def test_account_and_opportunity_render_as_asdict_did():
    crm = CrmBackend(FixedClock())
    account = crm.create_account(legal_name="Acme Corp", billing_country="US", currency="USD", tax_id="US-1",
                                 tax_jurisdiction="US-NY", billing_address=address())
    crm.update_account(account.id, {"tax_id": "US-2"})
    opportunity = crm.create_opportunity(account.id, "Rollout", 120_000_00, "USD", "2026-03-31")
    crm.move_opportunity(opportunity.id, "closed_won")

    rendered = account.to_json()
    assert list(rendered.items()) == list(asdict(account).items())
    assert list(opportunity.to_json().items()) == list({**asdict(opportunity), "status": "won"}.items())
    assert rendered["billing_address"] is not account.billing_address
    account.billing_address["city"] = "Elsewhere"
    assert rendered["billing_address"]["city"] == address()["city"]


def test_now_iso_follows_the_clock():
    clock = FixedClock()
    crm = CrmBackend(clock)
    seen = []
    for step in (0, 0, 0.4, 0.6, 86_399.5, -86_400):  # same time twice, within a second, across a day, back
        clock.advance(step)
        seen.append((crm.now_iso(), iso(clock.now())))
    assert all(rendered == expected for rendered, expected in seen), seen
    assert len({rendered for rendered, _ in seen}) == 3


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1])
def test_nesting_limit_holds_with_few_brackets_or_many(depth):
    deep = ("[" * depth + "]" * depth).encode()
    padded = json.dumps({"note": "[" * 500, "value": json.loads(deep)}).encode()  # brackets in a string count too
    for body in (deep, padded):
        request = ApiRequest.build("POST", "/x", "", {}, body)
        if depth + (body is padded) > MAX_JSON_DEPTH:
            with pytest.raises(BadRequest, match="nested too deeply"):
                request.json()
        else:
            assert request.json() is not None

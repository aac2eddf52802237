"""schemathesis against every mock system, thoroughly: 150 examples per operation and phase, 200 scenarios of the
links' state machine (``-m thorough``; the fuzz and its adaptations are ``test_schemathesis.py``'s).

Collecting these tests builds every operation's test, its coverage cases among them, which takes seconds: a run
whose ``-m`` leaves out thorough tests does not collect this module (``tests/mocks/conftest.py``).
"""

from __future__ import annotations

import pytest

from mocks.systems import SYSTEM_NAMES
from tests.mocks.test_schemathesis import SCHEMAS, fuzz, run_state_machine, systems  # noqa: F401 -- the fixture

THOROUGH_EXAMPLES = 150
THOROUGH_STATEFUL_EXAMPLES = 200

pytestmark = pytest.mark.thorough

test_crm_thorough = fuzz(SCHEMAS["crm"], THOROUGH_EXAMPLES)
test_clm_thorough = fuzz(SCHEMAS["clm"], THOROUGH_EXAMPLES)
test_psa_thorough = fuzz(SCHEMAS["psa"], THOROUGH_EXAMPLES)
test_erp_thorough = fuzz(SCHEMAS["erp"], THOROUGH_EXAMPLES)


@pytest.mark.parametrize("system", SYSTEM_NAMES)
def test_links_chain_thoroughly(system):
    run_state_machine(system, THOROUGH_STATEFUL_EXAMPLES)

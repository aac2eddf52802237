"""``simulator.parsed_urls``: every URL a connector's client sends to is the one httpx's parser makes, whether it
was parsed by httpx, kept from before, or made from its collection's URL."""

from __future__ import annotations

import httpx

from simulator import parsed_urls
from simulator.connector_client import ConnectorClient
from simulator.parsed_urls import ParsedUrls

URLS = [
    "http://psa.c2c.test/timesheets/tms_000001", "http://psa.c2c.test/timesheets/tms_000002",
    "http://psa.c2c.test/timesheets/", "http://psa.c2c.test/timesheets/tms.1", "http://psa.c2c.test/timesheets/..",
    "http://psa.c2c.test/a/./b/../timesheets/x_1", "http://psa.c2c.test/a%20b/c-d", "http://psa.c2c.test/%7e/y",
    "https://u:p@erp.c2c.test:8443/v1/charges/chg_1", "http://erp.c2c.test:80/charges/chg_2", "http://[::1]:8080/c/d",
    "http://ÉRP.c2c.test/périodes/2026-01", "http://erp.c2c.test/x?y=/z", "http://erp.c2c.test/x#f/g", "http://host",
    "http://erp.c2c.test//double/e", "HTTP://ERP.C2C.TEST/Upper/Case", "http://erp.c2c.test/" + "n" * 250,
    "http://erp c2c.test/with/space", "http://erp.c2c.test/char ges/x",
]


def test_a_resource_url_is_made_as_httpx_parses_it() -> None:
    assert parsed_urls.MADE_AS_HTTPX_PARSES
    client, kept = ConnectorClient(), ParsedUrls()
    for url in URLS * 2:  # the second time, from the collections and URLs kept
        made = kept.get(client, url, None)
        assert made is not None and made._uri_reference == httpx.URL(url)._uri_reference, url
        assert str(made) == str(httpx.URL(url)) and made == httpx.URL(url)


def test_a_url_httpx_refuses_is_refused_whatever_its_collection() -> None:
    client, kept = ConnectorClient(), ParsedUrls()
    kept.get(client, "http://erp.c2c.test/charges/chg_1", None)
    for url in ("http://erp.c2c.test/charges/\x00", "http://erp.c2c.test:abc/charges/chg_1",
                "http://erp.c2c.test/charges\t/chg_1"):
        try:
            httpx.URL(url)
        except httpx.InvalidURL:
            pass
        else:
            raise AssertionError(f"{url} was meant to be refused")
        try:
            kept.get(client, url, None)
        except httpx.InvalidURL:
            continue
        raise AssertionError(f"{url} was not refused")

"""A connector whose factory raises (a missing setting): the suite must fail it in one plain sentence."""


def build(runtime):
    raise RuntimeError("ACME_TOKEN is not set")

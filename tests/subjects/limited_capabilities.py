"""The reference connector, declared without webhooks, retainers or durable state: for the capability rules.

A vendor may declare the capabilities its connector supports. Retainers
and webhooks may be waived (their requirements become not applicable);
durable state may not (its requirement is skipped, and the skip blocks
certification).
"""

from reference_impl.connector import build  # noqa: F401  (the factory the suite loads)

C2C_NAME = "reference connector, declared with fewer capabilities"
C2C_CAPABILITIES = frozenset({"milestones", "capped_tm"})

"""Machinery every mock system shares: routing, problems, feeds, webhooks,
pagination, idempotency and OAuth2 tokens."""

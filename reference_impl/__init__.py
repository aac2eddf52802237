"""Connectors that integrate the four systems.

``reference_impl.connector:build`` is the reference connector: the first
implementation of the connector contract (README, "The connector contract"). It imports nothing
private from the harness: only httpx, the standard library and what the
runtime hands it.
"""

"""Deliberately broken connectors ("mutants") that the oracle must catch.

Each module subclasses :class:`reference_impl.connector.ReferenceConnector`
and plants exactly one realistic defect, described in its docstring as the
real-world bug it imitates, through a public seam: usually a ``build_*``
method returning a subclass of one of the connector's collaborators (see
:mod:`tests.broken_connectors._hooks`). Each exposes a ``build(runtime)`` factory, so a
scenario can name it as ``tests.broken_connectors.MODULE:build`` or a test
can pass it to :func:`simulator.run.simulate` as ``factory=``.
"""

"""Stateful mock CRM, CLM, PSA and ERP systems.

Each system keeps its state and business rules in ``models.py`` (a backend
that simulated people may call directly), its request parsing in
``responses.py``, its routes in ``urls.py`` and its errors in
``exceptions.py``. The same route table serves the in-process transport
(:mod:`mocks.core.transport`) and, later, an ASGI server.
"""

"""The simulated consulting firm and the harness that runs a connector in it.

The core (firm processes, courier, oracle, KPIs) is pure: it reads only the
SimPy clock and its seeded random streams. YAML loading, file output and the
CLI sit at the edges, as in SimPy, where real time is a small subclass.
"""

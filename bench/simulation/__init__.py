"""A month of operation: the demo business run day by day with the clock moved, every beat job at
its schedule, scripted people working through the real services and the API, and the rules the
users rely on checked after every day.

``make simulate`` (``python -m bench.simulation``) runs it on a fresh database of its own;
``crm/tests/test_simulation.py`` runs a few days inside the test suite. The checks alone, against
any database: ``bench.simulation.invariants.check_invariants()``.
"""

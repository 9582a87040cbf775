"""The Pulumi program of the analytics warehouse, and its offline render.

``infra/program.py`` is the program (``main`` in Pulumi.yaml): it composes the bus, the warehouse
with its tables, and the ingest deployment, all derived from the ``schema`` module, and exports
the contract. ``python -m infra render --stack NAME`` runs the same program under Pulumi's mock
runtime and prints what it declares. This package never imports ``ingest``.
"""

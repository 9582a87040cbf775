"""The ingest service: bus -> validated, batched, idempotent writes into the warehouse.

Layout: ``config`` (environment / stack outputs), ``bus/`` (drivers), ``sink`` (batching,
validation, retries, dead letters, backpressure), ``writers/`` (one per warehouse), ``service``
(the pump between them), ``http`` (the API), ``cli`` (the ``ingest`` command). It imports the
schema module and never ``infra``; see docs/ingest.md.
"""

"""The ingest service: bus -> validated, batched, idempotent writes into the warehouse.

Layout: ``config`` (environment / stack outputs), ``bus/`` (drivers), ``messages`` (what a bus
hands the sink), the sink in parts: ``step`` (raw bytes -> rows or dead letters, pure),
``decoding`` / ``decode_workers`` (the step across worker processes), ``batcher`` (size, age,
backpressure), ``write_loop`` (retries, bisection, counters) joined by ``sink``; ``writers/`` (one
per warehouse, each with its row encoder), ``spool`` (the memory bus's durable log), ``service``
(the pump between them), ``http`` (the API), ``cli`` (the ``ingest`` command), ``testing/``
(stand-ins the tests and benchmarks share). It imports the schema module and never ``infra``; see
docs/ingest.md.
"""

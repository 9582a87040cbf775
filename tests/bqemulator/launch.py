"""Start bqemulator (the BigQuery stand-in) without DuckDB's spatial extension. Test-only.

Run with the interpreter of ``.venv-bqemulator`` (its pins clash with the project's), e.g.
``.venv-bqemulator/bin/python tests/bqemulator/launch.py --rest-port P --grpc-port G --project ID``.
bqemulator insists on loading ``spatial`` at start, which it downloads (impossible offline);
GEOGRAPHY is not used by any table here, so the loader is replaced by a no-op first.
"""

from __future__ import annotations

import sys

from bqemulator.cli import main
from bqemulator.storage.engine import DuckDBEngine


def _skip_spatial(self: DuckDBEngine) -> None:
    """No GEOGRAPHY columns here: nothing needs the spatial extension."""


if __name__ == "__main__":
    DuckDBEngine._load_spatial = _skip_spatial
    sys.exit(main(["start", *sys.argv[1:]]))

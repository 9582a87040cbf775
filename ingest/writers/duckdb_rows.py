"""Event rows as lines of the CSV file DuckDB's reader loads, built where the events are decoded.

Formatting a row as CSV (``str`` of UUIDs and timestamps, quoting) cost ~8 us per row on the
writer thread, as much as DuckDB's own load; done next to validation, in the decode workers, it
leaves the writer thread only joining lines. Dead letters stay tuples: their BLOB column cannot
travel in CSV, and the writer inserts them with parameters.
"""

from __future__ import annotations

import csv
import io
import threading
from typing import Any

from schema import DEAD_LETTER_TABLE

# The staged CSV's record separator, told to DuckDB's reader: left to guess, it reads a lone \r
# inside a quoted value as a broken record and refuses the row.
NEW_LINE = "\r\n"


class _LineWriter(threading.local):
    """A CSV writer into a reusable buffer, one per thread (the pump, the writer thread)."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator=NEW_LINE)


_LINES = _LineWriter()


def encode_row(table: str, row: tuple[Any, ...]) -> bytes | tuple[Any, ...]:
    """One event row as one UTF-8 CSV line (None as an empty field); a dead letter unchanged."""
    if table == DEAD_LETTER_TABLE.name:
        return row
    lines = _LINES
    lines.buffer.seek(0)
    lines.buffer.truncate()
    lines.writer.writerow(row)
    return lines.buffer.getvalue().encode()

"""Which BigQuery failure is the warehouse refusing rows: the writer's only dead-letter case.

Kept apart so the rule (a load job whose error names rows) reads in one place; every other
failure is retried by the sink (see ``Writer.refuses_rows``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.api_core import exceptions as google_errors

# Load-job messages that point at rows: BigQuery's "in row starting at position 0" and "Rows: 1;
# errors: 1", the stand-in's "in line 11" and "in record/value 2".
_NAMES_ROWS = re.compile(r"row starting at position \d+|\bRows: \d+|\bin line \d+|record/value \d+")


class RowsRefused(Exception):
    """BigQuery refused rows of a batch for their content (a load job that names rows)."""


def names_rows(error: google_errors.GoogleAPICallError) -> bool:
    """Whether a load job's error points at rows it could not read (their content), not at the
    request, the table or the service."""
    details = [*(error.errors or []), {"message": error.message}]
    return any(
        detail.get("reason", "invalid") == "invalid" and _NAMES_ROWS.search(str(detail.get("message", "")))
        for detail in details
    )

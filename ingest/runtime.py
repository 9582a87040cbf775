"""Interpreter settings for the service's hot path, measured in ``bench/bench_sink.py``.

* The cyclic GC: validating a batch allocates ~10 objects per event, and the default thresholds
  run a full collection over every live batch again and again (parsing alone ran at ~40k events/s
  with them, ~160k/s without). Event data holds no reference cycles, so collections are made rare
  and what exists at start-up is frozen out of them.
* The GIL switch interval: the writer thread wakes from Postgres I/O needing the GIL while the
  pump validates; at the default 5 ms it waits, and the database idles.
"""

from __future__ import annotations

import gc
import sys

GC_THRESHOLDS = (50_000, 50, 100)
SWITCH_INTERVAL_S = 0.0002


def tune_for_throughput() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)

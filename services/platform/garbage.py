"""Python's cyclic garbage collector set for a service process that works in batches.

A consumer catching up holds a batch's objects at a time (a thousand messages, envelopes, events, rows
and their dicts). With CPython's default thresholds (700, 10, 10) they outlive young collections, reach
the oldest generation and bring on full collections, each of which walks every object of the process:
the ~165,000 of its modules, pydantic schemas and SQLAlchemy metadata too. In reporting catching up
100,000 events that was a sixth of its CPU (2.9 of 18 s, 2026-11-30). So, once the service is up:
- what is alive then (nearly all of it for the life of the process) is frozen: no collection walks it;
- a young collection waits for 50,000 more tracked objects than freed, not 700: most of a batch's objects
  are freed by their reference counts before that (0.1 s of collections in the same catch-up).
Only garbage in reference cycles waits longer for a collection: at most those 50,000 objects.
"""
import gc

YOUNG_COLLECTION_AFTER = 50_000


def settle() -> None:
    """Freeze what is alive now and collect the young generation less often; once a process, when it is up."""
    gc.collect()  # garbage of the start-up goes first: frozen, it would stay
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_AFTER, middle, oldest)

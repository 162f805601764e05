"""Which rows a rebuild has written to its new tables, so a batch's fold asks the database only for the keys
that may have one.

The new tables start empty and only the rebuild writes them: a key it never wrote has no row, and looking it
up (an index probe in SQLite's thread, while the fold waits) finds nothing. Most of a batch's keys are new
(an aggregate's first events); at 1M events the fold's lookups held the replay up for about a tenth of its
time. Kept as a bitmap of the keys' hashes per projector: a key written is never missed (it would be folded
as new, over its row); a key not written that shares a bit with one is looked up for nothing (about 2 % of
them with 150,000 rows in a table, 16 % with 1.5 million). 1 MiB a projector, whatever the stream's length.
"""
from collections.abc import Iterable

BITS = 1 << 23


class WrittenKeys:
    def __init__(self, bits: int = BITS):
        self._bitmaps: dict[object, bytearray] = {}
        self._mask, self._size = bits - 1, bits // 8

    def among(self, projector: object, keys: Iterable[str]) -> list[str]:
        """Those of `keys` that may have a row of `projector`: every one written, and a few others."""
        if (bitmap := self._bitmaps.get(projector)) is None:
            return []
        mask = self._mask
        return [key for key in keys if bitmap[(bit := hash(key) & mask) >> 3] >> (bit & 7) & 1]

    def add(self, projector: object, keys: Iterable[str]) -> None:
        if (bitmap := self._bitmaps.get(projector)) is None:
            bitmap = self._bitmaps[projector] = bytearray(self._size)
        mask = self._mask
        for key in keys:
            bit = hash(key) & mask
            bitmap[bit >> 3] |= 1 << (bit & 7)

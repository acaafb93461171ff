"""A least-recently-used cache bounded in bytes, shared by the server's threads.

Counting entries is not enough: one posting list of a common word holds
hundreds of kilobytes, one analysed article a few, one hostile article
megabytes. Each entry is stored with its size as the caller measures it, and
the oldest entries go when the total passes the bound. An entry larger than
an eighth of the bound is not kept at all: one giant entry would push out
everything else, and recomputing it costs less than the memory it pins.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
LARGEST_SHARE = 8  # an entry may take at most 1/8 of the bound


class ByteLRU(Generic[V]):
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, key: Hashable, value: V, size: int) -> V:
        """Keep ``value`` (``size`` bytes) unless it is too large to cache; return it."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            if size > self.max_bytes // LARGEST_SHARE:
                return value
            self._items[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes and self._items:
                _key, (_value, dropped) = self._items.popitem(last=False)
                self.bytes -= dropped
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], V], size_of: Callable[[V], int]) -> V:
        found = self.get(key)
        if found is not None:
            return found
        value = make()
        return self.put(key, value, size_of(value))

    def resize(self, max_bytes: int) -> None:
        """Change the bound; the oldest entries go at once if the cache is now over it."""
        with self._lock:
            self.max_bytes = max_bytes
            while self.bytes > self.max_bytes and self._items:
                _key, (_value, dropped) = self._items.popitem(last=False)
                self.bytes -= dropped
            for key in [k for k, (_v, size) in self._items.items() if size > max_bytes // LARGEST_SHARE]:
                self.bytes -= self._items.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._items), "bytes": self.bytes, "max_bytes": self.max_bytes}

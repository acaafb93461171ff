"""The ``shards`` setting: ``host:port,host:port|host:port`` -> one list of replicas per shard.

Apart from the reader so that the settings can check the value before anything
starts (this module imports neither Xapian nor the rest of the backend).
"""

from __future__ import annotations

import re

Address = tuple[str, int]

# A host name or an IPv4 address (Xapian's remote client resolves no IPv6 address: «[::1]» fails).
HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,252}", re.ASCII)


def parse_shards(text: str) -> list[list[Address]]:
    """``host:port,host:port|host:port`` -> one list of replicas per shard, in the order written.

    A server named twice is refused: it would count one shard as two (its results twice) or
    hide a shard behind a typo (``a:7001|b:7001`` where a comma was meant is caught when the
    shards say which they are, see ``XapianBackend``)."""
    shards = []
    seen: dict[Address, int] = {}
    for entry, part in enumerate(text.split(","), start=1):
        replicas = []
        for spec in part.split("|"):
            host, sep, port = spec.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"a shard server is host:port, not {spec.strip()[:60]!r}")
            if not HOST_NAME.fullmatch(host):  # «a:7001/b:7001» is no host: replicas are joined by |
                raise ValueError(f"a shard server's host is a name or an IPv4 address, not {host[:60]!r} "
                                 "(replicas of a shard are written host:port|host:port)")
            address = (host.lower(), int(port))
            if address in seen:
                raise ValueError(f"the server {host}:{int(port)} is named twice (shard entries {seen[address]} "
                                 f"and {entry} of the list): each server serves one shard, named once")
            seen[address] = entry
            replicas.append((host, int(port)))
        shards.append(replicas)
    if not shards:
        raise ValueError("no shard server given")
    return shards


def check_shards(text: str) -> None:
    """Raise ValueError (the reason) when ``text`` is not a shard list; the empty text is one (none given)."""
    if text.strip():
        parse_shards(text)

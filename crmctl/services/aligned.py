"""Per-customer values held as columns lined up with a sorted array of customer ids, not as dicts.

A grade run over a million customers reads several values per customer (owner, current grade,
stored result, usage sum); a dict of a million entries costs about 100 MB, a list lined up with the
ids 8 MB, an ``array`` of numbers 8 MB.  The rows come from the database in any order and are put
in place by binary search on the ids, nothing held but the columns.  Rows that come in id order (the
queries ask for it where the database has the order at hand) are placed without a search: each is
first tried just after the one before.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence

FETCH = 20_000  # rows fetched from the driver at a time


def fetched(cursor, size: int = FETCH) -> Iterator[list]:
    """The rows of a driver cursor, ``size`` at a time (a streamed read never holds them all)."""
    while True:
        part = cursor.fetchmany(size)
        if not part:
            return
        yield part


def id_array(ids: Iterable[int] = ()) -> array:
    """Customer ids as a compact array (8 bytes each)."""
    return array("q", ids)


def position(ids: Sequence[int], key: int) -> int:
    """Where ``key`` is in the ascending ``ids``, or -1."""
    pos = bisect_left(ids, key)
    return pos if pos < len(ids) and ids[pos] == key else -1


def placer(ids: Sequence[int]) -> Callable[[int], int]:
    """A function giving the position of a customer id in the ascending ``ids`` (-1: not there),
    for the rows of one read: each id is first tried just after the one placed before it, so rows
    that come in id order are placed without a search."""
    n = len(ids)
    nxt = 0

    def place(key: int) -> int:
        nonlocal nxt
        if nxt < n and ids[nxt] == key:
            pos = nxt
        else:
            pos = bisect_left(ids, key)
            if pos >= n or ids[pos] != key:
                return -1
        nxt = pos + 1
        return pos

    return place


def aligned(ids: Sequence[int], chunks: Iterable[Iterable[tuple]], default=None, extra: list | None = None,
            shared: dict | None = None) -> list:
    """The values of ``chunks`` (lists of ``(customer_id, value)`` rows, in any order) lined up with
    the ascending ``ids``: one list, ``default`` where a customer has no row.  Ids of rows for
    customers not in ``ids`` are appended to ``extra`` when given.  ``shared``: equal values are
    kept once (a few distinct grades over a million customers)."""
    out = [default] * len(ids)
    place = placer(ids)
    for chunk in chunks:
        for key, value in chunk:
            pos = place(key)
            if pos >= 0:
                out[pos] = value if shared is None else shared.setdefault(value, value)
            elif extra is not None:
                extra.append(key)
    return out


def aligned_numbers(ids: Sequence[int], keys: Sequence[int], values: Sequence[float], default: float = 0.0) -> array:
    """Like :func:`aligned` for numbers given as two parallel columns (``keys`` in any order): an
    ``array`` of doubles lined up with ``ids`` (8 bytes a customer, not a float object's 32)."""
    n = len(ids)
    out = array("d", [default]) * n
    nxt = 0
    # placer() inlined: a call per row is a third of this loop (a million customers, several scales)
    for key, value in zip(keys, values):
        if nxt < n and ids[nxt] == key:
            out[nxt] = value
            nxt += 1
            continue
        pos = bisect_left(ids, key)
        if pos < n and ids[pos] == key:
            out[pos] = value
            nxt = pos + 1
    return out

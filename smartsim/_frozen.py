"""A read-only, order-keeping, hashable mapping for the fields of frozen values.

Users pass plain dicts (``env={"A": "1"}``); the values convert them here so that nothing a value
holds can change after construction, and two values built from equal dicts are equal and hash
alike. Order is kept because it is the order options and variables are rendered in.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any, TypeVar, final

K = TypeVar("K")
V = TypeVar("V")


@final
class FrozenMap(Mapping[K, V]):
    """An immutable mapping that remembers insertion order.

    >>> m = FrozenMap({"b": 1, "a": 2})
    >>> list(m)
    ['b', 'a']
    >>> m == {"a": 2, "b": 1}
    True
    """

    __slots__ = ("_hash", "_items", "_lookup")

    _items: tuple[tuple[K, V], ...]
    _lookup: dict[K, V]
    _hash: int | None

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        if type(items) is dict:  # the common case, and a dict has no duplicate keys
            object.__setattr__(self, "_items", tuple(items.items()))
            object.__setattr__(self, "_lookup", dict(items))
            object.__setattr__(self, "_hash", None)
            return
        pairs = tuple(items.items()) if isinstance(items, Mapping) else tuple(items)
        lookup: dict[K, V] = {}
        for pair in pairs:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise TypeError(f"expected (key, value) pairs, got {pair!r}")
            key, value = pair
            if key in lookup:
                raise ValueError(f"key {key!r} given twice")
            lookup[key] = value
        object.__setattr__(self, "_items", pairs)
        object.__setattr__(self, "_lookup", lookup)
        object.__setattr__(self, "_hash", None)

    def __getitem__(self, key: K) -> V:
        return self._lookup[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._lookup)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._lookup

    # Fast paths: the ABC's generic views cost a generator per call. Read-only dict views
    # expose nothing that could change the map.
    def items(self) -> ItemsView[K, V]:
        return self._lookup.items()

    def keys(self) -> KeysView[K]:
        return self._lookup.keys()

    def values(self) -> ValuesView[V]:
        return self._lookup.values()

    def get(self, key: K, default: Any = None) -> Any:
        return self._lookup.get(key, default)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FrozenMap is immutable")

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(frozenset(self._items)))
        assert self._hash is not None
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._lookup == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._lookup!r})"

    def items_tuple(self) -> tuple[tuple[K, V], ...]:
        """The pairs in order, as a tuple."""
        return self._items

    def merged(self, other: Mapping[K, V]) -> FrozenMap[K, V]:
        """A new map with ``other``'s pairs added (replacing equal keys in place)."""
        out = dict(self._items)
        out.update(other)
        return FrozenMap(out)


def frozen_map(value: object) -> FrozenMap[Any, Any]:
    """attrs converter: dicts, pair lists and ``None`` become a :class:`FrozenMap`."""
    if value is None:
        return _EMPTY
    if type(value) is FrozenMap:
        return value
    if type(value) is dict:
        return FrozenMap(value) if value else _EMPTY
    if isinstance(value, (str, bytes)) or not isinstance(value, (Mapping, Iterable)):
        raise TypeError(f"expected a mapping, got {value!r}")
    return FrozenMap(value)


_EMPTY: FrozenMap[Any, Any] = FrozenMap()

"""A read-only, order-keeping, hashable mapping for the fields of frozen values.

Users pass plain dicts (``env={"A": "1"}``); the values convert them here so that nothing a value
holds can change after construction, and two values built from equal dicts are equal and hash
alike. Order is kept because it is the order options and variables are rendered in.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
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
        return EMPTY_MAP
    if type(value) is FrozenMap:
        return value
    if type(value) is dict:
        return FrozenMap(value) if value else EMPTY_MAP
    if isinstance(value, (str, bytes)) or not isinstance(value, (Mapping, Iterable)):
        raise TypeError(f"expected a mapping, got {value!r}")
    return FrozenMap(value)


#: The empty map: the default of every map field (one shared value, as it cannot change).
EMPTY_MAP: FrozenMap[Any, Any] = FrozenMap()


_C = TypeVar("_C", bound=type)


def fieldwise(cls: _C) -> _C:
    """Class decorator, after ``attrs.frozen(eq=False, repr=False)``: equality, hash and repr by
    class and fields, the ones ``attrs.frozen`` would generate (same results: ``==`` only between
    instances of the same class, field by field; a hash that agrees with it; ``Name(a=1, b=2)``).

    Written once around one C-level getter of all the fields instead of code generated and
    compiled for each class, which halves what a large class costs to define at import. A
    method the class defines itself (its own ``__repr__``) is kept.

    >>> import attrs
    >>> @fieldwise
    ... @attrs.frozen(eq=False, repr=False)
    ... class P:
    ...     x: int
    ...     y: tuple[int, ...] = ()
    >>> P(1), P(1) == P(1), P(1) != P(2), hash(P(1)) == hash(P(1)), P(1) == (1, ())
    (P(x=1, y=()), True, True, True, False)
    """
    import attrs  # already loaded by whoever made cls

    names = tuple(a.name for a in attrs.fields(cls))
    get = operator.attrgetter(*names)
    key: Callable[[object], tuple[object, ...]] = (
        get if len(names) > 1 else (lambda value: (get(value),))
    )

    def __eq__(self: object, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return key(self) == key(other)

    def __ne__(self: object, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return key(self) != key(other)

    def __hash__(self: object) -> int:
        return hash((cls, key(self)))

    def __repr__(self: object) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(names, key(self), strict=True))
        return f"{cls.__qualname__}({shown})"

    for method in (__eq__, __ne__, __hash__, __repr__):
        if method.__name__ in vars(cls):
            continue
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
    return cls

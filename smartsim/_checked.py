"""Validation once: the record of which frozen values passed which check.

Every public entry point refuses bad input, so one value is checked at each door it passes:
``Experiment.create_run_settings``, ``create_model`` (it plans the model to report what the
launcher cannot run), ``start`` (it plans again), and an embedder's direct call of a planner or
builder. The values are frozen and compare by identity (``eq=False``), so a value that passed a
check passes it forever: :func:`once` remembers the pass (weakly: the record dies with the value)
and answers ``[]`` at the next door without walking the value again. A value that failed is
checked afresh each time (its errors are what the caller reports), and nothing is assumed: a
value the record has not seen is checked in full.

>>> calls = []
>>> @once
... def problems(value: object, field: str = "x") -> list[str]:
...     calls.append(field)
...     return [] if getattr(value, "ok", False) else [f"{field} is bad"]
>>> class V:
...     def __init__(self, ok: bool) -> None:
...         self.ok = ok
>>> good, bad = V(True), V(False)
>>> problems(good), problems(good, "y"), problems(bad), problems(bad)
([], [], ['x is bad'], ['x is bad'])
>>> calls
['x', 'x', 'x']
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

__all__ = ["derived", "once"]

T = TypeVar("T")
E = TypeVar("E")
R = TypeVar("R")
P = ParamSpec("P")


class _ByIdentity(Generic[R]):
    """Results remembered by the identity of a live argument (weakly: an entry dies with its
    argument, so a later object at the same address is not mistaken for it)."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Any], R]] = {}

    def get(self, value: object) -> tuple[R] | None:
        entry = self._entries.get(id(value))
        return (entry[1],) if entry is not None and entry[0]() is value else None

    def put(self, value: object, result: R) -> None:
        key = id(value)
        with contextlib.suppress(TypeError):  # not weakly referable (an int): no record
            self._entries[key] = (weakref.ref(value, functools.partial(self._forget, key)), result)

    def _forget(self, key: int, ref: weakref.ref[Any]) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] is ref:
            del self._entries[key]


def once(
    check: Callable[Concatenate[T, P], list[E]],
) -> Callable[Concatenate[T, P], list[E]]:
    """``check`` (value, ...) -> its problems, remembering the values that had none.

    The record is by identity, not equality: settings compare by value, and ``{"label": True}``
    (a bare flag) equals ``{"label": 1}`` (a value), which a tool may refuse. The other
    arguments (a field prefix) only name where a problem is, so a pass under one prefix is a pass
    under all. Values that cannot be weakly referenced are checked every time.
    """
    passed: _ByIdentity[None] = _ByIdentity()

    @functools.wraps(check)
    def checked(value: T, /, *args: P.args, **kwargs: P.kwargs) -> list[E]:
        if passed.get(value) is not None:
            return []
        errors = check(value, *args, **kwargs)
        if not errors:
            passed.put(value, None)
        return errors

    return checked


def derived(make: Callable[[T], R]) -> Callable[[T], R]:
    """``make`` (a pure function of one frozen value), answering again with the very value it
    made for the same argument (by identity, while the argument lives): a planner that derives
    settings (the srun form of a model's settings) hands the checks the same value at every
    door, so :func:`once` knows it.

    >>> srun_form = derived(lambda rs: ("srun", rs))
    >>> rs = type("Settings", (), {})()
    >>> srun_form(rs) is srun_form(rs)
    True
    """
    made: _ByIdentity[R] = _ByIdentity()

    @functools.wraps(make)
    def cached(value: T, /) -> R:
        known = made.get(value)
        if known is not None:
            return known[0]
        result = make(value)
        made.put(value, result)
        return result

    return cached

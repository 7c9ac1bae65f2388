"""Regular expressions compiled on first use.

Compiling a pattern costs a tenth of a millisecond or more, and the builders define dozens that
only some calls need (a parser of one tool's output, a grammar checked only for one field). A
:class:`LazyPattern` is defined at import for free and compiled once, the first time it is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, final

#: The :class:`re.Pattern` methods a :class:`LazyPattern` offers.
_METHODS = frozenset({"fullmatch", "match", "search", "finditer"})


@final
class LazyPattern:
    """A :class:`re.Pattern` compiled the first time one of its matching methods is used.

    That first use binds the compiled pattern's own methods on this object, so every later call
    is the compiled pattern's call, with nothing in between.

    >>> DIGITS = LazyPattern(r"[0-9]+")
    >>> bool(DIGITS.fullmatch("42")), DIGITS.search("a1").group(), DIGITS.compiled().pattern
    (True, '1', '[0-9]+')
    """

    def __init__(self, pattern: str, flags: int | re.RegexFlag = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern, self.flags)  # re keeps compiled patterns

    if TYPE_CHECKING:  # bound by __getattr__ on first use

        def fullmatch(
            self, string: str, pos: int = 0, endpos: int = ...
        ) -> re.Match[str] | None: ...

        def match(self, string: str, pos: int = 0, endpos: int = ...) -> re.Match[str] | None: ...

        def search(self, string: str, pos: int = 0, endpos: int = ...) -> re.Match[str] | None: ...

        def finditer(
            self, string: str, pos: int = 0, endpos: int = ...
        ) -> Iterator[re.Match[str]]: ...

    else:

        def __getattr__(self, name: str) -> Any:
            if name not in _METHODS:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            compiled = self.compiled()
            for method in _METHODS:
                setattr(self, method, getattr(compiled, method))
            return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"

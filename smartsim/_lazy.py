"""Regular expressions compiled on first use.

Compiling a pattern costs a tenth of a millisecond or more, and the builders define dozens that
only some calls need (a parser of one tool's output, a grammar checked only for one field). A
:class:`LazyPattern` is defined at import for free and compiled once, the first time it is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import final


@final
class LazyPattern:
    """A compiled-on-first-use :class:`re.Pattern` offering its matching methods.

    >>> DIGITS = LazyPattern(r"[0-9]+")
    >>> bool(DIGITS.fullmatch("42")), DIGITS.compiled().pattern
    (True, '[0-9]+')
    """

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: str, flags: int | re.RegexFlag = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def fullmatch(self, string: str, pos: int = 0, endpos: int = 2**63 - 1) -> re.Match[str] | None:
        return self.compiled().fullmatch(string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int = 2**63 - 1) -> re.Match[str] | None:
        return self.compiled().match(string, pos, endpos)

    def search(self, string: str, pos: int = 0, endpos: int = 2**63 - 1) -> re.Match[str] | None:
        return self.compiled().search(string, pos, endpos)

    def finditer(
        self, string: str, pos: int = 0, endpos: int = 2**63 - 1
    ) -> Iterator[re.Match[str]]:
        return self.compiled().finditer(string, pos, endpos)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"

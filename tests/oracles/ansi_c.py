"""bash(1) QUOTING, ANSI-C quoting ``$'...'``, as far as smartsim's array tables use it: a row
is words ``$'...'`` separated by single spaces; inside, ``\\\\`` is a backslash, ``\\'`` a quote,
``\\xHH`` the byte HH (one or two hex digits), ``\\n`` a newline; every other character is
itself. Written from the manual, independently of smartsim.commands.array, so the fuzz checks
read a table the way bash does (tests/test_arrays.py checks the real bash agrees)."""

from __future__ import annotations

_SIMPLE = {"\\": b"\\", "'": b"'", "n": b"\n", "t": b"\t", '"': b'"', "?": b"?"}


class AnsiCError(ValueError):
    pass


def words(row: str) -> list[str]:
    """The words of one table row."""
    out: list[str] = []
    i = 0
    while i < len(row):
        if not row.startswith("$'", i):
            raise AnsiCError(f"expected $' at {i} in {row!r}")
        i += 2
        data = bytearray()
        while True:
            if i >= len(row):
                raise AnsiCError(f"unterminated word in {row!r}")
            ch = row[i]
            if ch == "'":
                i += 1
                break
            if ch == "\\":
                nxt = row[i + 1 : i + 2]
                if nxt == "x":
                    digits = ""
                    j = i + 2
                    while j < len(row) and len(digits) < 2 and row[j] in "0123456789abcdefABCDEF":
                        digits += row[j]
                        j += 1
                    if not digits:
                        raise AnsiCError(f"\\x without digits in {row!r}")
                    data.append(int(digits, 16))
                    i = j
                    continue
                if nxt not in _SIMPLE:
                    raise AnsiCError(f"escape \\{nxt} not modelled in {row!r}")
                data += _SIMPLE[nxt]
                i += 2
                continue
            data += ch.encode("utf-8", "surrogateescape")
            i += 1
        out.append(data.decode("utf-8", "surrogateescape"))
        if i < len(row):
            if row[i] != " ":
                raise AnsiCError(f"expected a space at {i} in {row!r}")
            i += 1
    return out

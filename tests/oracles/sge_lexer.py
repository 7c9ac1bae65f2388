"""A test-only model of how Grid Engine ``qsub`` reads ``#$`` lines and option values.

Written from the Grid Engine sources and manual pages, then corrected against the real ``qsub``
of Debian's Son of Grid Engine 8.1.9 (``qsub -verify`` and held submissions, run by hand while
writing it and re-checked by ``tests/test_sge_real.py``), not from smartsim's builder:

* ``parse_script_file`` (``source/common/parse_job_cull.c``): *every* line of the script that
  starts, in its first column, with the prefix (``#$``) is a directive, wherever it is (an
  indented ``#$`` is not); blanks after the prefix and at the end are dropped; only the first
  ``MAX_STRING_SIZE`` (2048) bytes of a line are read.
* observed in 8.1.9: a ``#`` anywhere in the directive ends it, quoted or not
  (``-N "ab#c"`` names the job ``ab``).
* ``string_list`` (``source/libs/uti/sge_string.c``): words split on blanks and tabs; once a
  word holds a quote (8.1.9: ``"`` or ``'``) it runs to the end of the line — a closing quote
  re-opens — so ``-N "a b" -o x`` is the one word ``a b -o x``; then every quote character is
  removed (``sge_strip_quotes``). Backslashes are ordinary characters.
* ``h_rt`` and other times (sge_types(1) ``time_specifier``; all checked on 8.1.9): an integer
  number of seconds (decimal; ``0x`` hexadecimal; a leading ``0`` octal: ``010`` is 8 s) or
  exactly three colon-separated fields ``hours:minutes:seconds`` where an empty field is zero
  (``1::1``); ``10:00`` is "not a time value"; fields are not range-checked (``1:60:00``).
* job names: not starting with a digit, no white space and none of ``/ : @ \\ * ?``
  (8.1.9: "cannot start with a digit", "Colon (':') not allowed in objectname", ...).
* ``-t n[-m[:s]]`` with ``1 <= n <= m``, ``s >= 1``; ``-tc`` a positive count.
"""

from __future__ import annotations

import re

PREFIX = "#$"
MAX_LINE = 2048


class SgeLexError(ValueError):
    """What qsub would refuse, or what it would read differently from what was meant."""


def directive_texts(script: str, prefix: str = PREFIX) -> list[str]:
    out: list[str] = []
    for line in script.split("\n"):
        if not line.startswith(prefix):
            continue
        if len(line.encode()) >= MAX_LINE:
            raise SgeLexError("directive line longer than MAX_STRING_SIZE is truncated")
        text = line[len(prefix) :].split("#", 1)[0].strip(" \t\r\n\v\f")
        if text:
            out.append(text)
    return out


def split_words(text: str) -> list[str]:
    """Words of one directive as 8.1.9 reads them (quotes removed)."""
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        start = i
        while i < n and text[i] not in " \t\"'":
            i += 1
        if i < n and text[i] in "\"'":
            i = n  # a quote makes the rest of the line part of this word
        words.append(text[start:i].replace('"', "").replace("'", ""))
    return words


def read_directives(script: str) -> list[list[str]]:
    return [split_words(t) for t in directive_texts(script)]


_FLAGS = {"-cwd", "-V", "-terse", "-notify", "-now", "-hard", "-soft", "-clear"}
_TWO_VALUES = {"-pe"}


def options(script: str) -> list[tuple[str, str | None]]:
    """Directives as ``(option, value)`` pairs; ``-pe name slots`` keeps ``"name slots"``."""
    out: list[tuple[str, str | None]] = []
    for argv in read_directives(script):
        i = 0
        while i < len(argv):
            word = argv[i]
            if not word.startswith("-"):
                raise SgeLexError(f'ERROR! invalid option argument "{word}"')
            if word in _FLAGS:
                out.append((word, None))
                i += 1
            elif word in _TWO_VALUES:
                if i + 2 >= len(argv):
                    raise SgeLexError(f"{word} needs two values")
                out.append((word, f"{argv[i + 1]} {argv[i + 2]}"))
                i += 3
            else:
                if i + 1 >= len(argv):
                    raise SgeLexError(f"ERROR! {word} option must have argument")
                out.append((word, argv[i + 1]))
                i += 2
    return out


def parse_time(text: str) -> int:
    """Seconds of a ``time_specifier``."""
    if ":" in text:
        fields = text.split(":")
        if len(fields) != 3 or not all(re.fullmatch(r"[0-9]*", f) for f in fields):
            raise SgeLexError(f'unable to parse time "{text}"')
        hours, minutes, seconds = (int(f) if f else 0 for f in fields)
        return (hours * 60 + minutes) * 60 + seconds
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        return int(text, 16)
    if re.fullmatch(r"0[0-7]*", text):
        return int(text, 8)
    if re.fullmatch(r"[1-9][0-9]*", text):
        return int(text)
    raise SgeLexError(f'unable to parse time "{text}"')


def parse_resources(text: str) -> dict[str, str]:
    """``-l name=value[,name=value...]``."""
    out: dict[str, str] = {}
    for item in text.split(","):
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise SgeLexError(f"invalid resource request {item}")
        out[name] = value
    return out


def check_name(name: str) -> None:
    if not name or name[0] in "0123456789" or re.search(r"[\s/:@\\*?]", name):
        raise SgeLexError(f'"{name}" is not a valid object name')


def parse_task_range(text: str) -> range:
    match = re.fullmatch(r"(\d+)(?:-(\d+)(?::(\d+))?)?", text)
    if match is None:
        raise SgeLexError(f'ERROR! invalid task range "{text}"')
    first = int(match[1])
    last = int(match[2]) if match[2] is not None else first
    step = int(match[3]) if match[3] is not None else 1
    if first < 1 or last < first or step < 1:
        raise SgeLexError(f'ERROR! invalid task range "{text}"')
    return range(first, last + 1, step)

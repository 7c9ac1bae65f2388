"""A test-only model of how Grid Engine ``qsub`` reads ``#$`` lines and option values.

Written from the Grid Engine sources and manual pages, not from smartsim's builder, and checked
against the real ``qsub`` of Debian's gridengine 8.1.9 by ``tests/test_sge_real.py``:

* ``parse_script_file`` (``source/common/parse_job_cull.c``): *every* line of the script that
  starts, in its first column, with the prefix (``#$``) is a directive, wherever it is; blanks
  after the prefix and at the end are dropped; only the first ``MAX_STRING_SIZE`` (2048) bytes of
  a line are read.
* ``string_list`` (``source/libs/uti/sge_string.c``) splits on blanks and tabs; a double quote
  makes blanks part of the word (single quotes and backslashes are ordinary characters); the
  double quotes are then removed (``sge_strip_quotes``).
* ``h_rt`` and other times (sge_types(1) ``time_specifier``): an integer number of seconds
  (decimal; ``0x`` hexadecimal; a leading ``0`` octal) or exactly three colon-separated decimal
  fields ``hours:minutes:seconds`` where an empty field is zero (``1::1``).
* names (sge_types(1) ``name``): no white space and none of ``/ : @ \\ * ?``.
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
        text = line[len(prefix) :].strip(" \t\r\n\v\f")
        if text:
            out.append(text)
    return out


def string_list(text: str, delimiters: str = " \t\n") -> list[str]:
    """``string_list`` as written in sge_string.c (a closing quote re-opens if the next
    character is a quote again; a word ends at the first unquoted delimiter)."""
    words: list[str] = []
    i = 0
    n = len(text)
    quoted = False
    while True:
        while i < n and text[i] in delimiters:
            i += 1
        if i >= n:
            break
        start = i
        is_delim = False
        while i < n and not is_delim:
            if text[i] == '"':
                quoted = True
            i += 1
            is_delim = False if quoted else (i < n and text[i] in delimiters)
            if quoted and i < n and text[i] == '"':
                quoted = False
        words.append(text[start:i])
        if i >= n:
            break
        i += 1
    return words


def read_directives(script: str) -> list[list[str]]:
    return [[w.replace('"', "") for w in string_list(t)] for t in directive_texts(script)]


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
                raise SgeLexError(f"ERROR! invalid option argument \"{word}\"")
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
        if len(fields) != 3 or not all(f == "" or f.isdigit() for f in fields):
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
    if not name or re.search(r"[\s/:@\\*?]", name):
        raise SgeLexError(f'job name "{name}" is not allowed')


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

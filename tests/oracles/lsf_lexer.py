"""A test-only model of how IBM Spectrum LSF ``bsub`` reads a job script on standard input.

Written from IBM's LSF 10.1 documentation, not from smartsim's builder:

* ``bsub`` *command* argument page: "If the job is not given on the command line, bsub reads
  the job commands from standard input ... bsub options can also be specified in the standard
  input if the line begins with #BSUB" — every such line, wherever it is (the ``job_script``
  page's example has a ``#BSUB`` line after the commands). A script given as a file argument is
  only parsed when the site sets ``LSB_BSUB_PARSE_SCRIPT=Y``.
* Option values are shell words: white space separates, ``"..."`` and ``'...'`` group and are
  removed. The documentation says nothing of backslashes in ``#BSUB`` lines, so this model
  refuses them (a builder must not rely on them).
* Carriage returns: the documentation says nothing of them in a script on standard input, so
  this model refuses them, alone or before LF (:func:`check_script`), as it refuses backslashes.
* ``-W [hour:]minute``: "the minutes can be specified as a number greater than 59".
* ``-J "name[index_list]%limit"``: index list ``start[-end[:step]]`` items separated by commas,
  positive integers; array names of ``a-z A-Z 0-9 . - _``; the whole spec at most 255
  characters.
* ``-env "none" | "all[, ~VAR...]" | "VAR=value[, ...]"``: a value holding commas is put in
  single quotes (``-env "T='A, B'"``).
"""

from __future__ import annotations

import re

PREFIX = "#BSUB"


class LsfLexError(ValueError):
    """What bsub would refuse (or what its documentation leaves undefined)."""


def check_script(script: str) -> None:
    """Raise for what the documentation leaves undefined in a script: a carriage return."""
    if "\r" in script:
        raise LsfLexError("carriage returns in a job script are not documented")


def directive_texts(script: str, prefix: str = PREFIX) -> list[str]:
    return [line[len(prefix) :] for line in script.split("\n") if line.startswith(prefix)]


def split_words(text: str) -> list[str]:
    if "\\" in text:
        raise LsfLexError("backslashes in #BSUB lines are not documented")
    words: list[str] = []
    current: list[str] = []
    started = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            end = text.find(ch, i + 1)
            if end < 0:
                raise LsfLexError(f"unmatched {ch}")
            current.append(text[i + 1 : end])
            started = True
            i = end + 1
        elif ch.isspace():
            if started:
                words.append("".join(current))
            current, started = [], False
            i += 1
        else:
            current.append(ch)
            started = True
            i += 1
    if started:
        words.append("".join(current))
    return words


_FLAGS = {"-x", "-K", "-B", "-N", "-I", "-Ip", "-Is", "-r", "-rn", "-H", "-csm"}


def options(script: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for text in directive_texts(script):
        argv = split_words(text)
        i = 0
        while i < len(argv):
            word = argv[i]
            if not word.startswith("-"):
                raise LsfLexError(f"not an option: {word}")
            if word in _FLAGS:
                out.append((word, None))
                i += 1
            else:
                if i + 1 >= len(argv):
                    raise LsfLexError(f"{word} needs a value")
                out.append((word, argv[i + 1]))
                i += 2
    return out


def parse_run_limit(text: str) -> int:
    """``-W`` in minutes."""
    match = re.fullmatch(r"(?:(\d+):)?(\d+)", text)
    if match is None:
        raise LsfLexError(f"{text}: Bad RUNLIMIT specification")
    hours = int(match[1]) if match[1] is not None else 0
    return hours * 60 + int(match[2])


def parse_job_array(text: str) -> tuple[str, list[int], int | None]:
    """``name[index_list]%limit`` as the name, the indices in order and the slot limit."""
    if len(text) > 255:
        raise LsfLexError("job array specification longer than 255 characters")
    match = re.fullmatch(r"([A-Za-z0-9._\-]*)\[([0-9,:\-]+)\](?:%(\d+))?", text)
    if match is None:
        raise LsfLexError(f"{text}: Bad job name")
    indices: list[int] = []
    for item in match[2].split(","):
        part = re.fullmatch(r"(\d+)(?:-(\d+)(?::(\d+))?)?", item)
        if part is None:
            raise LsfLexError(f"{item}: bad index list")
        start = int(part[1])
        end = int(part[2]) if part[2] is not None else start
        step = int(part[3]) if part[3] is not None else 1
        if start < 1 or end < start or step < 1:
            raise LsfLexError(f"{item}: indices must be positive and increasing")
        indices.extend(range(start, end + 1, step))
    limit = int(match[3]) if match[3] is not None else None
    if limit is not None and limit < 1:
        raise LsfLexError("job slot limit must be positive")
    return match[1], indices, limit


def parse_env(text: str) -> tuple[str, dict[str, str]]:
    """``-env`` as ``("all"|"none"|"", {VAR: value})``."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif ch == "," and not quoted:
            items.append("".join(current))
            current = []
            continue
        current.append(ch)
    if quoted:
        raise LsfLexError("unmatched ' in -env")
    items.append("".join(current))
    mode = ""
    env: dict[str, str] = {}
    for raw in items:
        item = raw.strip()
        if item in ("all", "none"):
            mode = item
        elif "=" in item:
            name, _, value = item.partition("=")
            if len(value) >= 2 and value[0] == value[-1] == "'":
                value = value[1:-1]
            env[name] = value
        elif item:
            raise LsfLexError(f"-env item without a value: {item}")
    return mode, env


def parse_span(text: str) -> int:
    match = re.fullmatch(r"span\[ptile=(\d+)\]", text)
    if match is None:
        raise LsfLexError(f"not a span[ptile=N] requirement: {text}")
    return int(match[1])

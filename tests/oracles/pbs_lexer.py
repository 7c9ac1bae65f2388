"""A test-only model of how PBS Pro / OpenPBS ``qsub`` reads a job script and its values.

Written from OpenPBS's sources, not from smartsim's builder (that would be a tautology):

* ``get_script`` (``src/cmds/qsub.c``): lines are read one by one; a line is a directive when,
  after leading white space, it starts with the prefix (``pbs_ispbsdir``); directives are only
  looked for until the first *executable* line (``pbs_isexecutable``: a line whose first
  non-blank character is not ``#``, except that ``#!...`` and lines starting with ``:`` are not
  executable); a directive line ending in a backslash continues on the next line.
* ``get_script`` / ``check_crlf`` (``src/cmds/qsub_sup.c``): every line read (``pbs_fgets``, up
  to and with its LF) that ends in CR LF makes qsub refuse the whole script ("qsub: script
  contains cr, lf"), body included; a lone CR is copied like any byte (:func:`check_script`).
* ``make_argv`` (``src/cmds/qsub.c``): the text after the prefix is split on white space;
  ``"..."`` and ``'...'`` group (no escapes inside, quotes removed, adjacent pieces concatenate);
  outside quotes a backslash takes the next character literally; an unmatched quote is fatal
  (``qsub: unmatched``).
* ``-v`` lists (``comma_token`` + ``copy_env_value`` in ``qsub.c``, then the server's
  backslash decoding): entries split on commas outside quotes; a value's quotes are removed and
  commas inside them kept.
* ``walltime`` (``decode_time`` in ``src/lib/Libattr/attr_fn_time.c``):
  ``[[hours:]minutes:]seconds[.fraction]``, fields folded base 60 with no range check,
  a fraction of .5 or more rounds up.
* job names (``check_job_name`` in ``src/lib/Libcmds/ck_job_name.c``, ``-N`` in qsub(1B)):
  at most 236 characters, the first alphabetic, the others alphanumeric or ``- _ + .``.
* ``-J`` ranges (``chk_Jrange`` in ``src/lib/Libcmds/chk_Jrange.c``): ``X-Y[:Z]`` with
  ``0 <= X < Y`` and ``Z >= 1``; ``%N`` (OpenPBS >= 20, openpbs/openpbs#2038) limits subjobs.
"""

from __future__ import annotations

import re

PREFIX = "#PBS"


class PbsLexError(ValueError):
    """What qsub would refuse."""


def check_script(script: str) -> None:
    """Raise what ``get_script`` refuses: a line ending in CR LF, anywhere in the script."""
    for lineno, line in enumerate(script.split("\n")[:-1], 1):
        if line.endswith("\r"):
            raise PbsLexError(f"qsub: script contains cr, lf (line {lineno})")


def _is_executable(line: str) -> bool:
    if line.startswith(":") or line.startswith("#!"):
        return False
    stripped = line.lstrip()
    return bool(stripped) and not stripped.startswith("#")


def directive_texts(script: str, prefix: str = PREFIX) -> list[str]:
    """The option text of every directive qsub reads from ``script``, in order."""
    lines = script.split("\n")
    out: list[str] = []
    i = 0
    executable = False
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if not executable and stripped.startswith(prefix):
            text = stripped[len(prefix) :]
            # a line ending in a backslash continues on the next line
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1] + lines[i]
            out.append(text)
        elif not executable and _is_executable(line):
            executable = True
        i += 1
    return out


def make_argv(text: str) -> list[str]:
    """Split one directive's text as qsub's ``make_argv`` does."""
    words: list[str] = []
    i = 0
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    current: list[str] = []
    started = False
    while i < n:
        ch = text[i]
        if ch in "\"'":
            end = text.find(ch, i + 1)
            if end < 0:
                raise PbsLexError(f"qsub: unmatched {ch}")
            current.append(text[i + 1 : end])
            started = True
            i = end + 1
        elif ch == "\\":
            if i + 1 < n:
                current.append(text[i + 1])
            started = True
            i += 2
        elif ch.isspace():
            words.append("".join(current))
            current = []
            started = False
            while i < n and text[i].isspace():
                i += 1
        else:
            current.append(ch)
            started = True
            i += 1
    if started:
        words.append("".join(current))
    return words


def read_directives(script: str, prefix: str = PREFIX) -> list[list[str]]:
    """Every directive of ``script`` as the argv qsub builds from it."""
    return [make_argv(text) for text in directive_texts(script, prefix)]


def options(script: str) -> list[tuple[str, str | None]]:
    """Directives as ``(option, value)`` pairs (flags that take no value get ``None``)."""
    flags = {"-V", "-h", "-z", "-f", "-I", "-X"}
    out: list[tuple[str, str | None]] = []
    for argv in read_directives(script):
        i = 0
        while i < len(argv):
            word = argv[i]
            if not word.startswith("-") or len(word) < 2:
                raise PbsLexError(f"qsub: directive error: {' '.join(argv)}")
            if word in flags:
                out.append((word, None))
                i += 1
            elif len(word) > 2:  # -lselect=... : value attached
                out.append((word[:2], word[2:]))
                i += 1
            else:
                if i + 1 >= len(argv):
                    raise PbsLexError(f"qsub: option requires an argument -- {word}")
                out.append((word, argv[i + 1]))
                i += 2
    return out


# ------------------------------------------------------------------------- values


def _comma_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    quote = ""
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            quote = "" if ch == quote else ch
        elif ch == "," and not quote:
            tokens.append(text[start:i])
            start = i + 1
        elif ch == "\\" and i + 1 < len(text):
            i += 1
        i += 1
    if start < len(text):
        tokens.append(text[start:])
    return tokens


def _env_value(text: str) -> str:
    """``copy_env_value(.., quote_flg=0)`` followed by the server's backslash decoding."""
    out: list[str] = []
    quote = ""
    for ch in text:
        if ch in "'\"":
            if quote:
                if ch == quote:
                    quote = ""
                else:
                    out.append(ch)
            else:
                quote = ch
        elif ch == ",":
            if quote:
                out.append(ch)
            else:
                break
        else:
            out.append(ch)
    if quote:
        raise PbsLexError("qsub: cannot send environment with the job (unterminated quote)")
    return "".join(out)


def parse_variable_list(text: str) -> dict[str, str]:
    """A ``-v`` list as the job will see it (entries without ``=`` are not modelled)."""
    env: dict[str, str] = {}
    for token in _comma_tokens(text):
        name, eq, value = token.partition("=")
        if not eq:
            raise PbsLexError(f"-v entry without a value is read from qsub's environment: {name}")
        env[name] = _env_value(value)
    return env


_TIME = re.compile(r"(\d+)(?::(\d+))?(?::(\d+))?(?:\.(\d*))?")


def parse_walltime(text: str) -> int:
    """Seconds, as ``decode_time`` reads them."""
    if not re.fullmatch(r"\d+(?::\d+){0,2}(?:\.\d*)?", text):
        raise PbsLexError(f"qsub: illegal -l value: walltime={text}")
    whole, _, fraction = text.partition(".")
    seconds = 0
    for field in whole.split(":"):
        seconds = seconds * 60 + int(field)
    if fraction and int((fraction + "000")[:3]) >= 500:
        seconds += 1
    return seconds


def check_job_name(name: str) -> None:
    if len(name) > 236:
        raise PbsLexError("qsub: illegal -N value (too long)")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+.\-]*", name):
        raise PbsLexError("qsub: illegal -N value")


def parse_array_range(text: str) -> tuple[range, int | None]:
    """``X-Y[:Z][%N]`` as the subjob indices and the limit on running subjobs."""
    spec, pct, limit = text.partition("%")
    match = re.fullmatch(r"(\d+)-(\d+)(?::(\d+))?", spec)
    if match is None:
        raise PbsLexError("qsub: illegal -J value")
    first, last = int(match[1]), int(match[2])
    step = int(match[3]) if match[3] is not None else 1
    if last <= first or step < 1:
        raise PbsLexError("qsub: illegal -J value")
    if pct and not (limit.isascii() and limit.isdigit() and int(limit) >= 1):
        raise PbsLexError("qsub: illegal -J value")
    return range(first, last + 1, step), (int(limit) if pct else None)


def parse_select(text: str) -> list[tuple[int, dict[str, str]]]:
    """``[N:]res=val[:res=val...][+...]`` chunks (pbs_resources(7B))."""
    chunks: list[tuple[int, dict[str, str]]] = []
    for chunk in text.split("+"):
        parts = chunk.split(":")
        count = 1
        if parts and re.fullmatch(r"[0-9]+", parts[0]):
            count = int(parts[0])
            parts = parts[1:]
        if not parts:
            raise PbsLexError("qsub: illegal -l value: a chunk needs a resource")
        resources: dict[str, str] = {}
        for part in parts:
            name, eq, value = part.partition("=")
            if not eq or not name or not value:
                raise PbsLexError(f"qsub: illegal -l value: {part}")
            resources[name] = value
        chunks.append((count, resources))
    return chunks


def parse_resource_list(text: str) -> dict[str, str]:
    """``-l res=val[,res=val...]`` (a ``select=`` value keeps its own syntax)."""
    out: dict[str, str] = {}
    for item in text.split(","):
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise PbsLexError(f"qsub: illegal -l value: {item}")
        out[name] = value
    return out

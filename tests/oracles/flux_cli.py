"""A test-only model of how Flux reads what it is given: the argv of ``flux run`` / ``submit`` /
``batch`` / ``alloc``, ``flux:`` directives, Flux Standard Durations, ``--env`` rules,
``flux multi-prog`` config files and job ids.

Written from flux-core's documentation, not from smartsim (nothing here imports it):

* options: flux-run(1), flux-submit(1), flux-batch(1), flux-alloc(1) and the shared sections
  they include (``job-param-common``, ``job-param-pertask``, ``job-param-perres``,
  ``job-param-batch``, ``job-param-additional``, ``job-standard-io``, ``job-environment``,
  ``job-constraints``, ``job-other-options``, ``job-other-run``, ``job-other-batch``). The
  commands use Python's argparse: ``--name=value`` or ``--name value``, ``-Xvalue`` or
  ``-X value``; a separate value that looks like an option is refused.
* rules: per-task (``-n -c -g``) and per-resource (``--cores --tasks-per-node --gpus-per-node
  --tasks-per-core``) options are mutually exclusive; more nodes than tasks is an error;
  ``--exclusive`` needs ``--nodes``; ``flux batch``/``alloc`` need ``--nslots`` or ``--nodes``.
* RFC 23 (FSD): a floating point number with an optional ``s``/``m``/``h``/``d`` suffix; for
  ``-t/--time-limit`` a bare number is minutes.
* job-env-rules: start from a copy of the environment; ``-PATTERN`` removes (glob, or
  ``/regex/``); ``VAR=VAL`` sets after ``string.Template`` substitution (``$$`` → ``$``,
  ``$var``/``${var}`` from the environment being built, then the process environment, an error
  when unset or malformed); any other rule imports matching variables not already set.
* RFC 36 / flux-batch(1) SUBMISSION DIRECTIVES: a line ``PREFIX flux:`` (prefix: non-word
  characters) or ``FLUX:``; one sentinel per file; directives grouped; after the first other
  non-blank line a directive is an error; the text is split with "UNIX shell quoting" and ``#``
  comments; each directive must start with an option. The lexer flux-core uses for that
  (``flux/job/directives.py``) is Python's ``shlex`` in POSIX mode with punctuation characters,
  whitespace splitting and backslash escapes inside both quote kinds; it is reproduced here.
* flux-multi-prog(1): ``IDSET|* command args``, the same lexer, ``%t``/``%o`` substitution.
* RFC 19: decimal, ``0x`` hex, dotted hex, F58 with ``ƒ`` or ``f``.
"""

from __future__ import annotations

import fnmatch
import io
import re
import shlex
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


class FluxUsageError(ValueError):
    """What a Flux command would refuse."""


# --------------------------------------------------------------------------- option table

# name -> (takes a value, short letter)
_COMMON = {
    "nodes": (True, "N"),
    "queue": (True, "q"),
    "time-limit": (True, "t"),
    "job-name": (True, None),
    "flags": (True, None),
    "cwd": (True, None),
    "urgency": (True, None),
    "verbose": (False, "v"),
    "setopt": (True, "o"),
    "setattr": (True, "S"),
    "add-file": (True, None),
    "begin-time": (True, None),
    "signal": (True, None),
    "dry-run": (False, None),
    "debug": (False, None),
    "env": (True, None),
    "env-remove": (True, None),
    "env-file": (True, None),
    "rlimit": (True, None),
    "requires": (True, None),
    "dependency": (True, None),
    "input": (True, None),
    "output": (True, None),
    "error": (True, None),
    "unbuffered": (False, "u"),
    "label-io": (False, "l"),
    "quiet": (False, None),
    "exclusive": (False, None),
}
_RUN = {
    "ntasks": (True, "n"),
    "cores-per-task": (True, "c"),
    "gpus-per-task": (True, "g"),
    "cores": (True, None),
    "tasks-per-node": (True, None),
    "gpus-per-node": (True, None),
    "tasks-per-core": (True, None),
    "taskmap": (True, None),
    "exclusive": (False, "x"),
}
_SUBMIT = {
    "cc": (True, None),
    "bcc": (True, None),
    "log": (True, None),
    "log-stderr": (True, None),
    "wait": (False, None),
    "wait-event": (True, None),
    "watch": (False, None),
    "progress": (False, None),
    "jps": (False, None),
}
_BATCH = {
    "nslots": (True, "n"),
    "cores-per-slot": (True, "c"),
    "gpus-per-slot": (True, "g"),
    "gpus-per-node": (True, None),
    "conf": (True, None),
    "broker-opts": (True, "B"),
}


def option_table(subcommand: str) -> dict[str, tuple[bool, str | None]]:
    table = dict(_COMMON)
    if subcommand in ("run", "submit"):
        table.update(_RUN)
        if subcommand == "submit":
            table.update(_SUBMIT)
    elif subcommand in ("batch", "alloc"):
        table.update(_BATCH)
        table["bg" if subcommand == "alloc" else "wrap"] = (False, None)
    else:
        raise FluxUsageError(f"flux: unknown submission command {subcommand!r}")
    return table


PER_TASK = ("ntasks", "cores-per-task", "gpus-per-task")
PER_RESOURCE = ("cores", "tasks-per-node", "gpus-per-node", "tasks-per-core")
_POSITIVE = (
    "nodes",
    "ntasks",
    "cores-per-task",
    "gpus-per-task",
    "cores",
    "tasks-per-node",
    "gpus-per-node",
    "tasks-per-core",
    "nslots",
    "cores-per-slot",
    "gpus-per-slot",
)


@dataclass
class FluxRequest:
    """A parsed submission: options in order (long names), and the command / script words."""

    subcommand: str
    options: list[tuple[str, str | None]] = field(default_factory=list)
    command: list[str] = field(default_factory=list)

    def all(self, name: str) -> list[str | None]:
        return [v for k, v in self.options if k == name]

    def get(self, name: str) -> str | None:
        values = self.all(name)
        return values[-1] if values else None

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.options)

    def int(self, name: str) -> int | None:
        value = self.get(name)
        return None if value is None else int(value)

    @property
    def time_limit_seconds(self) -> float | None:
        value = self.get("time-limit")
        return None if value is None else parse_fsd(value, default_unit="m")

    @property
    def env_rules(self) -> list[str]:
        """``--env``, ``--env-remove`` (as ``-PATTERN``) and ``--env-file`` (``^FILE``) rules,
        in command-line order."""
        out: list[str] = []
        for k, v in self.options:
            if k == "env":
                out.append(v or "")
            elif k == "env-remove":
                out.append("-" + (v or ""))
            elif k == "env-file":
                out.append("^" + (v or ""))
        return out


def _looks_like_option(word: str) -> bool:
    return word.startswith("-") and not re.fullmatch(r"-\d+(\.\d*)?", word) and word != "-"


def parse_options(subcommand: str, words: Sequence[str]) -> FluxRequest:
    """argparse as the flux submission commands configure it (no abbreviations modelled)."""
    table = option_table(subcommand)
    by_short = {short: name for name, (_, short) in table.items() if short is not None}
    request = FluxRequest(subcommand)
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            request.command = list(words[i + 1 :])
            break
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            if name not in table:
                raise FluxUsageError(f"unrecognized arguments: {word}")
            takes, _ = table[name]
            if takes:
                if not eq:
                    if i + 1 >= len(words) or _looks_like_option(words[i + 1]):
                        raise FluxUsageError(f"argument --{name}: expected one argument")
                    i += 1
                    value = words[i]
                request.options.append((name, value))
            else:
                if eq:
                    raise FluxUsageError(f"argument --{name}: ignored explicit argument {value!r}")
                request.options.append((name, None))
            i += 1
            continue
        if word.startswith("-") and len(word) > 1 and _looks_like_option(word):
            rest = word[1:]
            while rest:
                letter, rest = rest[0], rest[1:]
                if letter not in by_short:
                    raise FluxUsageError(f"unrecognized arguments: -{letter}")
                name = by_short[letter]
                takes, _ = table[name]
                if takes:
                    value = rest
                    if not value:
                        if i + 1 >= len(words) or _looks_like_option(words[i + 1]):
                            raise FluxUsageError(f"argument -{letter}: expected one argument")
                        i += 1
                        value = words[i]
                    request.options.append((name, value))
                    rest = ""
                else:
                    request.options.append((name, None))
            i += 1
            continue
        request.command = list(words[i:])
        break
    _check(request)
    return request


def _check(request: FluxRequest) -> None:
    for name in _POSITIVE:
        for value in request.all(name):
            if value is None or not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
                raise FluxUsageError(f"--{name}: invalid value {value!r}")
    if request.has("time-limit"):
        seconds = request.time_limit_seconds
        if seconds is None or seconds < 0:
            raise FluxUsageError("invalid time limit")
    sub = request.subcommand
    if sub in ("run", "submit"):
        task = [n for n in PER_TASK if request.has(n)]
        res = [n for n in PER_RESOURCE if request.has(n)]
        if task and res:
            raise FluxUsageError(
                f"per-resource options ({', '.join(res)}) cannot be combined with "
                f"per-task options ({', '.join(task)})"
            )
        nodes, ntasks = request.int("nodes"), request.int("ntasks")
        if nodes is not None and ntasks is not None and nodes > ntasks:
            raise FluxUsageError("node count must not be greater than task count")
        if request.has("exclusive") and nodes is None:
            raise FluxUsageError("--exclusive can only be set with --nodes")
        if not request.command:
            raise FluxUsageError("job command and arguments are missing")
    else:
        if not request.has("nslots") and not request.has("nodes"):
            raise FluxUsageError("Number of slots to allocate must be specified")
        if request.has("exclusive") and not request.has("nodes"):
            raise FluxUsageError("--exclusive can only be set with --nodes")


def parse_flux_argv(argv: Sequence[str]) -> FluxRequest:
    """``flux SUBCOMMAND OPTIONS COMMAND...`` (``argv[0]`` is the flux executable)."""
    if len(argv) < 2:
        raise FluxUsageError("usage: flux COMMAND")
    return parse_options(argv[1], argv[2:])


# --------------------------------------------------------------------------- FSD (RFC 23)

_FSD = re.compile(r"(?P<n>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?P<u>[smhd]?)")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_fsd(text: str, *, default_unit: str = "s") -> float:
    match = _FSD.fullmatch(text)
    if match is None:
        raise FluxUsageError(f"invalid Flux standard duration {text!r}")
    return float(match["n"]) * _UNIT[match["u"] or default_unit]


# --------------------------------------------------------------------------- env rules


def _matcher(pattern: str) -> Callable[[str], bool]:
    """A ``/regex/`` (searched) or a shell glob (matched whole)."""
    if pattern.startswith("/"):
        body = pattern[1:-1] if len(pattern) > 1 and pattern.endswith("/") else pattern[1:]
        rx = re.compile(body)
        return lambda name: rx.search(name) is not None
    return lambda name: fnmatch.fnmatchcase(name, pattern)


def apply_env_rules(environ: Mapping[str, str], rules: Sequence[str]) -> dict[str, str]:
    """The job's environment from ``environ`` (the submitting process's) and ``rules``."""
    env = dict(environ)  # the implicit first rule is '*'
    for rule in rules:
        if rule.startswith("-"):
            matches = _matcher(rule[1:])
            env = {k: v for k, v in env.items() if not matches(k)}
        elif rule.startswith("^"):
            raise FluxUsageError("env-file rules are not modelled")
        elif "=" in rule:
            name, _, value = rule.partition("=")
            lookup = {**environ, **env}
            try:
                env[name] = string.Template(value).substitute(lookup)
            except (KeyError, ValueError) as exc:
                raise FluxUsageError(f"--env={rule}: {exc}") from None
        else:
            matches = _matcher(rule)
            for k, v in environ.items():
                if matches(k) and k not in env:
                    env[k] = v
    return env


# --------------------------------------------------------------------------- directives (RFC 36)

_SENTINEL = re.compile(r"^([^\w]*)((?:flux|FLUX):)(.*)$")


def flux_lex(text: str) -> list[str]:
    """The word splitting Flux applies to a directive or a multi-prog line."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.escapedquotes = "\"'"
    try:
        return list(lexer)
    except ValueError as exc:
        raise FluxUsageError(str(exc)) from None


def submitted_script(script: str) -> str:
    """The script ``flux batch`` submits for a file holding ``script`` (written as UTF-8):
    flux-core's ``cli/batch.py`` reads it with ``open(path, "r", encoding="utf-8")``, so
    universal newlines turn CR and CR LF into LF, and bytes that are not UTF-8 are refused
    ("does not appear to be a script, or failed to encode as utf-8")."""
    try:
        data = script.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FluxUsageError(f"cannot be written as UTF-8: {exc}") from None
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()


def read_directives(script: str) -> list[list[str]]:
    """The argument lists of a script's ``flux:`` directives, in order."""
    out: list[list[str]] = []
    sentinel: str | None = None
    prefix = ""
    started = disabled = False
    # flux-core reads the script as a text file: lines end at \n, \r or \r\n (universal
    # newlines), not at the other separators str.splitlines() knows.
    for lineno, line in enumerate(io.StringIO(script, newline=None), 1):
        match = _SENTINEL.match(line)
        if match is None:
            if started and not disabled and line.strip() and not line.startswith(prefix.rstrip()):
                disabled = True
            continue
        if disabled:
            raise FluxUsageError(f"line {lineno}: orphan directive after the directives ended")
        started = True
        this = match[1] + match[2]
        if sentinel is None:
            sentinel, prefix = this, match[1]
        elif this != sentinel:
            raise FluxUsageError(f"line {lineno}: sentinel changed")
        value = match[3]
        if '"""' in value or "'''" in value:
            raise FluxUsageError("triple-quoted directives are not modelled")
        words = flux_lex(value)
        if not words:
            continue
        if not words[0].startswith("-"):
            raise FluxUsageError(f"line {lineno}: Unknown directive: {value}")
        out.append(words)
    return out


def parse_batch(script: str, argv: Sequence[str]) -> FluxRequest:
    """``flux batch`` of ``script`` with the command-line ``argv`` (after ``flux batch``, ending
    with the script path): directive options first, so the command line overrides them."""
    words = [w for directive in read_directives(script) for w in directive]
    return parse_options("batch", [*words, *argv])


# --------------------------------------------------------------------------- multi-prog


def parse_idset(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, dash, b = part.partition("-")
        if not a.isdigit() or (dash and not b.isdigit()):
            raise FluxUsageError(f"invalid idset: {text}")
        out.extend(range(int(a), int(b) + 1) if dash else [int(a)])
    return out


def multi_prog_args(config: str, rank: int) -> list[str]:
    """The argv flux multi-prog execs for ``rank``."""
    fallback: tuple[list[int] | None, list[str]] | None = None
    for line in io.StringIO(config, newline=None):
        words = flux_lex(line)
        if not words:
            continue
        target, args = words[0], words[1:]
        if target == "*":
            fallback = (None, args)
            continue
        ranks = parse_idset(target)
        if rank in ranks:
            return _substitute(args, rank, ranks.index(rank))
    if fallback is not None:
        return _substitute(fallback[1], rank, 0)
    raise FluxUsageError(f"No matching line for rank {rank}")


def _substitute(args: list[str], rank: int, offset: int) -> list[str]:
    sub = {"%t": str(rank), "%o": str(offset)}
    return [re.sub(r"(%t)|(%o)", lambda m: sub[m.group(0)], a) for a in args]


# --------------------------------------------------------------------------- ids (RFC 19)

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def parse_jobid(text: str) -> int:
    s = text.strip()
    if "." in s:
        groups = s.removeprefix("job.").split(".")
        if len(groups) != 4 or not all(re.fullmatch(r"[0-9a-fA-F]{1,4}", g) for g in groups):
            raise FluxUsageError(f"invalid jobid {text!r}")
        value = 0
        for g in groups:
            value = value * 65536 + int(g, 16)
    elif s[:1] in ("ƒ", "f"):
        if len(s) < 2 or any(c not in _B58 for c in s[1:]):
            raise FluxUsageError(f"invalid jobid {text!r}")
        value = 0
        for c in s[1:]:
            value = value * 58 + _B58.index(c)
    elif s.startswith("0x") and re.fullmatch(r"[0-9a-fA-F]+", s[2:]):
        value = int(s[2:], 16)
    elif re.fullmatch(r"[0-9]+", s):
        value = int(s)
    else:
        raise FluxUsageError(f"invalid jobid {text!r}")
    if value >= 2**64:
        raise FluxUsageError(f"invalid jobid {text!r}")
    return value


def f58(value: int, *, ascii_prefix: bool = False) -> str:
    digits = ""
    while True:
        value, r = divmod(value, 58)
        digits = _B58[r] + digits
        if value == 0:
            break
    return ("f" if ascii_prefix else "ƒ") + digits

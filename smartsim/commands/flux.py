"""Flux: ``flux run`` / ``submit`` / ``batch`` / ``alloc`` / ``cancel`` / ``jobs`` as values.

Sources (flux-core documentation, quoted beside the rule each one enforces):

* flux-run(1), flux-submit(1): per-task options (``-n``, ``-c``, ``-g``) and per-resource options
  (``--cores``, ``--tasks-per-node``, ``--gpus-per-node``, ``--tasks-per-core``) are two mutually
  exclusive sets; ``-N`` may not exceed the number of tasks; ``-x`` requires ``-N``.
* flux-batch(1) and RFC 36: ``flux:`` submission directives, read with POSIX-shell-like lexing in
  which ``#`` starts a comment even inside a word and ``; | & ( ) < >`` split words.
* RFC 23: a time limit is a Flux Standard Duration, a number with an ``s``/``m``/``h``/``d`` suffix
  (a bare number is minutes for ``-t``); ``HH:MM:SS`` is not accepted.
* job-env-rules: ``--env=VAR=VAL`` rules apply in order after a copy of the caller's environment,
  so an explicit rule wins; ``VAL`` goes through ``string.Template`` (``$$`` is a literal ``$``).
* job-mustache-templates: ``{{tag}}`` in commands, arguments and output paths is replaced by the
  job shell, with no escape; flux-multi-prog(1): ``%t`` and ``%o`` in a config line are replaced.
* RFC 19: job ids are printed as F58 (``ƒ`` or ASCII ``f``), hex ``0x…``, dotted hex, decimal.
* flux-jobs(1) ``--json``: a ``{"jobs": [...]}`` object, or the job's own object when one id was
  asked for; keys are absent while undefined.

Everything here is pure; validate with the ``check_*`` functions, then render.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, final

import attrs
from returns.result import Failure, Result, Success

from smartsim.commands._options import (
    OptionRules,
    check_options,
    check_text,
    option_problems,
    typed_set,
)
from smartsim.commands._texts import script_text_problems
from smartsim.commands._types import Command, Completed, Handle, Submission, simple_command
from smartsim.commands.array import ArraySyntax, array_extra, array_files, array_members
from smartsim.commands.batch import batch_args_problems, refused
from smartsim.commands.launch import LaunchContext, RunCommandSpec
from smartsim.commands.plan import Launch, World, output_paths
from smartsim.commands.scheduler import Scheduler, StatusQuery
from smartsim.commands.script import ScriptReader
from smartsim.errors import (
    BadName,
    BadValue,
    ConflictingOptions,
    EmptyValue,
    ForbiddenCharacter,
    Invalid,
    Unsupported,
    ValidationError,
)
from smartsim.status import JobState, Status
from smartsim.validate import batch_problems, check_name, run_settings_problems
from smartsim.values import (
    AllocationRequest,
    BatchSettings,
    Duration,
    Ensemble,
    Model,
    OptionValue,
    RunSettings,
)

TOOL: Final = "flux"

# --------------------------------------------------------------------------- job ids (RFC 19)

#: RFC 19's Base58 alphabet (no 0, O, I, l).
F58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_F58_VALUE: Final = {ch: i for i, ch in enumerate(F58_ALPHABET)}
_MAX_ID: Final = 2**64 - 1
_DOTHEX = re.compile(
    r"(?:job\.)?([0-9a-fA-F]{1,4})\.([0-9a-fA-F]{1,4})\.([0-9a-fA-F]{1,4})\.([0-9a-fA-F]{1,4})"
)


@final
@attrs.frozen(order=True)
class FluxJobId:
    """A Flux job id (a 64-bit FLUID), whatever encoding Flux printed it in.

    >>> FluxJobId.parse("ƒuZZybuNNy").unwrap().dec()
    '6731191091817518'
    >>> j = FluxJobId(6731191091817518)
    >>> j.f58plain(), j.hex(), j.dothex()
    ('fuZZybuNNy', '0x17e9fb8df16c2e', '0017.e9fb.8df1.6c2e')
    """

    value: int

    @staticmethod
    def parse(text: str) -> Result[FluxJobId, str]:
        """Decode by RFC 19's rules: ``.`` → dotted hex (optionally ``job.``-prefixed), ``-`` →
        mnemonic words (not supported: refused), ``ƒ``/``f`` → F58, an emoji → refused,
        ``0x`` → hex, otherwise decimal. Leading and trailing whitespace is ignored."""
        s = text.strip()
        if not s:
            return Failure(text)
        value: int | None = None
        if "." in s:
            match = _DOTHEX.fullmatch(s)
            if match is not None:
                value = int("".join(g.rjust(4, "0") for g in match.groups()), 16)
        elif "-" in s:
            return Failure(text)  # mnemonic ("words") encoding: no decoder here
        elif s[0] in ("ƒ", "f"):
            digits = s[1:]
            if digits and all(ch in _F58_VALUE for ch in digits):
                value = 0
                for ch in digits:
                    value = value * 58 + _F58_VALUE[ch]
        elif s.startswith("0x"):
            if re.fullmatch(r"[0-9a-fA-F]+", s[2:]):
                value = int(s[2:], 16)
        elif re.fullmatch(r"[0-9]+", s):
            value = int(s)
        if value is None or value > _MAX_ID:
            return Failure(text)
        return Success(FluxJobId(value))

    def dec(self) -> str:
        return str(self.value)

    def f58plain(self) -> str:
        """F58 with the ASCII ``f`` prefix (safe in any locale)."""
        n, digits = self.value, ""
        while True:
            n, r = divmod(n, 58)
            digits = F58_ALPHABET[r] + digits
            if n == 0:
                break
        return "f" + digits

    def f58(self) -> str:
        """F58 as Flux prints it by default, with ``ƒ`` (U+0192)."""
        return "ƒ" + self.f58plain()[1:]

    def hex(self) -> str:
        return f"0x{self.value:x}"

    def dothex(self) -> str:
        h = f"{self.value:016x}"
        return ".".join(h[i : i + 4] for i in range(0, 16, 4))

    def kvs(self) -> str:
        return "job." + self.dothex()

    def __str__(self) -> str:
        return self.f58plain()


def parse_flux_submit(stdout: str) -> Result[FluxJobId, str]:
    """The job id ``flux submit`` / ``flux batch`` / ``flux alloc --bg`` print on stdout (the
    last non-empty line, so a site banner before it does no harm).

    >>> parse_flux_submit("ƒM7Zq9AKHno\\n").unwrap().f58()
    'ƒM7Zq9AKHno'
    """
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines:
        return Failure(stdout)
    return FluxJobId.parse(lines[-1]).alt(lambda _: stdout)


# --------------------------------------------------------------------------- durations (RFC 23)


def fsd(duration: Duration) -> str:
    """A time limit as a Flux Standard Duration, exact: whole hours as ``h``, whole minutes as
    ``m``, otherwise seconds (never ``HH:MM:SS``, which ``-t`` rejects, and never ``0``).

    >>> fsd(Duration(90000)), fsd(Duration(5400)), fsd(Duration(61))
    ('25h', '90m', '61s')
    """
    s = duration.seconds
    if s % 3600 == 0:
        return f"{s // 3600}h"
    if s % 60 == 0:
        return f"{s // 60}m"
    return f"{s}s"


# --------------------------------------------------------------------------- quoting


_SAFE_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_SENTINEL = re.compile(r"[^\w]*(?:flux|FLUX):")

#: What ``flux batch`` does to a script's text (flux-core ``cli/batch.py`` ``process_script``
#: and ``job/directives.py`` ``DirectiveParser``): it reads the file with Python's
#: ``open(..., "r", encoding="utf-8")``, so lines end at LF, CR or CR LF (universal newlines)
#: and every CR reaches the job as LF — a CR cannot be carried; text that is not UTF-8 is
#: refused ("does not appear to be a script, or failed to encode as utf-8"); a line matching
#: ``^[^\w]*(flux|FLUX):`` after the directives ended is an "orphan" directive and refused.
READER: Final = ScriptReader(
    tool="flux batch", line_breaks=("\r\n", "\r", "\n"), refused=("\r",), directive=_SENTINEL
)


def directive_word(text: str) -> str:
    """One word for a ``flux:`` directive or a multi-prog line, so Flux's lexer gives ``text``
    back exactly.

    That lexer is not the shell's: ``#`` starts a comment even inside a word, ``;|&()<>`` split
    words, and a backslash escapes a quote *inside* single quotes (flux-core
    ``flux/job/directives.py``: ``shlex`` with ``punctuation_chars`` and
    ``escapedquotes="\\"'"``), and a run of three quotes opens a triple-quoted block. So a word
    without quotes or backslashes is single-quoted, and any other is escaped character by
    character outside quotes (no three quotes ever touch).

    >>> directive_word("a b#c"), directive_word("it's"), directive_word("plain")
    ("'a b#c'", "it\\\\'s", 'plain')
    """
    if _SAFE_WORD.fullmatch(text):
        return text
    if not any(ch in text for ch in "'\"\\"):
        return f"'{text}'"
    return "".join(ch if _SAFE_WORD.fullmatch(ch) else "\\" + ch for ch in text)


def env_rule_value(value: str) -> str:
    """A value for ``--env=NAME=VALUE``: Flux substitutes ``$name`` with ``string.Template``
    (job-env-rules), so every ``$`` is doubled to stay literal."""
    return value.replace("$", "$$")


# --------------------------------------------------------------------------- option rules

#: flux-run(1) "Per-task options" and "Per-resource options": mutually exclusive sets.
PER_TASK: Final = frozenset({"n", "ntasks", "c", "cores-per-task", "g", "gpus-per-task"})
PER_RESOURCE: Final = frozenset({"cores", "tasks-per-node", "gpus-per-node", "tasks-per-core"})
#: Options of flux-run(1), flux-submit(1), flux-batch(1) and flux-alloc(1) that take no value
#: (given one, Flux's argparse refuses it) ...
_FLAGS: Final = frozenset(
    {"verbose", "dry-run", "debug", "unbuffered", "label-io", "quiet", "exclusive", "wait",
     "watch", "progress", "jps", "wrap", "bg"}
)  # fmt: skip
#: ... and those that need one (a bare flag would take the program as its value).
_VALUED: Final = frozenset(
    {"nodes", "queue", "time-limit", "job-name", "flags", "cwd", "urgency", "setopt", "setattr",
     "add-file", "begin-time", "signal", "env", "env-remove", "env-file", "rlimit", "requires",
     "dependency", "input", "output", "error", "ntasks", "cores-per-task", "gpus-per-task",
     "cores", "tasks-per-node", "gpus-per-node", "tasks-per-core", "taskmap", "cc", "bcc", "log",
     "log-stderr", "wait-event", "nslots", "cores-per-slot", "gpus-per-slot", "conf",
     "broker-opts"}
)  # fmt: skip
#: The one-letter spellings every submission command shares.
_LETTERS: Final = {
    "N": "nodes", "q": "queue", "t": "time-limit", "v": "verbose", "o": "setopt",
    "S": "setattr", "u": "unbuffered", "l": "label-io",
}  # fmt: skip


def _submission_options(
    tool: str,
    letters: Mapping[str, str],
    refused: Iterable[str],
    typed: Mapping[str, tuple[str, ...]],
) -> OptionRules:
    """The rules of one flux submission command: the one-letter spellings, flags and valued
    options they all share plus the command's own ``letters``; the options the planner sets
    itself (``refused``); the typed fields that render options (``nodes`` and ``time`` for
    every command, plus ``typed``)."""
    return OptionRules(
        tool=tool,
        aliases={**_LETTERS, **letters},
        flags=_FLAGS,
        valued=_VALUED,
        refused=dict.fromkeys(refused, f"{tool} (set by smartsim)"),
        typed={"nodes": ("nodes",), "time-limit": ("time",), **typed},
    )


#: flux-run(1) and flux-submit(1)'s raw options: the planner sets the output, working
#: directory, name and environment itself.
FLUX_RUN_OPTIONS: Final = _submission_options(
    "flux run",
    {"n": "ntasks", "c": "cores-per-task", "g": "gpus-per-task", "x": "exclusive"},
    ("output", "error", "cwd", "job-name", "env", "env-remove", "env-file", "add-file", "dry-run"),
    {
        "ntasks": ("ntasks",),
        "cores-per-task": ("cpus_per_task",),
        "gpus-per-task": ("gpus_per_task",),
        "tasks-per-node": ("tasks_per_node",),
        "requires": ("hostlist",),
    },
)
#: flux-batch(1)'s raw options (``-n`` is ``--nslots`` there); ``--requires`` renders the host
#: list, else the excluded hosts.
FLUX_BATCH_OPTIONS: Final = _submission_options(
    "flux batch",
    {"n": "nslots", "c": "cores-per-slot", "g": "gpus-per-slot", "B": "broker-opts"},
    ("output", "error", "wrap", "dry-run"),
    {
        "queue": ("partition",),
        "job-name": ("job_name",),
        "requires": ("hostlist", "excluded_hosts"),
    },
)


def raw_option_tokens(key: str, value: OptionValue) -> tuple[str, ...]:
    """argv words for one raw Flux option: ``--key=value`` for long names (a separate word
    beginning with ``-`` would be taken for an option by Flux's argparse), ``-K value`` for one
    letter (``-Kvalue`` when the value begins with ``-``); ``None``/``True`` is a bare flag,
    ``False`` leaves it out.

    >>> raw_option_tokens("setopt", "mpi=spectrum"), raw_option_tokens("o", "-x")
    (('--setopt=mpi=spectrum',), ('-o-x',))
    """
    if value is False:
        return ()
    flag = f"-{key}" if len(key) == 1 else f"--{key}"
    if value is None or value is True:
        return (flag,)
    text = value if isinstance(value, str) else str(value)
    if len(key) > 1:
        return (f"{flag}={text}",)
    return (f"{flag}{text}",) if text.startswith("-") else (flag, text)


def _templates(field: str, text: str) -> list[ValidationError]:
    if _TEMPLATE.search(text):
        return [
            Unsupported(field, text, "flux (the job shell replaces {{tag}} templates; no escape)")
        ]
    return []


def _check_part_text(f: str, rs: RunSettings) -> list[ValidationError]:
    errors: list[ValidationError] = []
    if rs.exe.startswith("-"):
        errors.append(BadValue(f + "exe", rs.exe, "a program name not starting with '-'"))
    errors += _templates(f + "exe", rs.exe)
    for i, arg in enumerate(rs.args):
        errors += _templates(f"{f}args[{i}]", arg)
    return errors


def _resource_errors(f: str, rs: RunSettings) -> list[ValidationError]:
    """Per-task/per-resource exclusivity (typed fields and raw options together)."""
    errors: list[ValidationError] = []
    raw = set(rs.run_args)
    per_task = {"ntasks", "cpus_per_task", "gpus_per_task"}
    typed_task = sorted(n for n in per_task if getattr(rs, n) is not None)
    raw_task = sorted(raw & PER_TASK)
    raw_res = sorted(raw & PER_RESOURCE)
    if rs.tasks_per_node is not None:
        blocking = [n for n in typed_task if not (n == "ntasks" and rs.nodes is not None)]
        if blocking or raw_task:
            errors.append(
                ConflictingOptions(
                    f + "tasks_per_node",
                    rs.tasks_per_node,
                    "per-task options "
                    + ", ".join(blocking + raw_task)
                    + " (flux-run(1): the per-task and per-resource sets are exclusive)",
                )
            )
    if raw_res and (typed_task or raw_task):
        errors.append(
            ConflictingOptions(
                f + "run_args",
                raw_res,
                "per-task options "
                + ", ".join(typed_task + raw_task)
                + " (flux-run(1): the per-task and per-resource sets are exclusive)",
            )
        )
    ntasks = sum(_count_tasks(p) for p in rs.parts) if rs.mpmd else rs.ntasks
    if rs.nodes is not None and ntasks is not None and rs.nodes > ntasks > 0:
        errors.append(
            ConflictingOptions(
                f + "nodes",
                rs.nodes,
                f"ntasks={ntasks} (flux-run(1): more nodes than tasks is an error)",
            )
        )
    typed = typed_set(FLUX_RUN_OPTIONS, rs, f)
    errors += option_problems(FLUX_RUN_OPTIONS, f + "run_args", rs.run_args, typed)
    if ("x" in raw or "exclusive" in raw) and rs.nodes is None and "N" not in raw:
        errors.append(
            ConflictingOptions(f + "run_args", "exclusive", "no nodes (flux-run(1): -x needs -N)")
        )
    return errors


def check_flux_run(rs: RunSettings, field: str = "run_settings") -> list[ValidationError]:
    """What ``flux run``/``flux submit`` cannot express for ``rs`` (generic rules are checked
    by :func:`smartsim.validate.run_settings_problems`).

    >>> [type(e).__name__ for e in check_flux_run(RunSettings(exe="a", ntasks=4, tasks_per_node=2,
    ...                                                        cpus_per_task=2))]
    ['ConflictingOptions']
    """
    f = f"{field}."
    errors: list[ValidationError] = []
    for name in ("mem", "flavour", "mpi"):
        if getattr(rs, name) is not None:
            errors.append(Unsupported(f + name, getattr(rs, name), TOOL))
    if rs.het_group:
        errors.append(Unsupported(f + "het_group", rs.het_group, TOOL))
    if rs.alloc is not None and not isinstance(FluxJobId.parse(rs.alloc), Success):
        errors.append(BadValue(f + "alloc", rs.alloc, "a Flux job id (flux proxy JOBID)"))
    errors += _check_part_text(f, rs)
    errors += _resource_errors(f, rs)
    if rs.mpmd:
        errors += _check_mpmd(f, rs)
    return errors


_MPMD_PART_ONLY: Final = ("exe", "args", "env", "ntasks", "run_command", "mpmd")


def _check_mpmd(f: str, rs: RunSettings) -> list[ValidationError]:
    """flux multi-prog(1): one job geometry for all ranks; each line is ``RANKS exe args``
    lexed like a directive, with ``%t``/``%o`` substituted and no escape for them."""
    errors: list[ValidationError] = []
    if rs.tasks_per_node is not None:
        errors.append(
            Unsupported(f + "tasks_per_node", rs.tasks_per_node, "flux multi-prog (give ntasks)")
        )
    for i, part in enumerate(rs.parts):
        pf = f if i == 0 else f"{f}mpmd[{i - 1}]."
        if i > 0:
            for a in attrs.fields(RunSettings):
                if a.name in _MPMD_PART_ONLY:
                    continue
                value = getattr(part, a.name)
                if value not in (None, (), {}) and value != a.default:
                    errors.append(
                        Unsupported(pf + a.name, value, "flux multi-prog (one geometry for all)")
                    )
            if part.run_command not in (None, rs.run_command):
                errors.append(
                    ConflictingOptions(pf + "run_command", part.run_command, "the first part's")
                )
            errors += _check_part_text(pf, part)
        for j, word in enumerate((part.exe, *part.args)):
            where = pf + ("exe" if j == 0 else f"args[{j - 1}]")
            errors += check_text(where, word)
            if "%t" in word or "%o" in word:
                errors.append(Unsupported(where, word, "flux multi-prog (replaces %t and %o)"))
        for name, value in part.env.items():
            # the line's env NAME=VALUE words are substituted too
            if "%t" in value or "%o" in value:
                errors.append(
                    Unsupported(f"{pf}env[{name!r}]", value, "flux multi-prog (replaces %t and %o)")
                )
        if part.env and ("=" in part.exe or part.exe.startswith("-")):
            errors.append(
                BadValue(pf + "exe", part.exe, "a program name env(1) will not read as NAME=VALUE")
            )
    return errors


# --------------------------------------------------------------------------- rendering


def _count_tasks(part: RunSettings) -> int:
    return part.ntasks if part.ntasks is not None else 1


def multi_prog_config(rs: RunSettings) -> str:
    """The ``flux multi-prog`` config: one ``RANKS [env NAME=VAL…] exe args`` line per part,
    ranks allotted in order (each part's ``ntasks``, default 1). Each part's environment is
    set on its own line so that it reaches only its ranks.

    >>> print(multi_prog_config(RunSettings(exe="a", ntasks=2).with_mpmd(
    ...     RunSettings(exe="b", args=("x y",), env={"K": "v"}))), end="")
    0-1 a
    2 env K=v b 'x y'
    """
    lines: list[str] = []
    first = 0
    for part in rs.parts:
        n = _count_tasks(part)
        ranks = str(first) if n == 1 else f"{first}-{first + n - 1}"
        words = [ranks]
        if part.env:
            words.append("env")
            words += [directive_word(f"{k}={v}") for k, v in part.env.items()]
        words += [directive_word(w) for w in (part.exe, *part.args)]
        lines.append(" ".join(words))
        first += n
    return "\n".join(lines) + "\n"


def _hosts_constraint(rs: RunSettings) -> str | None:
    """flux-run(1) CONSTRAINTS: ``host:LIST`` requires, ``-host:LIST`` excludes (RFC 29 host
    lists, which share Slurm's ``n[1-4]`` form); terms separated by a space are ANDed."""
    terms: list[str] = []
    if rs.hostlist:
        terms.append("host:" + ",".join(rs.hostlist))
    if rs.excluded_hosts:
        terms.append("-host:" + ",".join(rs.excluded_hosts))
    return " ".join(terms) if terms else None


def job_options(rs: RunSettings) -> tuple[str, ...]:
    """Resource, time and placement options of ``flux run``/``flux submit`` for valid ``rs``.

    >>> job_options(RunSettings(exe="a", nodes=2, ntasks=8, cpus_per_task=2, time=5400))
    ('-N', '2', '-n', '8', '-c', '2', '-t', '90m')
    >>> job_options(RunSettings(exe="a", nodes=2, tasks_per_node=4))
    ('-N', '2', '--tasks-per-node=4')
    """
    out: list[str] = []
    ntasks = rs.ntasks
    if rs.mpmd:
        ntasks = sum(_count_tasks(p) for p in rs.parts)
    per_resource = rs.tasks_per_node is not None and (ntasks is None or rs.nodes is None or rs.mpmd)
    if rs.nodes is not None:
        out += ["-N", str(rs.nodes)]
    if per_resource:
        out.append(f"--tasks-per-node={rs.tasks_per_node}")
    elif ntasks is not None:
        out += ["-n", str(ntasks)]
    if rs.cpus_per_task is not None:
        out += ["-c", str(rs.cpus_per_task)]
    if rs.gpus_per_task is not None:
        out += ["-g", str(rs.gpus_per_task)]
    if isinstance(rs.time, Duration):
        out += ["-t", fsd(rs.time)]
    constraint = _hosts_constraint(rs)
    if constraint is not None:
        out.append(f"--requires={constraint}")
    return tuple(out)


def env_options(env: Mapping[str, str]) -> tuple[str, ...]:
    """``--env=NAME=VALUE`` rules, in order, each value with ``$`` doubled (job-env-rules).

    >>> env_options({"A": "1", "P": "$HOME/x"})
    ('--env=A=1', '--env=P=$$HOME/x')
    """
    return tuple(f"--env={k}={env_rule_value(v)}" for k, v in env.items())


def _command_words(rs: RunSettings, conf_name: str) -> tuple[str, ...]:
    if rs.mpmd:
        # flux-run(1) --add-file: an ARG holding a newline is the file's data; the job shell
        # extracts it into the job's temporary directory, named by {{tmpdir}}.
        return (
            f"--add-file={conf_name}={multi_prog_config(rs)}",
            "flux",
            "multi-prog",
            "{{tmpdir}}/" + conf_name,
        )
    return (rs.exe, *rs.args)


def flux_job_argv(
    subcommand: str,
    rs: RunSettings,
    *,
    name: str | None = None,
    cwd: str | None = None,
    output: str | None = None,
    error: str | None = None,
    tool: str = TOOL,
) -> tuple[str, ...]:
    """argv of ``flux run`` or ``flux submit`` for settings validated by :func:`check_flux_run`.

    Order: resources, placement, name/cwd/output, the user's raw options, then the environment
    rules (so an ``--env-remove`` in ``run_args`` cannot undo the entity's values), then the
    program.

    >>> flux_job_argv("submit", RunSettings(exe="echo", args=("a b",), ntasks=2, env={"X": "1"}),
    ...               name="m", cwd="/w", output="/w/m.out", error="/w/m.err")
    ('flux', 'submit', '-n', '2', '--job-name=m', '--cwd=/w', '--output=/w/m.out', \
'--error=/w/m.err', '--env=X=1', 'echo', 'a b')
    """
    argv: list[str] = []
    if rs.alloc is not None:
        # flux-alloc(1): flux proxy JOBID runs a command connected to that subinstance.
        argv += [tool, "proxy", FluxJobId.parse(rs.alloc).unwrap().dec()]
    argv += [tool, subcommand, *job_options(rs)]
    if name is not None:
        argv.append(f"--job-name={name}")
    if cwd is not None:
        argv.append(f"--cwd={cwd}")
    if output is not None:
        argv.append(f"--output={output}")
    if error is not None:
        argv.append(f"--error={error}")
    for key, value in rs.run_args.items():
        argv += raw_option_tokens(key, value)
    if not rs.mpmd:
        argv += env_options(rs.env)
    argv += _command_words(rs, f"{name or 'mpmd'}.conf")
    return tuple(argv)


def _flux_run_build(rs: RunSettings, ctx: LaunchContext) -> Command:
    # ctx.alloc is the caller's allocation of *another* scheduler (e.g. SLURM_JOB_ID); only an
    # explicit rs.alloc names a Flux subinstance.
    argv = flux_job_argv("run", rs, name=ctx.name, cwd=ctx.cwd)
    return Command(argv=argv, cwd=ctx.cwd, stdout=ctx.stdout, stderr=ctx.stderr)


#: ``run_command="flux"``: a blocking ``flux run`` (its output is the job's output).
FLUX_RUN: Final = RunCommandSpec(tool="flux run", check=check_flux_run, build=_flux_run_build)


def flux_cancel_argv(ids: Iterable[FluxJobId], *, tool: str = TOOL) -> tuple[str, ...]:
    """flux-cancel(1) for explicit ids.

    >>> flux_cancel_argv([FluxJobId(1234)])
    ('flux', 'cancel', '1234')
    """
    return (tool, "cancel", *(i.dec() for i in ids))


def flux_jobs_argv(ids: Iterable[FluxJobId], *, tool: str = TOOL) -> tuple[str, ...]:
    """flux-jobs(1) ``--json`` for explicit ids: the state filters do not apply to listed ids
    (flux/job/list.py ``JobList``: "Other filters are ignored if ids is not empty"), so
    finished jobs are reported too.

    >>> flux_jobs_argv([FluxJobId(1), FluxJobId(2)])
    ('flux', 'jobs', '--json', '1', '2')
    """
    return (tool, "jobs", "--json", *(i.dec() for i in ids))


# --------------------------------------------------------------------------- batch / alloc


def check_flux_batch(bs: BatchSettings, field: str = "batch_settings") -> list[ValidationError]:
    """What ``flux batch`` cannot express for ``bs``."""
    f = f"{field}."
    errors: list[ValidationError] = []
    errors += refused(
        f,
        bs,
        mem="flux batch (no memory request)",
        gpus="flux batch (use batch_args {'gpus-per-slot': n} with slots)",
    )
    if bs.array is not None:
        errors.append(Unsupported(f + "array", str(bs.array), "flux batch (no job arrays)"))
    errors += batch_args_problems(FLUX_BATCH_OPTIONS, bs, f)
    for i, line in enumerate(bs.preamble):
        if _SENTINEL.match(line):
            errors.append(
                BadValue(f"{f}preamble[{i}]", line, "a line Flux will not read as a directive")
            )
    return errors


def _bank(account: str) -> str:
    # flux-submit(1) --setattr: KEY without a prefix is system.KEY; VAL is parsed as JSON when
    # it can be, so the name is written as a JSON string ("123" stays text).
    return f"--setattr=system.bank={json.dumps(account)}"


def batch_directive_options(
    bs: BatchSettings,
    *,
    slots: int | None = None,
    cores_per_slot: int | None = None,
    gpus_per_slot: int | None = None,
    output: str | None = None,
    error: str | None = None,
) -> tuple[tuple[str, ...], ...]:
    """The options of a ``flux batch`` job, one tuple of words per directive line.

    flux-batch(1): ``-n/--nslots`` is required unless ``-N`` is given.

    >>> batch_directive_options(BatchSettings(nodes=2, time=90000, partition="pdebug"))
    (('-N', '2'), ('-t', '25h'), ('--queue=pdebug',))
    """
    out: list[tuple[str, ...]] = []
    if bs.nodes is not None:
        out.append(("-N", str(bs.nodes)))
    elif slots is not None:
        out.append(("-n", str(slots)))
    if cores_per_slot is not None and cores_per_slot > 1:
        out.append(("-c", str(cores_per_slot)))
    if gpus_per_slot is not None:
        out.append(("-g", str(gpus_per_slot)))
    if isinstance(bs.time, Duration):
        out.append(("-t", fsd(bs.time)))
    if bs.partition is not None:
        out.append((f"--queue={bs.partition}",))
    if bs.account is not None:
        out.append((_bank(bs.account),))
    if bs.job_name is not None:
        out.append((f"--job-name={bs.job_name}",))
    hosts = [f"host:{','.join(bs.hostlist)}"] if bs.hostlist else []
    hosts += [f"-host:{','.join(bs.excluded_hosts)}"] if bs.excluded_hosts else []
    if hosts:  # flux-batch(1) CONSTRAINTS, as for flux run: terms ANDed
        out.append(("--requires=" + " ".join(hosts),))
    if output is not None:
        out.append((f"--output={output}",))
    if error is not None:
        out.append((f"--error={error}",))
    for key, value in bs.batch_args.items():
        words = raw_option_tokens(key, value)
        if words:
            out.append(words)
    return tuple(out)


def flux_batch_script(
    directives: Sequence[Sequence[str]],
    body: Sequence[Sequence[str]],
    *,
    preamble: Sequence[str] = (),
) -> str:
    """A batch script: ``#flux:`` directives right after the shebang (flux-batch(1): they must
    be grouped before any other non-blank line), the preamble, then each body argv run in the
    background, and the script exits non-zero when any of them failed.

    >>> print(flux_batch_script([("-N", "1")], [("flux", "run", "hostname")]), end="")
    #!/bin/sh
    #flux: -N 1
    flux run hostname &
    pid0=$!
    status=0
    wait "$pid0" || status=$?
    exit "$status"
    """
    lines = ["#!/bin/sh"]
    lines += ["#flux: " + " ".join(directive_word(w) for w in words) for words in directives]
    lines += list(preamble)
    for i, argv in enumerate(body):
        lines.append(simple_command(argv) + " &")
        lines.append(f"pid{i}=$!")
    lines.append("status=0")
    lines += [f'wait "$pid{i}" || status=$?' for i in range(len(body))]
    lines.append('exit "$status"')
    return "\n".join(lines) + "\n"


def check_flux_alloc(req: AllocationRequest, field: str = "allocation") -> list[ValidationError]:
    f = f"{field}."
    errors: list[ValidationError] = []
    errors += refused(f, req, mem="flux alloc", gpus="flux alloc (use add_opts gpus-per-slot)")
    if req.exclusive and req.nodes is None:
        errors.append(ConflictingOptions(f + "exclusive", True, "no nodes (needs -N)"))
    if req.nodes is None and not ({"n", "nslots"} & set(req.add_opts)):
        errors.append(
            BadValue(f + "nodes", None, "nodes or add_opts nslots (flux-alloc(1): one is required)")
        )
    errors += check_options(f + "add_opts", req.add_opts)
    return errors


def flux_alloc_argv(req: AllocationRequest, *, tool: str = TOOL) -> tuple[str, ...]:
    """``flux alloc --bg``: start a subinstance and print its job id once it accepts jobs.

    >>> flux_alloc_argv(AllocationRequest(nodes=2, time=5400, partition="batch"))
    ('flux', 'alloc', '--bg', '-N', '2', '-t', '90m', '--queue=batch')
    """
    argv = [tool, "alloc", "--bg"]
    if req.nodes is not None:
        argv += ["-N", str(req.nodes)]
    if req.exclusive:
        argv.append("--exclusive")
    if isinstance(req.time, Duration):
        argv += ["-t", fsd(req.time)]
    if req.partition is not None:
        argv.append(f"--queue={req.partition}")
    if req.account is not None:
        argv.append(_bank(req.account))
    if req.constraint is not None:
        argv.append(f"--requires={req.constraint}")
    if req.job_name is not None:
        argv.append(f"--job-name={req.job_name}")
    for key, value in req.add_opts.items():
        argv += raw_option_tokens(key, value)
    return tuple(argv)


# --------------------------------------------------------------------------- status


#: RFC 21 state names (and their bit values, which raw job-list output uses).
_STATE_BITS: Final = {
    1: "NEW",
    2: "DEPEND",
    4: "PRIORITY",
    8: "SCHED",
    16: "RUN",
    32: "CLEANUP",
    64: "INACTIVE",
}
_PENDING_STATES: Final = frozenset({"NEW", "DEPEND", "PRIORITY", "SCHED"})
_RUNNING_STATES: Final = frozenset({"RUN", "CLEANUP"})
_RESULTS: Final = {
    "COMPLETED": Status.COMPLETED,
    "FAILED": Status.FAILED,
    "CANCELED": Status.CANCELLED,
    "TIMEOUT": Status.FAILED,
}
_RESULT_BITS: Final = {1: "COMPLETED", 2: "FAILED", 4: "CANCELED", 8: "TIMEOUT"}


def _job_state(obj: Mapping[str, object]) -> JobState:
    state = obj.get("state")
    if isinstance(state, int) and not isinstance(state, bool):
        state = _STATE_BITS.get(state, str(state))
    result = obj.get("result")
    if isinstance(result, int) and not isinstance(result, bool):
        result = _RESULT_BITS.get(result, str(result))
    state_s = state if isinstance(state, str) else ""
    result_s = result if isinstance(result, str) else ""
    rc_obj = obj.get("returncode")
    returncode = rc_obj if isinstance(rc_obj, int) and not isinstance(rc_obj, bool) else None
    signal = None
    if returncode is not None and returncode < 0 and returncode != -128:
        signal = -returncode
    reason = ""
    exc = obj.get("exception")
    if isinstance(exc, Mapping) and exc.get("occurred") is True:
        etype, note = exc.get("type"), exc.get("note")
        reason = " ".join(str(x) for x in (etype, note) if isinstance(x, str) and x)
    if state_s in _PENDING_STATES:
        status = Status.PENDING
    elif state_s in _RUNNING_STATES:
        status = Status.RUNNING
    elif state_s == "INACTIVE":
        status = _RESULTS.get(result_s, Status.UNKNOWN)
    else:
        status = Status.UNKNOWN
    raw = result_s if state_s == "INACTIVE" and result_s else state_s
    return JobState(status, raw=raw, returncode=returncode, signal=signal, reason=reason)


def parse_flux_jobs(text: str) -> Result[dict[FluxJobId, JobState], str]:
    """States from ``flux jobs --json`` (either ``{"jobs": [...]}`` or one job's object). Jobs
    the output does not mention are simply absent. Never raises.

    >>> out = '{"id": 1234, "state": "INACTIVE", "result": "COMPLETED", "returncode": 0}'
    >>> parse_flux_jobs(out).unwrap()[FluxJobId(1234)].status
    <Status.COMPLETED: 'COMPLETED'>
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return Failure(text)
    if isinstance(data, Mapping) and isinstance(data.get("jobs"), list):
        items: list[object] = list(data["jobs"])
    elif isinstance(data, Mapping) and "id" in data:
        items = [data]
    else:
        return Failure(text)
    out: dict[FluxJobId, JobState] = {}
    for item in items:
        if not isinstance(item, Mapping):
            return Failure(text)
        raw_id = item.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)):
            return Failure(text)
        if isinstance(raw_id, int):
            if not 0 <= raw_id <= _MAX_ID:
                return Failure(text)
            job = FluxJobId(raw_id)
        else:
            parsed = FluxJobId.parse(raw_id)
            if not isinstance(parsed, Success):
                return Failure(text)
            job = parsed.unwrap()
        out[job] = _job_state(item)
    return Success(out)


# --------------------------------------------------------------------------- planner


def _model_problems(model: Model, field: str) -> list[ValidationError]:
    rs = model.run_settings
    f = f"{field}.run_settings"
    errors = check_name(f"{field}.name", model.name)
    errors += run_settings_problems(rs, f)
    if rs.run_command not in (None, "flux"):
        errors.append(
            Unsupported(f + ".run_command", rs.run_command, "the flux launcher (None or 'flux')")
        )
    if rs.alloc is not None:
        errors.append(
            Unsupported(f + ".alloc", rs.alloc, "the flux launcher (it submits to the instance)")
        )
    errors += [e for e in check_flux_run(rs, f) if not e.field.endswith(".alloc")]
    errors += _templates(f"{field}.path", model.path)
    errors += check_text(f"{field}.path", model.path)
    return errors


def _batch_problems(bs: BatchSettings, field: str) -> list[ValidationError]:
    return batch_problems(bs, field) + check_flux_batch(bs, field)


def _member_argv(model: Model, world: World, subcommand: str) -> tuple[str, ...]:
    out, err = output_paths(model.path, model.name, world.run_index)
    return flux_job_argv(
        subcommand,
        model.run_settings,
        name=model.name,
        cwd=model.path,
        output=out,
        error=err,
        tool=world.tools.get(TOOL, TOOL),
    )


def _batch_launch(
    name: str, kind: str, members: Sequence[Model], bs: BatchSettings, *, path: str, world: World
) -> Launch:
    tool = world.tools.get(TOOL, TOOL)
    out, err = output_paths(path, name, world.run_index)
    parts = [m.run_settings for m in members]
    slots = sum(
        sum(_count_tasks(p) for p in rs.parts)
        if rs.mpmd
        else (rs.ntasks if rs.ntasks is not None else (rs.nodes or 1) * (rs.tasks_per_node or 1))
        for rs in parts
    )
    cores = max((rs.cpus_per_task or 1 for rs in parts), default=1)
    gpus = max((rs.gpus_per_task or 0 for rs in parts), default=0)
    directives = batch_directive_options(
        bs,
        slots=slots,
        cores_per_slot=cores,
        gpus_per_slot=gpus or None,
        output=out,
        error=err,
    )
    body = [_member_argv(m, world, "run") for m in members]
    script = flux_batch_script(directives, body, preamble=bs.preamble)
    stem = name if world.run_index == 0 else f"{name}.{world.run_index}"
    script_path = posixpath.join(path, stem + ".flux.sh")
    submit = Command(argv=(tool, "batch", script_path), cwd=path)
    return Launch(
        name=name,
        kind=kind,
        members=tuple(m.name for m in members),
        cwd=path,
        stdout=out,
        stderr=err,
        submission=Submission(script_path=script_path, script=script, submit=submit),
        mkdirs=tuple(dict.fromkeys([path, *(m.path for m in members)])),
    )


def _submit_launch(model: Model, world: World, kind: str) -> Launch:
    out, err = output_paths(model.path, model.name, world.run_index)
    return Launch(
        name=model.name,
        kind=kind,
        members=(model.name,),
        cwd=model.path,
        stdout=out,
        stderr=err,
        command=Command(argv=_member_argv(model, world, "submit"), cwd=model.path),
        mkdirs=(model.path,),
    )


def submitted_ids(stdout: str) -> list[str] | None:
    """The decimal ids ``flux submit --cc`` printed, one a line (``None``: a line is not one).

    >>> submitted_ids("ƒ2\\nƒ3\\n")
    ['1', '2']
    """
    ids = []
    for line in stdout.splitlines():
        if line.strip():
            parsed = FluxJobId.parse(line.strip())
            if isinstance(parsed, Failure):
                return None
            ids.append(parsed.unwrap().dec())
    return ids


#: Flux "arrays": ``flux submit --cc=0-(N-1)`` replicates one job N times (flux-submit(1):
#: ``FLUX_JOB_CC`` is set in each copy, ``{cc}`` in options and commands is replaced by it);
#: each copy is a job with its own id. flux-submit has no limit on how many copies run at
#: once, so a cap is refused.
ARRAY: Final = ArraySyntax(
    index_var="FLUX_JOB_CC",
    base=0,
    task_id=None,
    no_cap="flux submit --cc (flux-submit(1) has no limit on how many copies run at once)",
    submitted=submitted_ids,
)
#: Characters ``--cc`` reads in options and commands: ``{cc}`` is replaced (Python format).
_CC_BRACES: Final = ("{", "}")


def _array_launch(
    entity: Ensemble, members: Sequence[Model], world: World
) -> Result[tuple[Launch, ...], Invalid]:
    """One ``flux submit --cc`` of the task script for single-task like members."""
    errors = check_text("ensemble.path", entity.path)  # the copies' files live there
    for ch in _CC_BRACES:
        if ch in entity.path:
            errors.append(ForbiddenCharacter("ensemble.path", entity.path, ch))
            break
    out, err = output_paths(entity.path, entity.name, world.run_index)
    stem = out[: -len(".out")]
    files, body, problems = array_files(members, stem, ARRAY, world.run_index, direct=True)
    errors += problems
    if errors:
        return Failure(Invalid.of(errors))
    tool = world.tools.get(TOOL, TOOL)
    script_path = stem + ".flux-tasks.sh"
    files[script_path] = "\n".join(["#!/bin/bash", *body]) + "\n"
    argv = (
        tool,
        "submit",
        f"--cc={ARRAY.base}-{ARRAY.base + len(members) - 1}",
        f"--job-name={entity.name}",
        f"--cwd={entity.path}",
        f"--output={stem}.{{cc}}.out",
        f"--error={stem}.{{cc}}.err",
        "bash",
        script_path,
    )
    names = tuple(m.name for m in members)
    launch = Launch(
        name=entity.name,
        kind="Ensemble",
        members=names,
        cwd=entity.path,
        stdout=out,
        stderr=err,
        command=Command(argv=argv, cwd=entity.path),
        files=files,
        mkdirs=tuple(dict.fromkeys([entity.path, *(m.path for m in members)])),
        facts=array_extra(ARRAY.base, names),
    )
    return Success((launch,))


def _flux_array_members(entity: Model | Ensemble) -> tuple[Model, ...] | None:
    """Like members that each run one task with no options (the copy is the task): an array."""
    members = array_members(entity)
    if members is None or not entity.path:
        return None
    rs = members[0].run_settings
    if rs.run_command not in (None, "flux") or job_options(rs) or rs.run_args:
        return None
    if members[0].batch_settings is not None:
        return None
    return members


def plan_flux(
    entity: Model | Ensemble, world: World, *, max_parallel: int | None = None
) -> Result[tuple[Launch, ...], Invalid]:
    """The launches that run ``entity`` under Flux: ``flux submit`` per model, or one
    ``flux batch`` script when the entity has batch settings; like single-task members of an
    ensemble are one ``flux submit --cc`` (:data:`ARRAY`), which cannot take a cap
    (``max_parallel``).

    >>> m = Model(name="m", path="/w/m", run_settings=RunSettings(exe="hostname", ntasks=2))
    >>> plan_flux(m, World(exp_path="/w")).unwrap()[0].command.argv
    ('flux', 'submit', '-n', '2', '--job-name=m', '--cwd=/w/m', '--output=/w/m/m.out', \
'--error=/w/m/m.err', 'hostname')
    """
    errors: list[ValidationError] = []
    if isinstance(entity, Model):
        errors += _model_problems(entity, "model")
        if entity.batch_settings is not None:
            errors += _batch_problems(entity.batch_settings, "model.batch_settings")
            errors += script_text_problems(READER, entity, "model", errors)
        if errors:
            return Failure(Invalid.of(errors))
        if entity.batch_settings is not None:
            launch = _batch_launch(
                entity.name, "Model", [entity], entity.batch_settings, path=entity.path, world=world
            )
            return Success((launch,))
        return Success((_submit_launch(entity, world, "Model"),))
    errors += check_name("ensemble.name", entity.name)
    errors += _templates("ensemble.path", entity.path)
    seen: set[str] = set()
    for i, member in enumerate(entity.members):
        field = f"ensemble.members[{i}]"
        errors += _model_problems(member, field)
        if member.name in seen:
            errors.append(BadName(f"{field}.name", member.name, "unique within the ensemble"))
        seen.add(member.name)
        if entity.batch_settings is None and member.batch_settings is not None:
            errors += _batch_problems(member.batch_settings, f"{field}.batch_settings")
            errors += script_text_problems(READER, member, field, errors)
        if entity.batch_settings is not None and member.batch_settings is not None:
            errors.append(
                ConflictingOptions(
                    f"{field}.batch_settings", "set", "the ensemble's batch_settings"
                )
            )
    if entity.batch_settings is not None:
        # the job's script and output files live in the ensemble's directory
        if not entity.path:
            errors.append(EmptyValue("ensemble.path", entity.path))
        errors += check_text("ensemble.path", entity.path)
        errors += _batch_problems(entity.batch_settings, "ensemble.batch_settings")
        errors += script_text_problems(READER, entity, "ensemble", errors)
    arrayed = _flux_array_members(entity)
    if arrayed is not None and max_parallel is not None:
        errors.append(Unsupported("max_parallel", max_parallel, str(ARRAY.no_cap)))
    if errors:
        return Failure(Invalid.of(errors))
    if arrayed is not None:
        return _array_launch(entity, arrayed, world)
    if entity.batch_settings is not None:
        launch = _batch_launch(
            entity.name,
            "Ensemble",
            entity.members,
            entity.batch_settings,
            path=entity.path,
            world=world,
        )
        return Success((launch,))
    launches: list[Launch] = []
    for member in entity.members:
        if member.batch_settings is not None:
            launches.append(
                _batch_launch(
                    member.name,
                    "Model",
                    [member],
                    member.batch_settings,
                    path=member.path,
                    world=world,
                )
            )
        else:
            launches.append(_submit_launch(member, world, "Model"))
    return Success(tuple(launches))


# =========================================================================== the seam

#: How a Flux command says the instance cannot be reached (flux(1): no FLUX_URI, broker down).
_UNREACHABLE: Final = re.compile(
    r"unable to connect|connection refused|broker socket|No such file or directory.*local",
    re.IGNORECASE,
)
#: What flux-cancel(1) reports for a job that has already ended (or been purged), and what
#: flux-jobs(1) prints for an id it does not know (flux/job/list.py: "JobID <id> unknown").
_ALREADY_ENDED: Final = re.compile(
    r"job is inactive|unknown job id|JobID \S+ unknown", re.IGNORECASE
)
#: The id in flux-cancel's per-job error (``flux-cancel: ERROR: ƒ2X: job is inactive``).
_ENDED_ID: Final = re.compile(r"(\S+): (?:job is inactive|unknown job id)", re.IGNORECASE)


def unreachable(text: str) -> bool:
    """Whether a Flux tool failed because the instance could not be reached.

    >>> unreachable("flux-jobs: ERROR: Unable to connect to Flux: broker socket")
    True
    """
    return bool(_UNREACHABLE.search(text))


def _only_ended(stderr: str) -> bool:
    """Whether every error a Flux tool printed says the job had already ended (or is unknown)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return bool(lines) and all(_ALREADY_ENDED.search(line) for line in lines)


def _ids(job_ids: Iterable[str]) -> dict[str, FluxJobId]:
    """The job ids that are Flux ids (a handle's id is decimal), parsed."""
    out: dict[str, FluxJobId] = {}
    for job_id in job_ids:
        parsed = FluxJobId.parse(job_id)
        if isinstance(parsed, Success):
            out[job_id] = parsed.unwrap()
    return out


def read_submit(done: Completed) -> Result[str, str]:
    """The decimal job id ``flux submit`` / ``flux batch`` printed.

    >>> read_submit(Completed(("flux", "submit"), 0, "ƒ2\\n", "")).unwrap()
    '1'
    """
    parsed = parse_flux_submit(done.stdout)
    if isinstance(parsed, Failure):
        return Failure("a job id")
    return Success(parsed.unwrap().dec())


def jobs_argv(
    handles: Sequence[Handle], tools: Mapping[str, str], _tz: object = None
) -> tuple[str, ...] | None:
    """One ``flux jobs --json`` for the handles whose ids are Flux ids (``None``: none is).

    >>> jobs_argv([Handle(launcher="flux", name="m", job_id="x")], {"flux": "flux"}) is None
    True
    """
    ids = _ids(h.job_id for h in handles)
    if not ids:
        return None
    return flux_jobs_argv(list(dict.fromkeys(ids.values())), tool=tools[TOOL])


def read_jobs(done: Completed, handles: Sequence[Handle]) -> Result[Mapping[str, JobState], str]:
    """States by handle id from ``flux jobs --json``; ids Flux does not know are absent (it
    says so on stderr and exits 1: an answer, not a failure).

    >>> read_jobs(Completed(("flux", "jobs"), 1, "", "JobID 7 unknown\\n"), [])
    <Success: {}>
    """
    parsed = parse_flux_jobs(done.stdout)
    if isinstance(parsed, Failure):
        if done.returncode != 0 and not done.stdout.strip() and _only_ended(done.stderr):
            return Success({})
        return Failure("flux jobs --json")
    states = parsed.unwrap()
    ids = _ids(h.job_id for h in handles)
    return Success({j: states[i] for j, i in ids.items() if i in states})


def cancel_argv(handles: Sequence[Handle], tools: Mapping[str, str]) -> tuple[str, ...] | None:
    """One ``flux cancel`` for the handles whose ids are Flux ids (``None``: none is).

    >>> cancel_argv([Handle(launcher="flux", name="m", job_id="1234")], {"flux": "flux"})
    ('flux', 'cancel', '1234')
    """
    ids = _ids(h.job_id for h in handles)
    return flux_cancel_argv(dict.fromkeys(ids.values()), tool=tools[TOOL]) if ids else None


def read_cancel(done: Completed, job_ids: Sequence[str]) -> frozenset[str] | None:
    """The ids ``flux cancel`` acted on (not those it says had ended); ``None`` when it failed.

    >>> err = "flux-cancel: ERROR: ƒ2: job is inactive\\n"
    >>> sorted(read_cancel(Completed(("flux", "cancel", "1", "5"), 1, "", err), ["1", "5"]))
    ['5']
    """
    if done.returncode != 0 and not _only_ended(done.stderr):
        return None
    ended = {
        FluxJobId.parse(m.group(1)).map(lambda i: i.dec()).value_or("")
        for m in _ENDED_ID.finditer(done.stderr)
    }
    return frozenset(j for j, i in _ids(job_ids).items() if i.dec() not in ended)


#: Flux: ``flux submit`` / ``flux batch`` to start, one ``flux jobs --json`` per poll, one
#: ``flux cancel`` per stop. A handle's id is the decimal job id (every Flux tool accepts it).
SCHEDULER: Final = Scheduler(
    name="flux",
    submit_tool=TOOL,
    tools=(TOOL,),
    plan=plan_flux,
    parse_submit=read_submit,
    queries=(StatusQuery(argv=jobs_argv, read=read_jobs),),
    cancel_argv=cancel_argv,
    read_cancel=read_cancel,
    unavailable=unreachable,
    parallel_launcher="flux",
    array=ARRAY,
)

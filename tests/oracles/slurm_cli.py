"""Test-only model of how Slurm 22.05's commands read their argv.

Independent of ``smartsim``: nothing is imported from the library and nothing is derived from its
tables. Sources, in order of authority:

- the Slurm 22.05.8 man pages salloc(1), sbatch(1), srun(1), squeue(1), sacct(1), scancel(1)
  (SYNOPSIS and OPTIONS sections; Debian bookworm's ``slurm-client`` 22.05.8 copies were read);
- Slurm's source: ``src/common/slurm_opt.c`` (the ``common_options`` table: one
  ``slurm_cli_opt_t`` per option with its ``has_arg``; ``slurm_option_table_create`` builds the
  getopt tables and the optstring, which starts with ``+``), ``src/sbatch/opt.c``
  (``process_options_first_pass``), ``src/sbatch/sbatch.c``, ``src/salloc/salloc.c`` and
  ``src/srun/libsrun/opt.c`` (the ``:`` hetjob loops), ``src/squeue/opts.c``,
  ``src/common/parse_time.c`` (``time_str2secs``, ``_is_valid_timespec``), and
  ``find_quote_token`` (the ``--export`` tokenizer used by srun's ``_build_user_env`` and by
  sbatch);
- glibc 2.36 ``getopt_long`` (posix/getopt.c: ``process_long_option``, ``_getopt_internal_r``).

The option tables below were written from those sources and then checked entry by entry against
the tables that Debian's 22.05.8 ``salloc``/``sbatch``/``srun``/``squeue``/``sacct``/``scancel``
binaries hand to ``getopt_long`` (has_arg, short letter, aliases), and the behaviours marked
"observed" were run against those binaries (with no controller: option parsing happens first).

Model rules (each cited where it is enforced):

- getopt_long, not getopt_long_only: ``-N 5`` ``-N5`` ``--nodes 5`` ``--nodes=5`` are the same;
  short options cluster (``-vN5``); ``--`` ends the options and is dropped; ``-`` is a word.
- Long names may be abbreviated to any unique prefix (glibc); prefixes shared by options that
  differ in has_arg or in getopt ``val`` are ambiguous and rejected (``--cpu``).
- An *optional* argument is only ever attached (``--exclusive=user``, ``-I5``): a separate word
  is not consumed, so ``srun --exclusive user hostname`` runs ``user``.
- salloc/sbatch/srun optstrings start with ``+``: the first non-option word ends the options;
  squeue/sacct/scancel permute (GNU default, ``POSIXLY_CORRECT`` assumed unset).
- ``:`` words separate heterogeneous components (salloc/sbatch/srun; see each parser).

Results are frozen values: a :class:`ParsedCommand` holds one :class:`Component` per hetjob
component, each with its ``(canonical long name, value-or-None)`` pairs in argv order and its
program argv. Anything Slurm rejects raises :class:`OracleError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, final

__all__ = [
    "TOOLS",
    "ArgKind",
    "ArraySpec",
    "Component",
    "ErrorKind",
    "ExportSpec",
    "Opt",
    "OptionForm",
    "OracleError",
    "ParsedCommand",
    "option_kind",
    "option_names",
    "parse_argv",
    "parse_array",
    "parse_export",
    "parse_options",
    "parse_time",
    "parse_time_minutes",
    "short_optstring",
]

ArgKind = Literal["none", "required", "optional"]
ErrorKind = Literal[
    "bad-pattern",
    "unknown-tool",
    "unknown-option",
    "ambiguous-option",
    "missing-argument",
    "unexpected-argument",
    "no-command",
    "script-arguments-with-wrap",
    "extra-operand",
    "bad-time",
    "bad-export",
    "bad-array",
    "bad-script",
    "lexer",
    "invalid-directive",
]


@final
class OracleError(ValueError):
    """Slurm would reject this input; ``kind`` names the rule, ``word`` the offending word."""

    def __init__(self, kind: ErrorKind, message: str, word: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.word = word


# ---------------------------------------------------------------------------------------------
# Option tables.
#
# Columns: long name, short letter ("-" = none), has_arg, tools (a = salloc, b = sbatch,
# r = srun). Written from the OPTIONS sections of salloc(1), sbatch(1), srun(1) and from the
# `common_options` table of slurm_opt.c; entries marked "table-only" are accepted by 22.05.8 but
# not documented in its man pages (aliases and hidden options).
# ---------------------------------------------------------------------------------------------
_ALLOCATOR_TABLE = """
accel-bind            -  required  r
account               A  required  abr
acctg-freq            -  required  abr
array                 a  required  b     # sbatch(1): -a, --array=<indexes>; sbatch only
batch                 -  required  b
bb                    -  required  abr
bbf                   -  required  abr
bcast                 -  optional  r     # srun(1): --bcast[=<dest_path>]
bcast-exclude         -  required  r
begin                 b  required  abr   # salloc's optstring has -b too; salloc(1) omits it
bell                  -  none      a
chdir                 D  required  abr
cluster               -  required  abr   # table-only alias of --clusters (its own getopt val)
cluster-constraint    -  required  abr
clusters              M  required  abr
comment               -  required  abr
compress              -  optional  r     # srun(1): --compress[=type]
constraint            C  required  abr
container             -  required  abr
context               -  required  abr   # table-only (SELinux context)
contiguous            -  none      abr
core-spec             S  required  abr
cores-per-socket      -  required  abr
cpu-bind              -  required  r     # srun only in 22.05
cpu-freq              -  required  abr
cpu_bind              -  required  r     # table-only alias of --cpu-bind (same getopt val)
cpus-per-gpu          -  required  abr
cpus-per-task         c  required  abr
deadline              -  required  abr
debugger-test         -  none      r     # table-only
delay-boot            -  required  abr
dependency            d  required  abr
disable-status        X  none      r
distribution          m  required  abr
epilog                -  required  r
error                 e  required  br
exact                 -  none      r
exclude               x  required  abr
exclusive             -  optional  abr   # all three: --exclusive[={user|mcs}]
export                -  required  br    # salloc has no --export
export-file           -  required  b
extra-node-info       B  required  abr
get-user-env          -  optional  ab    # --get-user-env[=timeout][mode]
gid                   -  required  abr
gpu-bind              -  required  abr
gpu-freq              -  required  abr
gpus                  G  required  abr
gpus-per-node         -  required  abr
gpus-per-socket       -  required  abr
gpus-per-task         -  required  abr
gres                  -  required  abr
gres-flags            -  required  abr
help                  h  none      abr
het-group             -  required  r
hint                  -  required  abr
hold                  H  none      abr
ignore-pbs            -  none      b
immediate             I  optional  ar    # -I, --immediate[=<seconds>]; sbatch has none
input                 i  required  br
interactive           -  none      r     # table-only
job-name              J  required  abr
jobid                 -  required  r
kill-command          K  optional  a     # salloc(1): -K, --kill-command[=signal]
kill-on-bad-exit      K  optional  r     # srun(1): -K, --kill-on-bad-exit[=0|1]
kill-on-invalid-dep   -  required  b
label                 l  none      r
licenses              L  required  abr
mail-type             -  required  abr
mail-user             -  required  abr
mcs-label             -  required  abr
mem                   -  required  abr
mem-bind              -  required  abr
mem-per-cpu           -  required  abr
mem-per-gpu           -  required  abr
mincpus               -  required  abr
mpi                   -  required  r     # srun only
msg-timeout           -  required  r
multi-prog            -  none      r
network               -  required  abr
nice                  -  optional  abr   # --nice[=adjustment]
no-allocate           Z  none      r
no-bell               -  none      a
no-kill               k  optional  abr   # -k, --no-kill[=off]
no-requeue            -  none      b
no-shell              -  none      a
nodefile              F  required  abr
nodelist              w  required  abr
nodes                 N  required  abr
ntasks                n  required  abr
ntasks-per-core       -  required  abr
ntasks-per-gpu        -  required  abr
ntasks-per-node       -  required  abr
ntasks-per-socket     -  required  abr
ntasks-per-tres       -  required  abr   # table-only
open-mode             -  required  br
output                o  required  br
overcommit            O  none      abr
overlap               -  optional  r     # documented as a flag, but has_arg is optional in 22.05
oversubscribe         s  none      abr
pack-group            -  required  r     # table-only alias of --het-group (same getopt val)
parsable              -  none      b
partition             p  required  abr
power                 -  required  abr
prefer                -  required  abr
preserve-env          E  none      r
priority              -  required  abr
profile               -  required  abr
prolog                -  required  r
propagate             -  optional  br    # --propagate[=rlimit[,rlimit...]]
pty                   -  none      r     # no argument in 22.05 (--pty= is rejected)
qos                   q  required  abr
quiet                 Q  none      abr
quit-on-interrupt     -  none      r
reboot                -  none      abr
relative              r  required  r
requeue               -  none      b     # sbatch(1): --requeue takes no argument
reservation           -  required  abr
resv-ports            -  optional  r     # --resv-ports[=count]
send-libs             -  optional  r     # --send-libs[=yes|no]
signal                -  required  abr
slurmd-debug          -  required  r
sockets-per-node      -  required  abr
spread-job            -  none      abr
switches              -  required  abr
task-epilog           -  required  r
task-prolog           -  required  r
tasks-per-node        -  required  abr   # table-only alias of --ntasks-per-node (same val)
test-only             -  none      br
thread-spec           -  required  abr
threads               T  required  r
threads-per-core      -  required  abr
time                  t  required  abr
time-min              -  required  abr
tmp                   -  required  abr
uid                   -  required  abr
unbuffered            u  none      r
usage                 -  none      abr
use-min-nodes         -  none      abr
verbose               v  none      abr
version               V  none      abr
wait                  W  none      b     # sbatch(1): -W, --wait (no argument)
wait                  W  required  r     # srun(1): -W, --wait=<seconds>
wait-all-nodes        -  required  ab
wckey                 -  required  abr
whole                 -  none      r     # table-only
wrap                  -  required  b
x11                   -  optional  ar    # --x11[={all|first|last}] (built with X11 support)
"""

# Aliases sharing the canonical option's getopt val (glibc never finds them ambiguous with it).
_SAME_VAL_ALIASES: Mapping[str, str] = {
    "cpu_bind": "cpu-bind",
    "tasks-per-node": "ntasks-per-node",
    "pack-group": "het-group",
}
# Aliases with a getopt val of their own (so a prefix of both is ambiguous).
_OWN_VAL_ALIASES: Mapping[str, str] = {"cluster": "clusters"}

# squeue(1) / sacct(1) / scancel(1): their own getopt tables, optstrings without "+".
_SQUEUE_TABLE = """
accounts        A  required
all             a  none
array           r  none
array-unique    -  none
Format          O  required
format          o  required
federation      -  none
help            -  none
hide            -  none
iterate         i  required
jobs            j  optional   # squeue(1): -j, --jobs=<job_id_list>; has_arg is optional
local           -  none
long            l  none
licenses        L  required
cluster         M  required
clusters        M  required
me              -  none
name            n  required
noconvert       -  none
node            w  required
nodes           w  required
nodelist        w  required
noheader        h  none
partitions      p  required   # squeue(1) spells it --partition: a unique prefix of this name
priority        P  none
qos             q  required
reservation     R  required
sib             -  none
sibling         -  none
sort            S  required
start           -  none
steps           s  optional   # squeue(1): -s, --steps (optional step list)
states          t  required
usage           -  none
user            u  required
users           u  required
verbose         v  none
version         V  none
json            -  none
yaml            -  none
"""
_SACCT_TABLE = """
allusers        a  none
accounts        A  required
allocations     X  none
brief           b  none
batch-script    B  none
completion      c  none
constraints     C  required
delimiter       -  required
duplicates      D  none
federation      -  none
helpformat      e  none
help-fields     e  none
endtime         E  required
env-vars        -  none
file            f  required
flags           F  required
gid             g  required
group           g  required
help            h  none
local           -  none
name            -  required
nnodes          i  required
ncpus           I  required
jobs            j  required
timelimit-min   k  required
timelimit-max   K  required
long            l  none
allclusters     L  none
cluster         M  required
clusters        M  required
nodelist        N  required
noconvert       -  none
units           -  required
noheader        n  none
fields          o  required
format          o  required
parsable        p  none
parsable2       P  none
qos             q  required
partition       r  required
reason          -  required   # getopt val 'R', but -R is not in sacct's optstring
state           s  required
starttime       S  required
truncate        T  none
uid             u  required
use-local-uid   -  none
usage           U  none
user            u  required
verbose         v  none
version         V  none
wckeys          W  required
whole-hetjob    -  optional   # sacct(1): --whole-hetjob[=yes|no]
associations    x  required
json            -  none
yaml            -  none
"""
_SCANCEL_TABLE = """
account         A  required
batch           b  none
ctld            -  none
full            f  none
help            -  none
hurry           H  none
interactive     i  none
cluster         M  required
clusters        M  required
jobname         n  required
me              -  none
name            n  required
nodelist        w  required
partition       p  required
qos             q  required
quiet           Q  none
reservation     R  required
sibling         -  required
signal          s  required
state           t  required
usage           -  none
user            u  required
verbose         v  none
version         V  none
wckey           -  required
"""
# Canonical names where several long names share one short letter (the man page's spelling).
_SHARED_LETTER_CANONICAL: Mapping[str, Mapping[str, str]] = {
    "squeue": {"M": "clusters", "w": "nodelist", "u": "user"},
    "sacct": {"M": "clusters", "e": "helpformat", "g": "gid", "o": "format", "u": "user"},
    "scancel": {"M": "clusters", "n": "name"},
}
_SHARED_NAME_CANONICAL: Mapping[str, Mapping[str, str]] = {
    "squeue": {"sib": "sibling"},
}
# Short options present in an optstring without any long name (squeue's "U:", sacct's "t").
_SHORT_ONLY: Mapping[str, Mapping[str, ArgKind]] = {
    "squeue": {"U": "required"},
    "sacct": {"t": "none"},
}

_KINDS: Mapping[str, ArgKind] = {"none": "none", "required": "required", "optional": "optional"}
_TOOL_LETTERS: Mapping[str, str] = {"a": "salloc", "b": "sbatch", "r": "srun"}


@dataclass(frozen=True)
class _Spec:
    name: str  # the long name as getopt_long matches it ("" for a short-only option)
    kind: ArgKind
    short: str | None
    canonical: str
    ident: str  # glibc's ambiguity test compares (has_arg, val); equal idents = equal val


@dataclass(frozen=True)
class _Grammar:
    tool: str
    longs: tuple[_Spec, ...]  # in table order
    shorts: Mapping[str, _Spec]
    permute: bool


def _rows(table: str) -> Iterator[list[str]]:
    for raw in table.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            yield line.split()


def _allocator_grammars() -> dict[str, _Grammar]:
    longs: dict[str, list[_Spec]] = {tool: [] for tool in _TOOL_LETTERS.values()}
    for name, short, kind, tools in _rows(_ALLOCATOR_TABLE):
        letter = None if short == "-" else short
        canonical = _SAME_VAL_ALIASES.get(name) or _OWN_VAL_ALIASES.get(name) or name
        ident = letter or _SAME_VAL_ALIASES.get(name) or name
        for code in tools:
            longs[_TOOL_LETTERS[code]].append(
                _Spec(name, _KINDS[kind], letter, canonical, f"{_KINDS[kind]}:{ident}")
            )
    grammars = {}
    for tool, specs in longs.items():
        shorts = {s.short: s for s in specs if s.short is not None}
        grammars[tool] = _Grammar(tool, tuple(specs), shorts, permute=False)
    return grammars


def _query_grammar(tool: str, table: str) -> _Grammar:
    by_letter = _SHARED_LETTER_CANONICAL.get(tool, {})
    by_name = _SHARED_NAME_CANONICAL.get(tool, {})
    specs = []
    for name, short, kind in _rows(table):
        letter = None if short == "-" else short
        canonical = by_letter.get(letter, name) if letter else by_name.get(name, name)
        specs.append(_Spec(name, _KINDS[kind], letter, canonical, f"{kind}:{letter or canonical}"))
    shorts: dict[str, _Spec] = {}
    for spec in specs:
        if spec.short is not None and spec.short not in shorts:
            shorts[spec.short] = spec
    for letter, only_kind in _SHORT_ONLY.get(tool, {}).items():
        shorts[letter] = _Spec("", only_kind, letter, f"-{letter}", f"{only_kind}:{letter}")
    return _Grammar(tool, tuple(specs), shorts, permute=True)


_GRAMMARS: Mapping[str, _Grammar] = {
    **_allocator_grammars(),
    "squeue": _query_grammar("squeue", _SQUEUE_TABLE),
    "sacct": _query_grammar("sacct", _SACCT_TABLE),
    "scancel": _query_grammar("scancel", _SCANCEL_TABLE),
}
TOOLS: tuple[str, ...] = tuple(sorted(_GRAMMARS))


def _grammar(tool: str) -> _Grammar:
    try:
        return _GRAMMARS[tool]
    except KeyError:
        raise OracleError("unknown-tool", f"no model of {tool!r}", tool) from None


def option_names(tool: str) -> frozenset[str]:
    """Every long name ``tool`` accepts in full (aliases included)."""
    return frozenset(s.name for s in _grammar(tool).longs)


def option_kind(tool: str, name: str) -> ArgKind:
    """has_arg of the long option ``name`` (exact name, alias or canonical) for ``tool``."""
    for spec in _grammar(tool).longs:
        if name in (spec.name, spec.canonical):
            return spec.kind
    raise OracleError("unknown-option", f"{tool}: no option --{name}", name)


def short_optstring(tool: str) -> str:
    """The getopt optstring equivalent to the table (``+`` first for salloc/sbatch/srun)."""
    grammar = _grammar(tool)
    suffix = {"none": "", "required": ":", "optional": "::"}
    body = "".join(f"{c}{suffix[s.kind]}" for c, s in sorted(grammar.shorts.items()))
    return body if grammar.permute else f"+{body}"


# ---------------------------------------------------------------------------------------------
# Parsed values.
# ---------------------------------------------------------------------------------------------
class Opt(NamedTuple):
    """One option occurrence: canonical long name and its value (None: given without one)."""

    name: str
    value: str | None


class OptionForm(NamedTuple):
    """How an option was written: ``spelled`` as typed (``-N``, ``--nodes``, ``--nod``) and the
    value's form: ``flag`` (no value), ``attached`` (``-N5``), ``separate`` (``-N 5``,
    ``--nodes 5``) or ``equals`` (``--nodes=5``)."""

    spelled: str
    form: Literal["flag", "attached", "separate", "equals"]


@final
@dataclass(frozen=True)
class Component:
    """One hetjob component: its options in argv order and its program argv.

    ``forms`` runs parallel to ``options`` and is left out of equality, so ``-N5``, ``-N 5``,
    ``--nodes 5`` and ``--nodes=5`` parse to equal components.
    """

    options: tuple[Opt, ...]
    program: tuple[str, ...] = ()
    forms: tuple[OptionForm, ...] = field(default=(), compare=False, repr=False)

    def values(self, name: str) -> tuple[str | None, ...]:
        """Every value given to ``name`` (canonical long name), in order."""
        return tuple(o.value for o in self.options if o.name == name)

    def has(self, name: str) -> bool:
        return any(o.name == name for o in self.options)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value of ``name`` (later options override earlier ones in Slurm)."""
        found = self.values(name)
        return found[-1] if found else default

    def as_dict(self) -> dict[str, str | None]:
        """Last value per option name (what Slurm ends up using for single-valued options)."""
        return {o.name: o.value for o in self.options}


@final
@dataclass(frozen=True)
class ParsedCommand:
    """A whole command line as the tool reads it.

    For salloc and sbatch the command/script belongs to the last component (its ``program``);
    for srun every component has its own program; squeue/sacct/scancel have one component
    whose ``program`` holds the operands (job ids for scancel).
    """

    tool: str
    components: tuple[Component, ...]
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def options(self) -> tuple[Opt, ...]:
        """The first component's options (the only component unless heterogeneous)."""
        return self.components[0].options

    @property
    def program(self) -> tuple[str, ...]:
        """The last component's program (sbatch: script and its arguments)."""
        return self.components[-1].program

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.components[0].get(name, default)

    def has(self, name: str) -> bool:
        return self.components[0].has(name)

    @property
    def empty_values(self) -> tuple[tuple[int, str], ...]:
        """(component index, option name) for every option given an empty value.

        getopt accepts ``--partition ''`` and ``--partition=`` alike; whether Slurm then rejects
        the empty value depends on the option (``--nodes=`` fails in the option's set function,
        ``--partition ''`` passes the client and is left to the controller, ``--exclusive=``
        means plain ``--exclusive``; all observed with 22.05.8). The oracle parses them and
        lists them here so a property can demand that a builder never emits one.
        """
        return tuple(
            (i, o.name)
            for i, comp in enumerate(self.components)
            for o in comp.options
            if o.value == ""
        )


# ---------------------------------------------------------------------------------------------
# getopt_long (glibc 2.36, posix/getopt.c), restricted to what these tools use.
# ---------------------------------------------------------------------------------------------
class _Scan(NamedTuple):
    options: tuple[Opt, ...]
    forms: tuple[OptionForm, ...]
    stop: int  # index of the first word not consumed as an option (== len(words) at the end)
    operands: tuple[str, ...]  # permuting tools only: non-option words in order


def _match_long(grammar: _Grammar, name: str, *, allow_abbrev: bool) -> _Spec:
    for spec in grammar.longs:
        if spec.name == name:
            return spec
    candidates = [s for s in grammar.longs if s.name and s.name.startswith(name)]
    if not candidates or not allow_abbrev:
        raise OracleError(
            "unknown-option", f"{grammar.tool}: unrecognized option '--{name}'", f"--{name}"
        )
    # process_long_option: a later prefix match that differs from the first in has_arg or val
    # makes the abbreviation ambiguous; matches that agree (aliases) are fine.
    if any(c.ident != candidates[0].ident for c in candidates[1:]):
        possibilities = " ".join(f"'--{c.name}'" for c in candidates)
        raise OracleError(
            "ambiguous-option",
            f"{grammar.tool}: option '--{name}' is ambiguous; possibilities: {possibilities}",
            f"--{name}",
        )
    return candidates[0]


def _scan(grammar: _Grammar, words: Sequence[str], start: int, *, allow_abbrev: bool) -> _Scan:
    options: list[Opt] = []
    forms: list[OptionForm] = []
    operands: list[str] = []
    tool = grammar.tool
    i = start
    while i < len(words):
        word = words[i]
        if word == "--":
            i += 1
            if grammar.permute:
                operands.extend(words[i:])
                i = len(words)
            break
        if word == "-" or not word.startswith("-"):
            if not grammar.permute:
                break  # optstring "+...": stop at the first non-option
            operands.append(word)
            i += 1
            continue
        if word.startswith("--"):
            name, eq, attached = word[2:].partition("=")
            spec = _match_long(grammar, name, allow_abbrev=allow_abbrev)
            spelled = f"--{name}"
            if spec.kind == "none":
                if eq:
                    raise OracleError(
                        "unexpected-argument",
                        f"{tool}: option '--{spec.name}' doesn't allow an argument",
                        word,
                    )
                options.append(Opt(spec.canonical, None))
                forms.append(OptionForm(spelled, "flag"))
            elif eq:
                options.append(Opt(spec.canonical, attached))
                forms.append(OptionForm(spelled, "equals"))
            elif spec.kind == "optional":
                # An optional argument is only taken from "=value"; the next word stays a word.
                options.append(Opt(spec.canonical, None))
                forms.append(OptionForm(spelled, "flag"))
            elif i + 1 < len(words):
                i += 1
                options.append(Opt(spec.canonical, words[i]))
                forms.append(OptionForm(spelled, "separate"))
            else:
                raise OracleError(
                    "missing-argument",
                    f"{tool}: option '--{spec.name}' requires an argument",
                    word,
                )
            i += 1
            continue
        # A cluster of short options: "-vN5", "-lK1", "-I".
        j = 1
        while j < len(word):
            letter = word[j]
            short = grammar.shorts.get(letter)
            if short is None:
                raise OracleError(
                    "unknown-option", f"{tool}: invalid option -- '{letter}'", f"-{letter}"
                )
            rest = word[j + 1 :]
            spelled = f"-{letter}"
            if short.kind == "none":
                options.append(Opt(short.canonical, None))
                forms.append(OptionForm(spelled, "flag"))
                j += 1
                continue
            if rest:
                options.append(Opt(short.canonical, rest))
                forms.append(OptionForm(spelled, "attached"))
            elif short.kind == "optional":
                options.append(Opt(short.canonical, None))
                forms.append(OptionForm(spelled, "flag"))
            elif i + 1 < len(words):
                i += 1
                options.append(Opt(short.canonical, words[i]))
                forms.append(OptionForm(spelled, "separate"))
            else:
                raise OracleError(
                    "missing-argument",
                    f"{tool}: option requires an argument -- '{letter}'",
                    spelled,
                )
            break
        i += 1
    return _Scan(tuple(options), tuple(forms), i, tuple(operands))


def _abbreviation_warnings(grammar: _Grammar, scans: Sequence[_Scan]) -> tuple[str, ...]:
    full = {s.name for s in grammar.longs}
    return tuple(
        f"abbreviated long option {f.spelled}"
        for scan in scans
        for f in scan.forms
        if f.spelled.startswith("--") and f.spelled[2:] not in full
    )


# ---------------------------------------------------------------------------------------------
# Per-tool argv structure.
# ---------------------------------------------------------------------------------------------
def parse_argv(argv: Sequence[str], *, allow_abbrev: bool = True) -> ParsedCommand:
    """Parse ``argv`` (``argv[0]`` names the tool, a path is fine) as that Slurm tool would.

    >>> parse_argv(["srun", "-N2", "--exclusive", "user", "hostname"]).program
    ('user', 'hostname')

    ``allow_abbrev=False`` rejects abbreviated long names that glibc would accept.
    Raises :class:`OracleError` for whatever the tool rejects while reading its argv.
    """
    if not argv:
        raise OracleError("unknown-tool", "empty argv")
    tool = argv[0].rsplit("/", 1)[-1]
    grammar = _grammar(tool)
    words = tuple(argv)
    if tool == "srun":
        return _parse_srun(grammar, words, allow_abbrev=allow_abbrev)
    if tool == "salloc":
        return _parse_salloc(grammar, words, allow_abbrev=allow_abbrev)
    if tool == "sbatch":
        return _parse_sbatch(grammar, words, allow_abbrev=allow_abbrev)
    return _parse_query(grammar, words, allow_abbrev=allow_abbrev)


def parse_options(tool: str, args: Sequence[str], *, allow_abbrev: bool = True) -> Component:
    """getopt_long over ``args`` (no argv[0]) for one component of ``tool``.

    The options are read up to where getopt stops (``--`` consumed); every word after that,
    ``:`` included, is returned as the component's ``program``. This is how sbatch reads the
    words of its ``#SBATCH`` directives (opt.c ``_set_options``).

    >>> parse_options("sbatch", ["-N2", "--", "x"])
    Component(options=(Opt(name='nodes', value='2'),), program=('x',))
    """
    grammar = _grammar(tool)
    words = (tool, *args)
    scan = _scan(grammar, words, 1, allow_abbrev=allow_abbrev)
    rest = scan.operands if grammar.permute else words[scan.stop :]
    return Component(scan.options, tuple(rest), scan.forms)


def _parse_srun(grammar: _Grammar, words: tuple[str, ...], *, allow_abbrev: bool) -> ParsedCommand:
    # srun(1) SYNOPSIS: srun [OPTIONS(0)... [executable(0) [args(0)...]]] [ : [OPTIONS(N)...]]
    # executable(N) [args(N)...]. Each component's options stop at its first non-option word;
    # its program runs up to the next ":" word (":" can never be a program argument), and the
    # next component's getopt restarts after it. Observed: `srun -N1 -- a : -N2 b` is two
    # components; `srun -n1 : -n2 hostname` is accepted (a component may have no program);
    # `srun -N1 hostname :` fails with "No command given to execute."
    components: list[Component] = []
    scans: list[_Scan] = []
    start = 1
    while True:
        scan = _scan(grammar, words, start, allow_abbrev=allow_abbrev)
        scans.append(scan)
        end = scan.stop
        while end < len(words) and words[end] != ":":
            end += 1
        components.append(Component(scan.options, words[scan.stop : end], scan.forms))
        if end >= len(words):
            break
        start = end + 1
    exempt = {"help", "usage", "version", "test-only"}
    if not components[-1].program and not any(
        o.name in exempt for c in components for o in c.options
    ):
        raise OracleError("no-command", "srun: fatal: No command given to execute.")
    return ParsedCommand("srun", tuple(components), _abbreviation_warnings(grammar, scans))


def _parse_salloc(
    grammar: _Grammar, words: tuple[str, ...], *, allow_abbrev: bool
) -> ParsedCommand:
    # salloc.c main(): after each component's getopt, a ":" at the stopping point starts the next
    # component; anything else there is the command, taken whole (":" words included, observed:
    # `salloc -N1 cmd : -N2` runs `cmd : -N2`). No command is fine (--no-shell, default shell).
    components: list[Component] = []
    scans: list[_Scan] = []
    start = 1
    while True:
        scan = _scan(grammar, words, start, allow_abbrev=allow_abbrev)
        scans.append(scan)
        if scan.stop < len(words) and words[scan.stop] == ":":
            components.append(Component(scan.options, (), scan.forms))
            start = scan.stop + 1
            continue
        components.append(Component(scan.options, words[scan.stop :], scan.forms))
        break
    return ParsedCommand("salloc", tuple(components), _abbreviation_warnings(grammar, scans))


def _parse_sbatch(
    grammar: _Grammar, words: tuple[str, ...], *, allow_abbrev: bool
) -> ParsedCommand:
    # sbatch.c/opt.c: process_options_first_pass() drops EVERY ":" word, runs getopt over what
    # is left and takes the words after the stop as the script and its arguments (so a ":" among
    # the script's arguments is silently lost). The second pass then walks the original argv,
    # truncated by the number of script words, splitting components at ":".
    local = tuple(w for w in words if w != ":")
    first = _scan(grammar, local, 1, allow_abbrev=allow_abbrev)
    script = local[first.stop :]
    if script and any(o.name == "wrap" for o in first.options):
        # sbatch(1) --wrap: "sbatch will wrap the specified command string in a simple "sh"
        # shell script"; opt.c: "Script arguments not permitted with --wrap option".
        raise OracleError(
            "script-arguments-with-wrap",
            "sbatch: error: Script arguments not permitted with --wrap option",
            script[0],
        )
    het = words[: len(words) - len(script)]
    components: list[Component] = []
    scans: list[_Scan] = []
    start = 1
    while True:
        scan = _scan(grammar, het, start, allow_abbrev=allow_abbrev)
        scans.append(scan)
        if scan.stop < len(het) and het[scan.stop] == ":":
            components.append(Component(scan.options, (), scan.forms))
            start = scan.stop + 1
            continue
        components.append(Component(scan.options, script, scan.forms))
        break
    return ParsedCommand("sbatch", tuple(components), _abbreviation_warnings(grammar, scans))


def _parse_query(grammar: _Grammar, words: tuple[str, ...], *, allow_abbrev: bool) -> ParsedCommand:
    scan = _scan(grammar, words, 1, allow_abbrev=allow_abbrev)
    options = scan.options
    operands = scan.operands
    if grammar.tool == "squeue" and operands:
        # squeue/opts.c: a leftover word completes a value-less -j/--jobs (else -s/--steps);
        # any other leftover is "Unrecognized option". Observed: `squeue -j 5 6` rejects "6".
        for flag in ("jobs", "steps"):
            index = next(
                (k for k, o in enumerate(options) if o.name == flag and o.value is None), None
            )
            if index is not None:
                options = (
                    *options[:index],
                    Opt(flag, operands[0]),
                    *options[index + 1 :],
                )
                operands = operands[1:]
                break
        if operands:
            raise OracleError(
                "extra-operand", f"squeue: error: Unrecognized option: {operands[0]}", operands[0]
            )
    component = Component(options, operands, scan.forms)
    return ParsedCommand(grammar.tool, (component,), _abbreviation_warnings(grammar, [scan]))


# ---------------------------------------------------------------------------------------------
# Value grammars.
# ---------------------------------------------------------------------------------------------
def _valid_timespec(text: str) -> bool:
    # parse_time.c _is_valid_timespec(): only digits, "-" and ":"; no "-" after a ":"; at least
    # one digit group; at most one "-" and two ":"; enough digit groups for the separators.
    groups = dashes = colons = 0
    in_digits = False
    for ch in text:
        if ch.isascii() and ch.isdigit():
            if not in_digits:
                groups += 1
                in_digits = True
        elif ch == "-":
            in_digits = False
            dashes += 1
            if colons:
                return False
        elif ch == ":":
            in_digits = False
            colons += 1
        else:
            return False
    if not groups or dashes > 1 or colons > 2:
        return False
    if dashes:
        return not ((colons == 1 and groups < 3) or (colons == 2 and groups < 4))
    return not ((colons == 1 and groups < 2) or (colons == 2 and groups < 3))


_UNLIMITED_WORDS = frozenset({"-1", "infinite", "unlimited"})


_INT_MAX = 2**31 - 1


def _time_seconds(text: str) -> int | None:
    seconds = _time_seconds_unchecked(text)
    # time_str2secs sums C ints and time_str2mins adds 59: beyond INT_MAX the limit Slurm
    # stores is garbage (observed: "189799831" became 2965290-19:24:00). Refused here.
    if seconds is not None and seconds + 59 > _INT_MAX:
        raise OracleError("bad-time", f"--time {text!r} overflows Slurm's int seconds", text)
    return seconds


def _time_seconds_unchecked(text: str) -> int | None:
    if text.lower() in _UNLIMITED_WORDS:
        return None
    if not text or not _valid_timespec(text):
        raise OracleError("bad-time", f"Invalid --time specification: {text!r}", text)
    if "-" in text:
        # sscanf("%d-%d:%d:%d"): days-[hours[:minutes[:seconds]]]. A leading "-" would scan as
        # a negative day count; 22.05 then wraps the uint32 limit (observed: "-5" becomes
        # 2982611-04:17:00). Rejected here: no builder should emit it.
        days_text, _, rest = text.partition("-")
        if not days_text:
            raise OracleError("bad-time", f"negative --time {text!r}", text)
        fields = [int(p) for p in rest.split(":") if p] if rest else []
        hours, minutes, seconds = ([*fields, 0, 0, 0])[:3]
        return int(days_text) * 86400 + hours * 3600 + minutes * 60 + seconds
    parts = [int(p) for p in text.split(":")]
    if len(parts) == 3:
        return parts[0] * 3600 + parts[1] * 60 + parts[2]
    if len(parts) == 2:
        return parts[0] * 60 + parts[1]  # "10:00" is ten MINUTES (min:sec), not ten hours
    return parts[0] * 60


def parse_time(text: str) -> int | None:
    """Seconds written in a ``--time`` value; ``None`` means no limit.

    sbatch(1) --time: "Acceptable time formats include "minutes", "minutes:seconds",
    "hours:minutes:seconds", "days-hours", "days-hours:minutes" and
    "days-hours:minutes:seconds"", and "A time limit of zero requests that no time limit be
    imposed." "INFINITE"/"UNLIMITED" (any case) and "-1" are no limit too (time_str2secs).

    >>> parse_time("10:00:00"), parse_time("10:00"), parse_time("1-2"), parse_time("0")
    (36000, 600, 93600, None)
    """
    seconds = _time_seconds(text)
    # slurm_opt.c arg_set_time(): a limit that rounds to 0 minutes becomes INFINITE.
    if seconds is None or seconds == 0:
        return None
    return seconds


def parse_time_minutes(text: str) -> int | None:
    """The limit Slurm stores, in minutes: seconds rounded UP (time_str2mins); None: no limit.

    >>> parse_time_minutes("0:30"), parse_time_minutes("5:30"), parse_time_minutes("0:0")
    (1, 6, None)
    """
    seconds = _time_seconds(text)
    if seconds is None:
        return None
    minutes = (seconds + 59) // 60
    return minutes or None


@final
@dataclass(frozen=True)
class ExportSpec:
    """A ``--export`` value split the way srun/sbatch split it.

    ``tokens`` are the comma-separated tokens after quote handling. Keywords are matched
    case-insensitively; srun stops reading tokens at ``NONE`` (srun/libsrun/launch.c
    ``_build_user_env``). With ``ALL`` the caller's environment is merged *after* the explicit
    ``NAME=value`` pairs, so an inherited variable wins over an explicit one (srun(1)/sbatch(1)).
    """

    tokens: tuple[str, ...]

    def _has(self, keyword: str) -> bool:
        return any(t.upper() == keyword for t in self.tokens)

    @property
    def all(self) -> bool:
        return self._has("ALL")

    @property
    def none(self) -> bool:
        return self._has("NONE")

    @property
    def nil(self) -> bool:
        return self._has("NIL")

    @property
    def assignments(self) -> tuple[tuple[str, str], ...]:
        """``NAME=value`` tokens split at the first ``=`` (the value may contain ``=``)."""
        pairs = []
        for token in self.tokens:
            name, eq, value = token.partition("=")
            if eq:
                pairs.append((name, value))
        return tuple(pairs)

    @property
    def names(self) -> tuple[str, ...]:
        """Bare variable names to copy from the caller's environment."""
        keywords = {"ALL", "NONE", "NIL"}
        return tuple(t for t in self.tokens if t and "=" not in t and t.upper() not in keywords)


def parse_export(value: str) -> ExportSpec:
    """Split a ``--export`` value like find_quote_token(value, ",").

    A comma separates tokens unless inside quotes; a token wholly wrapped in matching quotes
    loses them (``'A=x,y'`` gives ``A=x,y``), otherwise quotes stay literal (``A='x,y'``).
    The two quote counters are independent, exactly as in the C code. An unbalanced quote
    makes Slurm log "Improperly formed environment variable"; the oracle raises instead.

    >>> parse_export("ALL,'A=x,y',B=1").tokens
    ('ALL', 'A=x,y', 'B=1')
    >>> parse_export("A='x,y'").assignments
    (('A', "'x,y'"),)
    """
    tokens: list[str] = []
    start = 0
    single = double = False
    i = start
    while start < len(value):
        ch = value[i] if i < len(value) else ""
        if ch == "'":
            single = not single
        elif ch == '"':
            double = not double
        elif ch in (",", "") and not single and not double:
            token = value[start:i]
            if len(token) >= 2 and token[0] in "'\"" and token[-1] == token[0]:
                token = token[1:-1]
            tokens.append(token)
            start = i + 1
        elif ch == "":
            raise OracleError(
                "bad-export",
                f"Improperly formed environment variable ({value[start:]})",
                value[start:],
            )
        i += 1
    return ExportSpec(tuple(tokens))


@final
@dataclass(frozen=True)
class ArraySpec:
    """A job array request: the task ids (sorted, unique) and the ``%`` throttle if any."""

    indices: tuple[int, ...]
    max_running: int | None


_ARRAY_TOKEN = re.compile(r"(?P<first>[0-9]+)(?:-(?P<last>[0-9]+)(?::(?P<step>[0-9]+))?)?")


def parse_array(value: str, *, max_array_size: int | None = None) -> ArraySpec:
    """Parse ``--array`` as sbatch(1) documents it.

    sbatch(1) --array: "a comma separated list and/or a range of values with a "-" separator",
    "A step function can also be specified with a suffix containing a colon and number",
    "A maximum number of simultaneously running tasks ... may be specified using a "%"
    separator", "The minimum index value is 0. The maximum value is one less than the
    configuration parameter MaxArraySize."

    sbatch itself does not check the value (observed: 22.05.8 submits ``--array=a``); slurmctld
    does. This oracle accepts only the documented forms, which is stricter than the controller
    may be (it is said to tolerate ``[...]`` brackets and empty list items).

    >>> parse_array("0-15:4%2")
    ArraySpec(indices=(0, 4, 8, 12), max_running=2)
    """
    body, pct, throttle_text = value.partition("%")
    max_running: int | None = None
    if pct:
        if not throttle_text.isdigit() or not throttle_text.isascii():
            raise OracleError("bad-array", f"bad --array throttle in {value!r}", value)
        max_running = int(throttle_text)
    indices: set[int] = set()
    for token in body.split(","):
        match = _ARRAY_TOKEN.fullmatch(token)
        if match is None:
            raise OracleError("bad-array", f"bad --array item {token!r} in {value!r}", value)
        first = int(match["first"])
        last = int(match["last"]) if match["last"] is not None else first
        step = int(match["step"]) if match["step"] is not None else 1
        if last < first or step < 1:
            raise OracleError("bad-array", f"bad --array range {token!r}", value)
        if max_array_size is not None and last >= max_array_size:
            raise OracleError("bad-array", f"--array index {last} >= MaxArraySize", value)
        indices.update(range(first, last + 1, step))
    return ArraySpec(tuple(sorted(indices)), max_running)


# --------------------------------------------------------------------------- filename patterns


def expand_filename_pattern(pattern: str, *, array_index: int | None = None) -> str:
    """The file a ``--output``/``--error`` pattern names, as srun(1)/sbatch(1) "filename pattern"
    describes it: ``\\`` anywhere disables every replacement symbol; ``%%`` is a literal ``%``;
    ``%a`` is the array task index (``%Na`` zero-pads to N digits). Other symbols (``%j``,
    ``%t``, ...) are left as written here: the builders never emit them."""
    if "\\" in pattern:
        return pattern
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        j = i + 1
        while j < len(pattern) and pattern[j].isdigit():
            j += 1
        width = int(pattern[i + 1 : j] or 0)
        symbol = pattern[j] if j < len(pattern) else ""
        if symbol == "%":
            out.append("%")
        elif symbol == "a":
            if array_index is None:
                raise OracleError("bad-pattern", "%a outside an array job", pattern)
            out.append(str(array_index).zfill(width))
        else:
            out.append(pattern[i : j + 1])
        i = j + 1
    return "".join(out)

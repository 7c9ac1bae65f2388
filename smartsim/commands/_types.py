"""What a builder returns: a command as a value, not an argv alone."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, final

import attrs

from smartsim._frozen import EMPTY_MAP, FrozenMap, fieldwise, frozen_map

#: bash(1) RESERVED WORDS: unquoted in command position they are syntax, not a program name.
_RESERVED: Final = frozenset(
    ["!", "case", "coproc", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if",
     "in", "select", "then", "until", "while", "{", "}", "time", "[[", "]]"]
)  # fmt: skip


def command_word(word: str) -> str:
    """Quote the program name: like any word, and also when bash would read it as a reserved
    word or, holding ``=``, as a variable assignment (``shlex.quote`` leaves both bare)."""
    quoted = shlex.quote(word)
    if quoted == word and (word in _RESERVED or "=" in word):
        return f"'{word}'"
    return quoted


def simple_command(argv: Sequence[str], env: Mapping[str, str] = FrozenMap()) -> str:
    """The bash simple command that runs ``argv`` with the environment changes ``env``: the
    one renderer of a program and its words for every shell text smartsim writes (batch
    scripts, previews).

    bash's reader rules for the first word (bash(1) SHELL GRAMMAR, ``execute_simple_command``
    in ``execute_cmd.c``): a reserved word is syntax unless quoted; a word holding ``=`` is an
    assignment unless quoted; and a first word that *starts with* ``%``, quoted or not, is a
    job specification run by ``fg`` ("fg: no job control"). Quoting handles the first two. For
    the third the program is not put first: ``env`` runs it (a PATH search like execvp's), or,
    when its name also holds ``=`` (which env(1) would take for an assignment),
    ``exec`` in a subshell does.

    >>> print(simple_command(["srun", "a b"], {"X": "1 2"}))
    env 'X=1 2' srun 'a b'
    >>> print(simple_command(["%prog", "x"]), simple_command(["%a=b"], {"X": "1"}), sep="\\n")
    env %prog x
    (X=1 exec '%a=b')
    """
    words = [command_word(argv[0]), *(shlex.quote(w) for w in argv[1:])]
    program = argv[0]
    if "=" in program:
        # env(1) would read a program name holding '=' as one more assignment; a bash prefix
        # assignment does not (a quoted word is never an assignment).
        assignments = [f"{k}={shlex.quote(v)}" for k, v in env.items()]
        if program.startswith("%"):
            return "(" + " ".join([*assignments, "exec", *words]) + ")"
        return " ".join([*assignments, *words])
    if env or program.startswith("%"):
        return " ".join(["env", *(shlex.quote(f"{k}={v}") for k, v in env.items()), *words])
    return " ".join(words)


def _argv(value: object) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"argv must be a sequence of strings, got {value!r}")
    words = value if type(value) is tuple else tuple(value)
    try:
        "".join(words)  # raises TypeError for any non-str word, at C speed
    except TypeError:
        raise TypeError(f"argv must be a sequence of strings, got {words!r}") from None
    if not words:
        raise TypeError("argv must not be empty")
    return words


@final
@fieldwise
@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class Command:
    """One process to start: its argv, the environment *changes* it needs on top of the
    caller's environment, its working directory, text for its stdin, and where its output goes.

    The environment travels in the process's own environment (never only as ``--export`` pairs)
    so that the entity's values win even where the caller already sets the same names.

    >>> print(Command(argv=("srun", "-n", "2", "echo", "a b"), env={"X": "1"}, cwd="/tmp").shell())
    cd /tmp && env X=1 srun -n 2 echo 'a b'
    >>> print(Command(argv=("srun", "hostname"), stdout="/w/m.log", stderr="/w/m.log").shell())
    srun hostname >/w/m.log 2>&1
    """

    argv: tuple[str, ...] = attrs.field(converter=_argv)
    env: FrozenMap[str, str] = attrs.field(default=EMPTY_MAP, converter=frozen_map)
    cwd: str | None = None
    stdin: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    #: Files the effects layer writes before starting the command (path -> text), e.g. the
    #: ERF that ``jsrun --erf_input`` reads. The planner copies them into ``Launch.files``.
    files: FrozenMap[str, str] = attrs.field(default=EMPTY_MAP, converter=frozen_map)

    def shell(self) -> str:
        """Shell text a person can paste that does the same thing."""
        line = simple_command(self.argv, self.env)
        if self.stdout is not None:
            line += f" >{shlex.quote(self.stdout)}"
        if self.stderr is not None:
            # one file for both streams: `2>&1`, or the two opens would truncate each other
            same = self.stderr == self.stdout
            line += " 2>&1" if same else f" 2>{shlex.quote(self.stderr)}"
        if self.stdin is not None:
            line = f"{line} {heredoc(self.stdin)}"
        if self.cwd is not None:
            line = f"cd {shlex.quote(self.cwd)} && {line}"
        writes = [f"cat > {shlex.quote(p)} {heredoc(t)}" for p, t in self.files.items()]
        return "\n".join([*writes, line])

    def with_env(self, env: Mapping[str, str]) -> Command:
        return attrs.evolve(self, env=self.env.merged(env))


@final
@fieldwise
@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class Submission:
    """A batch job: the script to write at ``script_path`` and the command that submits it."""

    script_path: str
    script: str
    submit: Command

    def shell(self) -> str:
        """Shell text that writes the script, then submits it."""
        write = f"cat > {shlex.quote(self.script_path)} {heredoc(self.script)}"
        return f"{write}\n{self.submit.shell()}"


def heredoc(text: str) -> str:
    """A quoted here-document (``<<'EOF'`` ... ``EOF``) that reproduces ``text`` exactly,
    with a terminator that does not occur in it. ``text`` must end with a newline to be exact."""
    body = text if text.endswith("\n") else text + "\n"
    marker = "SMARTSIM_EOF"
    while f"\n{marker}\n" in f"\n{body}":
        marker += "_"
    return f"<<'{marker}'\n{body}{marker}"


@final
@fieldwise
@attrs.frozen(slots=False, eq=False, repr=False)
class Completed:
    """A finished command: its argv, exit code and captured output (what a scheduler tool
    said, for the pure readers of :mod:`smartsim.commands.scheduler` to read)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@fieldwise
@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class Handle:
    """What identifies a started launch: the scheduler's job id (or pid and start time for a
    local process) — enough to poll or stop it, and to write in the journal."""

    launcher: str
    name: str
    job_id: str
    #: Extra identity, e.g. a local process's start time (so a reused PID is never signalled).
    extra: tuple[tuple[str, str], ...] = ()

    def get(self, key: str) -> str | None:
        """The ``extra`` value recorded under ``key``, if any.

        >>> Handle(launcher="pbs", name="m", job_id="1", extra=(("tool:qstat", "q"),)).get("x")
        """
        for k, v in self.extra:
            if k == key:
                return v
        return None

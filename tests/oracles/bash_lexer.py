"""A test-only model of how bash reads the body of a batch script smartsim writes.

Written from bash(1) (QUOTING, SHELL GRAMMAR, REDIRECTION, "Here Documents") and bash's
``execute_cmd.c``, not from smartsim's renderer; ``tests/test_hostile.py`` checks it against the
real ``bash`` (``bash -n``, then a run that records argv). It covers the shell syntax a script of
smartsim's uses, and refuses the rest loudly:

* words are separated by blanks (space, tab); a newline ends a command; ``&&``, ``||``, ``;``,
  ``&``, ``|``, ``(`` and ``)`` are operators; ``<``, ``>``, ``<<``, ``>&`` (with an optional
  file-descriptor digit before) are redirections, whose target word is not part of the command;
* ``'...'`` keeps every character (CR, LF, ``#``, unicode) as it is; ``"..."`` keeps all but
  ``\\`` before ``$ ` " \\`` or newline, and ``$...`` (expansions are not modelled: a word with
  an unquoted or double-quoted ``$`` is kept raw and marked expanded); a backslash outside quotes
  takes the next character (a backslash-newline is removed);
* ``#`` at the start of a word starts a comment to the end of the line;
* ``<<'MARK'``: the lines up to a line that is exactly ``MARK`` are the here-document;
* a command's first word that is, unquoted, a reserved word is syntax (refused here), and one
  that *starts with* ``%``, quoted or not, is run by ``fg`` as a job specification
  (``execute_simple_command`` in ``execute_cmd.c``) -- reported by :func:`program`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RESERVED = frozenset(
    [
        "!",
        "case",
        "coproc",
        "do",
        "done",
        "elif",
        "else",
        "esac",
        "fi",
        "for",
        "function",
        "if",
        "in",
        "select",
        "then",
        "until",
        "while",
        "{",
        "}",
        "time",
        "[[",
        "]]",
    ]
)
_OPERATORS = ("&&", "||", ";", "&", "|", "(", ")")
_BLANKS = " \t"


class BashLexError(ValueError):
    """What this model (or bash) cannot read."""


@dataclass
class Word:
    text: str
    quoted: bool = False
    expanded: bool = False
    #: ``NAME=`` written unquoted at its start: an assignment in command position.
    assignment: bool = False


@dataclass
class SimpleCommand:
    words: list[Word] = field(default_factory=list)
    redirections: list[tuple[str, str]] = field(default_factory=list)
    heredoc: str | None = None

    @property
    def argv(self) -> list[str]:
        return [w.text for w in self.words]


def _word(text: str, i: int) -> tuple[Word, int]:
    out: list[str] = []
    quoted = expanded = assignment = False
    name_so_far = True  # every character so far unquoted and a name character
    n = len(text)
    while i < n:
        ch = text[i]
        if name_so_far and not assignment:
            if ch == "=" and out and not out[0].isdigit():
                assignment, name_so_far = True, False
            elif not (ch.isascii() and (ch.isalnum() or ch == "_")):
                name_so_far = False
        if ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise BashLexError("unexpected EOF while looking for matching `''")
            out.append(text[i + 1 : end])
            quoted, i = True, end + 1
        elif ch == '"':
            i += 1
            quoted = True
            while True:
                if i >= n:
                    raise BashLexError("unexpected EOF while looking for matching `\"'")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
                    if text[i + 1] != "\n":
                        out.append(text[i + 1])
                    i += 2
                    continue
                if c in "$`":
                    expanded = True
                out.append(c)
                i += 1
        elif ch == "\\":
            if i + 1 >= n:
                raise BashLexError("backslash at end of script")
            if text[i + 1] != "\n":
                out.append(text[i + 1])
            quoted, i = True, i + 2
        elif ch in _BLANKS or ch == "\n" or ch in "&|;()<>":
            break
        else:
            if ch in "$`":
                expanded = True
            out.append(ch)
            i += 1
    return Word("".join(out), quoted, expanded, assignment), i


def read_commands(body: str) -> list[SimpleCommand]:
    """Every simple command of ``body``, in order."""
    commands: list[SimpleCommand] = []
    current = SimpleCommand()
    pending_heredoc: list[tuple[SimpleCommand, str]] = []
    i, n = 0, len(body)

    def finish() -> None:
        nonlocal current
        if current.words or current.redirections:
            commands.append(current)
        current = SimpleCommand()

    while i < n:
        ch = body[i]
        if ch in _BLANKS:
            i += 1
        elif ch == "\n":
            finish()
            i += 1
            for owner, marker in pending_heredoc:
                lines: list[str] = []
                while True:
                    if i >= n:
                        raise BashLexError(f"here-document delimited by end-of-file ({marker})")
                    end = body.find("\n", i)
                    line = body[i:] if end < 0 else body[i:end]
                    i = n if end < 0 else end + 1
                    if line == marker:
                        break
                    lines.append(line + "\n")
                owner.heredoc = "".join(lines)
            pending_heredoc = []
        elif ch == "#" and (i == 0 or body[i - 1] in _BLANKS + "\n;&|()"):
            end = body.find("\n", i)
            i = n if end < 0 else end
        elif body.startswith(_OPERATORS, i):
            op = next(o for o in _OPERATORS if body.startswith(o, i))
            if op == "(" and current.words and current.words[-1].text.endswith("="):
                # NAME=( ... ) / NAME+=( ... ): an array assignment, kept as one raw word
                end = body.index(")", i)
                current.words[-1].text += body[i : end + 1]
                i = end + 1
                continue
            finish()
            if op == ")" and commands:
                current = commands.pop()  # a subshell's redirections belong to it
            i += len(op)
        elif ch in "<>" or (ch.isdigit() and i + 1 < n and body[i + 1] in "<>" and
                           (i == 0 or body[i - 1] in _BLANKS)):  # fmt: skip
            start = i
            if ch.isdigit():
                i += 1
            for op in ("<<", ">&", ">>", "<", ">"):
                if body.startswith(op, i):
                    i += len(op)
                    break
            op = body[start:i]
            while i < n and body[i] in _BLANKS:
                i += 1
            target, i = _word(body, i)
            if op.endswith("<<"):
                pending_heredoc.append((current, target.text))
            current.redirections.append((op, target.text))
        else:
            word, i = _word(body, i)
            current.words.append(word)
    finish()
    if pending_heredoc:
        raise BashLexError("here-document without its text")
    return commands


def program(command: SimpleCommand) -> tuple[list[str], dict[str, str]]:
    """The argv bash (then ``env`` or ``exec``) finally runs for ``command``, and the
    environment assignments it is given; raises where bash would not run a program at all."""
    words = list(command.words)
    env: dict[str, str] = {}
    while words and words[0].assignment:
        name, _, value = words.pop(0).text.partition("=")
        env[name] = value
    if words and words[0].text.startswith("%"):
        raise BashLexError(f"fg: no job control ({words[0].text!r} is a job specification)")
    if words and not words[0].quoted and words[0].text in RESERVED:
        raise BashLexError(f"reserved word {words[0].text!r} in command position")
    if words and words[0].text == "exec":
        words.pop(0)
    elif words and words[0].text == "env":
        words.pop(0)
        while words and "=" in words[0].text:
            name, _, value = words.pop(0).text.partition("=")
            env[name] = value
    return [w.text for w in words], env

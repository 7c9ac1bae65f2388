"""Shell text: lines that bash runs exactly, directive words sbatch reads back exactly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartsim.commands._types import Command
from smartsim.commands.script import (
    background_and_wait,
    batch_script,
    directive_line,
    directive_word,
    shell_line,
)
from tests.oracles.sbatch_lexer import lex_directive, lex_sbatch_script
from tests.strategies import any_text, arguments, env_names, single_line_text

_RECORDER = r"""#!/bin/bash
# Records argv (NUL-separated), the variables named in SSX_NAMES, the directory and stdin.
# Its own variables are SSX_*, a prefix the generated names never use.
: > "$SSX_OUT.argv"
for SSX_A in "$@"; do printf '%s\0' "$SSX_A" >> "$SSX_OUT.argv"; done
for SSX_N in $SSX_NAMES; do printf '%s\0' "${!SSX_N-<unset>}"; done > "$SSX_OUT.env"
printf '%s' "$PWD" > "$SSX_OUT.cwd"
if [ -n "$SSX_STDIN" ]; then cat > "$SSX_OUT.stdin"; fi
echo to-stdout
echo to-stderr >&2
exit "${SSX_RC:-0}"
"""


def _recorder(root: Path, name: str = "rec") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_RECORDER)
    path.chmod(0o755)
    return path


def _split(data: bytes) -> list[str]:
    return [w.decode("utf-8", "surrogateescape") for w in data.split(b"\0")[:-1]]


_SAFE_ENV = env_names().filter(
    lambda n: (
        n not in {"PATH", "IFS", "HOME", "PWD", "OLDPWD", "SHLVL", "_", "ENV", "PS4"}
        and not n.startswith(("BASH", "SSX_", "LD_"))
    )
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    args=st.lists(arguments(), max_size=5),
    env=st.dictionaries(_SAFE_ENV, any_text(), max_size=3),
    stdin=st.one_of(st.none(), any_text(max_size=20)),
    same_file=st.booleans(),
    odd_program=st.booleans(),
)
def test_bash_runs_a_shell_line_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    args: list[str],
    env: dict[str, str],
    stdin: str | None,
    same_file: bool,
    odd_program: bool,
) -> None:
    """bash runs shell_line(command) with exactly the command's argv, environment values,
    directory, stdin and output files, whatever the words hold."""
    root = tmp_path_factory.mktemp("line")
    program = _recorder(root, "odd=dir/rec" if odd_program else "rec")
    cwd = root / "dir with 'quotes' and $x"
    cwd.mkdir()
    out, err = root / "o u t", root / ("o u t" if same_file else "e#rr")
    cmd = Command(
        argv=(str(program), *args),
        env=env,
        cwd=str(cwd),
        stdin=stdin,
        stdout=str(out),
        stderr=str(err),
    )
    caller = {
        "PATH": "/usr/bin:/bin",
        "SSX_OUT": str(root / "call"),
        "SSX_NAMES": " ".join(env),
        "SSX_STDIN": "1" if stdin is not None else "",
        **{k: "caller-value" for k in env},
    }
    proc = subprocess.run(
        ["bash", "-c", shell_line(cmd)], env=caller, cwd=root, timeout=30, check=False
    )
    assert proc.returncode == 0
    assert _split((root / "call.argv").read_bytes()) == args
    assert _split((root / "call.env").read_bytes()) == list(env.values())
    assert (root / "call.cwd").read_text() == str(cwd)
    if stdin is not None:
        expected = stdin if stdin.endswith("\n") else stdin + "\n"
        assert (root / "call.stdin").read_bytes().decode("utf-8") == expected
    written = out.read_text()
    assert "to-stdout" in written
    assert "to-stderr" in (written if same_file else err.read_text())


def test_background_and_wait_reports_a_failure(tmp_path: Path) -> None:
    """The lines wait for every command and exit with a failing one's status, 0 otherwise."""
    program = str(_recorder(tmp_path))
    base = {"PATH": "/usr/bin:/bin", "SSX_OUT": str(tmp_path / "c"), "SSX_NAMES": ""}

    def run(*codes: int) -> int:
        commands = [Command(argv=(program,), env={"SSX_RC": str(c)}) for c in codes]
        text = "\n".join(background_and_wait(commands)) + "\n"
        return subprocess.run(["bash", "-c", text], env=base, timeout=30, check=False).returncode

    assert run(0, 0, 0) == 0
    assert run(0, 5, 0) == 5
    assert run(2, 0, 7) == 7
    assert run() == 0


@given(single_line_text(max_size=12))
def test_directive_words_read_back_through_sbatchs_lexer(word: str) -> None:
    """Slurm's #SBATCH lexer (oracle) reads directive_word(w) back as w, alone or among others."""
    assert lex_directive(" " + directive_word(word)) == (word,)
    line = directive_line("#SBATCH", ["--comment", word, "-J", word])
    assert lex_directive(line[len("#SBATCH") :]) == ("--comment", word, "-J", word)


@pytest.mark.parametrize(
    ("word", "quoted"),
    [
        ("debug", "debug"),
        ("a b", '"a b"'),
        ("run #3", '"run #3"'),
        ("it's", '"it\'s"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a\\b", '"a\\\\b"'),
        (":x", '":x"'),
        ("a:b", "a:b"),
        ("hetjob", '"hetjob"'),
        ("PACKJOB", '"PACKJOB"'),
        ("$HOME", '"$HOME"'),
        ("é", '"é"'),
    ],
)
def test_directive_word_examples(word: str, quoted: str) -> None:
    """Plain words stay bare; blanks, quotes, '#', backslashes, a leading ':', the hetjob
    separators and non-ASCII go in double quotes with backslash escapes."""
    assert directive_word(word) == quoted


def test_batch_script_layout() -> None:
    """Shebang, directives, preamble, body, one per line, newline-terminated; sbatch's lexer
    reads the directives and stops at the first command."""
    text = batch_script(
        "#!/bin/bash", ["#SBATCH -N 2", '#SBATCH --comment "a b"'], ["module load x"], ["srun a"]
    )
    assert text == '#!/bin/bash\n#SBATCH -N 2\n#SBATCH --comment "a b"\nmodule load x\nsrun a\n'
    directives = lex_sbatch_script(text)
    assert directives.words == ("-N", "2", "--comment", "a b")
    assert directives.stopped_at == 4


def test_a_custom_quote_function_is_used() -> None:
    """Other schedulers pass their own word quoting to directive_line."""
    assert directive_line("#PBS", ["-N", "a b"], quote_word=lambda w: f"<{w}>") == "#PBS <-N> <a b>"


def test_shell_line_examples() -> None:
    """The documented shapes: env prefix, quoting, 2>&1 for one file, a here-document."""
    cmd = Command(argv=("srun", "a b"), env={"X": "1"}, stdout="f", stderr="f", stdin="x")
    assert shell_line(cmd) == "env X=1 srun 'a b' >f 2>&1 <<'SMARTSIM_STDIN'\nx\nSMARTSIM_STDIN"
    odd = Command(argv=("a=b",), env={"X": "1 2"})
    assert shell_line(odd) == "X='1 2' 'a=b'"
    assert shell_line(Command(argv=("a=b", "c=d"))) == "'a=b' c=d"
    assert shell_line(Command(argv=("if", "x"))) == "'if' x"
    tricky = Command(argv=("cat",), stdin="SMARTSIM_STDIN\n")
    assert shell_line(tricky).endswith("<<'SMARTSIM_STDIN_'\nSMARTSIM_STDIN\nSMARTSIM_STDIN_")

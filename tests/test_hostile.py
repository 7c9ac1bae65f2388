"""Hostile input through the public planners: the regression tests of issue 12's defect classes,
and the bash oracle checked against the real bash.

Each class is one rule of a scheduler's script reader (:class:`smartsim.commands.script.
ScriptReader`, one per dialect): what it splits, refuses or rewrites. A refusal is a typed
:class:`~smartsim.errors.ForbiddenCharacter` naming the field and the character.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from smartsim.commands._types import Command
from smartsim.commands.flux import plan_flux
from smartsim.commands.local import plan_local
from smartsim.commands.lsf import plan_lsf
from smartsim.commands.pbs import plan_pbs
from smartsim.commands.plan import World
from smartsim.commands.script import shell_line
from smartsim.commands.sge import plan_sge
from smartsim.commands.slurm_plan import plan_slurm
from smartsim.errors import ValidationError
from smartsim.values import BatchSettings, Ensemble, Model, RunSettings
from tests.fuzz_checks import PLANNERS, check_plan
from tests.oracles import bash_lexer, flux_cli, lsf_lexer, pbs_lexer, sbatch_lexer
from tests.strategies import any_text, env_names, single_line_text

WORLD = World(exp_path="/w")
SCRIPT_PLANNERS = {"pbs": plan_pbs, "lsf": plan_lsf, "sge": plan_sge, "flux": plan_flux}
NON_UTF8_DIR = os.fsdecode(b"/w/caf\xe9/m")  # '/w/caf\udce9/m'


def _model(
    *,
    exe: str = "a.out",
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    path: str = "/w/m",
    bs: BatchSettings | None = None,
) -> Model:
    rs = RunSettings(exe=exe, args=args, env=env or {})
    return Model(name="m", path=path, run_settings=rs, batch_settings=bs or BatchSettings())


def _names(found: list[tuple[str, str | None]], field: str) -> list[str | None]:
    """The characters refused for ``field`` (Slurm names a member's fields ``m.members[0].x``
    and its directory ``context.cwd``)."""
    short = field.replace("run_settings.", "")
    return [
        ch
        for f, ch in found
        if f.endswith((field, "." + short)) or (field == "path" and f.endswith("context.cwd"))
    ]


def _refusals(result: object) -> list[tuple[str, str | None]]:
    assert isinstance(result, Failure), result
    errors = result.failure().errors
    assert all(isinstance(e, ValidationError) for e in errors)
    return [(e.field, getattr(e, "character", None)) for e in errors]


# =========================================================================== 1. CR LF (PBS...)


@pytest.mark.parametrize("planner", ["pbs", "lsf", "flux", "slurm"])
@pytest.mark.parametrize(
    ("model", "field"),
    [
        (_model(args=("a\r\nb",)), "run_settings.args[0]"),
        (_model(env={"A": "x\r\ny"}), "run_settings.env['A']"),
    ],
    ids=["arg", "env"],
)
def test_cr_lf_is_refused_at_plan_time_where_the_reader_refuses_it(
    planner: str, model: Model, field: str
) -> None:
    """OpenPBS qsub refuses a script with a line ending in CR LF (qsub_sup.c ``check_crlf``),
    sbatch one holding CR LF anywhere, Flux rewrites CR, LSF documents nothing: each planner
    refuses the value, naming the field and the character, instead of the scheduler at submit."""
    found = _refusals(PLANNERS[planner](model, WORLD))
    assert {"\r\n", "\r"} & set(_names(found, field)), found


def test_pbs_keeps_a_lone_cr_which_qsub_copies_as_a_byte() -> None:
    """A lone CR is not a line end for qsub: the plan keeps it and qsub's line check passes."""
    (launch,) = plan_pbs(_model(args=("a\rb",)), WORLD).unwrap()
    assert launch.submission is not None
    pbs_lexer.check_script(launch.submission.script)
    assert "'a\rb'" in launch.submission.script


def test_grid_engine_carries_cr_lf_exactly() -> None:
    """Grid Engine qsub reads lines at LF only and keeps CR LF in the body (checked with the
    real qsub 8.1.9 -verify), so the value is planned, and bash gives it back whole."""
    (launch,) = plan_sge(_model(args=("a\r\nb", "c\rd")), WORLD).unwrap()
    assert launch.submission is not None
    programs = [
        bash_lexer.program(c)[0] for c in bash_lexer.read_commands(launch.submission.script)
    ]
    assert ["a.out", "a\r\nb", "c\rd"] in programs


# =========================================================================== 2. Flux lone CR


@pytest.mark.parametrize("value", ["a\rflux: -N 90", "a\rb", "a\r"])
def test_flux_refuses_a_carriage_return_which_flux_batch_reads_as_a_line_end(value: str) -> None:
    """flux batch reads the script in text mode (universal newlines): ``a\\rflux: -N 90`` would
    be an orphan directive and ``a\\rb`` would reach the job as ``a\\nb``."""
    for model in (_model(args=(value,)), _model(env={"V": value})):
        found = _refusals(plan_flux(model, WORLD))
        assert ("model.run_settings.args[0]", "\r") in found or (
            "model.run_settings.env['V']",
            "\r",
        ) in found, found
    # the model of flux-core agrees: the text would not come back
    assert flux_cli.submitted_script(f"#!/bin/sh\necho '{value}'\n") != (
        f"#!/bin/sh\necho '{value}'\n"
    )


def test_flux_still_refuses_a_directive_after_a_newline() -> None:
    """An argument line that Flux would read as a directive is refused at its line break."""
    found = _refusals(plan_flux(_model(args=("a\nflux: -N 90",)), WORLD))
    assert ("model.run_settings.args[0]", "\n") in found


# =========================================================================== 3. non-UTF-8


@pytest.mark.parametrize("planner", [*sorted(SCRIPT_PLANNERS), "slurm"])
@pytest.mark.parametrize(
    ("model", "field"),
    [
        (_model(path=NON_UTF8_DIR), "path"),
        (_model(bs=BatchSettings(account=os.fsdecode(b"caf\xe9"))), "batch_settings.account"),
        (_model(bs=BatchSettings(batch_args={"P": os.fsdecode(b"x\xff")})), "batch_args['P']"),
        (_model(args=(os.fsdecode(b"\xe9"),)), "args[0]"),
        (_model(env={"A": "\ud800"}), "env['A']"),
    ],
    ids=["path", "account", "batch_args", "arg", "env"],
)
def test_text_utf8_cannot_encode_is_a_typed_refusal_never_a_traceback(
    planner: str, model: Model, field: str
) -> None:
    """A script is written as UTF-8: a lone surrogate (what os.fsdecode makes of a non-UTF-8
    byte) is refused naming the field and the character, by every script planner — the SGE
    planner used to raise UnicodeEncodeError from check_word."""
    found = _refusals(PLANNERS[planner](model, WORLD))
    assert any(ch is not None and "\ud800" <= ch <= "\udfff" for ch in _names(found, field)), found


def test_a_non_utf8_directory_is_fine_where_no_script_is_written() -> None:
    """The local launcher passes the directory in argv and chdir, which carry any bytes."""
    model = Model(name="m", path=NON_UTF8_DIR, run_settings=RunSettings(exe="a.out"))
    assert isinstance(plan_local(model, WORLD), Success)


# =========================================================================== 4. exe starting with %


def _recorder(bindir: Path, name: str) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    program = bindir / name
    program.write_text(
        "#!/bin/bash\n"
        'for a in "$@"; do printf \'%s\\0\' "$a"; done > "$SSX_OUT.argv"\n'
        'printf \'%s\\0\' "${SSX_VAR-<unset>}" > "$SSX_OUT.env"\n'
    )
    program.chmod(0o755)
    return program


def _run_bash(text: str, tmp: Path, bindir: Path) -> subprocess.CompletedProcess[bytes]:
    script = tmp / "job.sh"
    script.write_bytes(text.encode("utf-8"))
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "SSX_OUT": str(tmp / "call")}
    return subprocess.run(
        ["bash", str(script)], env=env, cwd=tmp, capture_output=True, timeout=30, check=False
    )


def _recorded(tmp: Path, what: str) -> list[str]:
    data = (tmp / f"call.{what}").read_bytes()
    return [w.decode("utf-8", "surrogateescape") for w in data.split(b"\0")[:-1]]


@pytest.mark.parametrize("planner", ["pbs", "lsf", "sge"])
@pytest.mark.parametrize("exe", ["%prog", "%a=b", "%"])
@pytest.mark.parametrize("env", [{}, {"SSX_VAR": "v w"}], ids=["no-env", "env"])
def test_a_program_starting_with_percent_runs_under_bash(
    tmp_path: Path, planner: str, exe: str, env: dict[str, str]
) -> None:
    """bash reads a first word starting with % as a job specification even quoted ('%a' ->
    "fg: no job control"); the script runs the program itself, with its arguments and env."""
    bindir = tmp_path / "bin"
    _recorder(bindir, exe)
    workdir = tmp_path / "m"
    workdir.mkdir()
    model = _model(exe=exe, args=("x y", "%z"), env=env, path=str(workdir))
    (launch,) = PLANNERS[planner](model, WORLD).unwrap()
    assert launch.submission is not None
    done = _run_bash(launch.submission.script, tmp_path, bindir)
    assert b"no job control" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert _recorded(tmp_path, "argv") == ["x y", "%z"]
    assert _recorded(tmp_path, "env") == [env.get("SSX_VAR", "<unset>")]


@pytest.mark.parametrize("exe", ["%prog", "%a=b"])
@pytest.mark.parametrize("env", [{}, {"SSX_VAR": "v"}])
def test_the_local_shell_rendering_runs_a_percent_program(
    tmp_path: Path, exe: str, env: dict[str, str]
) -> None:
    """Command.shell() (the preview a person pastes) and shell_line() run a %-program too."""
    bindir = tmp_path / "bin"
    _recorder(bindir, exe)
    command = Command(argv=(exe, "a b"), env=env, cwd=str(tmp_path))
    for text in (command.shell(), shell_line(command)):
        done = _run_bash(text + "\n", tmp_path, bindir)
        assert done.returncode == 0, done.stderr
        assert _recorded(tmp_path, "argv") == ["a b"]
        assert _recorded(tmp_path, "env") == [env.get("SSX_VAR", "<unset>")]


# =========================================================================== 5. found on the way


def test_slurm_refuses_a_pbs_line_that_sbatch_would_translate() -> None:
    """sbatch reads ``#PBS``/``#BSUB`` lines anywhere in the script (observed on 22.05.8: a body
    line ``#PBS -N x`` renamed the job), so an argument cannot start such a line."""
    model = Model(
        name="m",
        path="/w/m",
        run_settings=RunSettings(exe="echo", args=("a\n#PBS -N smuggled",), run_command="srun"),
        batch_settings=BatchSettings(),
    )
    found = _refusals(plan_slurm(model, WORLD))
    assert any(f.endswith("args[0]") and ch == "\n" for f, ch in found), found
    assert sbatch_lexer.lex_sbatch_script("#!/bin/sh\necho 'a\n#PBS -N x'\n").foreign


@pytest.mark.parametrize(
    ("planner", "path"), [("lsf", "/w/a\\b"), ("sge", "/w/it's"), ("flux", "\n"), ("flux", "")]
)
def test_an_ensembles_own_directory_follows_the_schedulers_path_rule(
    planner: str, path: str
) -> None:
    """A batch ensemble's job files (-o/-e) live in its own directory: found by the fuzz
    selection, LSF and SGE skipped their path rule there and Flux every check."""
    member = Model(name="a", path="/w/a", run_settings=RunSettings(exe="x"))
    ens = Ensemble(name="e", path=path, members=(member,), batch_settings=BatchSettings())
    found = _refusals(PLANNERS[planner](ens, WORLD))
    assert any(f == "ensemble.path" for f, _ in found), found


# =========================================================================== the bash oracle

_SAFE_ENV = env_names().filter(lambda n: n.startswith("SSX_V") or n.islower())


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    program=single_line_text(max_size=5).filter(
        lambda s: "/" not in s and s not in (".", "..") and not s.startswith("-")
    ),
    args=st.lists(any_text(max_size=6), max_size=3),
    value=any_text(max_size=6),
)
def test_bash_lexer_reads_what_bash_runs(
    tmp_path_factory: pytest.TempPathFactory, program: str, args: list[str], value: str
) -> None:
    """tests/oracles/bash_lexer.py is checked against the real bash: for a rendered command
    line, the program, argv and environment it reads are what bash gives the program."""
    tmp = tmp_path_factory.mktemp("bash")
    bindir = tmp / "bin"
    _recorder(bindir, program)
    command = Command(argv=(program, *args), env={"SSX_VAR": value})
    line = shell_line(command)
    (read,) = [bash_lexer.program(c) for c in bash_lexer.read_commands(line)]
    assert read == ([program, *args], {"SSX_VAR": value})
    done = _run_bash(line + "\n", tmp, bindir)
    assert done.returncode == 0, done.stderr
    assert _recorded(tmp, "argv") == args and _recorded(tmp, "env") == [value]


def test_bash_lexer_knows_the_job_specification_rule() -> None:
    """A first word starting with % is bash's fg, quoted or after assignments."""
    for text in ("'%a' x", "X=1 %a", "''%a"):
        (command,) = bash_lexer.read_commands(text)
        with pytest.raises(bash_lexer.BashLexError):
            bash_lexer.program(command)
        if shutil.which("bash"):
            done = subprocess.run(["bash", "-c", text], capture_output=True, check=False)
            assert b"no job control" in done.stderr


# =========================================================================== every planner, a bit


@pytest.mark.parametrize("planner", sorted(PLANNERS))
@pytest.mark.parametrize(
    "entity",
    [
        _model(args=("a\r\nb",)),
        _model(args=("a\rflux: -N 90",)),
        _model(path=NON_UTF8_DIR),
        _model(bs=BatchSettings(account=os.fsdecode(b"caf\xe9"))),
        _model(exe="%a"),
        _model(args=("x\n#PBS -N y", "x\n#$ -N y", "x\n#BSUB -J y", "x\nflux: -N 9")),
    ],
    ids=["crlf", "cr-directive", "non-utf8-dir", "non-utf8-account", "percent-exe", "smuggle"],
)
def test_every_planner_holds_on_the_issue_examples(planner: str, entity: Model) -> None:
    """The issue's examples, through every planner: a typed refusal or an exact read-back."""
    if planner in ("local", "kubernetes"):
        entity = Model(
            name="m",
            path=entity.path,
            run_settings=RunSettings(
                exe=entity.run_settings.exe,
                args=entity.run_settings.args,
                env=entity.run_settings.env,
                run_args={"image": "busybox"} if planner == "kubernetes" else {},
            ),
        )
    check_plan(planner, entity)


# =========================================================================== the reader models


def test_the_reader_models_split_refuse_and_rewrite_as_their_sources_say() -> None:
    """pbs_lexer.check_script refuses a line ending in CR LF only (qsub_sup.c check_crlf);
    lsf_lexer.check_script any CR; flux_cli.submitted_script turns CR and CR LF into LF and
    refuses text UTF-8 cannot encode (flux-core cli/batch.py reads the file in text mode)."""
    pbs_lexer.check_script("#!/bin/bash\necho 'a\rb'\n")
    with pytest.raises(pbs_lexer.PbsLexError, match="cr, lf"):
        pbs_lexer.check_script("#!/bin/bash\necho 'a\r\nb'\n")
    with pytest.raises(lsf_lexer.LsfLexError):
        lsf_lexer.check_script("#!/bin/bash\necho 'a\rb'\n")
    assert flux_cli.submitted_script("a\rb\r\nc\n") == "a\nb\nc\n"
    with pytest.raises(flux_cli.FluxUsageError):
        flux_cli.submitted_script(NON_UTF8_DIR)
    with pytest.raises(flux_cli.FluxUsageError, match="orphan"):
        flux_cli.read_directives("#!/bin/sh\n#flux: -N 1\necho 'a\rflux: -N 90'\n")

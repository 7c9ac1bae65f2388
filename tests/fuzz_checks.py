"""The one totality check every planner property uses (tests/test_fuzz.py, tests/test_hostile.py).

A plan of hostile input must either be a typed refusal, or launches whose every text each reader
gives back exactly: the scheduler's own reader (modelled in tests/oracles, from its source or
documentation) finds exactly the directives that were asked, and bash's reader (tests/oracles/
bash_lexer.py) finds each member's program, arguments and environment, whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TypeAlias

from returns.result import Failure, Result, Success

from smartsim.commands.dragon import plan_dragon
from smartsim.commands.flux import plan_flux
from smartsim.commands.kubernetes import plan_kubernetes
from smartsim.commands.local import plan_local
from smartsim.commands.lsf import plan_lsf
from smartsim.commands.pbs import plan_pbs
from smartsim.commands.plan import Launch, World
from smartsim.commands.sge import plan_sge
from smartsim.commands.slurm_plan import plan_slurm
from smartsim.errors import Invalid, ValidationError
from smartsim.values import Ensemble, Model
from tests.oracles import (
    ansi_c,
    bash_lexer,
    flux_cli,
    lsf_lexer,
    pbs_lexer,
    sbatch_lexer,
    sge_lexer,
)

Planner: TypeAlias = Callable[[Model | Ensemble, World], Result[tuple[Launch, ...], Invalid]]

#: Every public planner, by name.
PLANNERS: dict[str, Planner] = {
    "local": plan_local,
    "slurm": plan_slurm,
    "pbs": plan_pbs,
    "lsf": plan_lsf,
    "sge": plan_sge,
    "flux": plan_flux,
    "kubernetes": plan_kubernetes,
    "dragon": plan_dragon,
}
WORLD = World(exp_path="/w")


def members(entity: Model | Ensemble) -> tuple[Model, ...]:
    return entity.members if isinstance(entity, Ensemble) else (entity,)


def _programs(text: str) -> list[tuple[list[str], dict[str, str]]]:
    """Every program bash runs in ``text`` (the script's own syntax words left out)."""
    out = []
    for command in bash_lexer.read_commands(text):
        first = command.words[0] if command.words else None
        if first is not None and not first.quoted and first.text in bash_lexer.RESERVED:
            continue  # for/do/done of the script's own loop
        out.append(bash_lexer.program(command))
    return out


def _has_program(
    programs: Sequence[tuple[list[str], dict[str, str]]],
    argv: list[str],
    env: Mapping[str, str] | None,
) -> bool:
    for words, given in programs:
        if words[len(words) - len(argv) :] == argv and (
            env is None or all(given.get(k) == v for k, v in env.items())
        ):
            return True
    return False


def _check_body(planner: str, entity: Model | Ensemble, text: str) -> None:
    programs = _programs(text)
    for model in members(entity):
        rs = model.run_settings
        argv = [rs.exe, *rs.args]
        env = None if planner == "flux" else dict(rs.env)  # Flux passes --env=K=V rules
        assert _has_program(programs, argv, env), (argv, env, programs)


def _check_table(entity: Model | Ensemble, launch: Launch) -> None:
    """An array's table, read as bash reads ``$'...'`` words: one row per member, in order,
    with its directory, its output files, its environment and its program, whole."""
    (table,) = [text for path, text in launch.files.items() if path.endswith(".tasks")]
    rows = table.split("\n")
    assert rows[-1] == "" and len(rows) - 1 == len(members(entity)), rows
    for row, model in zip(rows, members(entity), strict=False):
        fields = ansi_c.words(row)
        cwd, _out, _err, _rc, count = fields[:5]
        env = dict(item.split("=", 1) for item in fields[5 : 5 + int(count)])
        argv = fields[5 + int(count) :]
        rs = model.run_settings
        assert cwd == model.path, (cwd, model.path)
        assert argv[len(argv) - 1 - len(rs.args) :] == [rs.exe, *rs.args], (argv, rs)
        assert all(env.get(k) == v for k, v in rs.env.items()), (env, rs.env)


def _directive_words(planner: str, script: str, launch: Launch) -> list[str]:
    """The words of every directive, as the scheduler's reader lexes them (option semantics,
    and raw options a site may add, are other tests' business)."""
    if planner == "pbs":
        pbs_lexer.check_script(script)
        return [w for argv in pbs_lexer.read_directives(script) for w in argv]
    if planner == "lsf":
        lsf_lexer.check_script(script)
        return [w for t in lsf_lexer.directive_texts(script) for w in lsf_lexer.split_words(t)]
    if planner == "sge":
        return [w for argv in sge_lexer.read_directives(script) for w in argv]
    if planner == "slurm":
        lexed = sbatch_lexer.lex_sbatch_script(script)
        assert lexed.foreign == (), lexed.foreign  # sbatch reads #PBS/#BSUB lines anywhere
        return list(lexed.words)
    if planner == "flux":
        assert flux_cli.submitted_script(script) == script  # nothing rewritten
        return [w for argv in flux_cli.read_directives(script) for w in argv]
    raise AssertionError(f"{planner} wrote a script")


def _value(words: Sequence[str], flag: str) -> str | None:
    """The value of the last ``flag`` (``-o v``, ``--output v`` or ``--output=v``)."""
    found = None
    for i, word in enumerate(words):
        if word == flag and i + 1 < len(words):
            found = words[i + 1]
        elif flag.startswith("--") and word.startswith(flag + "="):
            found = word[len(flag) + 1 :]
    return found


#: Where each scheduler's reader puts what the settings ask: (output, error, account, queue).
_KEYS: dict[str, tuple[str, str, str, str]] = {
    "pbs": ("-o", "-e", "-A", "-q"),
    "sge": ("-o", "-e", "-A", "-q"),
    "lsf": ("-o", "-e", "-P", "-q"),
    "slurm": ("--output", "--error", "--account", "--partition"),
    "flux": ("--output", "--error", "--setattr", "--queue"),
}


def _check_script(planner: str, entity: Model | Ensemble, launch: Launch) -> None:
    assert launch.submission is not None
    script = launch.submission.script
    script.encode("utf-8")  # the effects write it as UTF-8
    words = _directive_words(planner, script, launch)
    out, err, account, queue = _KEYS[planner]
    if planner != "slurm":  # sbatch's own files are the job's, not the members'
        assert _value(words, out) == launch.stdout, (words, launch.stdout)
        assert _value(words, err) == launch.stderr, (words, launch.stderr)
    bs = entity.batch_settings
    if bs is not None and not bs.batch_args:
        if bs.partition is not None:
            assert _value(words, queue) == bs.partition, (words, bs.partition)
        if bs.account is not None and planner != "flux":
            assert _value(words, account) == bs.account, (words, bs.account)
    # the preamble is the user's own shell text, written as is: not bash_lexer's to read
    preamble = set(bs.preamble) if bs is not None else set()
    body = "\n".join(line for line in script.split("\n") if line not in preamble)
    if "array:members" in launch.facts:  # the members are in the table, not the script
        _programs(body)  # bash reads the task's own lines
        _check_table(entity, launch)
    else:
        _check_body(planner, entity, body)


def check_plan(planner: str, entity: Model | Ensemble) -> bool:
    """Plan ``entity`` with ``planner`` and check the outcome; True when it was planned."""
    result = PLANNERS[planner](entity, WORLD)
    assert isinstance(result, (Success, Failure))
    if isinstance(result, Failure):
        invalid = result.failure()
        assert isinstance(invalid, Invalid) and invalid.errors
        for error in invalid.errors:
            assert isinstance(error, ValidationError) and isinstance(error.field, str)
            assert error.message  # renders
        return False
    launches = result.unwrap()
    assert launches
    for launch, owner in zip(launches, _owners(entity, launches), strict=True):
        if planner == "dragon":
            _check_dragon_request(owner, launch)
        elif launch.submission is not None:
            _check_script(planner, owner, launch)
        elif launch.command is not None and planner != "kubernetes":
            for word in launch.command.argv:
                assert "\x00" not in word
            if "array:members" in launch.facts:
                _check_table(owner, launch)
            else:
                _check_body(planner, owner, launch.command.shell())
    return True


def _check_dragon_request(model: Model | Ensemble, launch: Launch) -> None:
    """The driver's request (JSON) gives back the member's program, arguments, environment and
    files exactly; the runtime command holds no NUL."""
    assert isinstance(model, Model)
    assert launch.command is not None
    for word in launch.command.argv:
        assert "\x00" not in word
    (text,) = launch.files.values()
    assert text.isascii()
    request = json.loads(text)
    rs = model.run_settings
    assert [request["exe"], *request["args"]] == [rs.exe, *rs.args]
    assert request["env"] == dict(rs.env.items())
    assert (request["stdout"], request["stderr"], request["cwd"]) == (
        launch.stdout,
        launch.stderr,
        model.path,
    )


def _owners(entity: Model | Ensemble, launches: Sequence[Launch]) -> list[Model | Ensemble]:
    """The entity each launch runs: the ensemble (one job), else its members in order."""
    if isinstance(entity, Ensemble) and len(launches) == len(entity.members) > 1:
        return list(entity.members)
    return [entity] * len(launches)

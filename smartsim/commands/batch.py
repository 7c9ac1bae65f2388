"""Batch planning shared by the PBS, LSF and Grid Engine planners: one :class:`BatchJob` per
submission (:func:`plan_batch`), the script lines that run its members, and the small renderers
every single-dash scheduler (``qsub``, ``bsub``) shares.

Everything here is pure. The public names are also importable from
:mod:`smartsim.commands.pbs`, where they were first written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, Protocol, TypeAlias, final

import attrs
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap
from smartsim.commands._options import ENV_NAME, OptionRules, check_text, option_problems, typed_set
from smartsim.commands._texts import script_text_problems
from smartsim.commands._types import Command, Submission
from smartsim.commands.array import ArraySyntax, array_extra, array_files, array_members
from smartsim.commands.launch import LaunchContext, check_run_command, launch_command
from smartsim.commands.plan import Launch, World, output_paths
from smartsim.commands.script import (
    ScriptReader,
    background_and_wait,
    batch_script,
    directive_line,
    quote,
    shell_line,
)
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
from smartsim.validate import batch_problems, check_name, run_settings_problems
from smartsim.values import ArraySpec, BatchSettings, Ensemble, Model, OptionValue, RunSettings

#: One option as a pair: ``("-l", "walltime=1:00:00")``; ``("-V", None)`` for a bare flag.
Option: TypeAlias = tuple[str, str | None]


# =========================================================================== batch planning


@final
@attrs.frozen(kw_only=True)
class BatchJob:
    """One batch job before a scheduler renders it: who it runs, where its files go, the
    script lines that run the members, and the totals the members ask for.

    ``tasks``, ``cpus`` and ``gpus`` add up every member's processes (an MPMD part counts its
    own), because the members of a batch ensemble run at the same time in one allocation.
    """

    name: str
    kind: str
    path: str
    settings: BatchSettings
    members: tuple[str, ...]
    stdout: str
    stderr: str
    #: The script's path without its extension (``<dir>/<name>[.<run>]``).
    stem: str
    body: tuple[str, ...]
    files: FrozenMap[str, str] = attrs.field(factory=FrozenMap)
    mkdirs: tuple[str, ...] = ()
    tasks: int = 1
    cpus: int = 1
    gpus: int = 0

    @property
    def nodes(self) -> int:
        """The node count asked for (``1`` when the settings leave it open)."""
        return self.settings.nodes or 1

    @property
    def tasks_per_node(self) -> int:
        return node_shares(self.settings, self.tasks, self.cpus, self.gpus)[0]

    @property
    def cpus_per_node(self) -> int:
        return node_shares(self.settings, self.tasks, self.cpus, self.gpus)[1]

    @property
    def gpus_per_node(self) -> int:
        return node_shares(self.settings, self.tasks, self.cpus, self.gpus)[2]

    def sizes(self) -> dict[str, int]:
        """The job's totals, as the option builders of PBS and LSF take them."""
        return {"tasks": self.tasks, "cpus": self.cpus, "gpus": self.gpus}

    def submitted(self, suffix: str, script: str, submit: Callable[[str], Command]) -> Launch:
        """The launch that writes ``script`` at the job's stem plus ``suffix`` and submits it
        with ``submit(script_path)``."""
        path = self.stem + suffix
        return self.launch(Submission(script_path=path, script=script, submit=submit(path)))

    def launch(self, submission: Submission) -> Launch:
        """The :class:`Launch` that submits this job with ``submission``."""
        return Launch(
            name=self.name,
            kind=self.kind,
            members=self.members,
            cwd=self.path,
            stdout=self.stdout,
            stderr=self.stderr,
            submission=submission,
            files=self.files,
            mkdirs=self.mkdirs,
        )


def part_tasks(part: RunSettings) -> int:
    """Processes one MPMD part (or a whole program) starts."""
    if part.ntasks is not None:
        return part.ntasks
    if part.nodes is not None:
        return part.nodes * (part.tasks_per_node or 1)
    return 1


def _totals(models: Sequence[Model]) -> tuple[int, int, int]:
    tasks = cpus = gpus = 0
    for model in models:
        for part in model.run_settings.parts:
            n = part_tasks(part)
            tasks += n
            cpus += n * (part.cpus_per_task or 1)
            gpus += n * (part.gpus_per_task or 0)
    return tasks, cpus, gpus


def _member_command(model: Model, out: str | None, err: str | None) -> Command:
    rs = model.run_settings
    ctx = LaunchContext(cwd=model.path, name=model.name, stdout=out, stderr=err)
    command = launch_command(rs, ctx)
    return attrs.evolve(command, cwd=model.path, stdout=out, stderr=err, files=FrozenMap())


def batch_job(
    name: str,
    *,
    kind: str,
    path: str,
    settings: BatchSettings,
    members: Sequence[Model],
    world: World,
) -> BatchJob:
    """The job that runs ``members`` (valid models) with ``settings``.

    One model runs in the foreground and writes to the job's own output files; the members of
    an ensemble run in the background, each with its own output files, and the job waits for
    each one and fails when one failed (:func:`~smartsim.commands.script.background_and_wait`).

    A job that is not an array also writes its exit status to :func:`exit_file` as it ends,
    so the status is known where the scheduler forgets finished jobs (PBS without job
    history, LSF after ``CLEAN_PERIOD``, Grid Engine without accounting).

    >>> m = Model(name="m", path="/e/m", run_settings=RunSettings(exe="echo", args=("a b",)))
    >>> job = batch_job("m", kind="Model", path="/e/m", settings=BatchSettings(), members=[m],
    ...                 world=World(exp_path="/e"))
    >>> for line in job.body:
    ...     print(line)
    cd /e/m && echo 'a b'
    smartsim_rc=$?
    echo "$smartsim_rc" >/e/m/m.rc
    exit "$smartsim_rc"
    """
    stem = output_paths(path, name, world.run_index)[0][: -len(".out")]
    record = (
        None if settings.array is not None else f'echo "$smartsim_rc" >{quote(exit_file(stem))}'
    )
    files: dict[str, str] = {}
    if len(members) == 1 and members[0].path == path and members[0].name == name:
        command = _member_command(members[0], None, None)
        files.update(launch_command(members[0].run_settings, _ctx(members[0], None)).files)
        body: tuple[str, ...] = (shell_line(command),)
        if record is not None:
            body += ("smartsim_rc=$?", record, 'exit "$smartsim_rc"')
    else:
        commands = []
        for member in members:
            m_out, m_err = output_paths(member.path, member.name, world.run_index)
            commands.append(_member_command(member, m_out, m_err))
            files.update(launch_command(member.run_settings, _ctx(member, m_out)).files)
        body = background_and_wait(commands)
        if record is not None:
            assert body[-1] == 'exit "$smartsim_rc"', body[-1]
            body = (*body[:-1], record, body[-1])
    return _job(
        body, files, name=name, kind=kind, path=path, settings=settings, members=members,
        sized=members, world=world,
    )  # fmt: skip


def _job(
    body: tuple[str, ...],
    files: Mapping[str, str],
    *,
    name: str,
    kind: str,
    path: str,
    settings: BatchSettings,
    members: Sequence[Model],
    sized: Sequence[Model],
    world: World,
) -> BatchJob:
    """The job ``name`` running ``members`` with ``body``, its output files by the history
    scheme, sized for ``sized`` (every member at once, or one: an array's task)."""
    out, err = output_paths(path, name, world.run_index)
    tasks, cpus, gpus = _totals(sized)
    return BatchJob(
        name=name,
        kind=kind,
        path=path,
        settings=settings,
        members=tuple(m.name for m in members),
        stdout=out,
        stderr=err,
        stem=out[: -len(".out")],
        body=body,
        files=FrozenMap(files),
        mkdirs=tuple(dict.fromkeys([path, *(m.path for m in members)])),
        tasks=tasks,
        cpus=cpus,
        gpus=gpus,
    )


def exit_file(stem: str) -> str:
    """Where a job whose script path starts with ``stem`` records its exit status.

    >>> exit_file("/e/m/m.2")
    '/e/m/m.2.rc'
    """
    return stem + ".rc"


def script_exit_file(script_path: str, script: str, suffix: str) -> str | None:
    """The exit-status file a script written by these planners records into, if it does:
    ``script_path`` is the stem plus ``suffix``, and the script writes the file."""
    if not script_path.endswith(suffix):
        return None
    path = exit_file(script_path[: -len(suffix)])
    return path if f'echo "$smartsim_rc" >{quote(path)}' in script else None


def _ctx(model: Model, out: str | None) -> LaunchContext:
    return LaunchContext(cwd=model.path, name=model.name, stdout=out)


def _texts(rs: RunSettings) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for i, part in enumerate(rs.parts):
        where = "" if i == 0 else f"mpmd[{i - 1}]."
        out.append((f"{where}exe", part.exe))
        out += [(f"{where}args[{j}]", a) for j, a in enumerate(part.args)]
        out += [(f"{where}env[{k!r}]", v) for k, v in part.env.items()]
    return out


def script_line_problems(field: str, text: str, prefix: str) -> list[ValidationError]:
    """A line of ``text`` (after a newline) that the scheduler would read as a directive."""
    for line in text.split("\n")[1:]:
        if line.startswith(prefix):
            return [ForbiddenCharacter(field, text, "\n")]
    return []


def member_problems(
    model: Model, field: str, *, tool: str, prefix: str | None = None
) -> list[ValidationError]:
    """What keeps ``model`` from running as a line of a batch script of ``tool`` (the script
    reader's own rule is :func:`script_text_problems`; ``prefix``, kept for callers that
    check one directive prefix themselves, refuses a newline that starts a line with it)."""
    rs = model.run_settings
    errors = check_name(f"{field}.name", model.name)
    if not model.path:
        errors.append(EmptyValue(f"{field}.path", model.path))
    else:
        errors += check_text(f"{field}.path", model.path)
    errors += run_settings_problems(rs, f"{field}.run_settings")
    try:
        errors += [attrs.evolve(e, field=f"{field}.{e.field}") for e in check_run_command(rs)]
    except ImportError as exc:  # a launcher family whose builders are not there
        errors.append(BadValue(f"{field}.run_settings.run_command", rs.run_command, str(exc)))
    if rs.alloc is not None:
        errors.append(
            Unsupported(
                f"{field}.run_settings.alloc",
                rs.alloc,
                f"{tool} (a batch job runs in its own allocation)",
            )
        )
    if prefix is not None:
        for where, text in _texts(rs):
            errors += script_line_problems(f"{field}.run_settings.{where}", text, prefix)
        errors += script_line_problems(f"{field}.path", model.path, prefix)
    return errors


def _preamble_problems(bs: BatchSettings, field: str, prefix: str) -> list[ValidationError]:
    return [
        BadValue(
            f"{field}.preamble[{i}]",
            line,
            f"a line not starting with {prefix!r} (use batch_args for scheduler options)",
        )
        for i, line in enumerate(bs.preamble)
        if line.lstrip().startswith(prefix)
    ]


def plan_batch(
    entity: Model | Ensemble,
    world: World,
    *,
    tool: str,
    prefix: str,
    path_check: Callable[[str, str], list[ValidationError]],
    settings_check: Callable[[BatchSettings, str], list[ValidationError]],
    render: Callable[[BatchJob], Launch],
    reader: ScriptReader,
    job_check: Callable[[BatchJob, str], list[ValidationError]] | None = None,
    array: ArraySyntax | None = None,
    max_parallel: int | None = None,
) -> Result[tuple[Launch, ...], Invalid]:
    """The batch jobs that run ``entity``, or every reason they cannot be written.

    A model is one job (its ``batch_settings``, or an empty one: under a batch launcher every
    entity is a batch job). An ensemble with ``batch_settings`` is one job running every member;
    without, each member is its own job. ``path_check`` (of a member's path) and
    ``settings_check`` add what the scheduler cannot express, ``job_check`` what it cannot
    express about a whole job (its totals); ``render`` writes the script and the submit command.
    ``reader`` is the scheduler's script reader: its rule is applied to every text of the entity
    (:func:`script_text_problems`).

    ``array``: the scheduler's array syntax. An ensemble that can be an array
    (:func:`smartsim.commands.array.array_members`) is then one array job whose tasks each run
    one member, at most ``max_parallel`` at once (an error where the scheduler has no cap).
    """
    errors: list[ValidationError] = []
    arrayed = _array_members(entity, array)

    def settings_problems(bs: BatchSettings, field: str) -> list[ValidationError]:
        return (
            batch_problems(bs, field)
            + settings_check(bs, field)
            + _preamble_problems(bs, field, prefix)
        )

    def model_problems(model: Model, field: str) -> list[ValidationError]:
        return member_problems(model, field, tool=tool) + path_check(f"{field}.path", model.path)

    #: (name, kind, path, settings, models, field of the settings)
    jobs: list[tuple[str, str, str, BatchSettings, tuple[Model, ...], str]] = []
    if isinstance(entity, Model):
        errors += model_problems(entity, "model")
        bs = entity.batch_settings or BatchSettings()
        errors += settings_problems(bs, "model.batch_settings")
        jobs.append((entity.name, "Model", entity.path, bs, (entity,), "model.batch_settings"))
    else:
        errors += check_name("ensemble.name", entity.name)
        if not entity.members:
            errors.append(EmptyValue("ensemble.members", ()))
        if entity.batch_settings is not None:
            if not entity.path:
                errors.append(EmptyValue("ensemble.path", entity.path))
            else:
                # the job's own files (-o/-e and the script) live there: the scheduler's path
                # rule applies to it as to every member's
                errors += check_text("ensemble.path", entity.path)
                errors += path_check("ensemble.path", entity.path)
            errors += settings_problems(entity.batch_settings, "ensemble.batch_settings")
        seen: set[str] = set()
        for i, member in enumerate(entity.members):
            field = f"ensemble.members[{i}]"
            errors += model_problems(member, field)
            if member.name in seen:
                errors.append(BadName(f"{field}.name", member.name, "unique in the ensemble"))
            seen.add(member.name)
            if entity.batch_settings is not None:
                if member.batch_settings is not None:
                    errors.append(
                        ConflictingOptions(
                            f"{field}.batch_settings", "set", "the ensemble's batch_settings"
                        )
                    )
            else:
                bs = member.batch_settings or BatchSettings()
                errors += settings_problems(bs, f"{field}.batch_settings")
                jobs.append(
                    (member.name, "Model", member.path, bs, (member,), f"{field}.batch_settings")
                )
        if entity.batch_settings is not None:
            jobs = [
                (
                    entity.name,
                    "Ensemble",
                    entity.path,
                    entity.batch_settings,
                    entity.members,
                    "ensemble.batch_settings",
                )
            ]
    errors += script_text_problems(
        reader, entity, "model" if isinstance(entity, Model) else "ensemble", errors
    )
    if arrayed is not None and array is not None and isinstance(entity, Ensemble):
        # the array job's own files (-o/-e, the script, the table) live in the ensemble's
        # directory: the scheduler's path rule applies to it as to every member's
        errors += check_text("ensemble.path", entity.path)
        errors += path_check("ensemble.path", entity.path)
        errors += _cap_problems(array, max_parallel)
        if errors:
            return Failure(Invalid.of(errors))
        return _plan_array(
            entity,
            arrayed,
            world=world,
            array=array,
            max_parallel=max_parallel,
            settings_problems=settings_problems,
            render=render,
            job_check=job_check,
        )
    if errors:
        return Failure(Invalid.of(errors))
    built = [
        (batch_job(name, kind=kind, path=path, settings=bs, members=models, world=world), field)
        for name, kind, path, bs, models, field in jobs
    ]
    if job_check is not None:
        for job, field in built:
            errors += job_check(job, field)
        if errors:
            return Failure(Invalid.of(errors))
    return Success(tuple(render(job) for job, _ in built))


def _array_members(entity: Model | Ensemble, array: ArraySyntax | None) -> tuple[Model, ...] | None:
    if array is None or not isinstance(entity, Ensemble) or not entity.path:
        return None
    members = array_members(entity)
    if members is None or len(members) < array.min_size:
        return None
    return members


def _cap_problems(array: ArraySyntax, max_parallel: int | None) -> list[ValidationError]:
    if max_parallel is None:
        return []
    if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1:
        return [BadValue("max_parallel", max_parallel, "an int >= 1 (or None: no cap)")]
    if array.no_cap is not None:
        return [Unsupported("max_parallel", max_parallel, array.no_cap)]
    return []


def _plan_array(
    entity: Ensemble,
    members: Sequence[Model],
    *,
    world: World,
    array: ArraySyntax,
    max_parallel: int | None,
    settings_problems: Callable[[BatchSettings, str], list[ValidationError]],
    render: Callable[[BatchJob], Launch],
    job_check: Callable[[BatchJob, str], list[ValidationError]] | None,
) -> Result[tuple[Launch, ...], Invalid]:
    """One array job running ``members`` (valid, see :func:`plan_batch`), one per task."""
    field = "ensemble.members[0].batch_settings"
    first = members[0]
    spec = ArraySpec(array.base, array.base + len(members) - 1, limit=max_parallel)
    settings = attrs.evolve(first.batch_settings or BatchSettings(), array=spec)
    stem = output_paths(entity.path, entity.name, world.run_index)[0][: -len(".out")]
    files, body, errors = array_files(members, stem, array, world.run_index)
    errors += settings_problems(settings, field)
    job = _job(
        body, files, name=entity.name, kind="Ensemble", path=entity.path, settings=settings,
        members=members, sized=[first], world=world,
    )  # fmt: skip
    if job_check is not None:
        errors += job_check(job, field)
    if errors:
        return Failure(Invalid.of(errors))
    launch = render(job)
    facts = {**launch.facts, **array_extra(array.base, job.members)}
    return Success((attrs.evolve(launch, facts=facts),))


def raw_options(options: Mapping[str, OptionValue]) -> tuple[Option, ...]:
    """Raw options of the single-dash schedulers (qsub, bsub): ``-key value``; ``None`` or
    ``True`` a bare flag; ``False`` leaves the option out.

    >>> raw_options({"W": "depend=afterok:12.srv", "V": None, "r": False, "p": 3})
    (('-W', 'depend=afterok:12.srv'), ('-V', None), ('-p', '3'))
    """
    out: list[Option] = []
    for key, value in options.items():
        if value is False:
            continue
        if value is None or value is True:
            out.append((f"-{key}", None))
        else:
            out.append((f"-{key}", value if isinstance(value, str) else str(value)))
    return tuple(out)


def refused(f: str, settings: object, **why: str) -> list[ValidationError]:
    """An ``Unsupported`` for each field of ``settings`` named in ``why`` that is set (not
    ``None``, not empty), in that order, saying why the scheduler cannot express it.

    >>> [e.field for e in refused("bs.", BatchSettings(mem="1G"), mem="no", gpus="no")]
    ['bs.mem']
    """
    out: list[ValidationError] = []
    for name, reason in why.items():
        value = getattr(settings, name)
        if value is not None and value != ():
            out.append(Unsupported(f + name, value, reason))
    return out


def host_items(f: str, hosts: Sequence[str], how: str) -> list[ValidationError]:
    """A host list item that is not one host name (a range ``n[1-3]`` or a list ``a,b``).

    >>> [e.field for e in host_items("bs.", ("n1", "n[2-3]"), "bsub -m")]
    ['bs.hostlist[1]']
    """
    return [
        BadValue(f"{f}hostlist[{i}]", host, f"one host name per item ({how})")
        for i, host in enumerate(hosts)
        if "[" in host or "," in host
    ]


#: An option name of bsub(1) and Grid Engine's qsub(1): a letter, then letters, digits and
#: underscores.
SINGLE_DASH_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def batch_args_problems(rules: OptionRules, bs: BatchSettings, f: str) -> list[ValidationError]:
    """What ``rules.tool`` cannot take among ``bs.batch_args`` (``f``: the settings' field and
    a dot), given the typed fields of ``bs`` that render the same options
    (:func:`~smartsim.commands._options.option_problems`).

    >>> rules = OptionRules(tool="qsub", single_dash=True, refused={"o": "smartsim"},
    ...                     typed={"N": ("job_name",)})
    >>> bad = BatchSettings(job_name="a", batch_args={"o": "x", "N": "b"})
    >>> [str(e) for e in batch_args_problems(rules, bad, "bs.")]
    ["smartsim cannot express bs.batch_args['o']='x'", \
"bs.batch_args['N'] sets the same option as bs.job_name (value 'b')"]
    """
    return option_problems(rules, f + "batch_args", bs.batch_args, typed_set(rules, bs, f))


#: The first line of every batch scheduler's job script: bash reads the body.
SHEBANG: Final = "#!/bin/bash"


class ScriptWriter(Protocol):
    """``(options, body, preamble=()) -> script``: a scheduler's job script."""

    def __call__(
        self, options: Sequence[Option], body: Sequence[str], preamble: Sequence[str] = ()
    ) -> str: ...


def script_writer(directives: Callable[[Sequence[Option]], tuple[str, ...]]) -> ScriptWriter:
    """The job-script writer of a scheduler whose options are written as ``directives``: the
    shebang, one directive line per option, the preamble, the body.

    >>> write = script_writer(lambda options: tuple(f"#X {f} {v}" for f, v in options))
    >>> print(write([("-n", "2"), ("-P", "proj")], ["myjob arg"]), end="")
    #!/bin/bash
    #X -n 2
    #X -P proj
    myjob arg
    """

    def write(
        options: Sequence[Option], body: Sequence[str], preamble: Sequence[str] = ()
    ) -> str:
        return batch_script(SHEBANG, directives(options), preamble, body)

    return write


def option_words(option: Option) -> tuple[str, ...]:
    flag, value = option
    return (flag,) if value is None else (flag, value)


def output_options(
    stdout: str | None, stderr: str | None, batch_args: Mapping[str, OptionValue]
) -> tuple[Option, ...]:
    """The last options of a job: its output files (``-o``, ``-e``), then the user's raw
    options (:func:`raw_options`).

    >>> output_options("/w/a.out", None, {"V": None})
    (('-o', '/w/a.out'), ('-V', None))
    """
    out: list[Option] = []
    if stdout is not None:
        out.append(("-o", stdout))
    if stderr is not None:
        out.append(("-e", stderr))
    return (*out, *raw_options(batch_args))


def option_argv(tool: str, options: Iterable[Option], *tail: str) -> tuple[str, ...]:
    """``tool``, each option's words, then ``tail`` (a command line of a single-dash scheduler).

    >>> option_argv("qsub", [("-N", "sim"), ("-V", None)], "job.sh")
    ('qsub', '-N', 'sim', '-V', 'job.sh')
    """
    words = [tool]
    for option in options:
        words += option_words(option)
    return (*words, *tail)


def option_lines(
    prefix: str, options: Iterable[Option], quote_word: Callable[[str], str]
) -> tuple[str, ...]:
    """One ``prefix`` directive line per option, each word quoted with ``quote_word``.

    >>> option_lines("#PBS", [("-N", "sim"), ("-V", None)], str)
    ('#PBS -N sim', '#PBS -V')
    """
    return tuple(directive_line(prefix, option_words(o), quote_word=quote_word) for o in options)


def node_shares(bs: BatchSettings, tasks: int, cpus: int, gpus: int) -> tuple[int, int, int]:
    """Each node's even share of a job's totals: tasks, cpus (at least one per task) and gpus
    (``bs.gpus`` when set: it is already per node).

    >>> node_shares(BatchSettings(nodes=2), tasks=8, cpus=12, gpus=3)
    (4, 6, 2)
    """
    nodes = bs.nodes or 1
    per_node_tasks = max(1, math.ceil(tasks / nodes))
    per_node_cpus = max(per_node_tasks, math.ceil(cpus / nodes))
    ngpus = bs.gpus if bs.gpus is not None else math.ceil(gpus / nodes)
    return per_node_tasks, per_node_cpus, ngpus


def check_quoted_env(field: str, env: Mapping[str, str]) -> list[ValidationError]:
    """Environment a ``-v``/``-env`` list carries with :func:`env_item`: POSIX names; one-line
    values without quotes or backslashes (the list quotes values, with no escape inside)."""
    errors: list[ValidationError] = []
    for key, value in env.items():
        if not ENV_NAME.fullmatch(key):
            errors.append(BadName(f"{field}[{key!r}]", key, "a POSIX variable name"))
        errors += check_text(f"{field}[{key!r}]", value)
        for ch in ("'", '"', "\\"):
            if ch in value:
                errors.append(ForbiddenCharacter(f"{field}[{key!r}]", value, ch))
                break
    return errors


def env_item(key: str, value: str) -> str:
    """``key=value``, the value in single quotes when it holds commas or blanks or is empty.

    >>> env_item("A", "1"), env_item("B", "x,y"), env_item("C", "")
    ('A=1', "B='x,y'", "C=''")
    """
    text = f"'{value}'" if value == "" or re.search(r"[,\s]", value) else value
    return f"{key}={text}"


@final
@attrs.frozen
class NameRule:
    """The check of a job name a scheduler's ``-N`` accepts: ``pattern`` matches all of it,
    else a ``BadName`` saying ``rule``.

    >>> check = NameRule(re.compile("[a-z]+"), "lowercase letters")
    >>> check("n", "sim"), [type(e).__name__ for e in check("n", "1sim")]
    ([], ['BadName'])
    """

    pattern: re.Pattern[str]
    rule: str

    def __call__(self, field: str, name: str) -> list[ValidationError]:
        return [] if self.pattern.fullmatch(name) else [BadName(field, name, self.rule)]


def cancel_succeeded(returncode: int, stdout: str, stderr: str, gone: re.Pattern[str]) -> bool:
    """Whether a cancel tool worked: it exited 0, or every line it printed matches ``gone``
    (the job had already finished or was unknown).

    >>> cancel_succeeded(1, "", "job 3 finished\\n", re.compile("finished"))
    True
    """
    if returncode == 0:
        return True
    lines = [line for line in (stdout + "\n" + stderr).splitlines() if line.strip()]
    return bool(lines) and all(gone.search(line) for line in lines)


@final
@attrs.frozen(slots=False)
class ToolWords:
    """What a batch scheduler's own tools say that smartsim acts on: ``cancel_tool`` takes job
    ids as its arguments; ``gone`` matches its words for a job that had already ended or that
    it does not know (not an error for a cancel); ``down``, any tool's words when the
    scheduler's server cannot be reached (a transient failure, asked again later).

    >>> words = ToolWords("qdel", gone=re.compile("finished"), down=re.compile("refused"))
    >>> words.cancel_argv([3, "4.srv"]), words.cancel_argv(["5"], tool="/opt/pbs/bin/qdel")
    (('qdel', '3', '4.srv'), ('/opt/pbs/bin/qdel', '5'))
    >>> words.cancel_succeeded(1, "", "job 3 finished"), words.cancel_succeeded(1, "", "denied")
    (True, False)
    >>> words.unavailable("Connection refused")
    True
    """

    cancel_tool: str
    gone: re.Pattern[str]
    down: re.Pattern[str]

    def cancel_argv(self, job_ids: Sequence[object], *, tool: str | None = None) -> tuple[str, ...]:
        """Cancel every job of ``job_ids`` in one call (an array id cancels every element)."""
        return (tool or self.cancel_tool, *(str(j) for j in job_ids))

    def cancel_succeeded(self, returncode: int, stdout: str, stderr: str) -> bool:
        """Whether the cancel acted on every job or found it already gone
        (:func:`cancel_succeeded`)."""
        return cancel_succeeded(returncode, stdout, stderr, self.gone)

    def unavailable(self, text: str) -> bool:
        """Whether a tool failed because the scheduler's server could not be reached."""
        return bool(self.down.search(text))

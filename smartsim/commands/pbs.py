"""PBS Pro / OpenPBS: ``qsub`` scripts, job ids, ``qstat -f -F json`` and ``qdel`` as values.

Sources (OpenPBS manual pages and sources, quoted beside the rule each one enforces):

* qsub(1B): one ``#PBS`` directive per option, read before the first executable line; job ids
  are ``sequence_number.servername`` and ``sequence_number[].servername`` for arrays;
  ``-l select=[N:]chunk[+...]`` with ``chunk = res=value[:res=value...]``; ``-l place=...``;
  ``-J X-Y[:Z]``; ``-v`` values holding commas are quoted with one quote type and the
  ``var=value`` pair with the other; ``-N`` names (at most 236 characters, the first
  alphabetic; ``check_job_name`` allows letters, digits and ``- _ + .``).
* ``make_argv`` in ``src/cmds/qsub.c``: a directive's text is split on white space, ``"..."``
  and ``'...'`` group with no escapes inside, a backslash outside quotes takes the next
  character; a directive line ending in a backslash continues on the next line.
* ``chk_Jrange`` (``src/lib/Libcmds/chk_Jrange.c``): ``X-Y`` needs ``Y > X`` — an array has at
  least two subjobs (openpbs/openpbs#2701); ``%N`` limits running subjobs (OpenPBS >= 20,
  openpbs/openpbs#2038).
* ``decode_time`` (``src/lib/Libattr/attr_fn_time.c``): ``walltime=[[hours:]minutes:]seconds``,
  hours unbounded.
* qstat(1B) ``-f -F json -x``: ``{"Jobs": {id: {"job_state": ..., "Exit_status": ...}}}``,
  finished jobs included when the server keeps job history; unknown ids are reported on stderr
  (``qstat: Unknown Job Id <id>``).
* PBS Professional Reference Guide, "Job Exit Status": ``0`` success, a negative value is a PBS
  failure to run the job (``JOB_EXEC_*``), a value above 256 means the job was killed by signal
  ``value - 256``; an array job's status is ``0`` (all subjobs succeeded), ``1`` (a subjob
  failed) or ``2`` (a subjob was deleted or killed).

Everything here is pure: validate with :func:`check_qsub` (and the planner), then render.
The batch planning shared by the PBS, LSF and Grid Engine planners (:class:`BatchJob`,
:func:`plan_batch`, ...) is in :mod:`smartsim.commands.batch`; its public names are also
importable from here.
"""

# ruff: noqa: PLC0414 (``x as x``: the batch planning moved to batch.py stays importable here)
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Final, final

import attrs
from returns.result import Failure, Result, Success

from smartsim.commands._options import OptionRules
from smartsim.commands._types import Command, Completed, Handle
from smartsim.commands.array import ArraySyntax
from smartsim.commands.batch import BatchJob as BatchJob
from smartsim.commands.batch import (
    NameRule,
    ToolWords,
    batch_args_problems,
    check_quoted_env,
    env_item,
    node_shares,
    option_argv,
    option_lines,
    output_options,
    refused,
    script_writer,
)
from smartsim.commands.batch import Option as Option
from smartsim.commands.batch import batch_job as batch_job
from smartsim.commands.batch import exit_file as exit_file
from smartsim.commands.batch import member_problems as member_problems
from smartsim.commands.batch import option_words as option_words
from smartsim.commands.batch import part_tasks as part_tasks
from smartsim.commands.batch import plan_batch as plan_batch
from smartsim.commands.batch import raw_options as raw_options
from smartsim.commands.batch import script_exit_file as script_exit_file
from smartsim.commands.batch import script_line_problems as script_line_problems
from smartsim.commands.plan import Launch, World
from smartsim.commands.scheduler import Scheduler, StatusQuery, has_tasks, job_ids, own_ids
from smartsim.commands.script import ScriptReader
from smartsim.errors import (
    BadValue,
    DuplicateOption,
    Invalid,
    Unsupported,
    ValidationError,
)
from smartsim.status import JobState, Status
from smartsim.values import (
    ArraySpec,
    BatchSettings,
    Duration,
    Ensemble,
    Memory,
    Model,
)

TOOL: Final = "qsub"
TOOLS: Final = ("qsub", "qstat", "qdel")
PREFIX: Final = "#PBS"
#: What OpenPBS ``qsub`` does to a script's text: it refuses any line ending in CR LF ("qsub:
#: script contains cr, lf": ``check_crlf`` in ``get_script``, ``src/cmds/qsub_sup.c``) and reads
#: ``#PBS`` directives only until the first executable line (``pbs_isexecutable``), which the
#: body always starts with; a lone CR is an ordinary byte.
READER: Final = ScriptReader(tool="qsub (OpenPBS)", refused=("\r\n",))
#: The job script's name is the entity's output stem plus this.
SUFFIX: Final = ".pbs.sh"


# =========================================================================== values


def walltime(duration: Duration) -> str:
    """PBS's ``walltime``: ``H:MM:SS`` with unbounded hours (``decode_time``).

    >>> walltime(Duration(90000)), walltime(Duration(90))
    ('25:00:00', '0:01:30')
    """
    return duration.hms()


#: qsub(1B) ``-N``; ``check_job_name`` (``ck_job_name.c``) with ``chk_alpha``.
JOB_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_+.\-]{0,235}")


#: A name ``qsub -N`` accepts (``check_job_name(field, name)``).
check_job_name: Final = NameRule(
    JOB_NAME, "PBS job names: a letter, then letters, digits, '-', '_', '+', '.'; 236 at most"
)


def array_range(array: ArraySpec) -> str:
    """``-J``'s ``X-Y[:Z][%N]``.

    >>> array_range(ArraySpec(0, 9, 2, limit=3))
    '0-9:2%3'
    """
    return str(array)


def check_array(field: str, array: ArraySpec | None) -> list[ValidationError]:
    """``chk_Jrange``: ``Y > X`` (two subjobs at least), and the step must leave two."""
    if array is None or array.stop < array.start or array.step <= 0:
        return []
    if len(array.indices) < 2:
        return [
            BadValue(
                field,
                str(array),
                "a PBS array of at least two subjobs (qsub -J X-Y "
                "needs Y > X and a step that reaches a second index)",
            )
        ]
    return []


def check_variable_list(field: str, env: Mapping[str, str]) -> list[ValidationError]:
    """Environment ``qsub -v`` can carry: POSIX names; values without quotes or backslashes
    (qsub strips quotes and its comma splitter and value reader disagree on backslashes) and
    on one line (directives are lines)."""
    return check_quoted_env(field, env)


def variable_list(env: Mapping[str, str]) -> str:
    """``-v``'s value: ``var=value`` pairs; a value holding commas or blanks in single quotes
    (qsub(1B): "the value must be enclosed in single or double quotes").

    >>> variable_list({"A": "1", "B": "x,y"})
    "A=1,B='x,y'"
    """
    return ",".join(env_item(key, value) for key, value in env.items())


def select(
    nodes: int,
    ncpus: int,
    mpiprocs: int,
    *,
    ngpus: int | None = None,
    mem_mb: int | None = None,
) -> str:
    """A one-chunk ``select`` statement (pbs_resources(7B)).

    >>> select(2, 8, 4, ngpus=1, mem_mb=4096)
    'select=2:ncpus=8:mpiprocs=4:ngpus=1:mem=4096mb'
    """
    out = f"select={nodes}:ncpus={ncpus}:mpiprocs={mpiprocs}"
    if ngpus:
        out += f":ngpus={ngpus}"
    if mem_mb is not None:
        out += f":mem={mem_mb}mb"
    return out


def directive_word(word: str) -> str:
    """Quote one word for qsub's ``make_argv`` so that it reads back ``word`` exactly: plain
    words as they are, else in double quotes (nothing is special inside them), else in single
    quotes, else as single-quoted pieces with ``"'"`` for each single quote. A quoted word never
    ends the line with a backslash (which would continue the directive on the next line).

    >>> directive_word("walltime=1:00:00"), directive_word("a b"), directive_word("it's")
    ('walltime=1:00:00', '"a b"', '"it\\'s"')
    >>> directive_word('''say "it's"''')
    '\\'say "it\\'"\\'"\\'s"\\''
    """
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./^\[\]-]+", word):
        return word
    if '"' not in word:
        return f'"{word}"'
    if "'" not in word:
        return f"'{word}'"
    return "'" + word.replace("'", "'\"'\"'") + "'"


def directive_lines(options: Sequence[Option]) -> tuple[str, ...]:
    """One ``#PBS`` line per option (qsub(1B): a directive has the option's own syntax).

    >>> directive_lines([("-N", "sim"), ("-l", "walltime=25:00:00"), ("-V", None)])
    ('#PBS -N sim', '#PBS -l walltime=25:00:00', '#PBS -V')
    """
    return option_lines(PREFIX, options, directive_word)


_MAX_LINE: Final = 4000  # make_argv's buffer is 4096 bytes
#: qsub(1B) option letters.
_QSUB_LETTERS: Final = "aAcCefGhIjJklmMNopPqrRSuvVWXz"

#: qsub(1B)'s raw options: ``-V`` ... take no value, ``-l`` ... need one; what a job script
#: cannot carry or would move the output smartsim reports; what a typed field renders.
QSUB_OPTIONS: Final = OptionRules(
    tool="qsub",
    single_dash=True,
    key=re.compile(f"[{_QSUB_LETTERS}]"),
    key_expected="a qsub option letter (qsub(1B))",
    flags=frozenset({"V", "h", "z", "f", "I", "X"}),
    valued=frozenset("aAcCeJjklmMNoPpqrSuvW"),
    refused={
        "C": "qsub (-C cannot be a directive)",
        "I": "a batch script (-I is an interactive job)",
        "G": "a batch script (-G is an interactive GUI session)",
        "X": "a batch script (-X forwards X11 of an interactive job)",
        "o": "qsub in smartsim (the job's output paths are set by smartsim)",
        "e": "qsub in smartsim (the job's output paths are set by smartsim)",
        "j": "qsub in smartsim (joining streams moves the error file smartsim reports)",
        "k": "qsub in smartsim (keeping files on the host moves the output smartsim reports)",
    },
    typed={"N": ("job_name",), "q": ("partition",), "A": ("account",), "J": ("array",)},
)


def check_qsub(bs: BatchSettings, field: str = "batch_settings") -> list[ValidationError]:
    """What ``qsub`` cannot express for ``bs`` (the generic rules are
    :func:`smartsim.validate.batch_problems`).

    >>> bad = BatchSettings(array=range(3, 4), batch_args={"o": "x", "q": "a"}, partition="b")
    >>> [(type(e).__name__, e.field) for e in check_qsub(bad)]
    [('BadValue', 'batch_settings.array'), ('Unsupported', "batch_settings.batch_args['o']"), \
('DuplicateOption', "batch_settings.batch_args['q']")]
    """
    f = f"{field}."
    errors: list[ValidationError] = []
    why = "qsub (PBS places chunks by resources: batch_args {'l': 'select=1:host=n1+1:host=n2'})"
    errors += refused(f, bs, hostlist=why, excluded_hosts=why)
    if bs.job_name is not None:
        errors += check_job_name(f + "job_name", bs.job_name)
    errors += check_array(f + "array", bs.array)

    errors += batch_args_problems(QSUB_OPTIONS, bs, f)
    for key, value in bs.batch_args.items():
        if not isinstance(value, str):
            continue
        if key == "l":
            names = {item.partition("=")[0] for item in value.split(",")}
            if "walltime" in names and bs.time is not None:
                errors.append(DuplicateOption(f + "batch_args", "l walltime", f + "time"))
            if "select" in names and (bs.nodes, bs.gpus, bs.mem) != (None, None, None):
                errors.append(DuplicateOption(f + "batch_args", "l select", f + "nodes"))
        if len(value) > _MAX_LINE:
            reason = (
                f"at most {_MAX_LINE} characters "
                "(qsub reads directive lines into a 4096-byte buffer)"
            )
            errors.append(BadValue(f"{f}batch_args[{key!r}]", value, reason))
    return errors


def check_pbs_path(field: str, path: str) -> list[ValidationError]:
    """A path ``-o``/``-e`` read as written (qsub(1B): ``[hostname:]path_name``)."""
    if ":" in path:
        return [Unsupported(field, path, "qsub -o/-e (a ':' is read as hostname:path)")]
    if len(path) > _MAX_LINE:
        return [BadValue(field, path, f"a path of at most {_MAX_LINE} characters")]
    return []


def qsub_options(
    bs: BatchSettings,
    *,
    name: str | None = None,
    tasks: int = 1,
    cpus: int = 1,
    gpus: int = 0,
    stdout: str | None = None,
    stderr: str | None = None,
) -> tuple[Option, ...]:
    """The options of a PBS job for valid settings (see :func:`check_qsub`).

    ``tasks``, ``cpus`` and ``gpus`` are the job's totals; one chunk per node asks for an even
    share of them: ``-l select=N:ncpus=C:mpiprocs=P`` (``bs.gpus`` and ``bs.mem`` are per
    node). ``select`` is left out when nothing asks for more than one cpu.

    >>> qsub_options(BatchSettings(nodes=2, time=90000), tasks=8, name="sim")
    (('-N', 'sim'), ('-l', 'select=2:ncpus=4:mpiprocs=4'), ('-l', 'walltime=25:00:00'))
    """
    out: list[Option] = []
    job_name = bs.job_name or name
    if job_name is not None and JOB_NAME.fullmatch(job_name):
        out.append(("-N", job_name))
    if bs.partition is not None:
        out.append(("-q", bs.partition))
    if bs.account is not None:
        out.append(("-A", bs.account))
    nodes = bs.nodes or 1
    per_node_tasks, per_node_cpus, ngpus = node_shares(bs, tasks, cpus, gpus)
    mem = bs.mem.megabytes if isinstance(bs.mem, Memory) else None
    if bs.nodes is not None or per_node_cpus > 1 or ngpus or mem is not None:
        out.append(("-l", select(nodes, per_node_cpus, per_node_tasks, ngpus=ngpus, mem_mb=mem)))
    if isinstance(bs.time, Duration):
        out.append(("-l", f"walltime={walltime(bs.time)}"))
    if bs.array is not None:
        out.append(("-J", array_range(bs.array)))
    out += output_options(stdout, stderr, bs.batch_args)
    return tuple(out)


def qsub_argv(options: Sequence[Option], script: str, *, tool: str = TOOL) -> tuple[str, ...]:
    """``qsub`` with ``options`` on its command line, then the script.

    >>> qsub_argv([("-N", "Weather1"), ("-l", "walltime=1:00:00")], "weatherscript")
    ('qsub', '-N', 'Weather1', '-l', 'walltime=1:00:00', 'weatherscript')
    """
    return option_argv(tool, options, script)


#: A PBS job script: the shebang, one ``#PBS`` line per option, the preamble, the body.
qsub_script: Final = script_writer(directive_lines)


# =========================================================================== job ids


_JOB_ID: Final = re.compile(
    r"(?P<seq>[0-9]+)(?:\[(?P<index>[0-9]*)\])?(?:\.(?P<server>[^\s\[\]]+))?"
)


@final
@attrs.frozen(order=True)
class PbsJobId:
    """A PBS job id: ``SEQ.server``, an array ``SEQ[].server`` or a subjob ``SEQ[i].server``.

    Default ``qstat`` truncates ids and servers differ in how much of their domain they print,
    so ids are compared by :attr:`key` (the sequence number and the array part).

    >>> job = PbsJobId.parse("1234[].pbs01.example.org").unwrap()
    >>> job.seq, job.array, job.server, str(job)
    (1234, True, 'pbs01.example.org', '1234[].pbs01.example.org')
    """

    seq: int
    server: str | None = None
    array: bool = False
    index: int | None = None

    @staticmethod
    def parse(text: str) -> Result[PbsJobId, str]:
        match = _JOB_ID.fullmatch(text.strip())
        if match is None:
            return Failure(text)
        index = match["index"]
        return Success(
            PbsJobId(
                seq=int(match["seq"]),
                server=match["server"],
                array=index is not None,
                index=int(index) if index else None,
            )
        )

    @property
    def key(self) -> tuple[int, bool, int | None]:
        return (self.seq, self.array, self.index)

    def __str__(self) -> str:
        out = str(self.seq)
        if self.array:
            out += f"[{'' if self.index is None else self.index}]"
        return out if self.server is None else f"{out}.{self.server}"


def parse_qsub_output(stdout: str) -> Result[PbsJobId, str]:
    """The job id ``qsub`` printed: the last non-blank line of its standard output (site
    wrappers print banners before it).

    >>> str(parse_qsub_output("16.pbs01\\n").unwrap())
    '16.pbs01'
    """
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines:
        return Failure("a job id such as 123.server on qsub's standard output")
    parsed = PbsJobId.parse(lines[-1])
    if isinstance(parsed, Failure):
        return Failure("a job id such as 123.server on qsub's standard output")
    return parsed


# =========================================================================== status


def qstat_argv(
    job_ids: Sequence[str], *, tool: str = "qstat", subjobs: bool = False
) -> tuple[str, ...]:
    """Full status of ``job_ids`` as JSON, finished jobs included (qstat(1B) ``-x``); with
    ``subjobs``, each subjob of an array id too (``-t``: ``13[0].srv``, ``13[1].srv``, ...).

    >>> qstat_argv(["12.srv", "13[].srv"])
    ('qstat', '-f', '-F', 'json', '-x', '12.srv', '13[].srv')
    >>> qstat_argv(["13[].srv"], subjobs=True)
    ('qstat', '-f', '-F', 'json', '-x', '-t', '13[].srv')
    """
    return (tool, "-f", "-F", "json", "-x", *(("-t",) if subjobs else ()), *job_ids)


#: qstat(1B) "Job States".
_STATES: Final = {
    "B": Status.RUNNING,  # an array job with at least one subjob started
    "E": Status.RUNNING,  # exiting after having run
    "H": Status.PENDING,  # held
    "M": Status.PENDING,  # moved to another server
    "Q": Status.PENDING,  # queued
    "R": Status.RUNNING,
    "S": Status.RUNNING,  # suspended
    "T": Status.PENDING,  # being moved
    "U": Status.RUNNING,  # suspended: workstation busy
    "W": Status.PENDING,  # waiting for its execution time
}
_SIGNAL_BASE: Final = 256
_CANCEL_SIGNALS: Final = frozenset({2, 9, 15})


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    return None


def job_state(attributes: Mapping[str, object], *, array: bool = False) -> JobState:
    """Our status from one job's ``qstat -f`` attributes.

    >>> job_state({"job_state": "F", "Exit_status": 265}).status
    <Status.CANCELLED: 'CANCELLED'>
    >>> job_state({"job_state": "F", "Exit_status": 3}).returncode
    3
    """
    raw = attributes.get("job_state")
    state = raw if isinstance(raw, str) else ""
    comment = attributes.get("comment")
    reason = comment if isinstance(comment, str) else ""
    code = _as_int(attributes.get("Exit_status"))
    if state not in ("F", "X"):
        return JobState(_STATES.get(state, Status.UNKNOWN), raw=state, reason=reason)
    if code is None:
        # finished without an exit status: deleted before it ran
        return JobState(Status.CANCELLED, raw=state, reason=reason)
    if array:
        status = {0: Status.COMPLETED, 1: Status.FAILED, 2: Status.CANCELLED}.get(
            code, Status.FAILED
        )
        return JobState(status, raw=state, returncode=code, reason=reason)
    if code == 0:
        return JobState(Status.COMPLETED, raw=state, returncode=0, reason=reason)
    if code > _SIGNAL_BASE:
        signal = code - _SIGNAL_BASE
        status = Status.CANCELLED if signal in _CANCEL_SIGNALS else Status.FAILED
        return JobState(status, raw=state, returncode=code, signal=signal, reason=reason)
    return JobState(Status.FAILED, raw=state, returncode=code, reason=reason)


_BAD_ESCAPE: Final = re.compile(r'\\(?!["\\/bfnrtu])')


def _load_json(text: str) -> object:
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        # Some PBS versions print values such as Variable_List with unescaped backslashes
        # (``\,``); read those backslashes as themselves.
        return json.loads(_BAD_ESCAPE.sub(r"\\\\", text), strict=False)


def parse_qstat_json(stdout: str, job_ids: Sequence[str]) -> Result[dict[str, JobState], str]:
    """States of the asked ``job_ids`` found in ``qstat -f -F json`` output, matched by
    sequence number and array part whatever server suffix each side prints. Ids qstat does not
    report are absent. Never raises.

    >>> out = '{"Jobs": {"12.pbs01.example.org": {"job_state": "R"}}}'
    >>> parse_qstat_json(out, ["12.pbs01"]).unwrap()["12.pbs01"].status
    <Status.RUNNING: 'RUNNING'>
    """
    if not stdout.strip():
        return Success({})
    try:
        data = _load_json(stdout)
    except (ValueError, RecursionError):
        return Failure("qstat -F json output")
    if not isinstance(data, dict):
        return Failure("a JSON object")
    jobs = data.get("Jobs", {})
    if not isinstance(jobs, dict):
        return Failure('a "Jobs" object')
    found: dict[tuple[int, bool, int | None], JobState] = {}
    for key, attributes in jobs.items():
        parsed = PbsJobId.parse(key)
        if isinstance(parsed, Failure) or not isinstance(attributes, dict):
            return Failure(f"a job id and its attributes, not {key!r}")
        job = parsed.unwrap()
        found[job.key] = job_state(attributes, array=job.array and job.index is None)
    out: dict[str, JobState] = {}
    for job_id in job_ids:
        asked = PbsJobId.parse(job_id)
        if isinstance(asked, Success) and asked.unwrap().key in found:
            out[job_id] = found[asked.unwrap().key]
    return Success(out)


# =========================================================================== cancel


def qdel_acted(stderr: str, job_ids: Sequence[str]) -> set[str]:
    """The ids qdel deleted: all but those its error lines name (qdel is silent on success).

    >>> sorted(qdel_acted("qdel: Job has finished 12.srv\\n", ["12.srv", "13.srv"]))
    ['13.srv']
    """
    named = set(re.findall(r"([0-9]+(?:\[[0-9]*\])?)(?:\.\S+)?\s*$", stderr, re.MULTILINE))
    out = set()
    for job_id in job_ids:
        parsed = PbsJobId.parse(job_id)
        key = job_id.split(".", 1)[0]
        if isinstance(parsed, Success) and key not in named:
            out.add(job_id)
    return out


#: qdel(1B)'s words (finished, unknown or being deleted: not an error for a cancel), and what
#: PBS's tools say when the server cannot be reached.
WORDS: Final = ToolWords(
    "qdel",
    gone=re.compile(
        r"Job has finished|Unknown Job Id|job has already finished|Request invalid for state of job"
        r"|Job is being deleted|deleted|[Ff]inished",
    ),
    down=re.compile(
        r"cannot connect to server|Connection refused|Communication failure|pbs_iff|"
        r"No route to host|Cannot connect|connect to server",
        re.IGNORECASE,
    ),
)
#: Delete every job of ``job_ids`` (an array id deletes the whole array) in one call.
qdel_argv: Final = WORDS.cancel_argv
#: Whether ``qdel`` deleted every job or found it already gone.
qdel_succeeded: Final = WORDS.cancel_succeeded
#: Whether a PBS command failed because the server could not be reached.
unavailable: Final = WORDS.unavailable


# =========================================================================== planner


def render(job: BatchJob, *, tool: str = TOOL) -> Launch:
    """The launch that submits ``job`` with ``qsub <script>``; every option is a directive."""
    options = qsub_options(
        job.settings, name=job.name, stdout=job.stdout, stderr=job.stderr, **job.sizes()
    )
    script = qsub_script(options, job.body, job.settings.preamble)
    return job.submitted(SUFFIX, script, lambda path: Command(argv=(tool, path), cwd=job.path))


def plan_pbs(
    entity: Model | Ensemble, world: World, *, max_parallel: int | None = None
) -> Result[tuple[Launch, ...], Invalid]:
    """The ``qsub`` jobs that run ``entity``, or every reason they cannot be written; an
    ensemble of like members is one array (:data:`ARRAY`) of at most ``max_parallel`` running
    subjobs.

    >>> from smartsim.values import RunSettings
    >>> m = Model(name="sim", path="/w/sim", run_settings=RunSettings(exe="a.out"),
    ...           batch_settings=BatchSettings(nodes=2, time=90000))
    >>> launch = plan_pbs(m, World(exp_path="/w")).unwrap()[0]
    >>> print(launch.submission.script, end="")
    #!/bin/bash
    #PBS -N sim
    #PBS -l select=2:ncpus=1:mpiprocs=1
    #PBS -l walltime=25:00:00
    #PBS -o /w/sim/sim.out
    #PBS -e /w/sim/sim.err
    cd /w/sim && a.out
    smartsim_rc=$?
    echo "$smartsim_rc" >/w/sim/sim.rc
    exit "$smartsim_rc"
    >>> launch.submission.submit.argv
    ('qsub', '/w/sim/sim.pbs.sh')
    """
    tool = world.tools.get(TOOL, TOOL)
    return plan_batch(
        entity,
        world,
        tool="qsub",
        prefix=PREFIX,
        path_check=check_pbs_path,
        settings_check=check_qsub,
        reader=READER,
        render=lambda job: render(job, tool=tool),
        array=ARRAY,
        max_parallel=max_parallel,
    )


# =========================================================================== the seam


def _only_unknown(stderr: str) -> bool:
    """qstat exits non-zero when an id is unknown (purged, or history disabled); that is an
    answer about that job, not a failure of the query."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return all("Unknown Job Id" in line or "Job has finished" in line for line in lines)


def read_submit(done: Completed) -> Result[str, str]:
    """The job id ``qsub`` printed.

    >>> read_submit(Completed(("qsub", "s"), 0, "12.srv\\n", "")).unwrap()
    '12.srv'
    """
    return parse_qsub_output(done.stdout).map(str)


def read_status(done: Completed, handles: Sequence[Handle]) -> Result[Mapping[str, JobState], str]:
    """States of the handles' jobs in ``qstat -f -F json -x`` output (unknown ids are absent).

    >>> read_status(Completed(("qstat",), 153, "", "qstat: Unknown Job Id 9.s\\n"), []).unwrap()
    {}
    """
    if done.returncode != 0 and not done.stdout.strip() and not _only_unknown(done.stderr):
        return Failure("qstat output (it failed)")
    return parse_qstat_json(done.stdout, own_ids(handles)).map(dict)


def read_cancel(done: Completed, job_ids: Sequence[str]) -> frozenset[str] | None:
    """The ids ``qdel`` acted on (not those already finished); ``None`` when it failed.

    >>> sorted(read_cancel(Completed(("qdel", "1.s"), 0, "", ""), ["1.s"]))
    ['1.s']
    """
    if not qdel_succeeded(done.returncode, done.stdout, done.stderr):
        return None
    return frozenset(qdel_acted(done.stderr, job_ids))


def task_id(job_id: str, index: int) -> str:
    """Subjob ``index`` of array ``job_id`` as qstat(1B) names it.

    >>> task_id("123[].srv", 4), task_id("123[]", 0)
    ('123[4].srv', '123[0]')
    """
    head, _, server = job_id.partition(".")
    number = head.split("[", 1)[0]
    return f"{number}[{index}]" + (f".{server}" if server else "")


#: PBS arrays: ``qsub -J 0-(N-1)[%CAP]``, the subjob's index in ``PBS_ARRAY_INDEX``; subjobs
#: are ``123[4].server`` in ``qstat -t``. The ``%CAP`` suffix (max_run_subjobs) is OpenPBS 20
#: and PBS Professional 2020 and later; older servers refuse the ``-J`` value ("qsub: illegal
#: -J value"): the submission fails loudly, it never runs uncapped.
ARRAY: Final = ArraySyntax(index_var="PBS_ARRAY_INDEX", base=0, task_id=task_id, min_size=2)


#: PBS Pro / OpenPBS: ``qsub`` a script, ``qstat -f -F json -x`` every job in one call, ``qdel``
#: them in one call. ``tools`` paths matter: Grid Engine and Slurm's Torque wrappers install
#: tools of the same names.
SCHEDULER: Final = Scheduler(
    name="pbs",
    submit_tool=TOOL,
    tools=TOOLS,
    plan=plan_pbs,
    parse_submit=read_submit,
    queries=(
        StatusQuery(
            argv=lambda handles, tools, _tz: qstat_argv(
                job_ids(handles), tool=tools["qstat"], subjobs=has_tasks(handles)
            ),
            read=read_status,
        ),
    ),
    cancel_argv=lambda handles, tools: qdel_argv(job_ids(handles), tool=tools["qdel"]),
    read_cancel=read_cancel,
    unavailable=unavailable,
    script_suffix=SUFFIX,
    array=ARRAY,
)

"""Grid Engine (SGE, Son of Grid Engine, UGE): ``qsub`` scripts with ``#$`` directives, ``-terse``
ids, ``qstat -xml`` then ``qacct -j`` for finished jobs, ``qdel``.

Sources (Grid Engine manual pages, and Debian's Son of Grid Engine 8.1.9 where it was run to
check them; quoted beside the rule each one enforces):

* qsub(1): ``-pe <pe_name> <slots>``, ``-l h_rt=...``, ``-t n[-m[:s]]`` arrays with ``-tc`` the
  number of tasks running at once, ``-terse`` (the id alone: ``123`` or ``123.1-10:1``),
  ``-N``, ``-o``/``-e``, ``-q``, ``-A``, ``-wd``, ``-S``; directive prefix ``#$``.
* ``parse_script_file`` (``source/common/parse_job_cull.c``): every line that starts with ``#$``
  in its first column is a directive, *wherever it is* in the script; only the first 2048 bytes
  of a line are read. Checked on 8.1.9: a ``#`` ends a directive even inside quotes; quotes
  (``"`` or ``'``) group blanks but run to the end of the line and are removed — so one option
  per line, its quoted value last, and values never hold ``#`` or quotes.
* sge_types(1) ``time_specifier``: seconds, or exactly ``hours:minutes:seconds`` (``10:00`` is
  "not a time value"; ``010`` is octal, 8 s) — smartsim writes ``H:MM:SS``.
* object names (checked on 8.1.9): "cannot start with a digit"; no ``: @ * ?`` or ``/``.
* ``-o``/``-e``/``-wd`` paths are ``[[host]:]path[,...]`` and expand ``$HOME``, ``$JOB_ID``, ...
  so smartsim's paths may not hold ``: , $``.
* qstat(1) ``-xml``: ``job_list`` elements (``JB_job_number``, ``state``, ``tasks``) of pending
  and running jobs only; finished jobs are in the accounting file, read with qacct(1) ``-j``:
  ``failed`` (0, or a code and its reason such as ``100 : assumedly after job`` or ``37 :
  qmaster enforced h_rt...``) and ``exit_status`` per job or array task; a job deleted while
  pending has no record at all.
* qdel(1) (8.1.9 messages): ``... has registered the job 3 for deletion``, ``... has deleted
  job 5``; ``denied: job "2" does not exist`` for a finished or unknown job.

Everything here is pure: validate with :func:`check_qsub` (and the planner), then render.
"""

from __future__ import annotations

import datetime as _dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Final, final

import attrs
from returns.result import Failure, Result, Success

from smartsim.commands._options import ENV_NAME, OptionRules, check_text
from smartsim.commands._types import Command, Completed, Handle
from smartsim.commands.array import ArraySyntax
from smartsim.commands.batch import (
    SINGLE_DASH_NAME,
    BatchJob,
    NameRule,
    Option,
    ToolWords,
    batch_args_problems,
    host_items,
    option_words,
    output_options,
    plan_batch,
    refused,
    script_writer,
)
from smartsim.commands.plan import Launch, World
from smartsim.commands.scheduler import (
    Scheduler,
    StatusQuery,
    combine_states,
    own_ids,
    submitted_at,
)
from smartsim.commands.script import ScriptReader, directive_line
from smartsim.errors import (
    BadName,
    BadValue,
    DuplicateOption,
    ForbiddenCharacter,
    Invalid,
    Unsupported,
    ValidationError,
)
from smartsim.status import JobState, Status
from smartsim.values import ArraySpec, BatchSettings, Duration, Ensemble, Model, OptionValue

TOOL: Final = "qsub"
TOOLS: Final = ("qsub", "qstat", "qdel", "qacct")
PREFIX: Final = "#$"
#: What Grid Engine ``qsub`` does to a script's text: every line starting with ``#$`` in its
#: first column is a directive, wherever it is (``parse_script_file``,
#: ``source/common/parse_job_cull.c``); lines end at LF only. Checked with the real qsub 8.1.9
#: (``qsub -verify``): CR LF in the body is accepted and kept, a lone CR does not end a line.
READER: Final = ScriptReader(tool="qsub (Grid Engine)", directive=re.compile(re.escape("#$")))
#: The job script's name is the entity's output stem plus this.
SUFFIX: Final = ".sge.sh"
#: The parallel environment smartsim asks for by default (sites name their own).
DEFAULT_PE: Final = "smp"
_MAX_LINE: Final = 2000  # parse_script_file reads 2048 bytes of a line


# =========================================================================== values


def h_rt(duration: Duration) -> str:
    """``-l h_rt``'s value: ``H:MM:SS`` with unbounded hours (three fields, as sge_types(1)
    requires).

    >>> h_rt(Duration(90000)), h_rt(Duration(5400))
    ('25:00:00', '1:30:00')
    """
    return duration.hms()


def task_range(array: ArraySpec) -> str:
    """``-t``'s ``n-m[:s]`` (the limit goes to ``-tc``).

    >>> task_range(ArraySpec(1, 10, 2, limit=3))
    '1-10:2'
    """
    out = f"{array.start}-{array.stop}"
    return out if array.step == 1 else f"{out}:{array.step}"


_NAME: Final = re.compile(r"[^0-9\s/:@\\*?#'\"][^\s/:@\\*?#'\"]*")


#: A name ``qsub -N`` accepts (``check_job_name(field, name)``).
check_job_name: Final = NameRule(
    _NAME,
    "Grid Engine names: not starting with a digit, no blanks, none of / : @ \\ * ? # or quotes",
)


def check_word(field: str, word: str) -> list[ValidationError]:
    """A value a ``#$`` line carries exactly: one line, no ``#`` (it ends the directive even
    quoted), no quote characters (removed), short enough to be read whole."""
    errors = check_text(field, word)
    for ch in ("#", '"', "'"):
        if ch in word:
            errors.append(ForbiddenCharacter(field, word, ch))
            break
    # "surrogatepass": a byte count for any str (a lone surrogate is READER's to refuse)
    if len(word.encode("utf-8", "surrogatepass")) > _MAX_LINE:
        errors.append(BadValue(field, word, f"at most {_MAX_LINE} bytes on a #$ line"))
    return errors


def check_sge_path(field: str, path: str) -> list[ValidationError]:
    """A path ``-o``/``-e``/``-wd`` read as written."""
    errors = check_word(field, path)
    for ch in (":", ",", "$"):
        if ch in path:
            errors.append(
                Unsupported(
                    field, path, f"qsub -o/-e/-wd (a {ch!r} is part of Grid Engine's path syntax)"
                )
            )
            break
    return errors


def check_variable_list(field: str, env: Mapping[str, str]) -> list[ValidationError]:
    """Environment ``qsub -v`` can carry: POSIX names, values without commas (the list
    separator) that a ``#$`` line carries."""
    errors: list[ValidationError] = []
    for key, value in env.items():
        if not ENV_NAME.fullmatch(key):
            errors.append(BadName(f"{field}[{key!r}]", key, "a POSIX variable name"))
        errors += check_word(f"{field}[{key!r}]", value)
        if "," in value:
            errors.append(Unsupported(f"{field}[{key!r}]", value, "qsub -v (commas separate)"))
    return errors


def variable_list(env: Mapping[str, str]) -> str:
    """``-v``'s value.

    >>> variable_list({"A": "1", "B": "x y"})
    'A=1,B=x y'
    """
    return ",".join(f"{k}={v}" for k, v in env.items())


def directive_word(word: str) -> str:
    """Quote one word of a ``#$`` line: plain words as they are, else in double quotes (the
    word must then be the line's last, which one option per line guarantees).

    >>> directive_word("h_rt=1:00:00"), directive_word("/a b/c.out")
    ('h_rt=1:00:00', '"/a b/c.out"')
    """
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./\[\]^~-]+", word):
        return word
    return f'"{word}"'


def directive_lines(options: Sequence[Option]) -> tuple[str, ...]:
    """One ``#$`` line per option; ``-pe`` carries two words.

    >>> directive_lines([("-pe", "smp 4"), ("-l", "h_rt=25:00:00"), ("-N", "a b")])
    ('#$ -pe smp 4', '#$ -l h_rt=25:00:00', '#$ -N "a b"')
    """
    lines = []
    for flag, value in options:
        if flag == "-pe" and value is not None:
            lines.append(directive_line(PREFIX, [flag, *value.split(" ", 1)]))
        else:
            lines.append(
                directive_line(PREFIX, option_words((flag, value)), quote_word=directive_word)
            )
    return tuple(lines)


#: qsub(1) of Grid Engine's raw options: ``-V`` ... take no value, ``-l`` ... need one; what
#: smartsim sets itself or a batch job cannot carry; what a typed field renders.
QSUB_OPTIONS: Final = OptionRules(
    tool="qsub",
    single_dash=True,
    key=SINGLE_DASH_NAME,
    key_expected="a qsub option name such as 'l'",
    flags=frozenset({"cwd", "V", "terse", "notify", "hard", "soft", "clear"}),
    valued=frozenset(
        {"a", "ac", "A", "b", "c", "ckpt", "C", "dc", "dl", "e", "hold_jid", "hold_jid_ad", "i",
         "j", "js", "l", "m", "M", "masterq", "N", "now", "o", "P", "p", "pe", "q", "R", "r",
         "S", "sc", "shell", "sync", "t", "tc", "v", "w", "wd"}
    ),
    refused={
        "o": "qsub in smartsim (the job's output paths are set by smartsim)",
        "e": "qsub in smartsim (the job's output paths are set by smartsim)",
        "j": "qsub in smartsim (joining streams moves the error file smartsim reports)",
        "wd": "qsub in smartsim (the job runs in the entity's directory)",
        "cwd": "qsub in smartsim (the job runs in the entity's directory)",
        "S": "qsub in smartsim (the script is a bash script)",
        "b": "a job script (-b y submits a binary)",
        "sync": "qsub in smartsim (-sync y blocks the submission until the job ends)",
        "now": "qsub in smartsim (-now y makes the submission fail instead of queueing)",
        "terse": "qsub in smartsim (set on the command line by smartsim)",
        "C": "a job script (-C cannot be a directive)",
        "pe": "a raw option (-pe takes two words): set sge.scheduler(pe=...) and nodes",
    },
    typed={
        "N": ("job_name",),
        "q": ("partition",),
        "A": ("account",),
        "t": ("array",),
        "tc": ("array",),
    },
)


def _word(_key: str, value: OptionValue, where: str) -> list[ValidationError]:
    return check_word(where, value) if isinstance(value, str) else []


def check_qsub(bs: BatchSettings, field: str = "batch_settings") -> list[ValidationError]:
    """What Grid Engine's ``qsub`` cannot express for ``bs``.

    >>> bad = BatchSettings(gpus=1, array=range(0, 4), batch_args={"sync": "y"})
    >>> [(type(e).__name__, e.field) for e in check_qsub(bad)]
    [('Unsupported', 'batch_settings.gpus'), ('BadValue', 'batch_settings.array.start'), \
('Unsupported', "batch_settings.batch_args['sync']")]
    """
    f = f"{field}."
    errors: list[ValidationError] = []
    errors += refused(
        f,
        bs,
        gpus="Grid Engine (GPUs are a site-defined complex: use batch_args {'l': 'gpu=N'})",
        mem="Grid Engine (memory is a per-slot, "
        "site-defined complex: use batch_args {'l': 'h_vmem=...'})",
        excluded_hosts="Grid Engine (no exclusion list: batch_args {'l': 'hostname=!n3'})",
    )
    errors += host_items(f, bs.hostlist, "-l hostname=")
    if bs.array is not None and bs.array.start < 1:
        errors.append(BadValue(f + "array.start", bs.array.start, "a Grid Engine task id >= 1"))
    if bs.job_name is not None:
        errors += check_job_name(f + "job_name", bs.job_name)
    for name in ("account", "partition"):
        value = getattr(bs, name)
        if isinstance(value, str):
            errors += check_word(f + name, value)
    errors += batch_args_problems(QSUB_OPTIONS, bs, f)
    for key, value in bs.batch_args.items():
        items = value.split(",") if key == "l" and isinstance(value, str) else []
        if bs.time is not None and "h_rt" in {item.partition("=")[0] for item in items}:
            errors.append(DuplicateOption(f + "batch_args", "l h_rt", f + "time"))
        errors += _word(key, value, f"{f}batch_args[{key!r}]")
    return errors


def slots(job: BatchJob) -> int:
    """Slots to ask the parallel environment for: with ``nodes``, nodes times the cores each
    node must give; without, the members' total cores."""
    if job.settings.nodes is not None:
        return job.nodes * job.cpus_per_node
    return max(1, job.cpus)


def qsub_options(
    bs: BatchSettings,
    *,
    name: str | None = None,
    slots: int = 1,
    pe: str | None = DEFAULT_PE,
    cwd: str | None = None,
    stdout: str | None = None,
    stderr: str | None = None,
) -> tuple[Option, ...]:
    """The options of a Grid Engine job for valid settings (see :func:`check_qsub`).

    Grid Engine has no node count: more than one slot is asked of the parallel environment
    ``pe`` (``-pe pe slots``), whose ``allocation_rule`` decides how they spread over hosts.

    >>> qsub_options(BatchSettings(nodes=2, time=90000), slots=8, name="sim")
    (('-N', 'sim'), ('-S', '/bin/bash'), ('-pe', 'smp 8'), ('-l', 'h_rt=25:00:00'))
    """
    out: list[Option] = []
    job_name = bs.job_name or name
    if job_name is not None and _NAME.fullmatch(job_name):
        out.append(("-N", job_name))
    out.append(("-S", "/bin/bash"))
    if cwd is not None:
        out.append(("-wd", cwd))
    if bs.partition is not None:
        out.append(("-q", bs.partition))
    if bs.account is not None:
        out.append(("-A", bs.account))
    if slots > 1 and pe is not None:
        out.append(("-pe", f"{pe} {slots}"))
    if isinstance(bs.time, Duration):
        out.append(("-l", f"h_rt={h_rt(bs.time)}"))
    if bs.hostlist:
        out.append(("-l", "hostname=" + "|".join(bs.hostlist)))  # sge_types(1): a|b
    if bs.array is not None:
        out.append(("-t", task_range(bs.array)))
        if bs.array.limit is not None:
            out.append(("-tc", str(bs.array.limit)))
    out += output_options(stdout, stderr, bs.batch_args)
    return tuple(out)


#: A Grid Engine job script: the shebang, one ``#$`` line per option, preamble, body.
qsub_script: Final = script_writer(directive_lines)


def qsub_argv(script: str, *, tool: str = TOOL) -> tuple[str, ...]:
    """Submit ``script`` printing the job id alone (``-terse``).

    >>> qsub_argv("/w/sim.sge.sh")
    ('qsub', '-terse', '/w/sim.sge.sh')
    """
    return (tool, "-terse", script)


# =========================================================================== job ids

_TERSE: Final = re.compile(
    r"(?P<job>[0-9]+)(?:\.(?P<first>[0-9]+)-(?P<last>[0-9]+):(?P<step>[0-9]+))?"
)
#: One task of an array, as smartsim names it (qstat(1) and qacct(1) show job and task apart).
_TASK: Final = re.compile(r"(?P<job>[0-9]+)\.(?P<task>[0-9]+)")
_VERBOSE: Final = re.compile(
    r"Your job(?:-array)? (?P<id>[0-9]+(?:\.[0-9]+-[0-9]+:[0-9]+)?) \(.*\) has been submitted"
)


@final
@attrs.frozen(order=True)
class SgeJobId:
    """A Grid Engine job id as ``qsub -terse`` prints it: ``123``, or ``123.1-10:1`` for an
    array (its tasks ``first..last`` by ``step``).

    >>> job = SgeJobId.parse("4.2-6:2").unwrap()
    >>> job.job, list(job.tasks), str(job)
    (4, [2, 4, 6], '4.2-6:2')
    """

    job: int
    first: int | None = None
    last: int | None = None
    step: int = 1
    #: Whether this names one task, ``123.4`` (its ``first`` and ``last``).
    task: bool = False

    @staticmethod
    def parse(text: str) -> Result[SgeJobId, str]:
        """``123``, ``123.1-10:1`` (an array) or ``123.4`` (its task 4).

        >>> str(SgeJobId.parse("12.4").unwrap()), list(SgeJobId.parse("12.4").unwrap().tasks)
        ('12.4', [4])
        """
        one = _TASK.fullmatch(text.strip())
        if one is not None:
            index = int(one["task"])
            return Success(SgeJobId(int(one["job"]), index, index, 1, task=True))
        match = _TERSE.fullmatch(text.strip())
        if match is None:
            return Failure(text)
        if match["first"] is None:
            return Success(SgeJobId(int(match["job"])))
        step = int(match["step"])
        if step < 1:
            return Failure(text)
        return Success(SgeJobId(int(match["job"]), int(match["first"]), int(match["last"]), step))

    @property
    def tasks(self) -> range:
        if self.first is None or self.last is None:
            return range(0)
        return range(self.first, self.last + 1, self.step)

    def __str__(self) -> str:
        if self.first is None:
            return str(self.job)
        if self.task:
            return f"{self.job}.{self.first}"
        return f"{self.job}.{self.first}-{self.last}:{self.step}"


def parse_qsub_output(stdout: str) -> Result[SgeJobId, str]:
    """The id ``qsub -terse`` printed (its last non-blank line), or the id inside ``Your job
    123 ("name") has been submitted`` when ``-terse`` was not honoured.

    >>> str(parse_qsub_output("4.1-3:1\\n").unwrap()), str(parse_qsub_output(
    ...     'Your job-array 33.2-6:2 ("arr") has been submitted\\n').unwrap())
    ('4.1-3:1', '33.2-6:2')
    """
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if lines:
        parsed = SgeJobId.parse(lines[-1])
        if isinstance(parsed, Success):
            return parsed
    match = _VERBOSE.search(stdout)
    if match is not None:
        return SgeJobId.parse(match["id"])
    return Failure("a job id such as 123 or 123.1-10:1 (qsub -terse)")


# =========================================================================== status


def qstat_argv(*, tool: str = "qstat") -> tuple[str, ...]:
    """Pending and running jobs as XML (one call, whatever the number of jobs).

    >>> qstat_argv()
    ('qstat', '-xml')
    """
    return (tool, "-xml")


def qacct_argv(*, begin: str | None = None, tool: str = "qacct") -> tuple[str, ...]:
    """Every accounting record (``-j`` without an id), from ``begin`` on (qacct(1) ``-b
    [[CC]YY]MMDDhhmm[.SS]``, the earliest start time to report).

    >>> qacct_argv(begin="202611241500")
    ('qacct', '-b', '202611241500', '-j')
    """
    return (tool, *(("-b", begin) if begin is not None else ()), "-j")


def qstat_state(state: str) -> JobState:
    """Our status from qstat's state letters (qstat(1): ``qw``, ``hqw``, ``r``, ``t``,
    ``Rr``, ``s``, ``Eqw``, ``dr``, ...).

    >>> qstat_state("Eqw").status, qstat_state("hqw").status, qstat_state("dr").status
    (<Status.FAILED: 'FAILED'>, <Status.PENDING: 'PENDING'>, <Status.CANCELLED: 'CANCELLED'>)
    """
    if "E" in state:
        return JobState(Status.FAILED, raw=state, reason="error state (see qstat -j)")
    if "d" in state:
        return JobState(Status.CANCELLED, raw=state, reason="being deleted")
    if "q" in state or "w" in state:  # queued or waiting (``hRwq``: held, rescheduled)
        return JobState(Status.PENDING, raw=state)
    if any(c in state for c in "rtRsST"):
        return JobState(Status.RUNNING, raw=state)
    if "h" in state:
        return JobState(Status.PENDING, raw=state)
    return JobState(Status.UNKNOWN, raw=state)


#: ASCII digits only (``str.isdigit`` also accepts ``²``, which ``int`` refuses).
_DIGITS: Final = re.compile(r"[0-9]+")


def job_lists(text: str) -> Result[list[tuple[int, str, str]], str]:
    """Every ``<job_list>`` of ``qstat -xml`` output as (job number, state letters, ``<tasks>``
    text). Never raises.

    >>> job_lists("<job_info><job_list><JB_job_number>3</JB_job_number><state>r</state>"
    ...           "<tasks>2</tasks></job_list></job_info>").unwrap()
    [(3, 'r', '2')]
    """
    if not text.strip():
        return Success([])
    try:
        root = ET.fromstring(text)
    except (ET.ParseError, ValueError, RecursionError):
        return Failure("qstat -xml output")
    if root.tag != "job_info":
        return Failure("a <job_info> document")
    out: list[tuple[int, str, str]] = []
    for item in root.iter("job_list"):
        number = (item.findtext("JB_job_number") or "").strip()
        if not _DIGITS.fullmatch(number):
            return Failure("job_list entries with a JB_job_number")
        state = (item.findtext("state") or "").strip()
        out.append((int(number), state, (item.findtext("tasks") or "").strip()))
    return Success(out)


def parse_qstat_xml(text: str) -> Result[dict[int, JobState], str]:
    """States of every job ``qstat -xml`` lists, by job number (an array's tasks combined).
    Never raises.

    >>> out = ("<job_info><queue_info><job_list state='running'><JB_job_number>3"
    ...        "</JB_job_number><state>r</state></job_list></queue_info></job_info>")
    >>> parse_qstat_xml(out).unwrap()[3].status
    <Status.RUNNING: 'RUNNING'>
    """

    def combined(rows: list[tuple[int, str, str]]) -> dict[int, JobState]:
        found: dict[int, list[JobState]] = {}
        for number, state, _ in rows:
            found.setdefault(number, []).append(qstat_state(state))
        return {job: combine_states(states) for job, states in found.items()}

    return job_lists(text).map(combined)


def task_list(text: str) -> list[int] | None:
    """The task ids of qstat's ``<tasks>`` text (``4``, ``3,4``, ``5-20:1``, ``1-9:2,12``);
    ``None`` when it holds none or is not such a list.

    >>> task_list("3,5-9:2"), task_list(""), task_list("x")
    ([3, 5, 7, 9], None, None)
    """
    out: list[int] = []
    for item in text.split(","):
        match = re.fullmatch(r"([0-9]+)(?:-([0-9]+)(?::([0-9]+))?)?", item.strip())
        if match is None:
            return None
        first = int(match[1])
        last = int(match[2]) if match[2] is not None else first
        step = int(match[3]) if match[3] is not None else 1
        if step < 1 or last < first:
            return None
        out.extend(range(first, last + 1, step))
    return out


def parse_qstat_tasks(text: str) -> Result[dict[tuple[int, int], JobState], str]:
    """States of the array tasks ``qstat -xml`` lists, by job number and task id (a pending
    range such as ``<tasks>5-20:1</tasks>`` gives each of its tasks). Never raises.

    >>> out = ("<job_info><job_info><job_list state='pending'><JB_job_number>3"
    ...        "</JB_job_number><state>qw</state><tasks>1-2:1</tasks></job_list></job_info>"
    ...        "</job_info>")
    >>> sorted(parse_qstat_tasks(out).unwrap())
    [(3, 1), (3, 2)]
    """
    return job_lists(text).map(
        lambda rows: {
            (number, task): qstat_state(state)
            for number, state, tasks in rows
            for task in task_list(tasks) or ()
        }
    )


_RECORD_SPLIT: Final = re.compile(r"^={10,}\s*$", re.MULTILINE)
_SUMMARY: Final = re.compile(r"^Total System Usage\s*$", re.MULTILINE)


def _record_state(fields: Mapping[str, str]) -> JobState:
    failed_text = fields.get("failed", "").strip()
    failed_match = re.match(r"(-?[0-9]+)\s*(?::\s*(.*))?", failed_text)
    failed = int(failed_match[1]) if failed_match else 0
    why = (failed_match[2] or "").strip() if failed_match else failed_text
    exit_match = re.match(r"(-?[0-9]+)", fields.get("exit_status", "").strip())
    code = int(exit_match[1]) if exit_match else None
    signal = code - 128 if code is not None and 128 < code < 160 else None
    if failed == 0 and code == 0:
        return JobState(Status.COMPLETED, raw="0", returncode=0)
    reason = why if failed else ""
    return JobState(Status.FAILED, raw=str(failed), returncode=code, signal=signal, reason=reason)


def parse_qacct(text: str) -> Result[dict[int, dict[int | None, JobState]], str]:
    """Accounting records of ``qacct -j`` by job number, then task id (``None`` for a job
    that is not an array). Never raises.

    >>> out = "=" * 62 + "\\njobnumber    3\\ntaskid       undefined\\nfailed       100 : " \\
    ...       "assumedly after job\\nexit_status  137                  (Killed)\\n"
    >>> parse_qacct(out).unwrap()[3][None]
    JobState(status=<Status.FAILED: 'FAILED'>, raw='100', returncode=137, signal=9, \
reason='assumedly after job')
    """
    out: dict[int, dict[int | None, JobState]] = {}
    # qacct ends with a usage summary (alone when no record matched): not records
    text = _SUMMARY.split(text, maxsplit=1)[0]
    for chunk in _RECORD_SPLIT.split(text):
        if not chunk.strip():
            continue
        fields: dict[str, str] = {}
        for line in chunk.splitlines():
            key, _, value = line.strip().partition(" ")
            if key:
                fields[key] = value.strip()
        number = fields.get("jobnumber", "")
        if not _DIGITS.fullmatch(number):
            return Failure("qacct records with a jobnumber")
        task_text = fields.get("taskid", "undefined")
        task = int(task_text) if _DIGITS.fullmatch(task_text) else None
        out.setdefault(int(number), {})[task] = _record_state(fields)
    return Success(out)


def accounting_state(records: Mapping[int | None, JobState], job: SgeJobId) -> JobState | None:
    """The final state of ``job`` from its accounting records, or ``None`` while a task of an
    array has no record yet (the accounting file is written as tasks end). A job that was
    retried has one record per attempt: the last one counts (``records`` keeps the last)."""
    tasks = list(job.tasks)
    if not tasks:
        return records.get(None) or (combine_states(list(records.values())) if records else None)
    states = [records.get(t) for t in tasks]
    if any(s is None for s in states):
        return None
    return combine_states([s for s in states if s is not None])


# =========================================================================== cancel


_ACTED: Final = re.compile(
    r"has registered the job(?:-array task)? ([0-9]+)|has deleted job(?:-array task)? ([0-9]+)"
)


def qdel_acted(text: str) -> set[int]:
    """Job numbers qdel deleted or registered for deletion (not those already gone).

    >>> sorted(qdel_acted('root has registered the job-array task 4.1 for deletion\\n'
    ...                   'root has deleted job 5\\ndenied: job "2" does not exist\\n'))
    [4, 5]
    """
    return {int(m[1] or m[2]) for m in _ACTED.finditer(text)}


#: Grid Engine qdel(1)'s words, and what its tools say when the qmaster cannot be reached.
WORDS: Final = ToolWords(
    "qdel",
    gone=re.compile(
        r"has registered the job|has deleted job|does not exist|already (?:in|marked for) deletion"
        r"|for deletion"
    ),
    down=re.compile(
        r"unable to contact qmaster|commlib error|can't connect|unable to send message to qmaster"
        r"|cannot connect|qmaster.*(?:not|isn't) (?:running|available)",
        re.IGNORECASE,
    ),
)
#: Delete every job (all tasks of an array) in one call.
qdel_argv: Final = WORDS.cancel_argv
#: Whether every job was deleted or was already gone.
qdel_succeeded: Final = WORDS.cancel_succeeded
#: Whether a Grid Engine command failed because the qmaster could not be reached.
unavailable: Final = WORDS.unavailable


# =========================================================================== planner


def render(job: BatchJob, *, tool: str = TOOL, pe: str | None = DEFAULT_PE) -> Launch:
    """The launch that submits ``job`` with ``qsub -terse <script>``."""
    options = qsub_options(
        job.settings,
        name=job.name,
        slots=slots(job),
        pe=pe,
        cwd=job.path,
        stdout=job.stdout,
        stderr=job.stderr,
    )
    script = qsub_script(options, job.body, job.settings.preamble)
    return job.submitted(
        SUFFIX, script, lambda path: Command(argv=qsub_argv(path, tool=tool), cwd=job.path)
    )


def plan_sge(
    entity: Model | Ensemble,
    world: World,
    *,
    pe: str | None = DEFAULT_PE,
    max_parallel: int | None = None,
) -> Result[tuple[Launch, ...], Invalid]:
    """The Grid Engine jobs that run ``entity``, or every reason they cannot be written; an
    ensemble of like members is one array (:data:`ARRAY`) of at most ``max_parallel``
    running tasks.

    Like members of an ensemble without batch settings are one array of tasks:

    >>> from smartsim.values import RunSettings
    >>> bs = BatchSettings(nodes=2, time=90000)
    >>> ms = [Model(name=f"m{i}", path=f"/w/e/m{i}", batch_settings=bs,
    ...             run_settings=RunSettings(exe="a.out", args=(str(i),))) for i in range(4)]
    >>> launch = plan_sge(Ensemble(name="e", path="/w/e", members=ms), World(exp_path="/w"),
    ...                   max_parallel=2).unwrap()[0]
    >>> print(*launch.submission.script.splitlines()[:10], sep="\\n")
    #!/bin/bash
    #$ -N e
    #$ -S /bin/bash
    #$ -wd /w/e
    #$ -pe smp 2
    #$ -l h_rt=25:00:00
    #$ -t 1-4
    #$ -tc 2
    #$ -o /w/e/e.out
    #$ -e /w/e/e.err
    >>> launch.submission.submit.argv, list(launch.files)
    (('qsub', '-terse', '/w/e/e.sge.sh'), ['/w/e/e.tasks'])
    """
    tool = world.tools.get(TOOL, TOOL)

    def job_check(job: BatchJob, field: str) -> list[ValidationError]:
        count = slots(job)
        if count > 1 and pe is None:
            return [
                Unsupported(
                    f"{field}.nodes" if job.settings.nodes is not None else field,
                    count,
                    "Grid Engine without a parallel environment (sge.scheduler(pe=...))",
                )
            ]
        return []

    pe_errors = [] if pe is None else check_word("pe", pe)
    if pe is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", pe):
        pe_errors.append(BadName("pe", pe, "a parallel environment name"))
    if pe_errors:
        return Failure(Invalid.of(pe_errors))
    return plan_batch(
        entity,
        world,
        tool="qsub",
        prefix=PREFIX,
        path_check=check_sge_path,
        settings_check=check_qsub,
        reader=READER,
        render=lambda job: render(job, tool=tool, pe=pe),
        job_check=job_check,
        array=ARRAY,
        max_parallel=max_parallel,
    )


# =========================================================================== the seam


def _job(job_id: str) -> SgeJobId:
    parsed = SgeJobId.parse(job_id)
    return parsed.unwrap() if isinstance(parsed, Success) else SgeJobId(-1)


def qacct_begin(handles: Sequence[Handle], tz: _dt.tzinfo) -> str | None:
    """qacct's ``-b``: a minute before the earliest submission, in the local time zone ``tz``
    (qacct reads ``[[CC]YY]MMDDhhmm`` as local time); ``None`` when a handle does not record
    its submission.

    >>> at = (("submitted", "2026-01-02T03:04:05+00:00"),)
    >>> h = Handle(launcher="sge", name="m", job_id="3", extra=at)
    >>> qacct_begin([h], _dt.timezone.utc)
    '202601020303'
    """
    times = [submitted_at(h) for h in handles]
    if not times or any(t is None for t in times):
        return None
    earliest = min(t for t in times if t is not None)
    return (earliest - _dt.timedelta(minutes=1)).astimezone(tz).strftime("%Y%m%d%H%M")


def read_submit(done: Completed) -> Result[str, str]:
    """The job id ``qsub -terse`` printed.

    >>> read_submit(Completed(("qsub",), 0, "41\\n", "")).unwrap()
    '41'
    """
    return parse_qsub_output(done.stdout).map(str)


def read_qstat(done: Completed, handles: Sequence[Handle]) -> Result[Mapping[str, JobState], str]:
    """States of the handles' jobs ``qstat -xml`` lists (pending and running ones).

    >>> read_qstat(Completed(("qstat",), 0, "<job_info/>", ""), [])
    <Success: {}>
    """
    parsed = parse_qstat_xml(done.stdout)
    if isinstance(parsed, Failure) or done.returncode != 0:
        return Failure("qstat -xml output")
    states = parsed.unwrap()
    out: dict[str, JobState] = {}
    tasks: dict[tuple[int, int], JobState] | None = None
    for j in own_ids(handles):
        job = _job(j)
        if not job.task:
            if job.job in states:
                out[j] = states[job.job]
            continue
        if tasks is None:
            tasks = parse_qstat_tasks(done.stdout).value_or({})
        state = tasks.get((job.job, job.first or 0))
        if state is not None:
            out[j] = state
    return Success(out)


def read_qacct(done: Completed, handles: Sequence[Handle]) -> Result[Mapping[str, JobState], str]:
    """States of the handles' jobs in the accounting file (``qacct -j``); an array with tasks
    not yet recorded is still running; an empty accounting file reports nothing.

    >>> read_qacct(Completed(("qacct",), 1, "", "error: job id * not found\\n"), [])
    <Success: {}>
    """
    if done.returncode != 0 and not done.stdout.strip():
        if "not found" in done.stderr:  # an empty accounting file
            return Success({})
        return Failure("qacct output (it failed)")
    parsed = parse_qacct(done.stdout)
    if isinstance(parsed, Failure):
        return Failure(parsed.failure())
    records = parsed.unwrap()
    out: dict[str, JobState] = {}
    for handle in handles:
        job = _job(handle.job_id)
        state = accounting_state(records.get(job.job, {}), job)
        if state is not None:
            out[handle.job_id] = state
        elif job.job in records and not job.task:  # a task without a record: not known yet
            out[handle.job_id] = JobState(
                Status.RUNNING, raw="", reason="some array tasks have no record yet"
            )
    return Success(out)


def read_cancel(done: Completed, job_ids: Sequence[str]) -> frozenset[str] | None:
    """The ids ``qdel`` acted on (a task by its job's number); ``None`` when it failed.

    >>> read_cancel(Completed(("qdel", "5"), 1, "", "denied: job 5 does not exist\\n"), ["5"])
    frozenset()
    """
    if not qdel_succeeded(done.returncode, done.stdout, done.stderr):
        return None
    acted = qdel_acted(done.stdout + "\n" + done.stderr)
    return frozenset(j for j in job_ids if _job(j).job in acted)


def task_id(job_id: str, index: int) -> str:
    """Task ``index`` of array job ``job_id`` (``qsub -terse`` printed ``123.1-20:1``).

    >>> task_id("123.1-20:1", 4)
    '123.4'
    """
    return f"{_job(job_id).job}.{index}"


#: Grid Engine arrays: ``qsub -t 1-N -tc CAP`` (qsub(1): ``-tc`` the most tasks running at
#: once), the task's id in ``SGE_TASK_ID`` (from 1); ``qstat -xml`` lists tasks by job number
#: and ``<tasks>``, ``qacct`` by ``taskid``. Sites limit the size (``max_aj_tasks``, 75000 by
#: default) and the running tasks (``max_aj_instances``, 2000 by default).
ARRAY: Final = ArraySyntax(index_var="SGE_TASK_ID", base=1, task_id=task_id)


def scheduler(*, pe: str | None = DEFAULT_PE) -> Scheduler:
    """Grid Engine: ``qsub -terse`` a script; poll with one ``qstat -xml`` and, for the jobs it
    no longer lists, one ``qacct -j`` over the accounting file; ``qdel`` in one call. ``pe``
    names the parallel environment asked for slots when a job needs more than one (sites name
    their own; ``None`` makes such jobs an error).

    >>> [q.argv([], {"qstat": "qstat", "qacct": "qacct"}, _dt.timezone.utc)[0]
    ...  for q in scheduler().queries]
    ['qstat', 'qacct']
    """
    return Scheduler(
        name="sge",
        submit_tool=TOOL,
        tools=TOOLS,
        plan=lambda entity, world, max_parallel=None: plan_sge(
            entity, world, pe=pe, max_parallel=max_parallel
        ),
        parse_submit=read_submit,
        queries=(
            StatusQuery(
                argv=lambda _h, tools, _tz: qstat_argv(tool=tools["qstat"]), read=read_qstat
            ),
            StatusQuery(
                argv=lambda handles, tools, tz: qacct_argv(
                    begin=qacct_begin(handles, tz), tool=tools["qacct"]
                ),
                read=read_qacct,
            ),
        ),
        cancel_argv=lambda handles, tools: qdel_argv(
            list(dict.fromkeys(_job(h.job_id).job for h in handles)), tool=tools["qdel"]
        ),
        read_cancel=read_cancel,
        unavailable=unavailable,
        script_suffix=SUFFIX,
        array=ARRAY,
    )


#: Grid Engine as ``Experiment(launcher="sge")`` uses it.
SCHEDULER: Final = scheduler()

"""IBM Spectrum LSF: ``bsub`` scripts on standard input, job ids, ``bjobs -json`` and ``bkill``.

Sources (IBM Spectrum LSF 10.1 command reference, quoted beside the rule each one enforces):

* bsub *command* argument: "If the job is not given on the command line, bsub reads the job
  commands from standard input ... bsub options can also be specified in the standard input if
  the line begins with #BSUB". A script passed as a file argument has its ``#BSUB`` lines read
  only where the site sets ``LSB_BSUB_PARSE_SCRIPT=Y`` (bsub *job_script*), so smartsim always
  submits on standard input (``Command.stdin``) and never relies on the argument form.
* ``-W [hour:]minute``: "the minutes can be specified as a number greater than 59"; ``10:00`` is
  ten hours and ``01:00:00`` is rejected (dask/dask-jobqueue#703), so a duration is rendered in
  whole minutes, rounded up.
* ``-J "name[index_list]%job_slot_limit"``: indices ``start[-end[:step]]`` are positive integers;
  array names use ``a-z A-Z 0-9 . - _``; the specification is at most 255 characters.
* ``-n`` tasks, ``-R "span[ptile=N]"`` tasks per host, ``-nnodes`` (CSM systems such as Summit),
  ``-gpu "num=N"`` GPUs per host, ``-q`` queue, ``-P`` project, ``-o``/``-e`` (``%J``/``%I`` are
  replaced there, so smartsim's paths may not hold them).
* ``-env "all, VAR=value, ..."``: a value holding commas is put in single quotes.
* ``Job <1234> is submitted to [default ]queue <normal>.`` on standard output.
* ``bjobs -o "fields" -json`` (LSF >= 10.1.0.2; ``-json`` needs ``-o``):
  ``{"COMMAND": "bjobs", "JOBS": n, "RECORDS": [{"JOBID": ..., "STAT": ...}]}``; an id bjobs does
  not know is a record with an ``"ERROR"`` key. ``-a`` includes recently finished jobs.
* bjobs "Job states": PEND, PROV, PSUSP, RUN, USUSP, SSUSP, DONE, EXIT, UNKWN, WAIT, ZOMBI.
* ``bkill``: ``Job <N> is being terminated``; ``Job <N>: Job has already finished`` and
  ``Job <N>: No matching job found`` are not errors for a cancel.

Everything here is pure: validate with :func:`check_bsub`, then render.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Final

from returns.result import Failure, Result, Success

from smartsim.commands._options import OptionRules, check_text
from smartsim.commands._types import Command, Completed, Handle
from smartsim.commands.array import ArraySyntax
from smartsim.commands.batch import (
    SINGLE_DASH_NAME,
    BatchJob,
    Option,
    ToolWords,
    batch_args_problems,
    check_quoted_env,
    env_item,
    host_items,
    option_argv,
    option_lines,
    output_options,
    plan_batch,
    refused,
    script_writer,
)
from smartsim.commands.plan import Launch, World
from smartsim.commands.scheduler import Scheduler, StatusQuery, combine_states, job_ids, own_ids
from smartsim.commands.script import ScriptReader
from smartsim.errors import (
    BadName,
    BadValue,
    ForbiddenCharacter,
    Invalid,
    Unsupported,
    ValidationError,
)
from smartsim.status import JobState, Status
from smartsim.values import ArraySpec, BatchSettings, Duration, Ensemble, Model, OptionValue

TOOL: Final = "bsub"
TOOLS: Final = ("bsub", "bjobs", "bkill")
PREFIX: Final = "#BSUB"
#: What ``bsub`` does to a script on standard input: every line beginning with ``#BSUB`` is a
#: directive, wherever it is (bsub *command* argument). IBM documents nothing of carriage
#: returns in such a script (nor does it for backslashes, which :func:`check_word` refuses), so
#: smartsim does not rely on them: a CR, alone or before LF, is refused.
READER: Final = ScriptReader(tool="bsub", refused=("\r",), directive=re.compile("#BSUB"))
#: The job script's name is the entity's output stem plus this.
SUFFIX: Final = ".lsf.sh"


# =========================================================================== values


def run_limit(duration: Duration) -> str:
    """``-W``'s ``[hour:]minute``, rounded up to the minute (a limit never shrinks).

    >>> run_limit(Duration(5400)), run_limit(Duration(90000)), run_limit(Duration(61))
    ('1:30', '25:00', '2')
    """
    hours, minutes = divmod(duration.minutes_up(), 60)
    return f"{hours}:{minutes:02d}" if hours else str(minutes)


def job_array(name: str, array: ArraySpec) -> str:
    """``-J``'s ``name[start-end:step]%limit``.

    >>> job_array("sim", ArraySpec(1, 10, limit=4)), job_array("sim", ArraySpec(2, 8, 3))
    ('sim[1-10]%4', 'sim[2-8:3]')
    """
    spec = f"{array.start}" if array.stop == array.start else f"{array.start}-{array.stop}"
    if array.step != 1 and array.stop != array.start:
        spec += f":{array.step}"
    out = f"{name}[{spec}]"
    return out if array.limit is None else f"{out}%{array.limit}"


_ARRAY_NAME: Final = re.compile(r"[A-Za-z0-9._\-]+")


def check_array(field: str, name: str, array: ArraySpec | None) -> list[ValidationError]:
    """LSF indices are positive; the array spec is at most 255 characters."""
    if array is None:
        return []
    errors: list[ValidationError] = []
    if array.start < 1:
        errors.append(BadValue(f"{field}.start", array.start, "an LSF array index >= 1"))
    if not _ARRAY_NAME.fullmatch(name):
        errors.append(BadName(field, name, "LSF array names: letters, digits, '.', '-', '_'"))
    elif len(job_array(name, array)) > 255:
        errors.append(BadValue(field, str(array), "an LSF array spec of 255 characters at most"))
    return errors


def check_env(field: str, env: Mapping[str, str]) -> list[ValidationError]:
    """Environment ``-env`` can carry: POSIX names, one-line values without quotes or
    backslashes (the documentation defines no escape for them)."""
    return check_quoted_env(field, env)


def env_value(env: Mapping[str, str]) -> str:
    """``-env``'s value: ``all`` (keep the submission environment), then ``VAR=value`` items;
    a value with commas, blanks or nothing in single quotes.

    >>> env_value({"A": "1", "T": "a, b"})
    "all, A=1, T='a, b'"
    """
    return ", ".join(["all", *(env_item(key, value) for key, value in env.items())])


def directive_word(word: str) -> str:
    """Quote one word of a ``#BSUB`` line: plain words as they are, else in double quotes
    (single quotes when the word holds a double quote). Words holding both quote kinds or a
    backslash cannot be written (LSF documents no escape) and are refused by the checks.

    >>> directive_word("normal"), directive_word("span[ptile=4]"), directive_word("a b")
    ('normal', '"span[ptile=4]"', '"a b"')
    """
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", word):
        return word
    if '"' not in word:
        return f'"{word}"'
    return f"'{word}'"


def check_word(field: str, word: str) -> list[ValidationError]:
    """A value a ``#BSUB`` line can carry exactly."""
    errors = check_text(field, word)
    if "\\" in word:
        errors.append(ForbiddenCharacter(field, word, "\\"))
    elif '"' in word and "'" in word:
        errors.append(ForbiddenCharacter(field, word, '"'))
    return errors


def directive_lines(options: Sequence[Option]) -> tuple[str, ...]:
    """One ``#BSUB`` line per option.

    >>> directive_lines([("-n", "8"), ("-R", "span[ptile=4]")])
    ('#BSUB -n 8', '#BSUB -R "span[ptile=4]"')
    """
    return option_lines(PREFIX, options, directive_word)


_OUTPUT: Final = "bsub in smartsim (the job's output paths are set by smartsim)"
#: bsub(1)'s raw options: ``-x`` ... take no value, ``-R`` ... need one; what smartsim sets
#: itself or would change what it reports; what a typed field renders.
BSUB_OPTIONS: Final = OptionRules(
    tool="bsub",
    single_dash=True,
    key=SINGLE_DASH_NAME,
    key_expected="a bsub option name such as 'G'",
    flags=frozenset({"x", "K", "B", "N", "I", "Ip", "Is", "r", "rn", "H"}),
    valued=frozenset(
        {"a", "b", "C", "c", "cwd", "D", "E", "Ep", "e", "eo", "F", "f", "G", "g", "i", "is",
         "J", "Jd", "k", "L", "Lp", "M", "m", "n", "o", "oo", "P", "p", "Q", "q", "R", "S", "s",
         "sla", "sp", "T", "t", "U", "u", "v", "W", "We", "w", "wa", "wt", "gpu", "nnodes",
         "alloc_flags", "env", "csm", "app", "ext", "jsdl", "jsdl_strict", "rnc", "freq", "data"}
    ),
    refused={
        "o": _OUTPUT,
        "e": _OUTPUT,
        "oo": _OUTPUT,
        "eo": _OUTPUT,
        "K": "bsub in smartsim (-K blocks the submission until the job ends)",
        "I": "a batch job (-I is interactive)",
        "Ip": "a batch job (-Ip is interactive)",
        "Is": "a batch job (-Is is interactive)",
        "pack": "one job per submission (-pack reads a file of submissions)",
    },
    typed={
        "J": ("job_name", "array"),
        "q": ("partition",),
        "P": ("account",),
        "W": ("time",),
        "n": ("nodes",),
        "nnodes": ("nodes",),
        "gpu": ("gpus",),
        "m": ("hostlist",),
    },
)


def _word(where: str, value: OptionValue) -> list[ValidationError]:
    return check_word(where, value) if isinstance(value, str) else []


def check_bsub(bs: BatchSettings, field: str = "batch_settings") -> list[ValidationError]:
    """What ``bsub`` cannot express for ``bs``.

    >>> bad = BatchSettings(mem="4G", array=ArraySpec(0, 3), batch_args={"K": None})
    >>> [(type(e).__name__, e.field) for e in check_bsub(bad)]
    [('Unsupported', 'batch_settings.mem'), ('BadValue', 'batch_settings.array.start'), \
('Unsupported', "batch_settings.batch_args['K']")]
    """
    f = f"{field}."
    errors: list[ValidationError] = []
    errors += refused(
        f,
        bs,
        mem="bsub (memory units follow the site's LSF_UNIT_FOR_LIMITS; use batch_args "
        "{'R': 'rusage[mem=...]'} or {'M': ...})",
    )
    errors += check_array(f + "array", bs.job_name or "smartsim", bs.array)
    errors += refused(
        f,
        bs,
        excluded_hosts="bsub (no exclusion list: batch_args {'R': \"select[hname!='n3']\"})",
    )
    errors += host_items(f, bs.hostlist, "bsub -m")
    for name in ("account", "partition", "job_name"):
        value = getattr(bs, name)
        if isinstance(value, str):
            errors += check_word(f + name, value)
    errors += batch_args_problems(BSUB_OPTIONS, bs, f)
    for key, value in bs.batch_args.items():
        errors += _word(f"{f}batch_args[{key!r}]", value)
    return errors


def check_lsf_path(field: str, path: str) -> list[ValidationError]:
    """A path ``-o``/``-e`` read as written (bsub replaces ``%J`` and ``%I``)."""
    errors = check_word(field, path)
    if "%J" in path or "%I" in path:
        errors.append(Unsupported(field, path, "bsub -o/-e (%J and %I are replaced there)"))
    return errors


def bsub_options(
    bs: BatchSettings,
    *,
    name: str | None = None,
    tasks: int = 1,
    cpus: int = 1,
    gpus: int = 0,
    stdout: str | None = None,
    stderr: str | None = None,
    csm: bool = False,
) -> tuple[Option, ...]:
    """The options of an LSF job for valid settings (see :func:`check_bsub`).

    Slots are cores: with ``nodes``, ``-n`` is nodes times the cores each node must give
    (an even share of the members' tasks times their cpus per task) and ``-R span[ptile=...]``
    puts that many on each host; without, ``-n`` is the members' total. On CSM systems
    (``csm=True``, e.g. Summit) nodes are requested with ``-nnodes`` instead.

    >>> bsub_options(BatchSettings(nodes=2, time=90000, partition="batch"), tasks=8, name="s")
    (('-J', 's'), ('-q', 'batch'), ('-n', '8'), ('-R', 'span[ptile=4]'), ('-W', '25:00'))
    """
    out: list[Option] = []
    job_name = bs.job_name or name
    if bs.array is not None:
        out.append(("-J", job_array(job_name or "smartsim", bs.array)))
    elif job_name is not None:
        out.append(("-J", job_name))
    if bs.partition is not None:
        out.append(("-q", bs.partition))
    if bs.account is not None:
        out.append(("-P", bs.account))
    nodes = bs.nodes or 1
    per_node_tasks = max(1, -(-tasks // nodes))
    per_node_cpus = max(per_node_tasks, -(-cpus // nodes))
    if csm:
        if bs.nodes is not None:
            out.append(("-nnodes", str(bs.nodes)))
    elif bs.nodes is not None:
        out.append(("-n", str(nodes * per_node_cpus)))
        out.append(("-R", f"span[ptile={per_node_cpus}]"))
    elif per_node_cpus > 1:
        out.append(("-n", str(per_node_cpus)))
    ngpus = bs.gpus if bs.gpus is not None else -(-gpus // nodes)
    if ngpus:
        out.append(("-gpu", f"num={ngpus}"))
    if bs.hostlist:
        out.append(("-m", " ".join(bs.hostlist)))  # bsub(1) -m "host_name ..."
    if isinstance(bs.time, Duration):
        out.append(("-W", run_limit(bs.time)))
    out += output_options(stdout, stderr, bs.batch_args)
    return tuple(out)


#: An LSF job script: the shebang, one ``#BSUB`` line per option, the preamble, the body.
bsub_script: Final = script_writer(directive_lines)


def bsub_command(script: str, *, cwd: str | None = None, tool: str = TOOL) -> Command:
    """``bsub`` reading the script on standard input (its ``#BSUB`` lines are honoured on
    every site, unlike a script given as an argument).

    >>> bsub_command("#!/bin/bash\\n#BSUB -n 2\\nhostname\\n").argv
    ('bsub',)
    """
    return Command(argv=(tool,), stdin=script, cwd=cwd)


def bsub_argv(
    options: Sequence[Option], command: Sequence[str], *, tool: str = TOOL
) -> tuple[str, ...]:
    """``bsub`` with options and a command on its command line (the documentation's form).

    >>> bsub_argv([("-J", "myArray[1-1000]")], ["myJob"])
    ('bsub', '-J', 'myArray[1-1000]', 'myJob')
    """
    return option_argv(tool, options, *command)


# =========================================================================== job ids

_SUBMITTED: Final = re.compile(r"Job <([0-9]+)> is submitted to (?:default )?queue <[^>]*>")


def parse_bsub_output(stdout: str) -> Result[int, str]:
    """The job id from ``Job <1234> is submitted to queue <normal>.`` (anywhere in the output:
    site wrappers and esubs may print around it).

    >>> parse_bsub_output("Job <1234> is submitted to default queue <normal>.\\n")
    <Success: 1234>
    """
    match = _SUBMITTED.search(stdout)
    if match is None:
        return Failure("Job <N> is submitted to queue <q>.")
    return Success(int(match[1]))


# =========================================================================== status

#: Fields asked of bjobs -o (bjobs(1) "-o": jobid, jobindex, stat, exit_code, exit_reason,
#: kill_reason); ``jobindex`` is an array element's index (``0`` for a job that is not one).
FIELDS: Final = "jobid jobindex stat exit_code exit_reason kill_reason"


def bjobs_argv(job_ids: Sequence[str], *, tool: str = "bjobs") -> tuple[str, ...]:
    """Status of ``job_ids`` (finished ones included, ``-a``) as JSON.

    >>> bjobs_argv(["12", "13"])[:3]
    ('bjobs', '-o', 'jobid jobindex stat exit_code exit_reason kill_reason')
    """
    return (tool, "-o", FIELDS, "-json", "-a", *job_ids)


_STATES: Final = {
    "PEND": Status.PENDING,
    "PROV": Status.PENDING,
    "PSUSP": Status.PENDING,
    "WAIT": Status.PENDING,
    "RUN": Status.RUNNING,
    "USUSP": Status.RUNNING,
    "SSUSP": Status.RUNNING,
    "DONE": Status.COMPLETED,
    "EXIT": Status.FAILED,
    "UNKWN": Status.UNKNOWN,
    "ZOMBI": Status.UNKNOWN,
}
_KILLED: Final = re.compile(r"TERM_OWNER|TERM_ADMIN|killed by (?:owner|user|admin)", re.IGNORECASE)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def record_state(record: Mapping[str, object]) -> JobState:
    """Our status from one bjobs record.

    >>> record_state({"STAT": "EXIT", "EXIT_CODE": "130", "KILL_REASON": "job killed by owner"})
    JobState(status=<Status.CANCELLED: 'CANCELLED'>, raw='EXIT', returncode=130, signal=None, \
reason='job killed by owner')
    """
    stat = _text(record.get("STAT"))
    code_text = _text(record.get("EXIT_CODE"))
    code = int(code_text) if re.fullmatch(r"-?[0-9]+", code_text) else None
    reasons = [_text(record.get(k)) for k in ("EXIT_REASON", "KILL_REASON")]
    reason = "; ".join(r for r in reasons if r and r != "-")
    status = _STATES.get(stat, Status.UNKNOWN)
    if stat == "DONE":
        code = 0 if code is None else code
    if stat == "EXIT" and _KILLED.search(reason):
        status = Status.CANCELLED
    return JobState(status, raw=stat, returncode=code, reason=reason)


def parse_bjobs_json(stdout: str, job_ids: Sequence[str]) -> Result[dict[str, JobState], str]:
    """States of the asked ``job_ids`` in ``bjobs -o ... -json`` output; an array's elements
    (records sharing a JOBID) make one state, and an element asked as ``123[4]`` is its own
    (its record's JOBINDEX); ids bjobs does not know are absent. Never raises.

    >>> out = '{"COMMAND":"bjobs","JOBS":1,"RECORDS":[{"JOBID":"3091","STAT":"RUN"}]}'
    >>> parse_bjobs_json(out, ["3091"]).unwrap()["3091"].status
    <Status.RUNNING: 'RUNNING'>
    """
    if not stdout.strip():
        return Success({})
    try:
        data = json.loads(stdout, strict=False)
    except (ValueError, RecursionError):
        return Failure("bjobs -json output")
    if not isinstance(data, dict) or not isinstance(data.get("RECORDS", []), list):
        return Failure('a JSON object with "RECORDS"')
    found: dict[str, list[JobState]] = {}
    for record in data.get("RECORDS", []):
        if not isinstance(record, dict):
            return Failure("records that are objects")
        job = _text(record.get("JOBID"))
        if not job:
            return Failure("records with a JOBID")
        if "ERROR" in record:
            continue
        state = record_state(record)
        found.setdefault(job, []).append(state)
        index = _text(record.get("JOBINDEX"))
        if index not in ("", "0"):
            found[f"{job}[{index}]"] = [state]
    out: dict[str, JobState] = {}
    for asked in job_ids:
        key = asked.strip() if "[" in asked and asked.strip().endswith("]") else _job_part(asked)
        if key in found:
            out[asked] = combine_states(found[key])
    return Success(out)


def _job_part(job_id: str) -> str:
    return job_id.strip().split("[", 1)[0]


# =========================================================================== cancel


_TERMINATED: Final = re.compile(r"Job <([0-9]+)(?:\[[0-9]+\])?> is being (?:terminated|signaled)")


def bkill_acted(text: str) -> set[str]:
    """Job ids bkill is terminating (not those that had already finished).

    >>> sorted(bkill_acted("Job <12> is being terminated\\nJob <13>: Job has already finished"))
    ['12']
    """
    return {m[1] for m in _TERMINATED.finditer(text)}


#: bkill(1)'s words, and LSF's when the master batch daemon cannot be reached.
WORDS: Final = ToolWords(
    "bkill",
    gone=re.compile(
        r"is being terminated|Job has already finished|No matching job found|is being signaled"
        r"|already (?:been )?killed",
        re.IGNORECASE,
    ),
    down=re.compile(
        r"LSF is down|batch system daemon not responding|Failed in an LSF library call|"
        r"Cannot connect to LSF|mbatchd.*(?:not responding|down)",
        re.IGNORECASE,
    ),
)
#: Kill every job of ``job_ids`` in one call (an array id kills every element).
bkill_argv: Final = WORDS.cancel_argv
#: Whether every job was killed or had already finished.
bkill_succeeded: Final = WORDS.cancel_succeeded
#: Whether an LSF command failed because the master batch daemon could not be reached.
unavailable: Final = WORDS.unavailable


# =========================================================================== planner


def render(job: BatchJob, *, tool: str = TOOL, csm: bool = False) -> Launch:
    """The launch that submits ``job`` with ``bsub`` reading the script on standard input."""
    options = bsub_options(
        job.settings, name=job.name, stdout=job.stdout, stderr=job.stderr, csm=csm, **job.sizes()
    )
    script = bsub_script(options, job.body, job.settings.preamble)
    return job.submitted(SUFFIX, script, lambda _: bsub_command(script, cwd=job.path, tool=tool))


def task_id(job_id: str, index: int) -> str:
    """Element ``index`` of array job ``job_id`` as bjobs(1) names it.

    >>> task_id("123", 4)
    '123[4]'
    """
    return f"{_job_part(job_id)}[{index}]"


#: LSF arrays: ``bsub -J "name[1-N]%CAP"`` (bsub(1) -J: the index list, then the job slot
#: limit), the element's index in ``LSB_JOBINDEX`` (from 1); elements are ``123[4]``.
#: Arrays larger than the site's ``MAX_JOB_ARRAY_SIZE`` (lsb.params, 1000 by default) are
#: refused by bsub at submission.
ARRAY: Final = ArraySyntax(index_var="LSB_JOBINDEX", base=1, task_id=task_id)


def plan_lsf(
    entity: Model | Ensemble,
    world: World,
    *,
    csm: bool = False,
    max_parallel: int | None = None,
) -> Result[tuple[Launch, ...], Invalid]:
    """The ``bsub`` jobs that run ``entity``, or every reason they cannot be written; an
    ensemble of like members is one array (:data:`ARRAY`) of at most ``max_parallel``
    running elements.

    >>> from smartsim.values import RunSettings
    >>> m = Model(name="sim", path="/w/sim", run_settings=RunSettings(exe="a.out"),
    ...           batch_settings=BatchSettings(nodes=2, time=5400))
    >>> launch = plan_lsf(m, World(exp_path="/w")).unwrap()[0]
    >>> print(launch.submission.submit.stdin, end="")
    #!/bin/bash
    #BSUB -J sim
    #BSUB -n 2
    #BSUB -R "span[ptile=1]"
    #BSUB -W 1:30
    #BSUB -o /w/sim/sim.out
    #BSUB -e /w/sim/sim.err
    cd /w/sim && a.out
    smartsim_rc=$?
    echo "$smartsim_rc" >/w/sim/sim.rc
    exit "$smartsim_rc"
    >>> launch.submission.submit.argv
    ('bsub',)
    """
    tool = world.tools.get(TOOL, TOOL)
    return plan_batch(
        entity,
        world,
        tool="bsub",
        prefix=PREFIX,
        path_check=check_lsf_path,
        settings_check=check_bsub,
        reader=READER,
        render=lambda job: render(job, tool=tool, csm=csm),
        array=ARRAY,
        max_parallel=max_parallel,
    )


# =========================================================================== the seam


def read_submit(done: Completed) -> Result[str, str]:
    """The job id ``bsub`` printed (on either stream).

    >>> read_submit(Completed(("bsub",), 0, "Job <7> is submitted to queue <normal>.\\n", ""))
    <Success: 7>
    """
    return parse_bsub_output(done.stdout + "\n" + done.stderr).map(str)


def read_status(done: Completed, handles: Sequence[Handle]) -> Result[Mapping[str, JobState], str]:
    """States of the handles' jobs in ``bjobs -json`` output; bjobs exits non-zero when an id
    is unknown, and its JSON still says which.

    >>> read_status(Completed(("bjobs",), 255, "", "down"), [])
    <Failure: bjobs output (it failed)>
    """
    parsed = parse_bjobs_json(done.stdout, own_ids(handles))
    if isinstance(parsed, Failure):
        return Failure(parsed.failure())
    if done.returncode != 0 and not done.stdout.strip():
        return Failure("bjobs output (it failed)")
    return Success(parsed.unwrap())


def read_cancel(done: Completed, job_ids: Sequence[str]) -> frozenset[str] | None:
    """The ids ``bkill`` acted on (an array element by its job's number); ``None`` when it
    failed.

    >>> sorted(read_cancel(Completed(("bkill",), 0, "Job <4> is being terminated\\n", ""), ["4"]))
    ['4']
    """
    if not bkill_succeeded(done.returncode, done.stdout, done.stderr):
        return None
    acted = bkill_acted(done.stdout + "\n" + done.stderr)
    return frozenset(j for j in job_ids if j.split("[", 1)[0] in acted)


def scheduler(*, csm: bool = False) -> Scheduler:
    """IBM Spectrum LSF: ``bsub`` with the script on standard input, ``bjobs -o ... -json -a``
    for every job in one call, ``bkill`` them in one call. ``csm=True`` asks for nodes with
    ``-nnodes`` (CSM systems such as Summit) instead of ``-n``/``span[ptile=...]``.

    >>> scheduler(csm=True).name
    'lsf'
    """
    return Scheduler(
        name="lsf",
        submit_tool=TOOL,
        tools=TOOLS,
        plan=lambda entity, world, max_parallel=None: plan_lsf(
            entity, world, csm=csm, max_parallel=max_parallel
        ),
        parse_submit=read_submit,
        queries=(
            StatusQuery(
                argv=lambda handles, tools, _tz: bjobs_argv(job_ids(handles), tool=tools["bjobs"]),
                read=read_status,
            ),
        ),
        cancel_argv=lambda handles, tools: bkill_argv(job_ids(handles), tool=tools["bkill"]),
        read_cancel=read_cancel,
        unavailable=unavailable,
        script_suffix=SUFFIX,
        parallel_launcher="jsrun" if csm else None,
        array=ARRAY,
    )


#: LSF as ``Experiment(launcher="lsf")`` uses it.
SCHEDULER: Final = scheduler()

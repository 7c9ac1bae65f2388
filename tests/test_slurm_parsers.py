"""Parsers of salloc/sbatch/squeue/sacct output: real samples, exact ids, states, and any text.

Samples marked "real" were printed by Slurm 22.05.8 on the project's cluster (see
``../shared/notes/real-schedulers.md`` and the comments below); the others follow the formats
squeue(1)/sacct(1) document for the fields the builders request.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Result, Success

from smartsim import JobId, JobState, Status
from smartsim.commands.slurm import (
    SLURM_STATES,
    parse_sacct,
    parse_sacct_rows,
    parse_salloc_pending,
    parse_salloc_stderr,
    parse_sbatch_parsable,
    parse_squeue,
    slurm_status,
)
from tests.strategies import job_ids

# --------------------------------------------------------------------------- salloc

REAL_SALLOC_GRANTED = "salloc: Granted job allocation 1\n"
REAL_SALLOC_WAITED = (
    "salloc: Pending job allocation 15\n"
    "salloc: job 15 queued and waiting for resources\n"
    "salloc: job 15 has been allocated resources\n"
    "salloc: Granted job allocation 15\n"
)
REAL_SALLOC_ERRORS = (
    "salloc: error: Job submit/allocate failed: Invalid feature specification\n",
    "salloc: error: invalid partition specified: nosuch\n"
    "salloc: error: Job submit/allocate failed: Invalid partition name specified\n",
    "salloc: error: Unable to allocate resources: Connection timed out\n",
    "salloc: error: Job submit/allocate failed: Unable to contact slurm controller "
    "(connect failure)\n",
    "",
)


def test_salloc_granted_allocation() -> None:
    """The id comes from 'Granted job allocation N', also after a wait."""
    assert parse_salloc_stderr(REAL_SALLOC_GRANTED) == Success(JobId(1))
    assert parse_salloc_stderr(REAL_SALLOC_WAITED) == Success(JobId(15))


def test_salloc_pending_allocation() -> None:
    """A pending id is readable before the grant (so a Ctrl-C can cancel it)."""
    first_line = REAL_SALLOC_WAITED.partition("\n")[0]
    assert parse_salloc_pending(first_line) == Success(JobId(15))
    assert isinstance(parse_salloc_pending(REAL_SALLOC_GRANTED), Failure)


@pytest.mark.parametrize("text", REAL_SALLOC_ERRORS)
def test_salloc_errors_are_failures_carrying_the_text(text: str) -> None:
    """salloc's own error message comes back as the failure value."""
    assert parse_salloc_stderr(text) == Failure(text)


# --------------------------------------------------------------------------- sbatch


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        ("5\n", JobId(5)),  # real: sbatch --parsable job.sh
        ("21\n", JobId(21)),  # real: a heterogeneous job
        ("42;cl\n", JobId(42, cluster="cl")),
        ("Welcome to Stampede3\nkerberos ticket renewed\n42\n", JobId(42)),
        ("42\n\n\n", JobId(42)),
    ],
)
def test_sbatch_parsable_last_line(stdout: str, expected: JobId) -> None:
    """The id is the last non-empty line: jobid[;cluster], banners before it ignored."""
    assert parse_sbatch_parsable(stdout) == Success(expected)


@pytest.mark.parametrize(
    "stdout", ["", "\n", "Submitted batch job 6\n", "42\nlater banner\n", "42;\n", "12 13\n"]
)
def test_sbatch_output_without_a_parsable_id_fails(stdout: str) -> None:
    """Anything but jobid[;cluster] on the last line is a failure, never a guess."""
    assert isinstance(parse_sbatch_parsable(stdout), Failure)


# --------------------------------------------------------------------------- squeue

# squeue -h -t all -o '%i|%T|%r': ids as squeue prints them (real forms: "4", "19+0",
# "23_[0-3]", "23_1"), states long (%T), reason last.
SQUEUE_SAMPLE = """\
5|PENDING|Resources
7|RUNNING|None
4|CANCELLED|None
1|TIMEOUT|TimeLimit
19+0|RUNNING|None
19+1|RUNNING|None
23_[0-3]|PENDING|BeginTime
23_4|COMPLETING|None
1234|COMPLETED|None
12345|NODE_FAIL|NodeDown
8|OUT_OF_MEMORY|OutOfMemory
9|PREEMPTED|None
"""


def test_squeue_sample() -> None:
    """Each line gives its id exactly as printed, our status, Slurm's state and the reason."""
    states = parse_squeue(SQUEUE_SAMPLE).unwrap()
    assert states["5"] == JobState(Status.PENDING, "PENDING", reason="Resources")
    assert states["7"].status is Status.RUNNING and states["7"].reason == ""
    assert states["4"].status is Status.CANCELLED
    assert states["1"] == JobState(Status.FAILED, "TIMEOUT", reason="TimeLimit")
    assert states["19+1"].status is Status.RUNNING
    assert states["23_[0-3]"].status is Status.PENDING
    assert states["23_4"].status is Status.RUNNING
    assert states["12345"].status is Status.FAILED
    assert states["1234"].status is Status.COMPLETED
    assert states["8"].status is Status.FAILED and states["9"].status is Status.FAILED


def test_squeue_with_clusters_skips_the_cluster_headers() -> None:
    """squeue -M prints 'CLUSTER: name' before each cluster's rows; they are not jobs."""
    text = "CLUSTER: a\n12|RUNNING|None\nCLUSTER: b\n13|PENDING|Priority\n"
    assert set(parse_squeue(text).unwrap()) == {"12", "13"}


@pytest.mark.parametrize(
    "text",
    [
        "slurm_load_jobs error: Invalid job id specified\n",
        "12 RUNNING\n",
        "abc|RUNNING|None\n",
        "12||None\n",
        "JOBID|STATE|REASON\n",
    ],
)
def test_squeue_text_in_another_format_fails(text: str) -> None:
    """Error messages, headers and other formats are failures, not empty results."""
    assert isinstance(parse_squeue(text), Failure)


def test_an_empty_squeue_is_no_jobs() -> None:
    """No lines means no jobs known to squeue (purged or never seen)."""
    assert parse_squeue("") == Success({})
    assert parse_squeue("\n") == Success({})


# --------------------------------------------------------------------------- sacct

# sacct -n -P --format=JobID,State,ExitCode,Reason,Start,End,JobName (SLURM_TIME_FORMAT=%s):
# a row per job and per step.
# The job/step/exit-code shapes are real (real-schedulers.md: job 17 and its steps, job 19).
SACCT_SAMPLE = """\
17|FAILED|3:0|None|1764000000|1764000010|acct1
17.batch|FAILED|3:0||1764000001|1764000011|batch
17.0|COMPLETED|0:0||1764000002|1764000012|hostname
19|CANCELLED by 0|0:15|None|1764000003|1764000013|allocation
19.0|COMPLETED|0:0||1764000004|1764000014|echo
19.1|RUNNING|0:0||1764000005|Unknown|sleep|with|pipes
21+0|COMPLETED|0:0|None|1764000006|1764000016|het
21+1|COMPLETED|0:0|None|1764000007|1764000017|het
23_0|COMPLETED|0:0|None|1764000008|1764000018|arr
23_3|OUT_OF_MEMORY|0:125|None|1764000009|1764000019|arr
24|TIMEOUT|0:0|TimeLimit|1764000010|1764000020|t
24.extern|COMPLETED|0:0||1764000011|1764000021|extern
"""


def test_sacct_sample() -> None:
    """Rows for jobs and steps keep their exact ids, states, exit codes, signals and names."""
    states = parse_sacct(SACCT_SAMPLE).unwrap()
    assert states["17"] == JobState(
        Status.FAILED, "FAILED", 3, None, "", job_id="17", start=1764000000.0, end=1764000010.0
    )
    assert states["17.0"] == JobState(
        Status.COMPLETED, "COMPLETED", 0, None, "", "17.0", 1764000002.0, 1764000012.0
    )
    # an end by a signal has returncode -N, the convention of every launcher
    assert states["19"] == JobState(
        Status.CANCELLED, "CANCELLED by 0", -15, 15, "", "19", 1764000003.0, 1764000013.0
    )
    assert states["19.1"].status is Status.RUNNING
    assert (states["19.1"].start, states["19.1"].end) == (1764000005.0, None)  # Unknown
    assert states["23_3"].status is Status.FAILED and states["23_3"].returncode == 0
    assert states["24"] == JobState(
        Status.FAILED, "TIMEOUT", 0, None, "TimeLimit", "24", 1764000010.0, 1764000020.0
    )
    rows = parse_sacct_rows(SACCT_SAMPLE).unwrap()
    assert [r.id for r in rows][:3] == ["17", "17.batch", "17.0"]
    assert rows[5].name == "sleep|with|pipes"  # a name may hold the separator: it is last


# Real: sacct_argv([87]) on the project's cluster (Slurm 22.05.8) after six one-task steps and an
# MPMD step (its components print as 87.6+0 and 87.6+1), then scancel 87.
REAL_SACCT_87 = """\
87|CANCELLED by 0|0:0|None|1764000000|1764000010|ssx-probe
87.0|COMPLETED|0:0||1764000001|1764000011|s0
87.1|COMPLETED|0:0||1764000002|1764000012|s2
87.2|COMPLETED|0:0||1764000003|1764000013|s1
87.3|COMPLETED|0:0||1764000004|1764000014|n0
87.4|COMPLETED|0:0||1764000005|1764000015|n1
87.5|COMPLETED|0:0||1764000006|1764000016|n2
87.6+0|COMPLETED|0:0||1764000007|1764000017|mpmd
87.6+1|COMPLETED|0:0||1764000008|1764000018|mpmd
"""
REAL_SQUEUE_87 = ("87|RUNNING|None\n", "87|CANCELLED|None\n")  # before and after scancel


def test_real_sacct_and_squeue_output() -> None:
    """What the real cluster printed is read: the cancelled allocation, each step, and both
    components of an MPMD step."""
    states = parse_sacct(REAL_SACCT_87).unwrap()
    assert states["87"] == JobState(
        Status.CANCELLED, "CANCELLED by 0", 0, None, "", "87", 1764000000.0, 1764000010.0
    )
    assert states["87.6+1"].status is Status.COMPLETED
    assert len(states) == 9
    assert [r.name for r in parse_sacct_rows(REAL_SACCT_87).unwrap()][:2] == ["ssx-probe", "s0"]
    assert parse_squeue(REAL_SQUEUE_87[0]).unwrap()["87"].status is Status.RUNNING
    assert parse_squeue(REAL_SQUEUE_87[1]).unwrap()["87"].status is Status.CANCELLED


def test_sacct_ids_match_exactly() -> None:
    """1234 and 12345 are different jobs (SmartSim 0.1 matched by prefix)."""
    states = parse_sacct("12345|RUNNING|0:0|None|1|2|x\n1234|FAILED|1:0|None|1|2|y\n").unwrap()
    assert states["1234"].status is Status.FAILED
    assert states["12345"].status is Status.RUNNING


@pytest.mark.parametrize(
    "text",
    [
        "Slurm accounting storage is disabled\n",
        "17|FAILED|3:0\n",
        "       JobID    JobName      State\n",
        "x|RUNNING|0:0|None|n\n",
    ],
)
def test_sacct_text_in_another_format_fails(text: str) -> None:
    """Errors and other formats are failures."""
    assert isinstance(parse_sacct(text), Failure)


# --------------------------------------------------------------------------- states


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("PENDING", Status.PENDING), ("CONFIGURING", Status.PENDING),
        ("REQUEUED", Status.PENDING), ("REQUEUE_HOLD", Status.PENDING),
        ("REQUEUE_FED", Status.PENDING), ("RESV_DEL_HOLD", Status.PENDING),
        ("SUSPENDED", Status.PENDING), ("STOPPED", Status.PENDING),
        ("RUNNING", Status.RUNNING), ("COMPLETING", Status.RUNNING),
        ("STAGE_OUT", Status.RUNNING), ("SIGNALING", Status.RUNNING),
        ("RESIZING", Status.RUNNING),
        ("COMPLETED", Status.COMPLETED),
        ("FAILED", Status.FAILED), ("TIMEOUT", Status.FAILED), ("NODE_FAIL", Status.FAILED),
        ("OUT_OF_MEMORY", Status.FAILED), ("BOOT_FAIL", Status.FAILED),
        ("DEADLINE", Status.FAILED), ("SPECIAL_EXIT", Status.FAILED),
        ("PREEMPTED", Status.FAILED),
        ("CANCELLED", Status.CANCELLED), ("CANCELLED by 1000", Status.CANCELLED),
        ("REVOKED", Status.CANCELLED),
        ("R", Status.RUNNING), ("PD", Status.PENDING), ("CD", Status.COMPLETED),
        ("TO", Status.FAILED), ("OOM", Status.FAILED), ("CA", Status.CANCELLED),
        ("SOMETHING_NEW", Status.UNKNOWN), ("", Status.UNKNOWN),
    ],
)  # fmt: skip
def test_state_map(state: str, status: Status) -> None:
    """Slurm states map as squeue(1)/sacct(1) JOB STATE CODES describe them: timeouts, node
    failures and out-of-memory are failures, not completions; unknown states are UNKNOWN."""
    assert slurm_status(state) is status


def test_every_final_slurm_state_is_final() -> None:
    """States that end a job (squeue(1): "terminated", "cancelled", "completed", "failure")
    map to final statuses; every other state to a non-final one."""
    ended = {
        "COMPLETED", "FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
        "SPECIAL_EXIT", "PREEMPTED", "CANCELLED", "REVOKED",
        "CD", "F", "TO", "NF", "OOM", "BF", "DL", "SE", "PR", "CA", "RV",
    }  # fmt: skip
    for state, status in SLURM_STATES.items():
        assert status.is_final == (state in ended), state


_STATES = st.sampled_from(sorted(s for s in SLURM_STATES if len(s) > 3))
_REASONS = st.sampled_from(["None", "Resources", "Priority", "(null)", "ReqNodeNotAvail, x"])


@given(st.lists(st.tuples(job_ids(), _STATES, _REASONS), max_size=6, unique_by=lambda t: str(t[0])))
def test_squeue_rows_round_trip(rows: list[tuple[JobId, str, str]]) -> None:
    """Rows written in the requested format are read back per exact id with their state."""
    text = "".join(f"{jid}|{state}|{reason}\n" for jid, state, reason in rows)
    states = parse_squeue(text).unwrap()
    assert set(states) == {str(jid) for jid, _, _ in rows}
    for jid, state, _ in rows:
        assert states[str(jid)].raw == state
        assert states[str(jid)].status is SLURM_STATES[state]


@given(
    st.lists(
        st.tuples(job_ids(), _STATES, st.integers(0, 255), st.integers(0, 64)),
        max_size=6,
        unique_by=lambda t: str(t[0]),
    )
)
def test_sacct_rows_round_trip(rows: list[tuple[JobId, str, int, int]]) -> None:
    """sacct rows are read back per exact id, with the exit code split at the colon."""
    text = "".join(f"{j}|{s}|{rc}:{sig}|None|7|8|name\n" for j, s, rc, sig in rows)
    states = parse_sacct(text).unwrap()
    for jid, state, rc, sig in rows:
        got = states[str(jid)]
        code = -sig if sig else rc  # an end by signal N reads returncode -N
        assert (got.raw, got.returncode, got.signal) == (state, code, sig or None)
        assert (got.job_id, got.start, got.end) == (str(jid), 7.0, 8.0)


_PARSERS = (
    parse_salloc_stderr,
    parse_salloc_pending,
    parse_sbatch_parsable,
    parse_squeue,
    parse_sacct,
    parse_sacct_rows,
)


@pytest.mark.parametrize("parse", _PARSERS, ids=lambda f: f.__name__)
@given(text=st.text(max_size=200))
def test_parsers_never_raise(parse: object, text: str) -> None:
    """Every parser returns a Result for any text at all."""
    assert callable(parse)
    result = parse(text)
    assert isinstance(result, Result)


@pytest.mark.parametrize("parse", _PARSERS, ids=lambda f: f.__name__)
@given(
    text=st.lists(
        st.sampled_from(["|", "\n", ":", ";", "+", "_", "[", "]", ".", "0", "12", "RUNNING",
                         "CANCELLED by 3", "Granted job allocation ", "CLUSTER: ", " ", "é"]),
        max_size=30,
    ).map("".join)
)  # fmt: skip
def test_parsers_never_raise_on_near_misses(parse: object, text: str) -> None:
    """Text built from the formats' own pieces never makes a parser raise."""
    assert callable(parse)
    assert isinstance(parse(text), Result)

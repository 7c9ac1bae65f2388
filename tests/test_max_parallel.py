"""``max_parallel``: a cap on how many launches of one ``start`` run at once (local launcher)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from smartsim import Experiment, RunSettings, SmartSimError, Status
from smartsim.effects import journal
from smartsim.effects.local import LocalLauncher
from smartsim.errors import BadValue, Invalid


def _children(parent: int) -> int:
    """How many processes (zombies included) have ``parent`` as their parent, read from /proc
    (independent of smartsim's own bookkeeping)."""
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue  # gone meanwhile
        fields = data[data.rindex(b")") + 2 :].split()
        if int(fields[1]) == parent:
            count += 1
    return count


class _Sampler:
    """Counts this process's children in a thread, as often as it can, until stopped."""

    def __init__(self) -> None:
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            self.samples.append(_children(me))

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc to count children")
def test_2000_members_with_max_parallel_4_never_exceed_4_children(tmp_path: Path) -> None:
    """2000 members started with max_parallel=4 all complete, and a sampler reading /proc
    never sees more than 4 children of this process alive (or unreaped) at once."""
    exp = Experiment("cap", exp_path=tmp_path / "exp")
    ens = exp.create_ensemble("m", run_settings=RunSettings(exe="/bin/true"), replicas=2000)
    with _Sampler() as sampler:
        exp.start(ens, block=True, max_parallel=4)
    assert exp.get_status(ens) == [Status.COMPLETED] * 2000
    assert len(sampler.samples) >= 20, "the sampler must have looked while members ran"
    assert max(sampler.samples) <= 4, max(sampler.samples)
    lines = Path(journal.journal_path(str(tmp_path / "exp"))).read_text().splitlines()
    assert sum('"event":"launch"' in line for line in lines) == 2000


def test_queued_members_are_pending_then_start_as_slots_free(tmp_path: Path) -> None:
    """With block=False, what fits under the cap is running when start() returns, the rest is
    PENDING ("queued") until a slot frees; poll() waits for all of them."""
    exp = Experiment("q", exp_path=tmp_path / "exp", launcher=LocalLauncher(grace=0.5))
    ens = exp.create_ensemble(
        "s", run_settings=RunSettings(exe="sh", args=("-c", "sleep 0.3")), replicas=5
    )
    exp.start(ens, block=False, max_parallel=2)
    statuses = exp.get_status(ens)
    assert statuses[:2] == [Status.RUNNING] * 2, statuses
    assert statuses[2:] == [Status.PENDING] * 3, statuses
    assert exp.states()["s_2"].raw == "queued"
    exp.poll(interval=0.05, verbose=False)
    assert exp.get_status(ens) == [Status.COMPLETED] * 5
    started = sorted(float(r.started or 0) for r in exp._runs.values())
    ended = sorted(float(r.ended or 0) for r in exp._runs.values())
    # the third member cannot have started before the first one ended
    assert started[2] >= ended[0]


def test_stop_cancels_queued_members_which_never_start(tmp_path: Path) -> None:
    """stop() ends queued members CANCELLED without starting them, and stops the running."""
    exp = Experiment("stopq", exp_path=tmp_path / "exp", launcher=LocalLauncher(grace=0.5))
    ens = exp.create_ensemble("s", run_settings=RunSettings(exe="sleep", args=("30",)), replicas=4)
    t0 = time.monotonic()
    exp.start(ens, block=False, max_parallel=1)
    exp.stop(ens)
    assert exp.get_status(ens) == [Status.CANCELLED] * 4
    assert [s.raw for s in exp.states().values()][1:] == ["not started"] * 3
    exp.poll(interval=0.05, verbose=False)
    assert time.monotonic() - t0 < 20
    lines = Path(journal.journal_path(str(tmp_path / "exp"))).read_text().splitlines()
    assert sum('"event":"launch"' in line for line in lines) == 1


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, "4"])
def test_max_parallel_must_be_a_positive_int(tmp_path: Path, bad: object) -> None:
    """start(max_parallel=<not an int >= 1>) is refused with a typed error naming the field."""
    exp = Experiment("bad", exp_path=tmp_path / "exp")
    model = exp.create_model("m", RunSettings(exe="/bin/true"))
    with pytest.raises(SmartSimError) as excinfo:
        exp.start(model, max_parallel=bad)  # type: ignore[arg-type]
    invalid = excinfo.value.error
    assert isinstance(invalid, Invalid) and len(invalid.errors) == 1
    error = invalid.errors[0]
    assert isinstance(error, BadValue) and error.field == "max_parallel" and error.value is bad
    assert exp.get_status(model) == [Status.NEW]


def test_local_default_cap_is_the_usable_cpu_count() -> None:
    """The local launcher's default cap is the number of CPUs this process may run on."""
    assert LocalLauncher().max_parallel == len(os.sched_getaffinity(0))
    assert LocalLauncher(max_parallel=7).max_parallel == 7


def test_wait_returns_once_queued_members_have_started_and_finished(tmp_path: Path) -> None:
    """Experiment.wait() after a non-blocking capped start waits for the queued members too;
    with a timeout shorter than the queue it says False."""
    exp = Experiment("w", exp_path=tmp_path / "exp")
    ens = exp.create_ensemble(
        "s", run_settings=RunSettings(exe="sh", args=("-c", "sleep 0.2")), replicas=4
    )
    exp.start(ens, block=False, max_parallel=1)
    assert exp.wait(ens, timeout=0.05) is False
    assert exp.wait(ens) is True
    assert exp.get_status(ens) == [Status.COMPLETED] * 4

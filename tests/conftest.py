"""Shared test configuration: Hypothesis profiles and the machine-dependent markers."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# `from tests.x import ...` works under plain `pytest` too, not only `python -m pytest`
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests import slurm_cluster as _machine  # noqa: E402
from tests.slurm_cluster import slurm_cluster  # noqa: E402, F401  (the fixture)

# ------------------------------------------------------------------ Hypothesis profiles
# HYPOTHESIS_PROFILE=ci (scripts/test) or dev (the default; scripts/test --quick).
settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=False,
    print_blob=True,
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# ------------------------------------------------------------------ markers
def pytest_configure(config: pytest.Config) -> None:
    # the cluster's env file, when SLURM_CONF is not set (see tests/slurm_cluster.py)
    _machine.load_env_file()
    # Tests Ctrl-C their children. Run from a background job of a non-interactive shell,
    # this process has SIGINT ignored, children inherit that, and Python then never raises
    # KeyboardInterrupt in them: give SIGINT back its Python handler (reset to the default
    # action in every child at exec).
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # slurm / slurm_no_accounting / mpi: skip when missing, FAIL when CI is set
    _machine.check_item(item)


# ------------------------------------------------------------------ the fuzz report
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """After a run that included the ``fuzz`` selection: examples per planner, their total,
    the wall time and the seed (tests/test_fuzz.py)."""
    fuzz = sys.modules.get("tests.test_fuzz")
    if fuzz is None or not fuzz.REPORT:
        return
    write = terminalreporter.write_line
    write(
        f"fuzz report: seed {fuzz.SEED}, budget {fuzz.EXAMPLES} examples per planner, "
        f"database {fuzz.DATABASE}"
    )
    total = planned = 0
    for planner, (runs, ok, took) in sorted(fuzz.REPORT.items()):
        write(
            f"  fuzz {planner:<11} {int(runs):>7} examples ({int(ok)} planned, "
            f"{int(runs - ok)} refused), {took:6.1f} s planning"
        )
        total, planned = total + int(runs), planned + int(ok)
    write(f"  fuzz total       {total:>7} examples ({planned} planned)")
    write(f"  fuzz wall time   {fuzz.WALL[0]:7.1f} s (generation, planning, checks)")

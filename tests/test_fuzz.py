"""Hostile input over every planner, at volume: the ``fuzz`` selection (``pytest -m fuzz``).

Each planner gets ``SMARTSIM_FUZZ_EXAMPLES`` examples (default 200: a developer's run takes
seconds; ``scripts/test`` sets the CI budget, >= 10^5 plans in all) drawn from the hostile
strategies of tests/strategies.py, from the fixed seed ``SMARTSIM_FUZZ_SEED`` (printed in the
report, so a run is repeatable). Every failing example Hypothesis finds is saved in
``tests/fuzz-db``, a directory committed with the repository, and replayed first by every later
run, forever.

The property (tests/fuzz_checks.py): a typed refusal, or launches whose scripts each reader
gives back exactly (the scheduler's directive reader, then bash's) — never a traceback.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, core, example, given, note, settings

from smartsim.values import BatchSettings, Ensemble, Model, RunSettings
from tests.fuzz_checks import PLANNERS, check_plan
from tests.strategies import hostile_entities

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("SMARTSIM_FUZZ_EXAMPLES", "200"))
SEED = int(os.environ.get("SMARTSIM_FUZZ_SEED", "20261204"))
DATABASE = Path(__file__).parent / "fuzz-db"


def _model(
    *,
    exe: str = "a.out",
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    path: str = "/w/m",
    account: str | None = None,
) -> Model:
    rs = RunSettings(exe=exe, args=args, env=env or {})
    return Model(
        name="m", path=path, run_settings=rs, batch_settings=BatchSettings(account=account)
    )


def _ensemble(path: str) -> Ensemble:
    member = Model(name="a", path="/w/a", run_settings=RunSettings(exe="x"))
    return Ensemble(name="e", path=path, members=(member,), batch_settings=BatchSettings())


#: planner -> [examples run, examples planned, seconds]; printed by tests/conftest.py.
REPORT: dict[str, list[float]] = {}
#: seconds the property took, generation included.
WALL: list[float] = [0.0]


def _database() -> object:
    from hypothesis.database import DirectoryBasedExampleDatabase

    return DirectoryBasedExampleDatabase(str(DATABASE))


@settings(
    max_examples=EXAMPLES,
    database=_database(),  # type: ignore[arg-type]
    deadline=None,
    derandomize=False,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    print_blob=True,
)
@given(entity=hostile_entities())
# every class found so far, replayed first whatever the database holds
@example(entity=_model(args=("a\r\nb",)))  # qsub: "script contains cr, lf"
@example(entity=_model(env={"V": "x\r\ny"}))
@example(entity=_model(args=("a\rflux: -N 90", "a\rb")))  # flux batch: text mode
@example(entity=_model(path=os.fsdecode(b"/w/caf\xe9/m")))  # SGE: UnicodeEncodeError
@example(entity=_model(account=os.fsdecode(b"caf\xe9")))
@example(entity=_model(exe="%a"))  # bash: "fg: no job control"
@example(entity=_model(exe="%a=b", env={"V": "1"}))
@example(entity=_model(args=("x\n#PBS -N y",)))  # sbatch reads #PBS lines anywhere
@example(entity=_ensemble("/w/it's"))  # the ensemble's own path skipped the path rule
@example(entity=_ensemble("/w/a\\b"))
@example(entity=_ensemble("\n"))
@example(entity=_ensemble("/w/\ud800"))  # Slurm: the job's own files skipped the reader
def _every_plan_is_a_typed_refusal_or_read_back_exactly(entity: Model | Ensemble) -> None:
    """Whatever the entity holds, every planner refuses it with typed errors or writes launches
    whose every reader gives back the directives and argv that were asked; never raises.

    Each example goes to every planner (drawing it costs more than planning it), so each
    planner sees ``EXAMPLES`` examples and the run ``EXAMPLES * len(PLANNERS)`` plans."""
    for planner in sorted(PLANNERS):
        counts = REPORT.setdefault(planner, [0, 0, 0.0])
        started = time.perf_counter()
        given_entity = _with_image(entity) if planner == "kubernetes" else entity
        note(f"planner: {planner}")
        try:
            counts[1] += check_plan(planner, given_entity)
        finally:
            counts[0] += 1
            counts[2] += time.perf_counter() - started


def test_every_plan_is_a_typed_refusal_or_read_back_exactly() -> None:
    """Whatever the entity holds, every planner refuses it with typed errors or writes launches
    whose every reader gives back the directives and argv that were asked; never raises."""
    # Hypothesis draws a test's seed from this thread-local Random when the test has no @seed,
    # and saves failing examples to the database only then (an explicit @seed turns saving
    # off): seeding the Random gives both a repeatable run and a database that keeps failures.
    core.threadlocal._hypothesis_global_random = random.Random(SEED)
    started = time.perf_counter()
    try:
        _every_plan_is_a_typed_refusal_or_read_back_exactly()
    finally:
        WALL[0] += time.perf_counter() - started


def _with_image(entity: Model | Ensemble) -> Model | Ensemble:
    import attrs

    def fix(model: Model) -> Model:
        rs = attrs.evolve(model.run_settings, run_args={"image": "busybox:1.36"})
        return attrs.evolve(model, run_settings=rs)

    if isinstance(entity, Model):
        return fix(entity)
    return attrs.evolve(entity, members=tuple(fix(m) for m in entity.members))

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
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, note, seed, settings

from smartsim.values import Ensemble, Model
from tests.fuzz_checks import PLANNERS, check_plan
from tests.strategies import hostile_entities

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("SMARTSIM_FUZZ_EXAMPLES", "200"))
SEED = int(os.environ.get("SMARTSIM_FUZZ_SEED", "20261204"))
DATABASE = Path(__file__).parent / "fuzz-db"

#: planner -> [examples run, examples planned, seconds]; printed by tests/conftest.py.
REPORT: dict[str, list[float]] = {}


def _database() -> object:
    from hypothesis.database import DirectoryBasedExampleDatabase

    return DirectoryBasedExampleDatabase(str(DATABASE))


@seed(SEED)
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
def test_every_plan_is_a_typed_refusal_or_read_back_exactly(entity: Model | Ensemble) -> None:
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


def _with_image(entity: Model | Ensemble) -> Model | Ensemble:
    import attrs

    def fix(model: Model) -> Model:
        rs = attrs.evolve(model.run_settings, run_args={"image": "busybox:1.36"})
        return attrs.evolve(model, run_settings=rs)

    if isinstance(entity, Model):
        return fix(entity)
    return attrs.evolve(entity, members=tuple(fix(m) for m in entity.members))

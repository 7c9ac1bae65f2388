"""Ensemble expansion, placeholders and tag substitution: pure properties and examples."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from smartsim.commands.generate import configure_text, params_json
from smartsim.commands.local import plan_local
from smartsim.commands.plan import World, next_run_index, output_paths
from smartsim.ensemble import apply_params, ensemble, member_name, param_sets, substitute
from smartsim.errors import BadValue, ConflictingOptions, Invalid, NotPositive
from smartsim.values import ParamValue, RunSettings
from tests.strategies import any_text

# --------------------------------------------------------------------------- strategies

PARAM_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
PARAM_VALUES: st.SearchStrategy[ParamValue] = st.one_of(
    any_text(max_size=6),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


@st.composite
def param_lists(draw: st.DrawFn, *, same_length: bool = False) -> dict[str, list[ParamValue]]:
    names = draw(st.lists(PARAM_NAMES, min_size=1, max_size=3, unique=True))
    length = draw(st.integers(1, 4))
    out: dict[str, list[ParamValue]] = {}
    for name in names:
        size = length if same_length else draw(st.integers(1, 4))
        out[name] = draw(st.lists(PARAM_VALUES, min_size=size, max_size=size))
    return out


def template(params: Mapping[str, object]) -> RunSettings:
    """Settings with every parameter as a whole argument, inside another argument, and in
    an environment value."""
    args: list[str] = []
    env: dict[str, str] = {}
    for i, name in enumerate(params):
        args += ["{" + name + "}", "--" + name + "=<{" + name + "}>"]
        env[f"P{i}"] = "{" + name + "}"
    return RunSettings(exe="prog", args=tuple(args), env=env)


def expected_settings(params: Mapping[str, ParamValue]) -> tuple[tuple[str, ...], dict[str, str]]:
    """What the template must become, computed without the code under test."""
    args: list[str] = []
    env: dict[str, str] = {}
    for i, (name, value) in enumerate(params.items()):
        args += [str(value), f"--{name}=<{value}>"]
        env[f"P{i}"] = str(value)
    return tuple(args), env


# --------------------------------------------------------------------------- counts


@given(param_lists())
def test_all_perm_member_count_is_the_product(params: dict[str, list[ParamValue]]) -> None:
    """all_perm makes one member per combination: the product of the list lengths."""
    sets = param_sets(params, "all_perm").unwrap()
    assert len(sets) == math.prod(len(v) for v in params.values())


@given(param_lists(same_length=True))
def test_step_member_count_is_the_zip_length(params: dict[str, list[ParamValue]]) -> None:
    """step zips the lists: one member per position, the i-th values together."""
    sets = param_sets(params, "step").unwrap()
    length = len(next(iter(params.values())))
    assert len(sets) == length
    for i, s in enumerate(sets):
        assert dict(s) == {k: v[i] for k, v in params.items()}


@given(param_lists(), st.integers(1, 4))
def test_replicas_repeat_each_set(params: dict[str, list[ParamValue]], replicas: int) -> None:
    """replicas=N repeats every parameter set N times in a row."""
    once = param_sets(params).unwrap()
    many = param_sets(params, replicas=replicas).unwrap()
    assert len(many) == replicas * len(once)
    assert many == tuple(s for s in once for _ in range(replicas))


@given(param_lists(), st.integers(0, 2**32), st.data())
def test_random_draws_distinct_combinations_reproducibly(
    params: dict[str, list[ParamValue]], seed: int, data: st.DataObject
) -> None:
    """random draws n_models distinct combinations of all_perm; the same seed, the same ones."""
    everything = param_sets(params, "all_perm").unwrap()
    n = data.draw(st.integers(1, len(everything)))
    first = param_sets(params, "random", n_models=n, seed=seed).unwrap()
    assert first == param_sets(params, "random", n_models=n, seed=seed).unwrap()
    assert len(first) == n
    keys = [tuple(s.items_tuple()) for s in first]
    all_keys = [tuple(s.items_tuple()) for s in everything]
    assert len(set(keys)) == n or len(set(all_keys)) < len(all_keys)  # equal values may repeat
    assert all(k in all_keys for k in keys)


def test_random_without_count_shuffles_everything() -> None:
    """random with no n_models gives every combination once, in a seeded order."""
    params = {"a": [1, 2, 3], "b": ["x", "y"]}
    drawn = param_sets(params, "random", seed=3).unwrap()
    assert sorted(map(str, drawn)) == sorted(map(str, param_sets(params).unwrap()))


def test_callable_strategy_gets_smartsims_arguments() -> None:
    """A callable strategy is called as strategy(names, values, n_models) and its sets kept."""
    seen = []

    def first_two(
        names: list[str], values: list[list[ParamValue]], n: int
    ) -> list[dict[str, ParamValue]]:
        seen.append((names, values, n))
        return [dict(zip(names, combo, strict=True)) for combo in zip(*values, strict=True)][:2]

    sets = param_sets({"a": [1, 2, 3], "b": [4, 5, 6]}, first_two, n_models=7).unwrap()
    assert seen == [(["a", "b"], [[1, 2, 3], [4, 5, 6]], 7)]
    assert [dict(s) for s in sets] == [{"a": 1, "b": 4}, {"a": 2, "b": 5}]


# --------------------------------------------------------------------------- members


@given(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True), param_lists(), st.integers(1, 3)
)
def test_member_names_are_unique_and_numbered(
    name: str, params: dict[str, list[ParamValue]], replicas: int
) -> None:
    """Members are <name>_0, <name>_1, ... each in its own directory under the ensemble's."""
    ens = ensemble(name, RunSettings(exe="x"), "/exp/" + name, params, replicas=replicas).unwrap()
    names = [m.name for m in ens.members]
    assert names == [member_name(name, i) for i in range(len(names))]
    assert len(set(names)) == len(names)
    assert [m.path for m in ens.members] == [f"/exp/{name}/{n}" for n in names]


@given(param_lists())
def test_params_reach_argv_and_env_exactly(params: dict[str, list[ParamValue]]) -> None:
    """Each member's parameters reach its planned argv and environment as str(value), whole."""
    ens = ensemble("e", template(params), "/exp/e", params).unwrap()
    launches = plan_local(ens, World(exp_path="/exp")).unwrap()
    assert len(launches) == len(ens.members)
    for member, launch in zip(ens.members, launches, strict=True):
        args, env = expected_settings(member.params)
        assert launch.command is not None
        assert launch.command.argv == ("prog", *args)
        assert dict(launch.command.env) == env


@given(st.dictionaries(PARAM_NAMES, PARAM_VALUES, min_size=1, max_size=4))
def test_substitution_is_one_pass(params: dict[str, ParamValue]) -> None:
    """A value that itself contains {name} is inserted as is, never expanded again."""
    names = list(params)
    tricky = {n: "{" + names[(i + 1) % len(names)] + "}" for i, n in enumerate(names)}
    out = apply_params(template(tricky), tricky)
    assert out.args == expected_settings(tricky)[0]


def test_other_braces_stay_exactly() -> None:
    """JSON arguments, unknown names and doubled braces are left exactly as written."""
    arg = (
        '{"alpha": {alpha}, "beta": [1, {2}], "x": "{unknown}", "y": "{{alpha}}", "z": "{ alpha}"}'
    )
    assert substitute(arg, {"alpha": 0.5}) == (
        '{"alpha": 0.5, "beta": [1, {2}], "x": "{unknown}", "y": "{0.5}", "z": "{ alpha}"}'
    )
    doc = json.dumps({"alpha": 1, "list": [{}, {"k": "v"}]})
    assert substitute(doc, {"alpha": 2, "k": 3}) == doc


@given(any_text(max_size=20), st.dictionaries(PARAM_NAMES, PARAM_VALUES, max_size=3))
def test_substitute_agrees_with_an_independent_scanner(
    text: str, params: dict[str, ParamValue]
) -> None:
    """substitute() equals a hand-written left-to-right scan for {identifier}."""
    out, i = [], 0
    while i < len(text):
        match = re.match(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", text[i:])
        if match and match[1] in params:
            out.append(str(params[match[1]]))
            i += match.end()
        else:
            out.append(text[i])
            i += 1
    assert substitute(text, params) == "".join(out)


# --------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize(
    ("kwargs", "kind", "field"),
    [
        ({"params": {"a": [1]}, "replicas": 0}, NotPositive, "replicas"),
        ({"params": {"a": [1]}, "perm_strategy": "shuffle"}, BadValue, "perm_strategy"),
        ({"params": {"a": [1]}, "n_models": 2}, ConflictingOptions, "n_models"),
        ({"params": {"a": [1]}, "seed": 2}, ConflictingOptions, "seed"),
        ({"params": {"a": [1, 2], "b": [1]}, "perm_strategy": "step"}, BadValue, "params"),
        (
            {"params": {"a": [1, 2]}, "perm_strategy": "random", "seed": 1, "n_models": 3},
            BadValue,
            "n_models",
        ),
        ({"params": {"a": []}}, None, "params['a']"),
        ({"params": {"a": [None]}}, BadValue, "params['a'][0]"),
        ({"params": {"a": [float("nan")]}}, BadValue, "params['a'][0]"),
        ({"params": {"1a": [1]}}, None, "params"),
        ({"params": {}}, BadValue, "params"),
        ({"params": {"a": ["x\x00"]}}, None, "params['a'][0]"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else None,
)
def test_bad_requests_are_typed_failures(
    kwargs: dict[str, object], kind: type | None, field: str
) -> None:
    """Each bad request comes back as a Failure naming the field, never an exception."""
    result = param_sets(**kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Failure)
    errors = result.failure().errors
    assert any(e.field == field and (kind is None or isinstance(e, kind)) for e in errors), errors


@given(
    st.one_of(st.none(), st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)),
    st.one_of(st.none(), st.integers(-2, 3), st.text(max_size=3)),
    st.one_of(st.sampled_from(["all_perm", "step", "random", "x"]), st.integers()),
)
def test_any_request_gives_a_result(params: object, replicas: object, strategy: object) -> None:
    """param_sets returns Success or Failure(Invalid) for any input; it never raises."""
    result = param_sets(params, strategy, replicas=replicas, seed=None)  # type: ignore[arg-type]
    assert isinstance(result, (Success, Failure))
    if isinstance(result, Failure):
        assert isinstance(result.failure(), Invalid)


# --------------------------------------------------------------------------- tags and history


@given(st.dictionaries(PARAM_NAMES, PARAM_VALUES, max_size=3), any_text(max_size=12))
def test_configured_tags_become_values(params: dict[str, ParamValue], filler: str) -> None:
    """;name; of a known parameter becomes str(value); other text is unchanged."""
    filler = filler.replace(";", ",")
    text = filler + "".join(f";{n};{filler}" for n in params) + ";unknown_tag;"
    expected = filler + "".join(f"{v}{filler}" for v in params.values()) + ";unknown_tag;"
    assert configure_text(text, params) == expected


def test_params_json_keeps_types() -> None:
    """params.json holds the member's parameters with their JSON types."""
    assert json.loads(params_json({"a": 1, "b": 0.5, "c": "x", "d": True})) == {
        "a": 1,
        "b": 0.5,
        "c": "x",
        "d": True,
    }


@given(
    st.from_regex(r"[a-z][a-z0-9_.-]{0,6}", fullmatch=True),
    st.lists(st.integers(0, 30), max_size=5),
    st.lists(st.from_regex(r"[a-z0-9_.-]{1,10}", fullmatch=True), max_size=5),
)
def test_next_run_index_never_reuses_a_file(name: str, runs: list[int], others: list[str]) -> None:
    """The next run's output files are not among the files already in the directory."""
    listing = [p.rsplit("/", 1)[1] for k in runs for p in output_paths("/d", name, k)] + others
    index = next_run_index(name, listing)
    out, err = output_paths("/d", name, index)
    assert out.rsplit("/", 1)[1] not in listing
    assert err.rsplit("/", 1)[1] not in listing
    assert index > max(runs, default=-1)

"""Ensembles: parameter sets -> members. Pure: values in, values (or typed errors) out.

``params`` maps a parameter name to one value or a sequence of values. A strategy turns them
into parameter *sets*, one per member:

* ``"all_perm"`` — every combination (the cartesian product), the first name varying slowest;
* ``"step"`` — the i-th values of every list together (a zip; all lists the same length);
* ``"random"`` — ``n_models`` distinct combinations drawn with ``random.Random(seed)`` (all of
  them, shuffled, when ``n_models`` is ``None``); the same seed gives the same members;
* a callable ``strategy(names, values, n_models) -> iterable of {name: value}``, SmartSim's
  signature (``n_models`` is ``0`` when not given).

``replicas=N`` repeats every set ``N`` times in a row (with no ``params``: ``N`` members without
parameters). Members are named ``<name>_0``, ``<name>_1``, ... in order and each lives in
``<path>/<member>``.

Placeholders: in a member's ``args`` and ``env`` values (MPMD parts included), ``{name}`` for a
parameter ``name`` of that member becomes ``str(value)`` (so ``0.1`` -> ``0.1``, ``True`` ->
``True``, ``1e-07`` stays Python's spelling). Only known parameter names are replaced, in one pass
(a value that itself contains ``{x}`` is not expanded again); every other brace — a JSON argument,
``{unknown}``, ``{{`` — stays exactly as written.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, TypeAlias

import attrs
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap
from smartsim.commands._options import check_text
from smartsim.errors import (
    BadName,
    BadValue,
    ConflictingOptions,
    EmptyValue,
    Invalid,
    NotPositive,
    ValidationError,
)
from smartsim.validate import check_name, check_params
from smartsim.values import BatchSettings, Ensemble, Model, ParamValue, RunSettings

#: A user strategy: ``(names, values per name, n_models) -> parameter sets``.
StrategyFn: TypeAlias = Callable[
    [list[str], list[list[ParamValue]], int], Iterable[Mapping[str, ParamValue]]
]
Strategy: TypeAlias = str | StrategyFn
#: The named strategies.
PERM_STRATEGIES: Final = ("all_perm", "step", "random")

_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAM_TYPES: Final = (str, int, float, bool)


def substitute(text: str, params: Mapping[str, ParamValue]) -> str:
    """``text`` with ``{name}`` replaced by ``str(params[name])`` for known names only.

    >>> substitute("--alpha={alpha} {beta} {{alpha}}", {"alpha": 0.5})
    '--alpha=0.5 {beta} {0.5}'
    >>> substitute('{"alpha": {alpha}}', {"alpha": 1})
    '{"alpha": 1}'
    """
    if "{" not in text or not params:
        return text

    def one(match: re.Match[str]) -> str:
        name = match[1]
        return str(params[name]) if name in params else match[0]

    return _PLACEHOLDER.sub(one, text)


def apply_params(rs: RunSettings, params: Mapping[str, ParamValue]) -> RunSettings:
    """``rs`` with placeholders in its args and env values (and its MPMD parts') filled in.

    >>> rs = RunSettings(exe="sim", args=("--n", "{n}"), env={"N": "{n}"})
    >>> done = apply_params(rs, {"n": 4})
    >>> done.args, dict(done.env)
    (('--n', '4'), {'N': '4'})
    """
    if not params:
        return rs
    return attrs.evolve(
        rs,
        args=tuple(substitute(a, params) for a in rs.args),
        env={k: substitute(v, params) for k, v in rs.env.items()},
        mpmd=tuple(apply_params(part, params) for part in rs.mpmd),
    )


def _is_value(value: object) -> bool:
    return isinstance(value, _PARAM_TYPES)


def _value_problems(field: str, value: object) -> list[ValidationError]:
    if not _is_value(value):
        return [BadValue(field, value, "a str, int, float or bool")]
    if isinstance(value, float) and not math.isfinite(value):
        return [BadValue(field, value, "a finite number")]
    if isinstance(value, str):
        return check_text(field, value, single_line=False)
    return []


def _name_problems(key: str) -> list[ValidationError]:
    if not _NAME.fullmatch(key):
        return [BadName("params", key, "a parameter name: [A-Za-z_][A-Za-z0-9_]*")]
    return []


def _lists(
    params: Mapping[str, object],
) -> Result[tuple[list[str], list[list[ParamValue]]], Invalid]:
    """Names and value lists; a single value is a list of one."""
    errors: list[ValidationError] = []
    names: list[str] = []
    values: list[list[ParamValue]] = []
    for key, raw in params.items():
        if not isinstance(key, str):
            errors.append(BadValue("params", key, "a parameter name (str)"))
            continue
        names.append(key)
        errors += _name_problems(key)
        items: list[object]
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
            items = [raw]
        else:
            items = list(raw)
            if not items:
                errors.append(EmptyValue(f"params[{key!r}]", raw))
        ok: list[ParamValue] = []
        for i, item in enumerate(items):
            problems = _value_problems(f"params[{key!r}][{i}]", item)
            errors += problems
            if not problems:
                assert isinstance(item, (str, int, float, bool))
                ok.append(item)
        values.append(ok)
    return Failure(Invalid(tuple(errors))) if errors else Success((names, values))


def _combination(index: int, sizes: Sequence[int]) -> list[int]:
    """Mixed-radix digits of ``index`` (the first position varying slowest, as in all_perm)."""
    digits = [0] * len(sizes)
    for pos in range(len(sizes) - 1, -1, -1):
        index, digits[pos] = divmod(index, sizes[pos])
    return digits


def _fail(*errors: ValidationError) -> Result[tuple[FrozenMap[str, ParamValue], ...], Invalid]:
    return Failure(Invalid(errors))


def _request_problems(
    params: object,
    perm_strategy: object,
    n_models: object,
    seed: object,
    replicas: object,
) -> list[ValidationError]:
    errors: list[ValidationError] = []
    for field, value in (("replicas", replicas), ("n_models", n_models)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors.append(BadValue(field, value, "an int >= 1"))
        elif isinstance(value, int) and value <= 0:
            errors.append(NotPositive(field, value))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        errors.append(BadValue("seed", seed, "an int"))
    if isinstance(perm_strategy, str):
        if perm_strategy not in PERM_STRATEGIES:
            expected = " or ".join(PERM_STRATEGIES) + " or a callable"
            errors.append(BadValue("perm_strategy", perm_strategy, expected))
    elif not callable(perm_strategy):
        errors.append(BadValue("perm_strategy", perm_strategy, "a strategy name or a callable"))
    if n_models is not None and perm_strategy in ("all_perm", "step"):
        errors.append(ConflictingOptions("n_models", n_models, f"perm_strategy={perm_strategy!r}"))
    if seed is not None and perm_strategy != "random":
        errors.append(ConflictingOptions("seed", seed, f"perm_strategy={perm_strategy!r}"))
    if params is not None and not isinstance(params, Mapping):
        errors.append(BadValue("params", params, "a mapping of names to values or lists"))
    elif not params and replicas is None:
        expected = "parameters, or replicas=N, so the ensemble has members"
        errors.append(BadValue("params", params, expected))
    return errors


def _from_callable(
    strategy: StrategyFn, names: list[str], values: list[list[ParamValue]], n_models: int
) -> Result[tuple[FrozenMap[str, ParamValue], ...], Invalid]:
    """Run a user strategy and check what it returned (its own exceptions propagate)."""
    sets: list[FrozenMap[str, ParamValue]] = []
    problems: list[ValidationError] = []
    for i, item in enumerate(strategy(list(names), [list(v) for v in values], n_models)):
        where = f"perm_strategy()[{i}]"
        if not isinstance(item, Mapping):
            problems.append(BadValue(where, item, "a mapping name -> value"))
            continue
        found: list[ValidationError] = []
        for key, value in item.items():
            if not isinstance(key, str):
                found.append(BadValue(where, key, "a parameter name (str)"))
            else:
                found += _name_problems(key) + _value_problems(f"{where}[{key!r}]", value)
        problems += found
        if not found:
            sets.append(FrozenMap(item))
    if not sets and not problems:
        problems.append(EmptyValue("perm_strategy()", []))
    return _fail(*problems) if problems else Success(tuple(sets))


def param_sets(
    params: Mapping[str, object] | None,
    perm_strategy: Strategy = "all_perm",
    *,
    n_models: int | None = None,
    seed: int | None = None,
    replicas: int | None = None,
) -> Result[tuple[FrozenMap[str, ParamValue], ...], Invalid]:
    """One parameter set per member, or every problem with the request.

    >>> [dict(s) for s in param_sets({"a": [1, 2], "b": ["x", "y"]}).unwrap()]
    [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    >>> [dict(s) for s in param_sets({"a": [1, 2], "b": ["x", "y"]}, "step").unwrap()]
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    >>> len(param_sets({"a": [1, 2, 3]}, "random", n_models=2, seed=7).unwrap())
    2
    >>> [dict(s) for s in param_sets(None, replicas=2).unwrap()]
    [{}, {}]
    """
    errors = _request_problems(params, perm_strategy, n_models, seed, replicas)
    lists = _lists(params if isinstance(params, Mapping) else {})
    if isinstance(lists, Failure):
        errors += lists.failure().errors
    if errors:
        return _fail(*errors)
    names, values = lists.unwrap()
    sizes = [len(v) for v in values]
    total = math.prod(sizes)

    sets: tuple[FrozenMap[str, ParamValue], ...]
    if not names:
        sets = (FrozenMap(),)
    elif callable(perm_strategy):
        made = _from_callable(perm_strategy, names, values, n_models or 0)
        if isinstance(made, Failure):
            return made
        sets = made.unwrap()
    elif perm_strategy == "step":
        if len(set(sizes)) != 1:
            detail = ", ".join(f"{n}: {k}" for n, k in zip(names, sizes, strict=True))
            return _fail(BadValue("params", detail, "lists of one length for 'step'"))
        sets = tuple(FrozenMap(zip(names, c, strict=True)) for c in zip(*values, strict=True))
    else:
        indices: Sequence[int] = range(total)
        if perm_strategy == "random":
            if seed is None:
                return _fail(BadValue("seed", seed, "an int, so random members are reproducible"))
            count = total if n_models is None else n_models
            if count > total:
                expected = f"at most {total} (the number of distinct parameter sets)"
                return _fail(BadValue("n_models", n_models, expected))
            import random  # only this strategy needs it (import cost)

            indices = random.Random(seed).sample(range(total), count)
        sets = tuple(
            FrozenMap(
                (name, values[pos][digit])
                for pos, (name, digit) in enumerate(zip(names, _combination(i, sizes), strict=True))
            )
            for i in indices
        )
    copies = replicas or 1
    return Success(tuple(s for s in sets for _ in range(copies)))


def member_name(name: str, index: int) -> str:
    """The name of member ``index`` of ensemble ``name`` (SmartSim's ``<name>_<i>``)."""
    return f"{name}_{index}"


def model(
    name: str,
    run_settings: RunSettings,
    path: str,
    params: Mapping[str, ParamValue] | None = None,
    batch_settings: BatchSettings | None = None,
) -> Result[Model, Invalid]:
    """A model whose settings have its parameters filled in (placeholders), or the problems
    with its name and parameters."""
    errors = check_name("name", name) if isinstance(name, str) else [BadValue("name", name, "str")]
    frozen: FrozenMap[str, ParamValue] = FrozenMap()
    if params is not None:
        if not isinstance(params, Mapping):
            errors.append(BadValue("params", params, "a mapping of names to values"))
        else:
            for key, value in params.items():
                errors += _value_problems(f"params[{key!r}]", value)
            if not errors:
                frozen = FrozenMap(params)
                errors += check_params("params", frozen)
    if errors:
        return Failure(Invalid(tuple(errors)))
    return Success(
        Model(
            name=name,
            run_settings=apply_params(run_settings, frozen),
            params=frozen,
            path=path,
            batch_settings=batch_settings,
        )
    )


def ensemble(
    name: str,
    run_settings: RunSettings,
    path: str,
    params: Mapping[str, object] | None = None,
    perm_strategy: Strategy = "all_perm",
    *,
    n_models: int | None = None,
    seed: int | None = None,
    replicas: int | None = None,
    batch_settings: BatchSettings | None = None,
) -> Result[Ensemble, Invalid]:
    """An ensemble whose members carry their parameter sets, filled into their settings.

    >>> ens = ensemble("sim", RunSettings(exe="sim", args=("{a}",)), "/exp/sim",
    ...                {"a": [1, 2]}).unwrap()
    >>> [(m.name, m.run_settings.args, m.path) for m in ens.members]
    [('sim_0', ('1',), '/exp/sim/sim_0'), ('sim_1', ('2',), '/exp/sim/sim_1')]
    """
    errors = check_name("name", name) if isinstance(name, str) else [BadValue("name", name, "str")]
    sets = param_sets(params, perm_strategy, n_models=n_models, seed=seed, replicas=replicas)
    if isinstance(sets, Failure):
        errors += sets.failure().errors
    if errors:
        return Failure(Invalid(tuple(errors)))
    members = tuple(
        Model(
            name=member_name(name, i),
            run_settings=apply_params(run_settings, s),
            params=s,
            path=posixpath.join(path, member_name(name, i)),
        )
        for i, s in enumerate(sets.unwrap())
    )
    return Success(Ensemble(name=name, members=members, path=path, batch_settings=batch_settings))

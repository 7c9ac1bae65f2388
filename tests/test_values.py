"""The frozen values: FrozenMap, Duration, Memory, JobId, ArraySpec, settings conversion."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from smartsim import (
    AllocationRequest,
    ArraySpec,
    BatchSettings,
    Duration,
    FrozenMap,
    JobId,
    Memory,
    RunSettings,
)
from smartsim.commands.slurm import slurm_memory, slurm_time
from smartsim.errors import BadDuration
from tests.oracles.slurm_cli import parse_array, parse_time
from tests.strategies import array_specs, durations, job_ids, memories

# --------------------------------------------------------------------------- FrozenMap


@given(st.dictionaries(st.text(max_size=4), st.integers(), max_size=6))
def test_frozen_map_keeps_order_and_equals_its_dict(d: dict[str, int]) -> None:
    """A FrozenMap iterates in insertion order and compares equal to the dict it came from."""
    m = FrozenMap(d)
    assert list(m) == list(d)
    assert m == d
    assert dict(m.items()) == d
    assert len(m) == len(d)


@given(st.dictionaries(st.text(max_size=4), st.integers(), max_size=6))
def test_equal_frozen_maps_hash_alike(d: dict[str, int]) -> None:
    """Two FrozenMaps of the same pairs are equal and hash alike, whatever the order."""
    reordered = dict(reversed(list(d.items())))
    assert FrozenMap(d) == FrozenMap(reordered)
    assert hash(FrozenMap(d)) == hash(FrozenMap(reordered))


def test_frozen_map_is_immutable() -> None:
    """A FrozenMap refuses attribute assignment and has no item assignment."""
    m: FrozenMap[str, int] = FrozenMap({"a": 1})
    with pytest.raises(AttributeError):
        m._items = ()
    with pytest.raises(TypeError):
        m["b"] = 2  # type: ignore[index]


def test_frozen_map_refuses_a_key_given_twice() -> None:
    """Pairs that repeat a key are a ValueError, not a silent overwrite."""
    with pytest.raises(ValueError, match="given twice"):
        FrozenMap([("a", 1), ("a", 2)])


def test_merged_replaces_in_place_and_appends() -> None:
    """merged() keeps the original order, replaces equal keys in place and appends new ones."""
    m = FrozenMap({"a": 1, "b": 2}).merged({"b": 3, "c": 4})
    assert list(m.items()) == [("a", 1), ("b", 3), ("c", 4)]


def test_settings_convert_user_dicts_and_lists_to_frozen_forms() -> None:
    """Dicts and lists a user passes become FrozenMaps and tuples; the value is frozen."""
    env = {"A": "1"}
    rs = RunSettings(exe="a", args=["x", "y"], env=env, run_args={"exclusive": None})
    env["A"] = "changed"
    assert rs.env == {"A": "1"}
    assert rs.args == ("x", "y")
    assert isinstance(rs.run_args, FrozenMap)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        rs.exe = "b"  # type: ignore[misc]
    assert attrs.evolve(rs, exe="b").exe == "b"


def test_a_bare_string_is_not_split_into_arguments() -> None:
    """args="a b" is a TypeError: splitting it would guess where arguments end."""
    with pytest.raises(TypeError, match="wrap it"):
        RunSettings(exe="a", args="a b")


def test_env_values_are_rendered_as_text() -> None:
    """Numbers in env become their str(); bools are refused (no 'True' surprises)."""
    assert RunSettings(exe="a", env={"N": 4, "F": 0.5}).env == {"N": "4", "F": "0.5"}
    with pytest.raises(TypeError):
        RunSettings(exe="a", env={"B": True})


# --------------------------------------------------------------------------- Duration


@pytest.mark.parametrize(
    ("seconds", "slurm", "hms"),
    [
        (1, "00:00:01", "0:00:01"),
        (600, "00:10:00", "0:10:00"),
        (36000, "10:00:00", "10:00:00"),
        (86399, "23:59:59", "23:59:59"),
        (86400, "1-00:00:00", "24:00:00"),
        (25 * 3600, "1-01:00:00", "25:00:00"),
        (36 * 3600, "1-12:00:00", "36:00:00"),
        (400 * 86400 + 61, "400-00:01:01", "9600:01:01"),
    ],
)
def test_duration_renders_for_slurm_and_as_hms(seconds: int, slurm: str, hms: str) -> None:
    """Slurm gets HH:MM:SS below a day and D-HH:MM:SS from a day on; hms() has unbounded hours."""
    assert slurm_time(Duration(seconds)) == slurm
    assert Duration(seconds).hms() == hms


def test_25_hours_is_never_rendered_with_the_word_day() -> None:
    """A 25 h timedelta renders as 1-01:00:00, not str(timedelta)'s '1 day, 1:00:00'."""
    d = Duration.from_timedelta(dt.timedelta(hours=25))
    assert slurm_time(d) == "1-01:00:00"
    assert "day" not in slurm_time(d) and "day" not in d.hms()


@given(durations())
def test_slurm_reads_back_the_rendered_duration(d: Duration) -> None:
    """Slurm's --time grammar (an independent oracle) reads slurm_time(d) and d.hms() as d."""
    assert parse_time(slurm_time(d)) == d.seconds
    assert parse_time(d.hms()) == d.seconds


@given(durations())
def test_duration_parse_round_trips(d: Duration) -> None:
    """Duration.parse gives back the duration from both of its renderings."""
    assert Duration.parse(d.hms()) == Success(d)
    assert Duration.parse(slurm_time(d)) == Success(d)


@given(st.floats(min_value=1e-9, max_value=1e7, allow_nan=False))
def test_fractions_of_a_second_round_up_and_never_to_zero(seconds: float) -> None:
    """A duration never shrinks: fractional seconds round up, so a positive time is never 0."""
    d = Duration.from_seconds(seconds)
    assert d.seconds == math.ceil(seconds)
    assert d.seconds >= 1
    delta = dt.timedelta(seconds=seconds)  # microsecond resolution: may round to zero
    if delta:
        assert Duration.from_timedelta(delta).seconds >= 1


@given(st.integers(1, 10**7))
def test_minutes_round_up(seconds: int) -> None:
    """minutes_up() is the smallest whole number of minutes covering the duration."""
    m = Duration(seconds).minutes_up()
    assert (m - 1) * 60 < seconds <= m * 60


@pytest.mark.parametrize(
    "text", ["abc", "", "1 day", "1:2:3:4", "1-2-3", "10:", ":10", "-5", "1-", "1.5:00"]
)
def test_malformed_duration_text_is_refused(text: str) -> None:
    """Text in none of Slurm's --time forms is not a duration, and is kept for validation."""
    assert isinstance(Duration.parse(text), Failure)
    assert RunSettings(exe="a", time=text).time == text  # kept for validation to name


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30 * 60),  # minutes
        ("10:00", 600),  # minutes:seconds -- ten minutes, as Slurm reads it
        ("1:00", 60),
        ("1:30:00", 5400),  # hours:minutes:seconds
        ("10:00:70", 36070),  # fields overflow, as Slurm sums them
        ("1:60:00", 7200),
        ("2-3", 2 * 86400 + 3 * 3600),  # days-hours
        ("2-3:04", 2 * 86400 + 3 * 3600 + 4 * 60),  # days-hours:minutes
        ("2-03:04:05", 2 * 86400 + 3 * 3600 + 4 * 60 + 5),  # days-hours:minutes:seconds
        ("1-25:00:00", 86400 + 25 * 3600),
    ],
)
def test_every_slurm_time_form_is_read_as_slurm_reads_it(text: str, seconds: int) -> None:
    """Each --time form of sbatch(1) parses to the seconds Slurm's own grammar (the independent
    oracle) gives it."""
    assert Duration.parse(text) == Success(Duration(seconds))
    assert parse_time(text) == seconds
    assert RunSettings(exe="a", time=text).time == Duration(seconds)


@given(
    st.one_of(
        st.integers(0, 10**4).map(str),
        st.tuples(st.integers(0, 10**4), st.integers(0, 99)).map("{0[0]}:{0[1]:02d}".format),
        st.tuples(st.integers(0, 999), st.integers(0, 99), st.integers(0, 99)).map(
            "{0[0]}:{0[1]:02d}:{0[2]:02d}".format
        ),
        st.tuples(st.integers(0, 99), st.integers(0, 99)).map("{0[0]}-{0[1]}".format),
        st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)).map(
            "{0[0]}-{0[1]}:{0[2]}".format
        ),
        st.tuples(*[st.integers(0, 99)] * 4).map("{0[0]}-{0[1]}:{0[2]}:{0[3]}".format),
    )
)
def test_any_slurm_time_text_means_what_slurm_reads(text: str) -> None:
    """For any text in a Slurm --time form, the duration is the seconds Slurm reads (zero,
    which Slurm reads as no limit, is then refused by validation)."""
    read = parse_time(text)
    parsed = Duration.parse(text)
    assert isinstance(parsed, Success)
    assert parsed.unwrap().seconds == (read or 0)
    if read is not None:
        assert parse_time(slurm_time(parsed.unwrap())) == read


def test_a_bad_duration_error_lists_the_accepted_forms() -> None:
    """The BadDuration message names every accepted text form."""
    message = BadDuration("run_settings.time", "1 day").message
    for form in ("'MM'", "'MM:SS'", "'H:MM:SS'", "'D-HH'", "'D-HH:MM'", "'D-HH:MM:SS'"):
        assert form in message


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("25:00:00", 90000),
        ("1-01:00:00", 90000),
        (dt.timedelta(days=1, hours=1), 90000),
        (90000, 90000),
        (0.5, 1),
    ],
)
def test_time_fields_accept_every_documented_input(value: object, seconds: int) -> None:
    """A time field takes a timedelta, seconds or unambiguous text and holds a Duration."""
    assert AllocationRequest(time=value).time == Duration(seconds)
    assert BatchSettings(time=value).time == Duration(seconds)


# --------------------------------------------------------------------------- Memory


@pytest.mark.parametrize(
    ("text", "mb"),
    [("4GB", 4096), ("4G", 4096), ("512M", 512), ("512", 512), ("1T", 1024 * 1024),
     ("2048K", 2), ("1K", 1), ("3 GiB", 3072)],
)  # fmt: skip
def test_memory_parses_units(text: str, mb: int) -> None:
    """Memory text in K/M/G/T (binary units, as Slurm) becomes mebibytes, kibibytes rounded up."""
    assert Memory.parse(text) == Success(Memory(mb))


@given(memories())
def test_memory_slurm_rendering_round_trips(m: Memory) -> None:
    """slurm_memory(m) is read back by Memory.parse as the same size, in G when exact."""
    rendered = slurm_memory(m)
    assert Memory.parse(rendered) == Success(m)
    assert rendered.endswith("G") == (m.megabytes % 1024 == 0)


def test_memory_fields_take_ints_as_megabytes() -> None:
    """An int memory is megabytes; unparsable text is kept for validation to name."""
    assert RunSettings(exe="a", mem=1500).mem == Memory(1500)
    assert RunSettings(exe="a", mem="lots").mem == "lots"


# --------------------------------------------------------------------------- JobId


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123", JobId(123)),
        ("123;cl", JobId(123, cluster="cl")),
        ("123+1", JobId(123, het_offset=1)),
        ("123_4", JobId(123, array_task=4)),
        ("123_[0-3%2]", JobId(123, array_range="0-3%2")),
        ("123_[1,3-5]", JobId(123, array_range="1,3-5")),
        ("123.0", JobId(123, step="0")),
        ("123.batch", JobId(123, step="batch")),
        ("123.extern", JobId(123, step="extern")),
        ("123+1.0;cl", JobId(123, het_offset=1, step="0", cluster="cl")),
        ("123_4.2", JobId(123, array_task=4, step="2")),
        ("87.6+0", JobId(87, step="6+0")),  # real: sacct's row for component 0 of an MPMD step
    ],
)
def test_job_id_parses_every_form_slurm_prints(text: str, expected: JobId) -> None:
    """JobId.parse reads cluster suffixes, het offsets, array tasks and ranges, and steps."""
    assert JobId.parse(text) == Success(expected)


@given(job_ids())
def test_job_id_text_round_trips(jid: JobId) -> None:
    """str(id) (plus ';cluster') parses back to the same id."""
    text = str(jid) + (f";{jid.cluster}" if jid.cluster is not None else "")
    assert JobId.parse(text) == Success(jid)


@pytest.mark.parametrize("text", ["", "abc", "12a", "12;", "12..0", "-1", "12_", "12.x y"])
def test_text_that_is_not_a_job_id_is_a_failure(text: str) -> None:
    """Anything that is not a Slurm job id fails to parse (and never raises)."""
    assert isinstance(JobId.parse(text), Failure)


@given(st.text(max_size=20))
def test_job_id_parse_never_raises(text: str) -> None:
    """JobId.parse returns a Result for any text."""
    assert isinstance(JobId.parse(text), Success | Failure)


def test_job_id_parts() -> None:
    """job_part drops the step; with_step sets it; 1234 and 12345 are different ids."""
    jid = JobId.parse("77+1.3").unwrap()
    assert jid.job_part == "77+1"
    assert str(jid.with_step("batch")) == "77+1.batch"
    assert JobId.parse("1234") != JobId.parse("12345")


# --------------------------------------------------------------------------- ArraySpec


@given(array_specs())
def test_array_spec_renders_what_sbatch_reads(spec: ArraySpec) -> None:
    """str(ArraySpec) is read by sbatch's --array grammar (oracle) as the same indices and limit."""
    parsed = parse_array(str(spec))
    assert parsed.indices == tuple(spec.indices)
    assert parsed.max_running == spec.limit


def test_array_spec_from_a_range() -> None:
    """A range converts to the inclusive ArraySpec with the same indices."""
    assert BatchSettings(array=range(0, 10, 2)).array == ArraySpec(0, 8, 2)
    assert str(ArraySpec(0, 9, limit=2)) == "0-9%2"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: RunSettings(exe="a", nodes="2"), "nodes"),
        (lambda: RunSettings(exe="a", ntasks=4.0), "ntasks"),
        (lambda: RunSettings(exe="a", args="a b"), "args"),
        (lambda: RunSettings(exe="a", run_command=3), "run_command"),
        (lambda: RunSettings(exe="a", time=True), "time"),
        (lambda: BatchSettings(nodes="2"), "nodes"),
        (lambda: BatchSettings(batch_args={1: "x"}), "batch_args"),
        (lambda: AllocationRequest(partition=3), "partition"),
        (lambda: AllocationRequest(mem=True), "mem"),
    ],
)
def test_a_wrong_type_names_its_field(build: Callable[[], object], field: str) -> None:
    """A constructor's TypeError starts with the name of the field that has the wrong type."""
    with pytest.raises(TypeError) as info:
        build()
    assert str(info.value).startswith(field), str(info.value)


def test_a_quoted_count_says_how_to_write_it() -> None:
    """nodes="2" says to write nodes=2."""
    with pytest.raises(TypeError, match=r"nodes must be an int, got '2' \(write nodes=2"):
        RunSettings(exe="a", nodes="2")


@given(
    st.builds(
        RunSettings,
        exe=st.sampled_from(["a", "b"]),
        nodes=st.one_of(st.none(), st.integers(1, 3)),
        env=st.dictionaries(st.sampled_from(["A", "B"]), st.sampled_from(["1", "2"])),
    ),
    st.builds(
        RunSettings,
        exe=st.sampled_from(["a", "b"]),
        nodes=st.one_of(st.none(), st.integers(1, 3)),
        env=st.dictionaries(st.sampled_from(["A", "B"]), st.sampled_from(["1", "2"])),
    ),
)
def test_values_compare_hash_and_print_as_attrs_would(a: RunSettings, b: RunSettings) -> None:
    """Equality is field by field (and only with the same class), equal values hash alike, and
    the repr is attrs': ``RunSettings(exe='a', args=(), ...)``."""
    fields = [f.name for f in attrs.fields(RunSettings)]
    same = all(getattr(a, n) == getattr(b, n) for n in fields)
    assert (a == b) is same and (a != b) is not same
    if same:
        assert hash(a) == hash(b)
    other: object = attrs.asdict(a, recurse=False)  # same fields, another class
    assert a != other
    shown = ", ".join(f"{n}={getattr(a, n)!r}" for n in fields)
    assert repr(a) == f"RunSettings({shown})"


def test_a_wrong_type_in_a_valid_looking_call_names_only_that_field() -> None:
    """Only the field at fault is named, whatever its place among valid ones; a missing or an
    unknown keyword keeps Python's own message."""
    with pytest.raises(TypeError, match=r"^het_group: expected ints, got 'x'$"):
        RunSettings(exe="a", nodes=2, env={"A": 1}, het_group=["x"])
    with pytest.raises(TypeError, match="unexpected keyword argument 'nodez'"):
        RunSettings(exe="a", nodez=2)  # type: ignore[call-arg]

"""Kubernetes Job manifests, kubectl argv and parsers, and the Kubernetes launcher (against the
fake ``kubectl`` in tests/fakes, which validates manifests with ``kubernetes-validate``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (via kubernetes-validate), no stubs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from smartsim.commands.kubernetes import SCHEDULER as KUBERNETES
from smartsim.commands.kubernetes import (
    Container,
    JobManifest,
    check_dns_label,
    check_kubernetes,
    check_kubernetes_batch,
    escape_expansion,
    job_manifest,
    job_state,
    kubectl_create_argv,
    kubectl_delete_jobs_argv,
    kubectl_get_jobs_argv,
    parse_kubectl_created,
    parse_kubectl_jobs,
    plan_kubernetes,
)
from smartsim.commands.plan import World
from smartsim.effects.scheduler import SchedulerLauncher
from smartsim.errors import (
    BadName,
    BadValue,
    EmptyValue,
    Invalid,
    NonZeroExit,
    Unsupported,
)
from smartsim.status import Status
from smartsim.values import BatchSettings, Duration, Ensemble, Model, RunSettings
from tests.results import settle

FAKES = Path(__file__).parent / "fakes"
K8S_VERSION = kubernetes_validate.latest_version()
IMAGE = {"image": "busybox:1.36"}

# --------------------------------------------------------------------------- oracle: expansion


def kubelet_expand(text: str, env: Mapping[str, str]) -> str:
    """How Kubernetes expands ``command``/``args``/``env[].value`` (API reference, Container):
    ``$(VAR)`` is replaced when VAR is defined and left unchanged otherwise; ``$$`` is reduced
    to ``$``; any other ``$`` is literal."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "$" or i + 1 == len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append(text[i:])
                break
            name = text[i + 2 : close]
            out.append(env[name] if name in env else text[i : close + 1])
            i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def container_view(manifest: Mapping[str, object], env: Mapping[str, str]) -> dict[str, object]:
    """What the container gets: its argv and environment after expansion."""
    spec = manifest["spec"]["template"]["spec"]  # type: ignore[index]
    (c,) = spec["containers"]
    built: dict[str, str] = dict(env)
    for var in c.get("env", []):
        built[var["name"]] = kubelet_expand(var["value"], built)
    argv = [kubelet_expand(w, built) for w in [*c["command"], *c.get("args", [])]]
    return {"argv": argv, "env": {v["name"]: built[v["name"]] for v in c.get("env", [])}}


def validate(manifest: Mapping[str, object]) -> None:
    kubernetes_validate.validate(dict(manifest), K8S_VERSION, strict=True)


# --------------------------------------------------------------------------- strategies

text = st.text(st.characters(exclude_characters="\x00", codec="utf-8"), max_size=16)
env_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
dns_names = st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


@st.composite
def k8s_settings(draw: st.DrawFn) -> RunSettings:
    return RunSettings(
        exe=draw(st.from_regex(r"[a-z/][a-z0-9_./]{0,10}", fullmatch=True)),
        args=draw(st.lists(text, max_size=4)),
        env=draw(st.dictionaries(env_names, text, max_size=4)),
        cpus_per_task=draw(st.none() | st.integers(1, 64)),
        gpus_per_task=draw(st.none() | st.integers(1, 8)),
        mem=draw(st.none() | st.integers(1, 10**6)),
        time=draw(st.none() | st.integers(1, 10**7)),
        run_args={
            "image": draw(st.sampled_from(["busybox:1.36", "python:3.11", "repo/x@sha256:ab"])),
            **draw(st.fixed_dictionaries({}, optional={
                "namespace": dns_names,
                "image-pull-policy": st.sampled_from(["Always", "IfNotPresent", "Never"]),
                "service-account": dns_names,
            })),
        },
    )  # fmt: skip


# --------------------------------------------------------------------------- golden rows


def test_pi_job_from_the_kubernetes_docs() -> None:
    """kubernetes.io "Running an example Job" (``pi``: perl:5.34.0, ``perl -Mbignum=bpi -wle
    'print bpi(2000)'``): the container runs that exact argv; smartsim fixes restartPolicy
    Never, backoffLimit 0 and adds its labels."""
    rs = RunSettings(exe="perl", args=("-Mbignum=bpi", "-wle", "print bpi(2000)"),
                     run_args={"image": "perl:5.34.0"})  # fmt: skip
    assert check_kubernetes(rs) == []
    manifest = job_manifest("pi", rs, labels={"smartsim/experiment": "docs"}).to_dict()
    assert manifest == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "labels": {"smartsim/experiment": "docs"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{
                        "name": "pi", "image": "perl:5.34.0", "command": ["perl"],
                        "args": ["-Mbignum=bpi", "-wle", "print bpi(2000)"],
                    }],
                },
                "metadata": {"labels": {"smartsim/experiment": "docs"}},
            },
        },
    }  # fmt: skip
    validate(manifest)
    assert container_view(manifest, {})["argv"] == [
        "perl",
        "-Mbignum=bpi",
        "-wle",
        "print bpi(2000)",
    ]


def test_indexed_job_for_replicas() -> None:
    """kubernetes.io "Indexed Job for Parallel Processing": ``completionMode: Indexed`` with
    ``completions``; replicas of one model become one Indexed Job, all running at once."""
    rs = RunSettings(exe="echo", args=("hi",), run_args=IMAGE)
    members = [Model(name=f"ens_{i}", path=f"/w/ens/ens_{i}", run_settings=rs) for i in range(5)]
    ens = Ensemble(name="ens", path="/w/ens", members=members)
    (launch,) = plan_kubernetes(ens, World(exp_path="/w/exp")).unwrap()
    assert launch.members == tuple(m.name for m in members)
    manifest = json.loads(launch.command.stdin or "") if launch.command else {}
    spec = manifest["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 5, 5)
    validate(manifest)


def test_members_that_differ_get_one_job_each() -> None:
    """Members with different parameters get a Job each, named ``<ensemble>-<i>``."""
    members = [
        Model(name=f"ens_{i}", path=f"/w/ens_{i}", params={"x": i},
              run_settings=RunSettings(exe="echo", args=(str(i),), run_args=IMAGE))
        for i in range(3)
    ]  # fmt: skip
    launches = plan_kubernetes(Ensemble(name="ens", path="/w", members=members),
                               World(exp_path="/w/e")).unwrap()  # fmt: skip
    names = [json.loads(launch.command.stdin or "")["metadata"]["name"]
             for launch in launches if launch.command]  # fmt: skip
    assert names == ["ens-0", "ens-1", "ens-2"]
    assert [launch.name for launch in launches] == ["ens_0", "ens_1", "ens_2"]


def test_kubectl_argv_golden() -> None:
    """kubectl reference: ``create -f -`` (stdin), ``get jobs -l … -o json``, ``delete job``."""
    assert kubectl_create_argv() == ("kubectl", "create", "-f", "-", "-o", "name")
    assert kubectl_get_jobs_argv(["b", "a", "a"], namespace="hpc") == (
        "kubectl", "get", "jobs", "-l", "smartsim/experiment in (a,b)", "-o", "json",
        "--namespace", "hpc",
    )  # fmt: skip
    assert kubectl_delete_jobs_argv(["pi"])[:4] == ("kubectl", "delete", "job", "pi")
    assert parse_kubectl_created("job.batch/pi\n") == Success("pi")
    assert isinstance(parse_kubectl_created("job.batch/pi created\n"), Failure)


def test_walltime_table() -> None:
    """BatchSettings(nodes=2 is refused, time=timedelta(hours=25)) previews as
    ``activeDeadlineSeconds: 90000``, and that reads back as the same Duration."""
    rs = RunSettings(exe="true", run_args=IMAGE)
    bs = BatchSettings(time=dt.timedelta(hours=25))
    model = Model(name="m", path="/w/m", run_settings=rs, batch_settings=bs)
    (launch,) = plan_kubernetes(model, World(exp_path="/w/e")).unwrap()
    manifest = json.loads(launch.command.stdin or "") if launch.command else {}
    assert manifest["spec"]["activeDeadlineSeconds"] == 90000
    assert Duration(manifest["spec"]["activeDeadlineSeconds"]) == bs.time
    assert '"activeDeadlineSeconds": 90000' in str(launch.shell())
    with_nodes = Model(
        name="m",
        path="/w/m",
        run_settings=rs,
        batch_settings=BatchSettings(nodes=2, time=dt.timedelta(hours=25)),
    )
    errors = plan_kubernetes(with_nodes, World(exp_path="/w/e")).failure().errors
    assert [type(e) for e in errors] == [Unsupported]


def test_resources_from_settings() -> None:
    """cpus_per_task → cpu, mem → memory (Mi), gpus_per_task → nvidia.com/gpu (a limit)."""
    rs = RunSettings(exe="a", cpus_per_task=4, mem="2G", gpus_per_task=1, run_args=IMAGE)
    c = job_manifest("a", rs, labels={}).to_dict()["spec"]["template"]["spec"]["containers"][0]
    assert c["resources"] == {
        "requests": {"cpu": "4", "memory": "2048Mi"},
        "limits": {"cpu": "4", "memory": "2048Mi", "nvidia.com/gpu": "1"},
    }


# --------------------------------------------------------------------------- properties


@given(k8s_settings(), st.dictionaries(env_names, text, max_size=3))
def test_manifest_is_valid_and_exact(rs: RunSettings, outside: dict[str, str]) -> None:
    """Every manifest passes the Kubernetes schema, and after Kubernetes' own ``$(VAR)``
    expansion the container's argv and environment are exactly the user's."""
    assert check_kubernetes(rs) == []
    manifest = job_manifest("job-1", rs, labels={"smartsim/entity": "m_1"}).to_dict()
    validate(manifest)
    view = container_view(manifest, outside)
    assert view["argv"] == [rs.exe, *rs.args]
    assert view["env"] == dict(rs.env)
    expected = rs.time.seconds if isinstance(rs.time, Duration) else None
    assert manifest["spec"].get("activeDeadlineSeconds") == expected


@given(k8s_settings())
def test_yaml_json_round_trip_and_determinism(rs: RunSettings) -> None:
    """The YAML and JSON renderings read back as the same object, and rendering is stable."""
    m = job_manifest("job", rs, labels={"a": "b"})
    assert yaml.safe_load(m.to_yaml()) == m.to_dict() == json.loads(m.to_json())
    assert m.to_json() == job_manifest("job", rs, labels={"a": "b"}).to_json()


@given(text, st.dictionaries(env_names, text, max_size=3))
def test_escape_is_exact(value: str, env: dict[str, str]) -> None:
    """Kubernetes' expansion of an escaped text gives the text back, whatever is defined."""
    assert kubelet_expand(escape_expansion(value), env) == value


@given(st.text(max_size=70))
def test_names_are_validated_never_mangled(name: str) -> None:
    """A name is a Job name exactly when it is an RFC 1123 label; otherwise a typed BadName."""
    ok = len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) is not None
    errors = check_dns_label("name", name)
    assert (errors == []) == ok
    assert all(isinstance(e, BadName) and e.value == name for e in errors)


@given(dns_names, st.integers(0, 5))
def test_model_job_name_is_its_name(name: str, run_index: int) -> None:
    """A model's Job is named after it (``-r<run>`` for later runs) and labelled with the
    experiment; planning is deterministic."""
    model = Model(name=name, path="/w/x", run_settings=RunSettings(exe="true", run_args=IMAGE))
    world = World(exp_path="/w/exp", run_index=run_index)
    result = plan_kubernetes(model, world)
    assert result == plan_kubernetes(model, world)
    (launch,) = result.unwrap()
    manifest = json.loads(launch.command.stdin or "") if launch.command else {}
    suffix = "" if run_index == 0 else f"-r{run_index}"
    if len(name + suffix) <= 63:
        assert manifest["metadata"]["name"] == name + suffix
    assert manifest["metadata"]["labels"]["smartsim/experiment"] == "exp"


INVALID = [
    ("ntasks", RunSettings(exe="a", ntasks=4, run_args=IMAGE), Unsupported),
    ("launcher", RunSettings(exe="a", run_command="srun", run_args=IMAGE), Unsupported),
    ("hosts", RunSettings(exe="a", hostlist="n1", run_args=IMAGE), Unsupported),
    ("no image", RunSettings(exe="a"), EmptyValue),
    ("unknown run_arg", RunSettings(exe="a", run_args={**IMAGE, "replicas": 3}), Unsupported),
    ("pull policy", RunSettings(exe="a", run_args={**IMAGE, "image-pull-policy": "Sometimes"}),
     BadValue),
    ("namespace", RunSettings(exe="a", run_args={**IMAGE, "namespace": "Bad_NS"}), BadName),
    ("mpmd", RunSettings(exe="a", run_args=IMAGE).with_mpmd(RunSettings(exe="b")), Unsupported),
]  # fmt: skip


@pytest.mark.parametrize(("rs", "error"), [(r, e) for _, r, e in INVALID],
                         ids=[i for i, _, _ in INVALID])  # fmt: skip
def test_invalid_settings_are_typed(rs: RunSettings, error: type) -> None:
    """What a Job cannot express is a typed error."""
    assert any(isinstance(e, error) for e in check_kubernetes(rs)), check_kubernetes(rs)


def test_create_run_settings_takes_the_kubernetes_rules(tmp_path: Path) -> None:
    """Under launcher="kubernetes", create_run_settings checks what a Job can express (the
    image is a run_arg, not a direct launch's option), refusing the rest there, not at start."""
    from smartsim import Experiment, SmartSimError

    exp = Experiment("k", exp_path=str(tmp_path), launcher="kubernetes")
    rs = exp.create_run_settings("echo", args=["hi"], run_args=IMAGE)
    assert rs.run_args == IMAGE
    exp.create_model("echo", rs)
    with pytest.raises(SmartSimError) as raised:
        exp.create_run_settings("echo", ntasks=4)
    error = raised.value.error
    assert isinstance(error, Invalid)
    fields = {e.field for e in error.errors}
    assert fields == {"run_settings.ntasks", "run_settings.run_args['image']"}


def test_bad_model_name_and_batch_fields_are_typed() -> None:
    """An entity name that is no DNS label, and batch fields a Job has no use for, are typed
    errors from the planner (never a renamed Job)."""
    rs = RunSettings(exe="true", run_args=IMAGE)
    bad = Model(
        name="My_Model",
        path="/w",
        run_settings=rs,
        batch_settings=BatchSettings(account="a", time=60),
    )
    errors = plan_kubernetes(bad, World(exp_path="/w/e")).failure().errors
    assert {type(e) for e in errors} == {BadName, Unsupported}
    assert check_kubernetes_batch(BatchSettings(time=60)) == []


# --------------------------------------------------------------------------- status parser

# kubernetes.io Job docs ("kubectl get job pi -o yaml" status blocks, "Job termination and
# cleanup": DeadlineExceeded, "Pod backoff failure policy": BackoffLimitExceeded, "Job
# termination": SuccessCriteriaMet/FailureTarget interim conditions, "Suspending a Job").
STATUS_SAMPLES = [
    ({"active": 1, "ready": 0, "startTime": "2022-06-15T08:05:35Z",
      "uncountedTerminatedPods": {}}, Status.PENDING),
    ({"active": 1, "ready": 1, "startTime": "2022-06-15T08:05:35Z"}, Status.RUNNING),
    ({"active": 1, "startTime": "2022-06-15T08:05:35Z"}, Status.RUNNING),
    ({"completionTime": "2022-06-15T08:06:29Z", "conditions": [
        {"lastProbeTime": "2022-06-15T08:06:29Z", "lastTransitionTime": "2022-06-15T08:06:29Z",
         "status": "True", "type": "Complete"}],
      "ready": 0, "startTime": "2022-06-15T08:05:35Z", "succeeded": 1}, Status.COMPLETED),
    ({"conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                     {"type": "Complete", "status": "True"}], "succeeded": 1}, Status.COMPLETED),
    ({"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                      "message": "Job was active longer than specified deadline"}],
      "failed": 1}, Status.FAILED),
    ({"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                      "message": "Job has reached the specified backoff limit"}],
      "failed": 1}, Status.FAILED),
    ({"conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended"}]},
     Status.PENDING),
    ({"conditions": [{"type": "Complete", "status": "False"}], "active": 1, "ready": 1},
     Status.RUNNING),
    ({}, Status.PENDING),
]  # fmt: skip


@pytest.mark.parametrize(("status", "expected"), STATUS_SAMPLES)
def test_status_samples(status: dict[str, object], expected: Status) -> None:
    """Job conditions and counts map to our statuses (Complete/Failed win over counts)."""
    assert job_state({"metadata": {"name": "pi"}, "status": status}).status is expected


def test_status_list_and_reason() -> None:
    """``kubectl get jobs -o json`` is a List; the Failed reason and message are kept."""
    items = [
        {"metadata": {"name": f"j{i}"}, "status": s} for i, (s, _) in enumerate(STATUS_SAMPLES)
    ]
    listing = {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {}}
    states = parse_kubectl_jobs(json.dumps(listing)).unwrap()
    assert [states[f"j{i}"].status for i in range(len(items))] == [e for _, e in STATUS_SAMPLES]
    assert states["j5"].reason == "DeadlineExceeded Job was active longer than specified deadline"
    assert states["j3"].returncode == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(st.text(max_size=200) | json_values.map(json.dumps)
       | st.lists(st.fixed_dictionaries({"metadata": json_values, "status": json_values}),
                  max_size=3).map(lambda items: json.dumps({"items": items})))  # fmt: skip
def test_status_parser_never_raises(output: str) -> None:
    """Arbitrary text, JSON or Job-shaped items give a Result, never an exception."""
    assert isinstance(parse_kubectl_jobs(output), (Success, Failure))


# --------------------------------------------------------------------------- effects (fake kubectl)


@pytest.fixture
def fake_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = tmp_path / "kube-state"
    monkeypatch.setenv("FAKE_KUBECTL_STATE", str(state))
    path = os.pathsep.join([str(FAKES), os.path.dirname(sys.executable), os.environ["PATH"]])
    monkeypatch.setenv("PATH", path)
    yield state


def calls(state: Path) -> list[list[str]]:
    log = state / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_create_twice_is_already_exists(fake_kubectl: Path, tmp_path: Path) -> None:
    """A Job's name is taken until it is deleted: a second create is a NonZeroExit saying so."""
    launcher = SchedulerLauncher(KUBERNETES)
    model = Model(name="m", path=str(tmp_path / "m"),
                  run_settings=RunSettings(exe="true", run_args=IMAGE))  # fmt: skip
    (launch,) = launcher.plan(model, World(exp_path=str(tmp_path))).unwrap()
    assert isinstance(settle(launcher.start(launch)), Success)
    error = settle(launcher.start(launch)).failure()
    assert isinstance(error, NonZeroExit) and "AlreadyExists" in error.stderr


def test_fake_kubectl_validates_manifests(fake_kubectl: Path) -> None:
    """The fake refuses what the schema or the API server would: no containers, a bad name."""
    bad_schema = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "x"},
        "spec": {"template": {"spec": {"restartPolicy": "Never"}}},
    }
    good = JobManifest(name="Bad_Name", container=Container(name="c", image="i", command=("a",)))
    for manifest in (json.dumps(bad_schema), good.to_json()):
        done = subprocess.run(["kubectl", "create", "-f", "-"], input=manifest, text=True,
                              capture_output=True, check=False)  # fmt: skip
        assert done.returncode == 1, done
    done = subprocess.run(["kubectl", "create", "-f", "-"], input=good.to_yaml().replace(
        "Bad_Name", "good-name"), text=True, capture_output=True, check=False)  # fmt: skip
    assert done.returncode == 0 and done.stdout == "job.batch/good-name created\n"


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(k8s_settings().filter(lambda rs: "namespace" not in rs.run_args), st.uuids())
def test_fake_accepts_every_planned_manifest(
    fake_kubectl: Path, tmp_path: Path, rs: RunSettings, uid: object
) -> None:
    """Every manifest smartsim plans is accepted by the fake kubectl (schema + server rules)."""
    model = Model(name=f"m{str(uid)[:8]}", path=str(tmp_path / "m"), run_settings=rs)
    launcher = SchedulerLauncher(KUBERNETES)
    (launch,) = launcher.plan(model, World(exp_path=str(tmp_path / "e"))).unwrap()
    assert isinstance(settle(launcher.start(launch)), Success)


def test_experiment_start_status_stop(fake_kubectl: Path, tmp_path: Path) -> None:
    """``Experiment(launcher="kubernetes")`` drives the fake kubectl: start, status, stop."""
    from smartsim.experiment import Experiment

    exp = Experiment("kx", exp_path=str(tmp_path / "kx"), launcher="kubernetes")
    slow = exp.create_model("slow", RunSettings(exe="sleep", args=("30",), run_args=IMAGE))
    reps = exp.create_ensemble("reps", RunSettings(exe="echo", args=("hi",), run_args=IMAGE),
                               replicas=2)  # fmt: skip
    assert "kubectl create -f -" in str(exp.preview(slow, reps))
    exp.start(slow, reps, block=False)
    deadline = time.monotonic() + 10
    while exp.get_status(reps) != [Status.COMPLETED] * 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert exp.get_status(reps) == [Status.COMPLETED] * 2
    assert exp.get_status(slow) == [Status.RUNNING]
    exp.stop(slow)
    assert exp.get_status(slow) == [Status.CANCELLED]

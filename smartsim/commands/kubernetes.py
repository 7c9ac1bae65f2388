"""Kubernetes: one ``batch/v1`` Job manifest per entity, and the ``kubectl`` argv around it.

Sources (kubernetes.io documentation and the API reference):

* Jobs: ``restartPolicy`` must be ``Never`` or ``OnFailure``; ``backoffLimit`` counts retries;
  ``activeDeadlineSeconds`` bounds the Job's run time; an *Indexed* Job (``completionMode:
  Indexed``) runs ``completions`` pods that differ only by ``JOB_COMPLETION_INDEX``. A Job's name
  should be a DNS label and "must be no longer than 63 characters" (it becomes the pods'
  ``job-name`` label and, for Indexed Jobs, part of their host names). A Job's pod template cannot
  be changed later, so manifests are created (``kubectl create -f -``), never applied.
* Object names (RFC 1123 label): lower-case alphanumerics and ``-``, starting and ending
  alphanumeric, at most 63 characters. Label values: at most 63 characters, alphanumerics plus
  ``-_.``, starting and ending alphanumeric, or empty.
* Container ``command``/``args``/``env[].value``: ``$(VAR)`` is expanded from the container's
  environment and ``$$`` is reduced to ``$``, so every ``$`` is doubled to keep text exact.
* ``JobStatus``: ``conditions`` (``Complete``/``Failed`` with ``status: "True"``; ``Suspended``),
  counts ``active`` (pending and running pods), ``ready``, ``succeeded``, ``failed``.

Images: :class:`~smartsim.values.RunSettings` has no image field, so the image travels in
``run_args={"image": "repo/name:tag"}`` (required), with the optional keys ``namespace``,
``image-pull-policy`` and ``service-account``.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, final

import attrs
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap, frozen_map
from smartsim.commands._types import Command, Completed, Handle
from smartsim.commands.plan import Launch, World, output_paths
from smartsim.commands.scheduler import Scheduler, StatusQuery, job_ids
from smartsim.errors import (
    BadName,
    BadValue,
    ConflictingOptions,
    EmptyValue,
    Invalid,
    Unsupported,
    ValidationError,
)
from smartsim.status import JobState, Status
from smartsim.validate import batch_problems, check_name, run_settings_problems
from smartsim.values import BatchSettings, Duration, Ensemble, Memory, Model, RunSettings

TOOL: Final = "kubectl"
_WHO: Final = "kubernetes"

#: RFC 1123 label: what Kubernetes accepts as a Job (and container) name.
DNS_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
#: A label value (may be empty).
LABEL_VALUE: Final = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
#: The labels linking a Job to smartsim, its experiment, entity and run.
MANAGED_BY: Final = "app.kubernetes.io/managed-by"
EXPERIMENT_LABEL: Final = "smartsim/experiment"
ENTITY_LABEL: Final = "smartsim/entity"
RUN_LABEL: Final = "smartsim/run"
RUN_ARGS: Final = ("image", "namespace", "image-pull-policy", "service-account")
PULL_POLICIES: Final = ("Always", "IfNotPresent", "Never")


def check_dns_label(field: str, name: str) -> list[ValidationError]:
    """A Kubernetes object name: never converted silently (``My_Model`` is an error naming the
    rule, not ``my-model``).

    >>> check_dns_label("name", "ok-1"), [e.message for e in check_dns_label("name", "Bad_1")]
    ([], ["name='Bad_1' is not a valid name (an RFC 1123 label: a-z, 0-9 and '-', \
starting and ending with a letter or digit, at most 63 characters; e.g. 'bad-1')"])
    """
    if len(name) <= 63 and DNS_LABEL.fullmatch(name):
        return []
    hint = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    rule = (
        "an RFC 1123 label: a-z, 0-9 and '-', starting and ending with a letter or digit, "
        "at most 63 characters" + (f"; e.g. {hint!r}" if hint else "")
    )
    return [BadName(field, name, rule)]


def check_label_value(field: str, value: str) -> list[ValidationError]:
    """A label value: at most 63 characters of ``[A-Za-z0-9-_.]``, alphanumeric at both ends."""
    if len(value) <= 63 and LABEL_VALUE.fullmatch(value):
        return []
    return [
        BadValue(
            field,
            value,
            "a label value: at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends",
        )
    ]


def escape_expansion(text: str) -> str:
    """Text for ``command``/``args``/``env[].value`` that Kubernetes passes through unchanged:
    ``$`` doubled, since ``$(VAR)`` is expanded and ``$$`` becomes ``$``.

    >>> escape_expansion("$(HOME) costs $5")
    '$$(HOME) costs $$5'
    """
    return text.replace("$", "$$")


# --------------------------------------------------------------------------- manifest values


def _pairs(value: object) -> FrozenMap[str, str]:
    return frozen_map(value)


@final
@attrs.frozen(kw_only=True)
class Container:
    """The one container of a Job's pods. ``command``/``args``/``env`` hold the user's exact
    text; rendering escapes it."""

    name: str
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...] = ()
    env: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=_pairs)
    requests: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=_pairs)
    limits: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=_pairs)
    image_pull_policy: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "image": self.image,
            "command": [escape_expansion(w) for w in self.command],
        }
        if self.args:
            out["args"] = [escape_expansion(w) for w in self.args]
        if self.env:
            out["env"] = [{"name": k, "value": escape_expansion(v)} for k, v in self.env.items()]
        resources: dict[str, Any] = {}
        if self.requests:
            resources["requests"] = dict(self.requests.items())
        if self.limits:
            resources["limits"] = dict(self.limits.items())
        if resources:
            out["resources"] = resources
        if self.image_pull_policy is not None:
            out["imagePullPolicy"] = self.image_pull_policy
        return out


@final
@attrs.frozen(kw_only=True)
class JobManifest:
    """A ``batch/v1`` Job as a value. ``completions`` > 1 makes it an Indexed Job.

    >>> m = JobManifest(name="hello", labels={"a": "b"},
    ...                 container=Container(name="hello", image="busybox", command=("echo",)))
    >>> print(m.to_json(indent=None)[:60])
    {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name
    """

    name: str
    container: Container
    namespace: str | None = None
    labels: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=_pairs)
    active_deadline_seconds: int | None = None
    completions: int = 1
    service_account: str | None = None

    def to_dict(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name}
        if self.namespace is not None:
            metadata["namespace"] = self.namespace
        if self.labels:
            metadata["labels"] = dict(self.labels.items())
        pod_spec: dict[str, Any] = {
            "restartPolicy": "Never",
            "containers": [self.container.to_dict()],
        }
        if self.service_account is not None:
            pod_spec["serviceAccountName"] = self.service_account
        template: dict[str, Any] = {"spec": pod_spec}
        if self.labels:
            template["metadata"] = {"labels": dict(self.labels.items())}
        spec: dict[str, Any] = {"backoffLimit": 0}
        if self.completions > 1:
            spec["completionMode"] = "Indexed"
            spec["completions"] = self.completions
            spec["parallelism"] = self.completions
        if self.active_deadline_seconds is not None:
            spec["activeDeadlineSeconds"] = self.active_deadline_seconds
        spec["template"] = template
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}

    def to_json(self, *, indent: int | None = 2) -> str:
        """Deterministic JSON, ASCII only (every other character escaped), so it passes through
        any locale's stdin encoding unchanged."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=True) + "\n"

    def to_yaml(self) -> str:
        """Block-style YAML; every string is a JSON (= YAML double-quoted) scalar, so no value
        is ever read back as a number, a boolean or ``null``."""
        return "".join(_yaml_lines(self.to_dict(), 0)) + ""


_YAML_ESCAPES: Final = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _yaml_printable(ch: str) -> bool:
    """YAML 1.1/1.2 c-printable, minus the line breaks YAML would fold."""
    o = ord(ch)
    return 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or o >= 0x10000


def _yaml_scalar(value: object) -> str:
    """A YAML scalar: numbers and booleans as JSON writes them; a string double-quoted with
    every non-printable character escaped (``\\xXX``, ``\\uXXXX``, ``\\UXXXXXXXX``)."""
    if not isinstance(value, str):
        return json.dumps(value)
    out = []
    for ch in value:
        if ch in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[ch])
        elif _yaml_printable(ch) and ch != "\ufeff":
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _yaml_lines(value: object, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, (Mapping, list)) and item:
                lines.append(f"{pad}{_yaml_scalar(key)}:\n")
                lines += _yaml_lines(item, indent + 2)
            else:
                lines.append(f"{pad}{_yaml_scalar(key)}: {_yaml_inline(item)}\n")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (Mapping, list)) and item:
                inner = _yaml_lines(item, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines.append(f"{pad}- {_yaml_inline(item)}\n")
    return lines


def _yaml_inline(value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)


# --------------------------------------------------------------------------- checks


def _resources(rs: RunSettings) -> tuple[dict[str, str], dict[str, str]]:
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if rs.cpus_per_task is not None:
        requests["cpu"] = limits["cpu"] = str(rs.cpus_per_task)
    if isinstance(rs.mem, Memory):
        requests["memory"] = limits["memory"] = f"{rs.mem.megabytes}Mi"
    if rs.gpus_per_task is not None:
        # Extended resources are given as limits (requests default to them).
        limits["nvidia.com/gpu"] = str(rs.gpus_per_task)
    return requests, limits


def check_kubernetes(rs: RunSettings, field: str = "run_settings") -> list[ValidationError]:
    """What a Kubernetes Job cannot express for ``rs``: one container per pod, no launcher, no
    host placement; and the image the settings must name.

    >>> for e in check_kubernetes(RunSettings(exe="a", ntasks=4)):
    ...     print(e)
    kubernetes (one container per pod; replicas are ensemble members) cannot express \
run_settings.ntasks=4
    run_settings.run_args['image'] must not be empty
    """
    f = f"{field}."
    errors: list[ValidationError] = []
    if rs.run_command is not None:
        errors.append(
            Unsupported(f + "run_command", rs.run_command, f"{_WHO} (the container runs exe)")
        )
    for name in ("nodes", "ntasks", "tasks_per_node"):
        value = getattr(rs, name)
        if value is not None and value != 1:
            errors.append(
                Unsupported(
                    f + name,
                    value,
                    f"{_WHO} (one container per pod; replicas are ensemble members)",
                )
            )
    for name in ("alloc", "flavour", "mpi"):
        if getattr(rs, name) is not None:
            errors.append(Unsupported(f + name, getattr(rs, name), _WHO))
    for name in ("hostlist", "excluded_hosts", "het_group", "mpmd"):
        if getattr(rs, name):
            errors.append(Unsupported(f + name, getattr(rs, name), _WHO))
    for key, value in rs.run_args.items():
        where = f"{f}run_args[{key!r}]"
        if key not in RUN_ARGS:
            errors.append(
                Unsupported(where, value, f"{_WHO} (known run_args: {', '.join(RUN_ARGS)})")
            )
        elif not isinstance(value, str) or value == "":
            errors.append(BadValue(where, value, "a non-empty string"))
    image = rs.run_args.get("image")
    if image is None:
        errors.append(EmptyValue(f + "run_args['image']", None))
    namespace = rs.run_args.get("namespace")
    if isinstance(namespace, str) and namespace:
        errors += check_dns_label(f + "run_args['namespace']", namespace)
    policy = rs.run_args.get("image-pull-policy")
    if isinstance(policy, str) and policy and policy not in PULL_POLICIES:
        errors.append(
            BadValue(f + "run_args['image-pull-policy']", policy, " or ".join(PULL_POLICIES))
        )
    account = rs.run_args.get("service-account")
    if isinstance(account, str) and account:
        errors += check_dns_label(f + "run_args['service-account']", account)
    return errors


def check_kubernetes_batch(
    bs: BatchSettings, field: str = "batch_settings"
) -> list[ValidationError]:
    """A Job's only batch-level setting is its deadline (``time``)."""
    errors: list[ValidationError] = []
    for a in attrs.fields(BatchSettings):
        if a.name == "time":
            continue
        value = getattr(bs, a.name)
        if value not in (None, (), {}):
            errors.append(Unsupported(f"{field}.{a.name}", value, f"{_WHO} (only time)"))
    return errors


# --------------------------------------------------------------------------- builders


def _str_arg(rs: RunSettings, key: str) -> str | None:
    value = rs.run_args.get(key)
    return value if isinstance(value, str) else None


def job_manifest(
    name: str,
    rs: RunSettings,
    *,
    labels: Mapping[str, str],
    time: Duration | None = None,
    completions: int = 1,
) -> JobManifest:
    """The Job for settings validated by :func:`check_kubernetes`: the exe is the container's
    ``command`` and the args its ``args`` (each exact), resources from ``cpus_per_task``,
    ``mem`` and ``gpus_per_task``, the deadline from ``time``.

    >>> rs = RunSettings(exe="python", args=("a.py", "$(X)"), cpus_per_task=2, mem="1G",
    ...                  run_args={"image": "python:3.11"})
    >>> c = job_manifest("m", rs, labels={}, time=Duration(90000)).to_dict()
    >>> c["spec"]["activeDeadlineSeconds"], c["spec"]["template"]["spec"]["containers"][0]["args"]
    (90000, ['a.py', '$$(X)'])
    """
    requests, limits = _resources(rs)
    image = _str_arg(rs, "image")
    assert image is not None, "validate with check_kubernetes first"
    container = Container(
        name=name,
        image=image,
        command=(rs.exe,),
        args=rs.args,
        env=rs.env,
        requests=requests,
        limits=limits,
        image_pull_policy=_str_arg(rs, "image-pull-policy"),
    )
    deadline = time if time is not None else rs.time if isinstance(rs.time, Duration) else None
    return JobManifest(
        name=name,
        namespace=_str_arg(rs, "namespace"),
        labels=labels,
        container=container,
        active_deadline_seconds=None if deadline is None else deadline.seconds,
        completions=completions,
        service_account=_str_arg(rs, "service-account"),
    )


def in_namespace(argv: Sequence[str], namespace: str | None) -> tuple[str, ...]:
    """A kubectl ``argv`` in ``namespace`` (``None``: the context's own).

    >>> in_namespace(["kubectl", "get", "jobs"], "hpc")
    ('kubectl', 'get', 'jobs', '--namespace', 'hpc')
    """
    return (*argv, "--namespace", namespace) if namespace is not None else tuple(argv)


def kubectl_create_argv(*, namespace: str | None = None, tool: str = TOOL) -> tuple[str, ...]:
    """``kubectl create -f -``: the manifest goes on stdin; ``-o name`` prints ``job.batch/N``.

    >>> kubectl_create_argv(namespace="hpc")
    ('kubectl', 'create', '-f', '-', '-o', 'name', '--namespace', 'hpc')
    """
    argv = [tool, "create", "-f", "-", "-o", "name"]
    return in_namespace(argv, namespace)


def kubectl_get_jobs_argv(
    experiments: Sequence[str], *, namespace: str | None = None, tool: str = TOOL
) -> tuple[str, ...]:
    """One ``kubectl get jobs`` for every Job of the given experiments (a set-based selector).

    >>> kubectl_get_jobs_argv(["exp"])
    ('kubectl', 'get', 'jobs', '-l', 'smartsim/experiment in (exp)', '-o', 'json')
    """
    selector = f"{EXPERIMENT_LABEL} in ({','.join(sorted(set(experiments)))})"
    argv = [tool, "get", "jobs", "-l", selector, "-o", "json"]
    return in_namespace(argv, namespace)


def kubectl_delete_jobs_argv(
    names: Sequence[str], *, namespace: str | None = None, tool: str = TOOL
) -> tuple[str, ...]:
    """Delete Jobs and their pods (background propagation) in one call; an already deleted Job
    is not an error, and kubectl does not wait for the pods' grace period.

    >>> kubectl_delete_jobs_argv(["m", "n"])
    ('kubectl', 'delete', 'job', 'm', 'n', '--cascade=background', '--ignore-not-found', \
'--wait=false')
    """
    argv = [tool, "delete", "job", *names, "--cascade=background", "--ignore-not-found"]
    argv.append("--wait=false")
    return in_namespace(argv, namespace)


def parse_kubectl_created(stdout: str) -> Result[str, str]:
    """The Job name from ``kubectl create -o name`` (``job.batch/NAME``, last non-empty line).

    >>> parse_kubectl_created("job.batch/hello\\n")
    <Success: hello>
    """
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines:
        return Failure(stdout)
    match = re.fullmatch(r"job(?:\.batch)?/([a-z0-9]([-a-z0-9]*[a-z0-9])?)", lines[-1])
    return Success(match.group(1)) if match else Failure(stdout)


def _condition_true(status: Mapping[str, object], kind: str) -> Mapping[str, object] | None:
    conditions = status.get("conditions")
    if not isinstance(conditions, list):
        return None
    for cond in conditions:
        if isinstance(cond, Mapping) and cond.get("type") == kind and cond.get("status") == "True":
            return cond
    return None


def _count(status: Mapping[str, object], key: str) -> int:
    value = status.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def job_state(job: Mapping[str, object]) -> JobState:
    """Our status for one Job object (``kubectl get job -o json``).

    >>> job_state({"status": {"conditions": [{"type": "Complete", "status": "True"}]}}).status
    <Status.COMPLETED: 'COMPLETED'>
    """
    status = job.get("status")
    if not isinstance(status, Mapping):
        status = {}
    for kind, ours in (("Failed", Status.FAILED), ("Complete", Status.COMPLETED)):
        cond = _condition_true(status, kind)
        if cond is not None:
            reason = cond.get("reason")
            message = cond.get("message")
            text = " ".join(str(x) for x in (reason, message) if isinstance(x, str) and x)
            return JobState(
                ours, raw=kind, returncode=0 if kind == "Complete" else None, reason=text
            )
    if _condition_true(status, "Suspended") is not None:
        return JobState(Status.PENDING, raw="Suspended")
    active, ready = _count(status, "active"), _count(status, "ready")
    if active and ("ready" not in status or ready):
        return JobState(Status.RUNNING, raw="Active")
    return JobState(Status.PENDING, raw="Pending")


def parse_kubectl_jobs(text: str) -> Result[dict[str, JobState], str]:
    """States by Job name from ``kubectl get jobs -o json`` (a ``List`` of Jobs, or one Job).
    Never raises.

    >>> parse_kubectl_jobs('{"kind": "List", "items": []}')
    <Success: {}>
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return Failure(text)
    if not isinstance(data, Mapping):
        return Failure(text)
    if isinstance(data.get("items"), list):
        items: list[object] = list(data["items"])
    elif data.get("kind") == "Job":
        items = [data]
    else:
        return Failure(text)
    out: dict[str, JobState] = {}
    for item in items:
        if not isinstance(item, Mapping):
            return Failure(text)
        metadata = item.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        if not isinstance(name, str):
            return Failure(text)
        out[name] = job_state(item)
    return Success(out)


# --------------------------------------------------------------------------- planner


def experiment_name(world: World) -> str:
    """The experiment's name as smartsim labels it: the last part of its path."""
    return posixpath.basename(posixpath.normpath(world.exp_path)) or world.exp_path


def job_name(name: str, run_index: int) -> str:
    """The Job of run 0 has the entity's name; later runs add ``-r<run_index>`` (a Job name must
    be new in its namespace). Ensemble members are named ``<ensemble>-<i>`` by position: their
    own names (``ens_0``) are not DNS labels, and a name is never rewritten.

    >>> job_name("sim", 0), job_name("ens-3", 2)
    ('sim', 'ens-3-r2')
    """
    return name if run_index == 0 else f"{name}-r{run_index}"


def _labels(world: World, entity: str) -> dict[str, str]:
    return {
        MANAGED_BY: "smartsim",
        EXPERIMENT_LABEL: experiment_name(world),
        ENTITY_LABEL: entity,
        RUN_LABEL: str(world.run_index),
    }


def _deadline(bs: BatchSettings | None) -> Duration | None:
    return bs.time if bs is not None and isinstance(bs.time, Duration) else None


def _model_problems(
    model: Model, field: str, world: World, *, job: str | None
) -> list[ValidationError]:
    """Problems of a model whose Job (if it gets its own) is named ``job``."""
    errors = check_name(f"{field}.name", model.name)
    if job is not None:
        errors += check_dns_label(f"{field}.name", job_name(job, world.run_index))
    errors += check_label_value(f"{field}.name", model.name)
    errors += run_settings_problems(model.run_settings, f"{field}.run_settings")
    errors += check_kubernetes(model.run_settings, f"{field}.run_settings")
    if model.batch_settings is not None:
        errors += batch_problems(model.batch_settings, f"{field}.batch_settings")
        errors += check_kubernetes_batch(model.batch_settings, f"{field}.batch_settings")
    return errors


def _launch(manifest: JobManifest, entity: Model | Ensemble, world: World) -> Launch:
    """The launch that creates ``manifest``, the Job that runs ``entity`` (an ensemble: one
    Indexed Job running every member)."""
    path = entity.path
    members: tuple[str, ...] = (entity.name,)
    kind = "Model"
    if isinstance(entity, Ensemble):
        kind, members = "Ensemble", tuple(m.name for m in entity.members)
    out, err = output_paths(path, entity.name, world.run_index)
    command = Command(
        argv=kubectl_create_argv(namespace=manifest.namespace, tool=world.tools.get(TOOL, TOOL)),
        cwd=path,
        stdin=manifest.to_json(),
    )
    # Pod output stays in the cluster (kubectl logs job/NAME); these paths name where it would
    # be collected.
    return Launch(
        name=entity.name,
        kind=kind,
        members=members,
        cwd=path,
        stdout=out,
        stderr=err,
        command=command,
        mkdirs=(path,),
        facts={
            NAMESPACE_KEY: manifest.namespace or "",
            EXPERIMENT_KEY: manifest.labels.get(EXPERIMENT_LABEL, ""),
        },
    )


def _replicas(members: Sequence[Model]) -> bool:
    """Members that differ only by name and directory: one Indexed Job can run them."""
    first = members[0]
    return len(members) > 1 and all(
        m.run_settings == first.run_settings
        and m.params == first.params
        and m.batch_settings == first.batch_settings
        for m in members
    )


def plan_kubernetes(
    entity: Model | Ensemble, world: World, *, max_parallel: int | None = None
) -> Result[tuple[Launch, ...], Invalid]:
    """One ``kubectl create -f -`` launch per Job: a model is one Job; an ensemble of replicas
    is one Indexed Job; members whose parameters differ get one Job each. ``max_parallel``
    changes nothing here: ``Experiment`` holds launches back beyond it.

    >>> rs = RunSettings(exe="echo", args=("hi",), run_args={"image": "busybox:1.36"})
    >>> l = plan_kubernetes(Model(name="m", path="/w/m", run_settings=rs), World(exp_path="/w/e"))
    >>> l.unwrap()[0].command.argv
    ('kubectl', 'create', '-f', '-', '-o', 'name')
    """
    errors = check_label_value("world.exp_path", experiment_name(world))
    if isinstance(entity, Model):
        errors += _model_problems(entity, "model", world, job=entity.name)
        if errors:
            return Failure(Invalid.of(errors))
        return Success((_model_launch(entity, entity.name, world, None),))
    errors += check_name("ensemble.name", entity.name)
    errors += check_label_value("ensemble.name", entity.name)
    if not entity.members:
        errors.append(EmptyValue("ensemble.members", ()))
    bs = entity.batch_settings
    if bs is not None:
        errors += batch_problems(bs, "ensemble.batch_settings")
        errors += check_kubernetes_batch(bs, "ensemble.batch_settings")
    replicas = bool(entity.members) and _replicas(entity.members)
    if replicas:
        errors += check_dns_label("ensemble.name", job_name(entity.name, world.run_index))
    seen: set[str] = set()
    for i, member in enumerate(entity.members):
        job = None if replicas else f"{entity.name}-{i}"
        errors += _model_problems(member, f"ensemble.members[{i}]", world, job=job)
        if member.name in seen:
            errors.append(
                BadName(f"ensemble.members[{i}].name", member.name, "unique in the ensemble")
            )
        seen.add(member.name)
        if bs is not None and member.batch_settings is not None:
            errors.append(
                ConflictingOptions(
                    f"ensemble.members[{i}].batch_settings", "set", "the ensemble's batch_settings"
                )
            )
    if errors:
        return Failure(Invalid.of(errors))
    if replicas:
        first = entity.members[0]
        manifest = job_manifest(
            job_name(entity.name, world.run_index),
            first.run_settings,
            labels=_labels(world, entity.name),
            time=_deadline(bs) or _deadline(first.batch_settings),
            completions=len(entity.members),
        )
        return Success((_launch(manifest, entity, world),))
    return Success(
        tuple(
            _model_launch(member, f"{entity.name}-{i}", world, _deadline(bs))
            for i, member in enumerate(entity.members)
        )
    )


def _model_launch(model: Model, job: str, world: World, deadline: Duration | None) -> Launch:
    """The launch of ``model`` as its own Job ``job`` (its deadline, else ``deadline``)."""
    manifest = job_manifest(
        job_name(job, world.run_index),
        model.run_settings,
        labels=_labels(world, model.name),
        time=deadline or _deadline(model.batch_settings),
    )
    return _launch(manifest, model, world)


# =========================================================================== the seam

#: ``Handle.extra`` keys the plan records (:attr:`Launch.facts`): the Job's namespace ("" for
#: the context's) and its experiment label, which a poll selects by.
NAMESPACE_KEY: Final = "namespace"
EXPERIMENT_KEY: Final = "experiment"
#: How kubectl says the API server cannot be reached.
_UNREACHABLE: Final = re.compile(
    r"connection to the server .* was refused|unable to connect to the server|"
    r"i/o timeout|no such host",
    re.IGNORECASE,
)


def unreachable(text: str) -> bool:
    """Whether kubectl failed because the API server could not be reached.

    >>> unreachable("Unable to connect to the server: dial tcp: i/o timeout")
    True
    """
    return bool(_UNREACHABLE.search(text))


def read_created(done: Completed) -> Result[str, str]:
    """The Job name ``kubectl create`` printed.

    >>> read_created(Completed(("kubectl",), 0, "job.batch/hello\\n", "")).unwrap()
    'hello'
    """
    return parse_kubectl_created(done.stdout).alt(lambda _: "job.batch/NAME")


def get_jobs_argv(
    handles: Sequence[Handle], tools: Mapping[str, str], _tz: object = None
) -> tuple[str, ...] | None:
    """One ``kubectl get jobs`` for the handles' experiments in their namespace (the driver
    groups handles by namespace); ``None`` when no handle records its experiment.

    >>> h = Handle(launcher="kubernetes", name="m", job_id="m", extra=(("experiment", "e"),))
    >>> get_jobs_argv([h], {"kubectl": "kubectl"})[:3]
    ('kubectl', 'get', 'jobs')
    """
    experiments = sorted({h.get(EXPERIMENT_KEY) or "" for h in handles} - {""})
    if not experiments:
        return None
    namespace = handles[0].get(NAMESPACE_KEY) or None
    return kubectl_get_jobs_argv(experiments, namespace=namespace, tool=tools[TOOL])


def read_jobs(done: Completed, handles: Sequence[Handle]) -> Result[Mapping[str, JobState], str]:
    """States by Job name of the handles' Jobs in ``kubectl get jobs -o json``.

    >>> read_jobs(Completed(("kubectl",), 0, '{"kind": "List", "items": []}', ""), [])
    <Success: {}>
    """
    parsed = parse_kubectl_jobs(done.stdout)
    if isinstance(parsed, Failure):
        return Failure("a JSON List of Jobs")
    states = parsed.unwrap()
    return Success({h.job_id: states[h.job_id] for h in handles if h.job_id in states})


def delete_argv(handles: Sequence[Handle], tools: Mapping[str, str]) -> tuple[str, ...] | None:
    """One ``kubectl delete job`` for the handles' Jobs in their namespace (the driver groups
    handles by namespace).

    >>> delete_argv([Handle(launcher="kubernetes", name="m", job_id="m")], {"kubectl": "k"})[:4]
    ('k', 'delete', 'job', 'm')
    """
    namespace = handles[0].get(NAMESPACE_KEY) or None
    return kubectl_delete_jobs_argv(job_ids(handles), namespace=namespace, tool=tools[TOOL])


def read_deleted(done: Completed, names: Sequence[str]) -> frozenset[str] | None:
    """Every name, when ``kubectl delete --ignore-not-found`` succeeded; else ``None``.

    >>> read_deleted(Completed(("kubectl",), 1, "", "forbidden"), ["a"]) is None
    True
    """
    return frozenset(names) if done.returncode == 0 else None


#: Kubernetes: ``kubectl create -f -`` to start, one ``kubectl get jobs -o json`` per namespace
#: per poll, one ``kubectl delete job ...`` per namespace per stop. A handle's id is the Job's
#: name; it records the namespace and the experiment label the plan chose.
SCHEDULER: Final = Scheduler(
    name="kubernetes",
    submit_tool=TOOL,
    tools=(TOOL,),
    plan=plan_kubernetes,
    parse_submit=read_created,
    queries=(StatusQuery(argv=get_jobs_argv, read=read_jobs),),
    cancel_argv=delete_argv,
    read_cancel=read_deleted,
    unavailable=unreachable,
    group_by=(NAMESPACE_KEY,),
    settings_problems=check_kubernetes,
)

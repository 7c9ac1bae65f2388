"""Kubernetes effects: ``kubectl create -f -`` to start, one ``kubectl get jobs -o json`` per
namespace per poll, one ``kubectl delete job …`` per namespace per stop.

The planner is :func:`smartsim.commands.kubernetes.plan_kubernetes`. A handle's ``job_id`` is the
Job's name; its ``extra`` records the ``kubectl`` path, the namespace and the experiment label
so that a poll selects exactly this experiment's Jobs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Final, final

from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap
from smartsim.commands._types import Command
from smartsim.commands.kubernetes import (
    EXPERIMENT_LABEL,
    TOOL,
    kubectl_delete_jobs_argv,
    kubectl_get_jobs_argv,
    parse_kubectl_created,
    parse_kubectl_jobs,
    plan_kubernetes,
)
from smartsim.commands.plan import Launch, World
from smartsim.effects._tools import (
    SUBMITTED,
    find_tool,
    prepare,
    run_found,
    scheduler_error,
    settle,
    utc_stamp,
    with_tool,
)
from smartsim.effects.launcher import Handle
from smartsim.effects.process import Completed, run
from smartsim.errors import (
    EffectError,
    Invalid,
    OSFailure,
    UnparsableOutput,
)
from smartsim.status import JobState, Status
from smartsim.values import Ensemble, Model

TOOL_KEY: Final = "tool"
NAMESPACE_KEY: Final = "namespace"
EXPERIMENT_KEY: Final = "experiment"
#: How kubectl says the API server cannot be reached.
_UNREACHABLE: Final = re.compile(
    r"connection to the server .* was refused|unable to connect to the server|"
    r"i/o timeout|no such host",
    re.IGNORECASE,
)


def _error(done: Completed) -> EffectError:
    return scheduler_error(done, _UNREACHABLE)


def _manifest_facts(command: Command) -> tuple[str | None, str]:
    """The namespace and experiment label of the manifest a create command sends."""
    try:
        data = json.loads(command.stdin or "")
        metadata = data["metadata"]
        namespace = metadata.get("namespace")
        experiment = metadata.get("labels", {}).get(EXPERIMENT_LABEL, "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, ""
    return (namespace if isinstance(namespace, str) else None), str(experiment)


Key = tuple[str, str | None]


def _key(handle: Handle) -> Key:
    return (handle.get(TOOL_KEY) or TOOL, handle.get(NAMESPACE_KEY) or None)


def _groups(handles: Sequence[Handle]) -> dict[Key, list[Handle]]:
    out: dict[Key, list[Handle]] = {}
    for handle in handles:
        out.setdefault(_key(handle), []).append(handle)
    return out


@final
class KubernetesLauncher:
    """The Kubernetes launcher (``Experiment(name, launcher="kubernetes")``).

    ``tools={"kubectl": "/usr/local/bin/kubectl"}`` names the executable (``World.tools`` wins).
    """

    name = "kubernetes"

    def __init__(self, *, tools: Mapping[str, str] | None = None, timeout: float = 60.0) -> None:
        self.tools: FrozenMap[str, str] = FrozenMap(dict(tools or {}))
        self.timeout = timeout
        self._stopped: set[tuple[Key, str]] = set()
        #: Final states seen, so a Job deleted after it finished keeps its status.
        self._final: dict[tuple[Key, str], JobState] = {}

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        """Pure: :func:`~smartsim.commands.kubernetes.plan_kubernetes`."""
        return plan_kubernetes(entity, with_tool(world, self.tools, TOOL))

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        """Run the planned ``kubectl create -f -`` with the manifest on stdin."""
        command = launch.command
        if command is None:
            return IOFailure(OSFailure("create", f"{launch.name!r} has no kubectl command"))
        tool = command.argv[0]
        namespace, experiment = _manifest_facts(command)

        def created(done: Completed) -> IOResult[Handle, EffectError]:
            if done.returncode != 0:
                return IOFailure(_error(done))
            parsed = parse_kubectl_created(done.stdout)
            if isinstance(parsed, Failure):
                return IOFailure(UnparsableOutput("kubectl", done.stdout, "job.batch/NAME"))
            return IOSuccess(
                Handle(
                    launcher=self.name,
                    name=launch.name,
                    job_id=parsed.unwrap(),
                    extra=(
                        (TOOL_KEY, tool),
                        (NAMESPACE_KEY, namespace or ""),
                        (EXPERIMENT_KEY, experiment),
                        (SUBMITTED, utc_stamp()),
                    ),
                )
            )

        return (
            find_tool(tool)
            .bind(lambda _: prepare(launch))
            .bind(lambda _: run(command, timeout=self.timeout))
            .bind(created)
        )

    def _query(
        self, key: Key, experiments: Sequence[str]
    ) -> IOResult[dict[str, JobState], EffectError]:
        tool, namespace = key
        command = Command(argv=kubectl_get_jobs_argv(experiments, namespace=namespace, tool=tool))

        def read(done: Completed) -> IOResult[dict[str, JobState], EffectError]:
            parsed = parse_kubectl_jobs(done.stdout)
            if isinstance(parsed, Success):
                return IOSuccess(parsed.unwrap())
            if done.returncode != 0:
                return IOFailure(_error(done))
            return IOFailure(UnparsableOutput("kubectl get", done.stdout, "a JSON List of Jobs"))

        return run(command, timeout=self.timeout).bind(read)

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """One ``kubectl get jobs`` per namespace (normally one) for every handle."""
        out: dict[Handle, JobState] = {}
        for key, group in _groups(handles).items():
            experiments = sorted({h.get(EXPERIMENT_KEY) or "" for h in group} - {""})
            states: dict[str, JobState] = {}
            if experiments:
                query: IOResult[dict[str, JobState], EffectError] = self._query(key, experiments)
                result = settle(query)
                if isinstance(result, Failure):
                    return IOFailure(result.failure())
                states = result.unwrap()
            for handle in group:
                ident = (key, handle.job_id)
                state = states.get(handle.job_id)
                if state is not None and state.status.is_final:
                    self._final[ident] = state
                if state is None:
                    state = self._final.get(ident)
                if state is None:
                    if ident in self._stopped:
                        state = JobState(Status.CANCELLED, reason="deleted by smartsim")
                    else:
                        state = JobState(Status.UNKNOWN, reason="kubernetes has no such Job")
                out[handle] = state
        return IOSuccess(out)

    def stop(self, handles: Sequence[Handle]) -> IOResult[None, EffectError]:
        """``kubectl delete job NAME…`` per namespace; Jobs already gone are fine."""
        for key, group in _groups(handles).items():
            tool, namespace = key
            names = list(dict.fromkeys(h.job_id for h in group))
            command = Command(argv=kubectl_delete_jobs_argv(names, namespace=namespace, tool=tool))
            ran: IOResult[Completed, EffectError] = run_found(command, self.timeout)
            result = settle(ran)
            if isinstance(result, Failure):
                return IOFailure(result.failure())
            done = result.unwrap()
            if done.returncode != 0:
                return IOFailure(_error(done))
            self._stopped.update((key, name) for name in names)
        return IOSuccess(None)

"""Shared machinery of the fake scheduler tools in ``tests/fakes/<scheduler>/``.

The fakes stand in for ``qsub``/``qstat``/``qdel`` (PBS, Grid Engine), ``qacct`` and
``bsub``/``bjobs``/``bkill`` (LSF) in tests. Each one *checks* its argv and standard input the
way the real tool documents it and fails, with the real tool's kind of message and a non-zero
exit, on anything the real tool would reject. Accepted jobs really run: the job script is run
with ``bash`` in a detached process group, so jobs complete, fail or get cancelled.

State lives in the directory named by ``SMARTSIM_FAKE_STATE`` (one test, one directory):
``next_id`` (the id counter), ``calls.log`` (one JSON line per tool call, for tests that count
calls), and ``jobs/<id>/`` per job: ``job.json`` (what was submitted), ``pid`` (the runner's
process group), ``started``, ``rc.<index>`` (exit statuses), ``deleted.json``.

``SMARTSIM_FAKE_HOLD=1`` at submission keeps the job queued (it never starts until deleted).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)


def state_dir() -> str:
    path = os.environ.get("SMARTSIM_FAKE_STATE")
    if not path:
        sys.stderr.write("fake scheduler: SMARTSIM_FAKE_STATE is not set\n")
        sys.exit(99)
    os.makedirs(os.path.join(path, "jobs"), exist_ok=True)
    return path


def log_call(tool: str, argv: Sequence[str], stdin: str | None = None) -> None:
    entry = {"tool": tool, "argv": list(argv), "stdin": stdin, "time": time.time()}
    with open(os.path.join(state_dir(), "calls.log"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


@contextlib.contextmanager
def locked() -> Iterator[None]:
    with open(os.path.join(state_dir(), "lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def next_id() -> int:
    path = os.path.join(state_dir(), "next_id")
    with locked():
        try:
            with open(path, encoding="utf-8") as handle:
                value = int(handle.read().strip() or "1")
        except FileNotFoundError:
            value = 1
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(str(value + 1))
    return value


def job_dir(job_id: int) -> str:
    return os.path.join(state_dir(), "jobs", str(job_id))


def write_json(path: str, data: Mapping[str, Any]) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


def read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def fail(message: str, code: int) -> None:
    sys.stderr.write(message if message.endswith("\n") else message + "\n")
    sys.exit(code)


# ------------------------------------------------------------------------------ jobs


def submit(
    *,
    name: str,
    script: str,
    cwd: str,
    stdout: str,
    stderr: str,
    indices: Sequence[int] | None,
    env: Mapping[str, str],
    index_var: str | None,
    id_var: str,
    id_text: str,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Record a job and start its runner (unless held). ``env`` is the job's whole
    environment; ``stdout``, ``stderr`` and ``id_text`` may hold ``{seq}`` (the job number) and
    ``{index}`` (the array index)."""
    job_id = next_id()
    stdout, stderr, id_text = (t.replace("{seq}", str(job_id)) for t in (stdout, stderr, id_text))
    directory = job_dir(job_id)
    os.makedirs(directory)
    script_path = os.path.join(directory, "script")
    with open(script_path, "w", encoding="utf-8") as handle:
        handle.write(script)
    job = {
        "id": job_id,
        "name": name,
        "cwd": cwd,
        "stdout": stdout,
        "stderr": stderr,
        "indices": list(indices) if indices is not None else None,
        "env": dict(env),
        "index_var": index_var,
        "id_var": id_var,
        "id_text": id_text,
        "submitted": time.time(),
        **(dict(extra) if extra else {}),
    }
    write_json(os.path.join(directory, "job.json"), job)
    if os.environ.get("SMARTSIM_FAKE_HOLD") != "1":
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "run", state_dir(), str(job_id)],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
    return job_id


def load(job_id: int) -> dict[str, Any] | None:
    return read_json(os.path.join(job_dir(job_id), "job.json"))


def job_ids() -> list[int]:
    root = os.path.join(state_dir(), "jobs")
    return sorted(int(name) for name in os.listdir(root) if (name.isascii() and name.isdigit()))


def status(job_id: int) -> dict[str, Any] | None:
    """``{"state": "queued"|"running"|"done"|"deleted", "rcs": {index: rc}, "job": ...}``."""
    job = load(job_id)
    if job is None:
        return None
    directory = job_dir(job_id)
    deleted = read_json(os.path.join(directory, "deleted.json"))
    rcs: dict[str, int] = {}
    for name in os.listdir(directory):
        if name.startswith("rc."):
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                text = handle.read().strip()
            if text:
                rcs[name[3:]] = int(text)
    started = os.path.exists(os.path.join(directory, "started"))
    finished = os.path.exists(os.path.join(directory, "finished"))
    if deleted is not None:
        state = "deleted"
    elif finished:
        state = "done"
    elif started:
        state = "running"
    else:
        state = "queued"
    return {"state": state, "rcs": rcs, "job": job, "deleted": deleted}


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` is still running (zombies do not count: the
    runner's parent has exited, and PID 1 may not reap them)."""
    for name in os.listdir("/proc"):
        if not (name.isascii() and name.isdigit()):
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def delete(job_id: int) -> str:
    """Delete a job: kill its runner's process group. Returns the state it was in."""
    info = status(job_id)
    if info is None:
        return "unknown"
    was = str(info["state"])
    if was in ("done", "deleted"):
        return was
    directory = job_dir(job_id)
    write_json(os.path.join(directory, "deleted.json"), {"was": was, "time": time.time()})
    try:
        with open(os.path.join(directory, "pid"), encoding="utf-8") as handle:
            pid = int(handle.read().strip())
    except (FileNotFoundError, ValueError):
        pid = None
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        for _ in range(100):
            if not _group_alive(pid):
                break
            time.sleep(0.02)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    return was


def _run(state: str, job_id: int) -> None:
    os.environ["SMARTSIM_FAKE_STATE"] = state
    directory = job_dir(job_id)
    job = load(job_id)
    if job is None:
        return
    with open(os.path.join(directory, "pid"), "w", encoding="utf-8") as handle:
        handle.write(str(os.getpgrp()))
    if os.path.exists(os.path.join(directory, "deleted.json")):
        return
    open(os.path.join(directory, "started"), "w").close()
    indices = job["indices"] if job["indices"] is not None else [None]
    for index in indices:
        env = dict(job["env"])  # the job's environment is what the tool hands it, only
        env[job["id_var"]] = job["id_text"].replace("{index}", "" if index is None else str(index))
        if index is not None and job["index_var"]:
            env[job["index_var"]] = str(index)
        out = job["stdout"].replace("{index}", str(index))
        err = job["stderr"].replace("{index}", str(index))
        for path in (out, err):
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
        try:
            with open(out, "a") as o, open(err, "a") as e:
                rc = subprocess.call(
                    ["bash", os.path.join(directory, "script")],
                    cwd=job["cwd"] if os.path.isdir(job["cwd"]) else None,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=o,
                    stderr=e,
                )
        except OSError:
            rc = 1
        if rc < 0:  # killed by a signal: the shell convention
            rc = 128 - rc
        with open(os.path.join(directory, f"rc.{index}"), "w", encoding="utf-8") as handle:
            handle.write(str(rc))
    open(os.path.join(directory, "finished"), "w").close()


def base_environment(export_all: bool) -> dict[str, str]:
    """The environment a job starts with: the submitter's whole environment when it asked for
    it (``qsub -V``), else what a login shell would set (``HOME``, ``PATH``, ...)."""
    if export_all:
        env = dict(os.environ)
    else:
        keep = ("HOME", "PATH", "LANG", "LC_ALL", "USER", "LOGNAME", "SHELL", "TZ", "TMPDIR")
        env = {k: os.environ[k] for k in keep if k in os.environ}
    for name in ("SMARTSIM_FAKE_STATE", "SMARTSIM_FAKE_HOLD"):
        env.pop(name, None)
    return env


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "run":
    _run(sys.argv[2], int(sys.argv[3]))

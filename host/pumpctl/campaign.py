"""Campaigns: lists of independent, deterministic tasks run on Dask, results streamed to a CSV.

The whole API (docs/campaigns.md)::

    from pumpctl.campaign import run_campaign

    def one_day(seed: int) -> dict:          # top level, importable on every worker
        return {"alarms": nominal_day(seed)}

    tasks = [{"seed": s} for s in seeds]     # parameters: JSON values
    res = run_campaign(tasks, one_day, "build/days.csv", workers=2)   # or scheduler="tcp://h:8786"
    res.outcomes()                           # outcome dicts in task order (None if failed)

A task's content key is a hash of the function's name and its parameters: a task whose
key already has an ``ok`` row in the results file is not run again (resume), and
``collect`` re-tabulates from the file without running anything. Outcomes come back in
task order, so a table built from them does not depend on the number of workers or on
the order tasks finished in. A task that raises is recorded with its parameters and
traceback; the others go on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import resource
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pumpctl.errors import PumpctlError

COLUMNS = ["key", "task", "params", "status", "outcome", "seconds", "cpu_s", "worker", "code",
           "error"]
CONNECT_TIMEOUT_S = 10
SOURCE_DIRS = ("firmware", "host/pumpctl")


class CampaignError(PumpctlError):
    """The campaign cannot run: no scheduler, a worker without the project, a bad results file."""


@dataclass
class TaskResult:
    """One task's row of the results file."""

    key: str
    params: dict
    status: str  # "ok", "failed" or "missing" (not in the results file)
    outcome: Any = None
    error: str = ""
    seconds: float = 0.0  # wall time on the worker
    cpu_s: float = 0.0  # CPU time of the task and the processes it ran (a shared machine's
    worker: str = ""    # wall time says little: this is what sizes a campaign)
    code: str = ""


@dataclass
class CampaignResults:
    """Every task's result, in task order, and what this call ran."""

    results: list[TaskResult]
    ran: int = 0
    skipped: int = 0
    wall_s: float = 0.0
    stale: int = field(default=0)  # rows written by other sources (collect only)

    def outcomes(self) -> list[Any]:
        return [r.outcome if r.status == "ok" else None for r in self.results]

    @property
    def failed(self) -> list[TaskResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def missing(self) -> list[TaskResult]:
        return [r for r in self.results if r.status == "missing"]

    def report_failures(self, out: Any = None, limit: int = 20) -> None:
        """Each failed task's parameters and traceback (the first ``limit`` of them)."""
        out = out or sys.stderr
        for r in self.failed[:limit]:
            out.write(f"\nFAILED task {r.key} {json.dumps(r.params, sort_keys=True)}"
                      f" on {r.worker or '?'}:\n{r.error.rstrip()}\n")
        if len(self.failed) > limit:
            out.write(f"... and {len(self.failed) - limit} more failed tasks "
                      "(all are in the results file)\n")


def fn_name(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def task_key(fn: Callable, params: dict) -> str:
    """Content key: the function's name and its canonical JSON parameters."""
    blob = json.dumps([fn_name(fn), params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def source_fingerprint(root: Path | None = None) -> str:
    """Hash of the firmware and host sources: rows from other sources are not resumed."""
    root = root or Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for d in SOURCE_DIRS:
        for p in sorted((root / d).rglob("*.py")):
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:12]


# ---- the results file ------------------------------------------------------------------------

def read_rows(path: Path) -> dict[str, dict]:
    """key -> last row for that key (a later row wins: a re-run after a failure)."""
    if not path.exists():
        return {}
    rows: dict[str, dict] = {}
    with path.open(newline="") as f:
        text = f.read()
    if not text.endswith("\n"):  # a run killed mid-row: that half row never counted
        text = text[: text.rfind("\n") + 1]
    with io.StringIO(text, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            raise CampaignError(f"{path}: not a campaign results file (columns "
                                f"{reader.fieldnames}, expected {COLUMNS})")
        for n, row in enumerate(reader, start=2):
            if None in row or None in row.values():
                raise CampaignError(f"{path}:{n}: damaged row (wrong number of fields)")
            rows[row["key"]] = row
    return rows


def _result(key: str, params: dict, row: dict | None) -> TaskResult:
    if row is None:
        return TaskResult(key, params, "missing")
    outcome = json.loads(row["outcome"]) if row["outcome"] else None
    return TaskResult(key, params, row["status"], outcome, row["error"],
                      float(row["seconds"] or 0), float(row["cpu_s"] or 0), row["worker"],
                      row["code"])


class _Writer:
    """Appends rows, flushed one by one, so a killed run keeps every finished task."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(path)
        new = not path.exists() or path.stat().st_size == 0
        self.f = path.open("a", newline="")
        self.csv = csv.writer(self.f, lineterminator="\n")
        if new:
            self.csv.writerow(COLUMNS)
            self.f.flush()

    def write(self, row: list) -> None:
        self.csv.writerow(row)
        self.f.flush()

    def close(self) -> None:
        self.f.close()


def _drop_torn_tail(path: Path) -> None:
    """A run killed mid-write can leave half a row: cut the file back to its last newline."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


# ---- on the worker ---------------------------------------------------------------------------

def _run_task(fn: Callable, params: dict) -> tuple:
    """Runs on a worker: never raises, so one bad task cannot stop the campaign."""
    t0, c0 = time.perf_counter(), _cpu()
    try:
        outcome = json.dumps(fn(**params), sort_keys=True, separators=(",", ":"))
        status, error = "ok", ""
    except Exception:  # noqa: BLE001  recorded with its traceback, reported at the end
        outcome, status, error = "", "failed", traceback.format_exc()
    return status, outcome, error, time.perf_counter() - t0, _cpu() - c0, _worker_name()


def _cpu() -> float:
    """CPU seconds of this process and of the child processes it has waited for."""
    me = resource.getrusage(resource.RUSAGE_SELF)  # one thread per worker: the task's own
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return socket.gethostname()


def _probe() -> dict:
    """What a worker runs first: the project importable, and from which sources."""
    from pumpctl import firmware

    firmware.import_firmware()
    return {"code": source_fingerprint(), "python": sys.version.split()[0]}


# ---- the cluster -----------------------------------------------------------------------------

@contextmanager
def cluster(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A dask Client: on an existing scheduler, or on a LocalCluster of ``workers`` processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:  # pragma: no cover - the venv pins it
        raise CampaignError(f"the campaign engine needs dask.distributed ({e}): "
                            "run `make venv`") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as e:
            raise CampaignError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        try:
            _check_workers(client, scheduler)
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise CampaignError(f"--workers must be at least 1 (got {n})")
    mask = _hold_interrupts()
    try:
        lc = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          dashboard_address="127.0.0.1:0",  # no fixed port: side by side
                          silence_logs=logging.CRITICAL)
    except BaseException:
        _release_interrupts(mask)
        raise
    with lc:
        _release_interrupts(mask)  # a Ctrl-C pressed while the workers started comes here
        with Client(lc) as client:
            _check_workers(client, "the local cluster")
            yield client


def _hold_interrupts() -> Any:
    """Block SIGINT in this thread while the local workers start: the threads and processes
    started meanwhile inherit the block. A Ctrl-C at a terminal signals the whole process
    group; without it each worker died mid-task with a KeyboardInterrupt traceback while this
    process was still closing the cluster in order. Returns the mask to restore."""
    if not hasattr(signal, "pthread_sigmask"):  # not on Windows: Ctrl-C is the console's there
        return None
    from multiprocessing import resource_tracker

    # started here first: starting it from the cluster's loop thread unblocks SIGINT there
    resource_tracker.ensure_running()
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _release_interrupts(mask: Any) -> None:
    """This thread takes Ctrl-C again (one pressed while held is raised now)."""
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM (``kill PID``; a campaign started in the background from a script has Ctrl-C
    ignored by its shell) stops the campaign like Ctrl-C: KeyboardInterrupt in the main
    thread, so the results file is closed, the cluster shut down and the caller says so."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave SIGTERM as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check_workers(client: Any, where: str) -> None:
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S * 3)
    except TimeoutError:
        raise CampaignError(f"no Dask worker is connected to {where} (start some with "
                            f"`dask worker {where}` in the project's venv)") from None
    mine = source_fingerprint()
    for addr, got in sorted(client.run(_probe, on_error="return").items()):
        if isinstance(got, BaseException):
            found = re.search(r"No module named '([\w.]+)'", str(got))
            missing = found.group(1) if found else None
            what = (f"the module {missing!r} is missing (package {missing.split('.')[0]!r})"
                    if missing else f"{got!r}")
            raise CampaignError(f"Dask worker {addr} cannot run the project's tasks: {what} "
                                "(run the worker from the project's venv: `make venv`, then "
                                "`.venv/bin/dask worker SCHEDULER`)")
        if got["code"] != mine:
            raise CampaignError(f"Dask worker {addr} runs other firmware/host sources "
                                f"({got['code']}, here {mine}): its results would not be "
                                "comparable; check out the same commit there")


# ---- progress --------------------------------------------------------------------------------

class _Progress:
    """Tasks done, failures and time left on stderr: a live bar on a terminal, else lines."""

    def __init__(self, label: str, total: int, enabled: bool):
        self.label, self.total, self.done, self.failed = label, total, 0, 0
        self.t0 = time.monotonic()
        self.bar = None
        self.next_line = 0.0
        self.enabled = enabled and total > 0
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TextColumn("failed {task.fields[failed]}"),
                                TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                                console=Console(file=sys.stderr), transient=False)
            self.task = self.bar.add_task(label, total=total, failed=0)
            self.bar.start()

    def step(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(self.task, advance=1, failed=self.failed)
            return
        now = time.monotonic()
        if now >= self.next_line or self.done == self.total:
            self.next_line = now + 10
            el = now - self.t0
            left = el / self.done * (self.total - self.done)
            sys.stderr.write(f"  {self.label}: {self.done}/{self.total} done, {self.failed} "
                             f"failed, {el:.0f} s elapsed, ~{left:.0f} s left\n")
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# ---- the campaign ----------------------------------------------------------------------------

def _check_tasks(tasks: Sequence[dict], fn: Callable) -> list[str]:
    if "<locals>" in fn.__qualname__ or fn.__module__ == "__main__":
        raise CampaignError(f"{fn_name(fn)}: a campaign task must be a module-level function "
                            "that workers can import")
    keys = []
    for i, params in enumerate(tasks):
        try:
            keys.append(task_key(fn, params))
        except TypeError as e:
            raise CampaignError(f"task {i}: parameters are not JSON values ({e})") from None
    return keys


def collect(tasks: Sequence[dict], fn: Callable, results_path: str | Path) -> CampaignResults:
    """Re-tabulate: every task's result from the results file, nothing run."""
    keys = _check_tasks(tasks, fn)
    rows = read_rows(Path(results_path))
    mine = source_fingerprint()
    res = CampaignResults([_result(k, p, rows.get(k)) for k, p in zip(keys, tasks, strict=True)])
    res.stale = sum(1 for r in res.results if r.status != "missing" and r.code != mine)
    res.skipped = len(tasks) - len(res.missing)
    return res


def run_campaign(tasks: Sequence[dict], fn: Callable, results_path: str | Path, *,
                 workers: int | None = None, scheduler: str | None = None,
                 label: str = "campaign", progress: bool = True,
                 client: Any = None) -> CampaignResults:
    """Run ``fn(**params)`` for every task not already done; stream rows into ``results_path``.

    ``fn`` must be a module-level function returning JSON values (usually a dict).
    ``workers``: a LocalCluster of that many processes (default: the machine's cores);
    ``scheduler``: ``tcp://HOST:PORT`` of a running cluster instead; ``client``: an open
    dask Client to reuse (several campaigns on one cluster). Finished (``ok``) tasks from
    the same sources are skipped; failed ones run again.
    """
    t0 = time.monotonic()
    path = Path(results_path)
    keys = _check_tasks(tasks, fn)
    mine = source_fingerprint()
    done = {k for k, row in read_rows(path).items() if row["status"] == "ok"
            and row["code"] == mine}
    todo: dict[str, dict] = {}
    for k, p in zip(keys, tasks, strict=True):
        if k not in done:
            todo.setdefault(k, p)
    if todo:
        if client is not None:
            _run(client, todo, fn, path, label, progress, mine)
        else:
            with cluster(workers, scheduler) as c:
                _run(c, todo, fn, path, label, progress, mine)
    res = collect(tasks, fn, path)
    res.ran, res.skipped = len(todo), len(tasks) - len(todo)
    res.wall_s = time.monotonic() - t0
    return res


def _run(client: Any, todo: dict[str, dict], fn: Callable, path: Path, label: str,
         progress: bool, code: str) -> None:
    from distributed import as_completed

    name = fn_name(fn)
    futures = {}
    for k, p in todo.items():
        fut = client.submit(_run_task, fn, p, key=f"{label}-{k}", pure=False)
        futures[fut] = k
    bar = _Progress(label, len(futures), progress)
    writer = _Writer(path)
    try:
        for fut in as_completed(futures):
            k = futures[fut]
            try:
                status, outcome, error, secs, cpu, worker = fut.result()
            except Exception as e:  # noqa: BLE001  the task's worker died too often, say
                status, outcome, error, secs, cpu, worker = ("failed", "", _dask_error(e), 0.0,
                                                             0.0, "")
            params = json.dumps(todo[k], sort_keys=True, separators=(",", ":"))
            writer.write([k, name, params, status, outcome, f"{secs:.3f}", f"{cpu:.3f}", worker,
                          code, error])
            bar.step(status == "ok")
            fut.release()
    finally:
        writer.close()
        bar.close()


def _dask_error(e: BaseException) -> str:
    out = io.StringIO()
    out.write(f"the cluster could not run the task: {type(e).__name__}: {e}\n")
    traceback.print_exception(type(e), e, e.__traceback__, file=out)
    return out.getvalue()

"""The campaign engine (pumpctl.campaign) on real Dask clusters: a LocalCluster, and a real
`dask scheduler` with `dask worker` processes on 127.0.0.1 over TCP."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from campaign_tasks import draws, table
from pumpctl import campaign
from pumpctl.campaign import CampaignError, collect, run_campaign

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TASKS = [{"seed": s, "n": 40 + 3 * s} for s in range(12)]  # seeds 3 and 10 fail


def in_process(tasks: list[dict]) -> list:
    """The truth: every task run here, a failure as None."""
    out = []
    for t in tasks:
        try:
            out.append(draws(**t))
        except ValueError:
            out.append(None)
    return out


def rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def one_worker():
    """One LocalCluster for the tests that need just somewhere to run (starting one costs)."""
    with campaign.cluster(workers=1) as client:
        yield client


def test_one_and_two_workers_give_the_same_table_byte_for_byte(tmp_path):
    one = run_campaign(TASKS, draws, tmp_path / "one.csv", workers=1, progress=False)
    two = run_campaign(TASKS, draws, tmp_path / "two.csv", workers=2, progress=False)
    assert table(TASKS, one.outcomes()) == table(TASKS, two.outcomes())
    assert one.outcomes() == in_process(TASKS)
    assert len({r["worker"] for r in rows(tmp_path / "two.csv")}) == 2  # both really worked


def test_a_failed_task_is_reported_with_its_parameters_and_traceback(one_worker, tmp_path, capsys):
    res = run_campaign(TASKS, draws, tmp_path / "r.csv", client=one_worker, progress=False)
    assert [r.params["seed"] for r in res.failed] == [3, 10]
    assert sum(o is not None for o in res.outcomes()) == 10  # the others completed
    res.report_failures()
    err = capsys.readouterr().err
    assert '{"n": 49, "seed": 3}' in err and "ValueError: seed 3 is unlucky" in err
    assert 'File "' in err and "campaign_tasks.py" in err  # the worker's traceback
    failed = [r for r in rows(tmp_path / "r.csv") if r["status"] == "failed"]
    assert {json.loads(r["params"])["seed"] for r in failed} == {3, 10}


def test_a_second_run_skips_finished_tasks_and_reruns_failed_ones(one_worker, tmp_path):
    path = tmp_path / "r.csv"
    first = run_campaign(TASKS[:6], draws, path, client=one_worker, progress=False)
    assert (first.ran, first.skipped) == (6, 0)
    again = run_campaign(TASKS, draws, path, client=one_worker, progress=False)
    assert (again.ran, again.skipped) == (7, 5)  # 6 new + seed 3 again; 5 finished kept
    assert again.outcomes() == in_process(TASKS)
    assert len(rows(path)) == 13


def test_tabulate_reads_the_file_alone_and_a_torn_last_row_is_dropped(one_worker, tmp_path):
    path = tmp_path / "r.csv"
    run_campaign(TASKS[:4], draws, path, client=one_worker, progress=False)
    with path.open("a") as f:
        f.write('0123,campaign_tasks.draws,"{""n"":')  # a run killed mid-row
    got = collect(TASKS, draws, path)
    assert [r.status for r in got.results[:4]] == ["ok", "ok", "ok", "failed"]
    assert len(got.missing) == 8 and got.outcomes()[:4] == in_process(TASKS[:4])
    # collect never runs or writes anything; the next run cuts the torn row and appends
    res = run_campaign(TASKS[:5], draws, path, client=one_worker, progress=False)
    assert res.ran == 2 and len(rows(path)) == 4 + 2


def test_results_from_other_sources_are_not_resumed(one_worker, tmp_path):
    path = tmp_path / "r.csv"
    run_campaign(TASKS[:2], draws, path, client=one_worker, progress=False)
    text = path.read_text()
    code = rows(path)[0]["code"]
    path.write_text(text.replace(f",{code},", ",000000000000,"))
    res = run_campaign(TASKS[:2], draws, path, client=one_worker, progress=False)
    assert res.ran == 2


def test_bad_tasks_are_refused_before_any_cluster_starts(tmp_path):
    with pytest.raises(CampaignError, match="task 1: parameters are not JSON"):
        run_campaign([{"seed": 1}, {"seed": object()}], draws, tmp_path / "r.csv")

    def local(seed):
        return seed

    with pytest.raises(CampaignError, match="module-level function"):
        run_campaign([{"seed": 1}], local, tmp_path / "r.csv")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(CampaignError, match="other.csv: not a campaign results file"):
        collect(TASKS, draws, tmp_path / "other.csv")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_a_clear_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(campaign, "CONNECT_TIMEOUT_S", 2)
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(CampaignError, match=f"cannot reach the Dask scheduler at {address}"):
        run_campaign(TASKS, draws, tmp_path / "r.csv", scheduler=address)


# ---- a real cluster over TCP: `dask scheduler` + `dask worker` processes -----------------------

def worker_env() -> dict:
    """The project's venv, with this test's task module importable (like a checkout)."""
    path = os.pathsep.join(str(REPO / d) for d in ("tests", "firmware", "host"))
    return dict(os.environ, PYTHONPATH=path, PYTHONUNBUFFERED="1")


class Cluster:
    """A `dask scheduler` and its `dask worker` processes, all on 127.0.0.1."""

    def __init__(self, tmp: Path):
        self.tmp, self.procs = tmp, []
        info = tmp / "scheduler.json"
        self.scheduler = self.start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                     "--port", "0", "--no-dashboard", "--scheduler-file",
                                     str(info)], "scheduler")
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            assert time.monotonic() < deadline, (tmp / "scheduler.log").read_text()
            assert self.scheduler.poll() is None, (tmp / "scheduler.log").read_text()
            time.sleep(0.1)
        self.address = json.loads(info.read_text())["address"]
        assert self.address.startswith("tcp://127.0.0.1:")

    def start(self, argv: list[str], name: str) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("w")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=worker_env(),
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def worker(self, name: str, *extra: str, python: list[str] | None = None) -> subprocess.Popen:
        cmd = python or [str(BIN / "dask"), "worker"]
        return self.start([*cmd, self.address, "--host", "127.0.0.1", "--nthreads", "1",
                           "--no-dashboard", "--name", name, *extra], name)

    def wait_for(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s") as c:
            c.wait_for_workers(n, timeout=60)

    def close(self) -> None:
        for p in self.procs:  # test processes in their own sessions: no goodbyes needed
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@pytest.fixture
def tcp_cluster(tmp_path):
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


@pytest.mark.slow
def test_a_scheduler_and_two_workers_over_tcp_give_the_in_process_table(tcp_cluster, tmp_path):
    tcp_cluster.worker("w1")
    tcp_cluster.worker("w2")
    tcp_cluster.wait_for(2)
    res = run_campaign(TASKS, draws, tmp_path / "tcp.csv", scheduler=tcp_cluster.address,
                       progress=False)
    assert table(TASKS, res.outcomes()) == table(TASKS, in_process(TASKS))
    workers = {r["worker"] for r in rows(tmp_path / "tcp.csv")}
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)


@pytest.mark.slow
def test_a_worker_killed_mid_campaign_leaves_the_campaign_complete(tcp_cluster, tmp_path):
    tcp_cluster.worker("survivor")
    victim = tcp_cluster.worker("victim", "--no-nanny")  # one process: SIGKILL ends it for good
    tcp_cluster.wait_for(2)
    tasks = [{"seed": 100 + i, "n": 30, "pause_ms": 400} for i in range(24)]
    path = tmp_path / "kill.csv"
    killed_at = []

    def kill_when_started() -> None:
        while not path.exists() or path.read_text().count("\n") < 4:
            time.sleep(0.05)
        os.killpg(victim.pid, signal.SIGKILL)
        killed_at.append(path.read_text().count("\n") - 1)

    killer = threading.Thread(target=kill_when_started, daemon=True)
    killer.start()
    res = run_campaign(tasks, draws, path, scheduler=tcp_cluster.address, progress=False)
    killer.join(timeout=5)
    assert killed_at and killed_at[0] < len(tasks)  # it died with work left
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert res.outcomes() == in_process(tasks)  # Dask re-ran what the victim held
    got = rows(path)
    assert len(got) == len({r["key"] for r in got}) == len(tasks)  # each task once, none lost


@pytest.mark.slow
def test_a_worker_without_the_project_is_named_with_the_missing_package(tcp_cluster, tmp_path):
    hide = ("import sys; sys.modules['pumpctl'] = None; sys.argv[0] = 'dask-worker'; "
            "from distributed.cli.dask_worker import main; main()")
    tcp_cluster.worker("bare", "--no-nanny", python=[sys.executable, "-c", hide])
    tcp_cluster.wait_for(1)
    with pytest.raises(CampaignError) as e:
        run_campaign(TASKS, draws, tmp_path / "r.csv", scheduler=tcp_cluster.address)
    msg = str(e.value)
    assert "tcp://127.0.0.1:" in msg and "(package 'pumpctl')" in msg



# a campaign as the tools run one (campaign_args.guarded), Ctrl-C handled as from a terminal
STOPPABLE = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as started from a terminal
from campaign_tasks import draws
from pumpctl.campaign import run_campaign
from pumpctl.campaign_args import guarded

def main():
    tasks = [{"seed": 200 + i, "n": 30, "pause_ms": 1500} for i in range(40)]
    run_campaign(tasks, draws, sys.argv[1], workers=2, label="stoppable", progress=False)
    return 0

sys.exit(guarded(main, "stoppable"))
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_a_campaign_cleanly_keeping_its_results(tmp_path, how):
    """Ctrl-C at a terminal signals the whole process group (the local workers too); SIGTERM
    (`kill PID`) only the main process. Either stops the campaign in order: exit status 130,
    one line saying the results are kept, no worker's traceback, every finished row whole."""
    path = tmp_path / "stop.csv"
    proc = subprocess.Popen([sys.executable, "-c", STOPPABLE, str(path)], env=worker_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not path.exists() or path.read_text().count("\n") < 3:  # header + 2 rows
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.1)
        before = len(rows(path))
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "stoppable: stopped; every finished task is kept in the results file" in err
    assert "Traceback" not in err, err
    got = rows(path)
    assert before <= len(got) < 40  # stopped with work left, nothing finished lost
    assert all(r["status"] in ("ok", "failed") and r["code"] for r in got)

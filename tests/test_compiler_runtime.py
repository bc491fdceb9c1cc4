"""The compile-time runtime on a real (small, local) Dask cluster: tasks, subtasks, logging, failures."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback

import cloudpickle
import pytest

from qlab import Circuit
from qlab.compiler import CompilationTask, Compiler, Target, get_runtime
from qlab.compiler.passes import BasePass
from qlab.exceptions import CompilationCanceledError, CompilerError, JobNotFoundError, QlabTimeoutError, QlabTypeError
from qlab.jobs import JobStatus

# Workers import nothing from the tests directory: send this module's passes and functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

TIMEOUT = float(os.environ.get("QLAB_TEST_TIMEOUT", 120.0))
"""Seconds any test waits for a compilation at most (only reached when something is broken)."""

LOGGER = "qlab_test_compiler_pass"


@pytest.fixture(scope="module")
def compiler():
    with Compiler(num_workers=2, store=":memory:", dashboard=True) as opened:
        yield opened


def square(x):
    return x * x


def tree(depth: int) -> int:
    """Leaves of a binary tree of subtasks, each level started by the one above."""
    if depth == 0:
        return 1
    runtime = get_runtime()
    return sum(runtime.wait(runtime.map(tree, [depth - 1, depth - 1], chunksize=1)))


def boom(x):
    raise ValueError(f"bad input {x}")


def chatty(x):
    logging.getLogger(LOGGER).info("subtask sees %d in pid %d", x, os.getpid())
    return x


class Probe(BasePass):
    """Runs ``fn(runtime, data)`` inside the compilation and keeps what it returns in ``data['probe']``."""

    def __init__(self, fn):
        self.fn = fn

    def run(self, circuit, data):
        data["probe"] = self.fn(get_runtime(), data)
        return circuit


def _probe(compiler, fn):
    return compiler.compile(Circuit(1), [Probe(fn)], progress=False, timeout=TIMEOUT).data["probe"]


def test_a_compilation_runs_on_the_cluster_and_is_a_job(compiler):
    circuit = Circuit(3).h(0).cx(0, 1).cx(0, 2).measure_all()
    task_id = compiler.submit(CompilationTask(circuit, [Probe(lambda rt, data: os.getpid())], Target.line(3)))
    result = compiler.result(task_id, timeout=TIMEOUT)
    assert result.data["probe"] != os.getpid()
    assert result.circuit == circuit
    assert compiler.status(task_id) is JobStatus.DONE
    record = compiler.store.get(task_id)
    assert (record.family, record.device, record.status) == ("compiler", "line-3", JobStatus.DONE)
    assert record.results["passes"] == ["Probe"] and record.results["cx_before"] == 2
    assert list(record.timestamps) == ["created", "submitted", "running", "done"]


def test_the_dashboard_link_answers(compiler):
    import urllib.request

    compiler.client  # started
    link = compiler.dashboard_link
    assert link.startswith("http://127.0.0.1:") and not link.startswith("http://127.0.0.1:8787/")
    with urllib.request.urlopen(link, timeout=60) as response:
        assert response.status == 200 and b"Dask" in response.read()


def test_submit_wait_and_map_inside_a_pass(compiler):
    def work(runtime, data):
        one = runtime.wait(runtime.submit(square, 7))
        many = runtime.map(square, range(1000))
        return one, runtime.wait(many), repr(many)

    one, many, shown = _probe(compiler, work)
    assert one == 49
    assert many == [x * x for x in range(1000)]
    chunks = int(shown.split(" in ")[1].split()[0])
    assert shown.startswith("<SubtaskFuture map of 1000 calls") and chunks <= 16  # a few messages, not 1000


def test_next_reports_each_result_once_with_its_index(compiler):
    def work(runtime, data):
        future = runtime.map(square, range(10), chunksize=3)
        seen = []
        while batch := runtime.next(future):
            seen.extend(batch)
        return sorted(seen)

    assert _probe(compiler, work) == [(i, i * i) for i in range(10)]


def test_subtasks_start_subtasks_without_deadlock(compiler):
    # 2 worker threads in all; 2^5 leaves under 31 waiting parents
    assert _probe(compiler, lambda rt, data: rt.wait(rt.submit(tree, 5))) == 32


def test_get_runtime_outside_a_compilation_says_so():
    with pytest.raises(CompilerError, match="outside a running compilation"):
        get_runtime()


def test_handle_refuses_bad_arguments(compiler):
    def work(runtime, data):
        out = []
        for call in (lambda: runtime.map(square, []), lambda: runtime.map(square, [1], chunksize=0),
                     lambda: runtime.submit(42), lambda: runtime.wait([1])):
            try:
                call()
            except Exception as err:  # noqa: BLE001 - the test reports what was raised
                out.append(f"{type(err).__name__}: {err}")
        return out

    messages = _probe(compiler, work)
    assert messages[0].startswith("CompilerError: RuntimeHandle.map got no items")
    assert messages[1].startswith("CompilerError: RuntimeHandle.map: chunksize must be a positive int")
    assert messages[2].startswith("QlabTypeError: RuntimeHandle.submit needs a callable")
    assert messages[3].startswith("QlabTypeError: Expected a SubtaskFuture")


def test_logs_from_passes_and_subtasks_reach_the_client_with_their_context(compiler, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)

    def work(runtime, data):
        logging.getLogger(LOGGER).info("pass starts")
        return runtime.wait(runtime.map(chatty, [1, 2], task_name="chatty", chunksize=1))

    task_id = compiler.submit(CompilationTask(Circuit(1), [Probe(work)]))
    compiler.result(task_id, timeout=TIMEOUT)
    records = [r for r in caplog.records if r.name == LOGGER]
    messages = sorted(r.getMessage() for r in records)
    assert messages[0] == f"pass starts [compilation={task_id}]"
    assert messages[1].startswith("subtask sees 1 in pid") and messages[1].endswith(f"[compilation={task_id}, subtask=chatty]")
    assert messages[2].startswith("subtask sees 2 in pid")
    assert all(r.process != os.getpid() for r in records)


def cached_calls(_) -> int:
    cache = get_runtime().get_cache()
    cache["calls"] = cache.get("calls", 0) + 1
    return os.getpid()


def test_each_worker_process_keeps_a_cache_between_compilations(compiler):
    def work(runtime, data):
        pids = runtime.wait(runtime.map(cached_calls, range(20), chunksize=1))
        return pids, runtime.get_cache().get("calls", 0)

    first_pids, _ = _probe(compiler, work)
    second_pids, _ = _probe(compiler, work)
    counts = compiler.client.run(lambda dask_worker: _cache_of(dask_worker).get("calls", 0))
    assert sum(counts.values()) == 40   # nothing lost between the two compilations
    assert set(first_pids) | set(second_pids) <= set(compiler.client.run(os.getpid).values())


def _cache_of(worker) -> dict:
    from qlab.compiler.service import local_service_of

    return local_service_of(worker).cache


def test_log_context_is_appended_and_inherited(compiler, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)

    def nested(x):
        runtime = get_runtime()
        return runtime.wait(runtime.submit(chatty, x, task_name="leaf", log_context={"depth": "2"}))

    def work(runtime, data):
        try:
            runtime.submit(square, 1, log_context={"k": 1})
        except Exception as err:  # noqa: BLE001 - the test reports what was raised
            refused = f"{type(err).__name__}: {err}"
        return refused, runtime.wait(runtime.submit(nested, 5, log_context={"block": "a"}))

    task_id = compiler.submit(CompilationTask(Circuit(1), [Probe(work)]))
    refused, value = compiler.result(task_id, timeout=TIMEOUT).data["probe"]
    assert refused == "QlabTypeError: log_context must map str to str, got {'k': 1}."
    assert value == 5
    message = next(r.getMessage() for r in caplog.records if r.name == LOGGER and "sees 5" in r.getMessage())
    assert message.endswith(f"[compilation={task_id}, subtask=leaf, block=a, depth=2]")


def test_a_subtask_exception_reaches_the_pass_as_itself(compiler):
    def work(runtime, data):
        try:
            runtime.wait(runtime.submit(boom, 3))
        except ValueError as err:
            return type(err).__name__, str(err), "".join(traceback.format_exception(err))
        return None

    name, message, trace = _probe(compiler, work)
    assert (name, message) == ("ValueError", "bad input 3")
    assert ", in boom\n" in trace and trace.endswith("ValueError: bad input 3\n")  # the remote frames


def test_an_uncaught_exception_fails_the_compilation_and_the_compiler_stays_usable(compiler):
    task_id = compiler.submit(CompilationTask(Circuit(1), [Probe(lambda rt, data: rt.wait(rt.submit(boom, 5)))]))
    with pytest.raises(ValueError, match="bad input 5") as info:
        compiler.result(task_id, timeout=TIMEOUT)
    assert "boom" in "".join(traceback.format_tb(info.value.__traceback__))
    assert compiler.status(task_id) is JobStatus.FAILED
    assert compiler.store.get(task_id).error == "ValueError: bad input 5"
    assert _probe(compiler, lambda rt, data: rt.wait(rt.submit(square, 3))) == 9


def sleepy_marker(directory: str, index: int) -> int:
    open(os.path.join(directory, f"started-{index}"), "w").close()
    time.sleep(0.5)
    return index


def test_cancel_stops_queued_subtasks(compiler, tmp_path):
    def work(runtime, data):
        return runtime.wait(runtime.map(sleepy_marker, [str(tmp_path)] * 40, range(40), chunksize=1))

    task_id = compiler.submit(CompilationTask(Circuit(1), [Probe(work)]))
    deadline = time.monotonic() + TIMEOUT
    while not list(tmp_path.glob("started-*")):
        assert time.monotonic() < deadline, "no subtask started"
        time.sleep(0.02)
    assert compiler.cancel(task_id) is True
    assert compiler.status(task_id) is JobStatus.CANCELED
    with pytest.raises(CompilationCanceledError, match="was cancelled"):
        compiler.result(task_id)
    assert compiler.cancel(task_id) is True
    held = lambda: compiler.client.run_on_scheduler(_keys_of, task_id)  # noqa: E731
    _wait_until(lambda: not held(), "the cancelled subtasks to leave the scheduler")
    assert len(list(tmp_path.glob("started-*"))) < 40   # the queued ones never ran
    assert compiler.store.get(task_id).status is JobStatus.CANCELED
    assert _probe(compiler, lambda rt, data: rt.wait(rt.submit(square, 4))) == 16


def _keys_of(task_id: str, dask_scheduler=None) -> list[str]:
    return [k for k in dask_scheduler.tasks if task_id in str(k)]


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_unknown_ids_get_a_clear_error(compiler):
    for call in (compiler.status, compiler.result, compiler.cancel):
        with pytest.raises(JobNotFoundError, match="No compilation 'nope'"):
            call("nope")
    assert _probe(compiler, lambda rt, data: 1) == 1


def test_result_timeout(compiler):
    task_id = compiler.submit(CompilationTask(Circuit(1), [Probe(lambda rt, data: time.sleep(1.0))]))
    with pytest.raises(QlabTimeoutError, match="did not finish within 0.05 s"):
        compiler.result(task_id, timeout=0.05)
    compiler.result(task_id, timeout=TIMEOUT)


def _sleep_the_first_time(marker: str) -> None:
    """Writes this process's pid to ``marker`` and sleeps (so the test can kill it), unless the marker exists."""
    if not os.path.exists(marker):
        with open(marker + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(marker + ".tmp", marker)
        time.sleep(60)


def once_killable(directory: str) -> str:
    """Sleeps the first time (so the test can kill the worker); returns at once when retried."""
    _sleep_the_first_time(os.path.join(directory, "first"))
    return "survived"


def test_a_worker_killed_mid_task_is_survived(compiler, tmp_path):
    circuit = Circuit(3).h(0).cx(0, 2).cx(1, 2)

    def work(runtime, data):
        return runtime.wait(runtime.submit(once_killable, str(tmp_path)))

    task_id = compiler.submit(CompilationTask(circuit, [Probe(work)], Target.line(3)))
    marker = tmp_path / "first"
    deadline = time.monotonic() + TIMEOUT
    while not marker.exists():
        assert time.monotonic() < deadline, "the subtask never started"
        time.sleep(0.02)
    os.kill(int(marker.read_text()), signal.SIGKILL)
    result = compiler.result(task_id, timeout=TIMEOUT)
    assert result.data["probe"] == "survived"
    assert compiler.status(task_id) is JobStatus.DONE


def pid_of_call(_) -> int:
    return os.getpid()


def killable_unless(directory: str, index: int, spare_pid: int) -> str:
    """Returns at once in process ``spare_pid``; elsewhere sleeps the first time (so the test can kill that worker)."""
    if os.getpid() != spare_pid:
        _sleep_the_first_time(os.path.join(directory, f"first-{index}"))
    return "survived"


def test_a_subtask_whose_worker_is_killed_is_sent_to_another_worker(compiler, tmp_path):
    # the pass keeps running in its own process; only the worker holding the subtask dies
    def work(runtime, data):
        pid = os.getpid()
        while len(set(runtime.wait(runtime.map(pid_of_call, range(2), chunksize=1)))) < 2:
            time.sleep(0.2)   # until this process sends calls to both workers (one may still be restarting)
        (tmp_path / "pass").write_text(str(pid))
        return pid, runtime.wait(runtime.map(killable_unless, [str(tmp_path)] * 2, range(2), [pid] * 2, chunksize=1))

    compiler.client.wait_for_workers(2, timeout=TIMEOUT)
    task_id = compiler.submit(CompilationTask(Circuit(1), [Probe(work)]))
    deadline = time.monotonic() + TIMEOUT
    while not list(tmp_path.glob("first-?")):
        assert time.monotonic() < deadline, "no subtask reached another worker"
        time.sleep(0.02)
    victim = int(next(tmp_path.glob("first-?")).read_text())
    assert victim != int((tmp_path / "pass").read_text())
    os.kill(victim, signal.SIGKILL)
    pass_pid, results = compiler.result(task_id, timeout=TIMEOUT).data["probe"]
    assert results == ["survived", "survived"]
    assert pass_pid == int((tmp_path / "pass").read_text())   # the pass itself was not restarted


def test_cancelled_subtask_futures_raise_and_their_queued_calls_never_run(compiler, tmp_path):
    def work(runtime, data):
        future = runtime.map(sleepy_marker, [str(tmp_path)] * 20, range(20), chunksize=1)
        runtime.cancel(future)
        try:
            runtime.wait(future)
        except CompilationCanceledError as err:
            return str(err), runtime.wait(runtime.submit(square, 5))
        return None

    message, after = _probe(compiler, work)
    assert message == "The subtask was cancelled." and after == 25
    time.sleep(1.0)   # calls that were already running finish; the rest must never start
    assert len(list(tmp_path.glob("started-*"))) < 20
    assert compiler.client.run(_queued_on_worker) and not any(compiler.client.run(_queued_on_worker).values())


def _queued_on_worker(dask_worker=None) -> int:
    from qlab.compiler.service import local_service_of

    return local_service_of(dask_worker).queued()


def test_a_subtask_that_cannot_be_pickled_gets_a_clear_error(compiler):
    def work(runtime, data):
        lock = threading.Lock()
        try:
            runtime.submit(lambda: lock)
        except CompilerError as err:
            return str(err)
        return None

    assert "cannot be pickled" in _probe(compiler, work)


def test_a_pass_that_cannot_be_pickled_fails_its_job_and_says_so(compiler):
    class Locked(BasePass):
        def __init__(self):
            self.lock = threading.Lock()

        def run(self, circuit, data):
            return circuit

    before = set(compiler.store.df()["id"]) if len(compiler.store.df()) else set()
    with pytest.raises(CompilerError, match="Cannot send the compilation to the cluster"):
        compiler.submit(CompilationTask(Circuit(1), [Locked()]))
    new = compiler.store.df().loc[lambda df: ~df["id"].isin(before)]
    assert list(new["status"]) == ["failed"]
    assert _probe(compiler, lambda rt, data: 1) == 1


class _Recorded:
    """A stand-in for the progress bar that keeps every total and count it was given."""

    seen: list = []

    def __init__(self, passes):
        self.passes, self.submitted, self.finished, self.done_passes = passes, 0, 0, 0

    def on_event(self, msg):
        if msg["kind"] == "pass":
            self.done_passes = msg["index"] + 1
        self.submitted += msg.get("submitted", 0)
        self.finished += msg.get("finished", 0)
        _Recorded.seen.append((self.passes + self.submitted, self.done_passes + self.finished))

    def write(self, text):
        pass

    def close(self):
        pass


def test_progress_counts_passes_and_subtasks(compiler, monkeypatch):
    import qlab.compiler.compiler as module

    monkeypatch.setattr(module, "_ProgressBar", _Recorded)
    _Recorded.seen.clear()

    def work(runtime, data):
        runtime.wait(runtime.map(square, range(10), chunksize=2))
        return runtime.wait(runtime.submit(square, 2))

    compiler.compile(Circuit(1), [Probe(work), Probe(lambda rt, data: 0)], progress=True, timeout=TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while not _Recorded.seen or _Recorded.seen[-1] != (2 + 11, 2 + 11):   # events may trail the result a little
        assert time.monotonic() < deadline, f"progress stopped at {_Recorded.seen[-1:]}"
        time.sleep(0.02)


def test_the_progress_bar_grows_with_subtasks_and_starts_over_on_a_retry():
    from qlab.compiler.compiler import _ProgressBar

    bar = _ProgressBar(3)
    for msg in ({"kind": "start"}, {"kind": "subtasks", "submitted": 10}, {"kind": "subtasks", "finished": 4},
                {"kind": "pass", "index": 0, "name": "Unroll"}):
        bar.on_event(msg)
    assert (bar._bar.total, bar._bar.n) == (13, 5)
    bar.on_event({"kind": "start"})   # the compilation was retried on another worker
    assert (bar._bar.total, bar._bar.n) == (3, 0)
    bar.close()


def test_the_notebook_bar_widens_with_its_total(monkeypatch):
    import tqdm.auto
    import tqdm.notebook

    from qlab.compiler.compiler import _ProgressBar

    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)
    bar = _ProgressBar(2)
    bar.on_event({"kind": "subtasks", "submitted": 8, "finished": 3})
    widget = bar._bar.container.children[1]
    assert (widget.max, bar._bar.n) == (10, 3)   # the value is redrawn at most every 0.1 s
    bar.close()


def test_a_script_without_a_main_guard_is_told_how_to_fix_it(tmp_path):
    import subprocess

    script = tmp_path / "compile_it.py"
    script.write_text("from qlab import Circuit\nfrom qlab.compiler import Compiler\n"
                      "with Compiler(num_workers=1, store=':memory:', dashboard=False) as c:\n"
                      "    c.compile(Circuit(2).cx(0, 1), progress=False)\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("qlab.exceptions.CompilerError: Could not start the local Dask cluster")
    assert "import 'compile_it.py' when they start: create the Compiler under `if __name__ == \"__main__\":`" in last


def gated(directory: str, index: int) -> int:
    """Returns at once for index 0; the others wait until the file ``open`` appears in ``directory``."""
    deadline = time.monotonic() + 60
    while index and not os.path.exists(os.path.join(directory, "open")) and time.monotonic() < deadline:
        time.sleep(0.01)
    return index


def test_next_and_wait_return_when_their_results_are_in_not_when_the_worker_is_idle(compiler, tmp_path):
    def work(runtime, data):
        future = runtime.map(gated, [str(tmp_path)] * 6, range(6), chunksize=1)
        first = runtime.next(future)            # the others are still gated: only index 0 can be in
        pending = runtime.submit(gated, str(tmp_path), 1)
        try:
            runtime.wait(pending, timeout=0.2)
            timed_out = False
        except QlabTimeoutError:
            timed_out = not pending.done()
        (tmp_path / "open").touch()
        rest = []
        while batch := runtime.next(future):
            rest.extend(batch)
        return first, timed_out, sorted(rest), runtime.wait(pending)

    first, timed_out, rest, late = _probe(compiler, work)
    assert first == [(0, 0)] and timed_out
    assert rest == [(i, i) for i in range(1, 6)] and late == 1


def from_a_thread(runtime, data):
    """A pass that hands its handle to a thread of its own."""
    out = {}

    def body():
        out["value"] = runtime.wait(runtime.submit(square, 6))
        try:
            get_runtime()
        except CompilerError as err:
            out["own"] = str(err)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return out


def test_a_thread_started_by_a_pass_uses_the_pass_handle(compiler):
    out = _probe(compiler, from_a_thread)
    assert out["value"] == 36
    assert out["own"].endswith("(A thread a pass starts itself does not inherit it: hand that thread the pass's get_runtime() handle.)")


def test_percent_signs_in_forwarded_log_records_stay_single(compiler, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)

    def work(runtime, data):
        logging.getLogger(LOGGER).info("progress %d%% done", 50)

    task_id = compiler.submit(CompilationTask(Circuit(1), [Probe(work)]))
    compiler.result(task_id, timeout=TIMEOUT)
    assert f"progress 50% done [compilation={task_id}]" in [r.getMessage() for r in caplog.records if r.name == LOGGER]


def returns_a_lock(_):
    return threading.Lock()


def test_unsendable_results_get_clear_errors_and_harm_nothing(compiler):
    def leaves_a_lock(runtime, data):
        data["lock"] = threading.Lock()

    task_id = compiler.submit(CompilationTask(Circuit(1), [Probe(leaves_a_lock)]))
    with pytest.raises(CompilerError, match=r"A pass left data\['lock'\] \(lock\), which cannot be sent back"):
        compiler.result(task_id, timeout=TIMEOUT)
    assert compiler.status(task_id) is JobStatus.FAILED
    assert compiler.store.get(task_id).status is JobStatus.FAILED

    def subtask_returns_a_lock(runtime, data):
        try:
            runtime.wait(runtime.submit(returns_a_lock, 1))
        except CompilerError as err:
            return str(err)
        return None

    assert _probe(compiler, subtask_returns_a_lock).startswith(
        "Subtask 'returns_a_lock' returned a value that cannot be sent back to its caller")


def test_a_settled_compilation_leaves_the_cluster(compiler):
    task_id = compiler.submit(CompilationTask(Circuit(1), [Probe(lambda rt, data: 1)]))
    compiler.result(task_id, timeout=TIMEOUT)
    _wait_until(lambda: not compiler.client.run_on_scheduler(_keys_of, task_id), "the result to leave the workers")
    assert compiler.result(task_id).data["probe"] == 1   # still here, in the client
    assert compiler.status(task_id) is JobStatus.DONE


def test_answers_after_close_come_from_what_was_recorded():
    with Compiler(num_workers=1, store=":memory:", dashboard=False) as closing:
        done = closing.submit(CompilationTask(Circuit(1), [Probe(lambda rt, data: "kept")]))
        closing.result(done, timeout=TIMEOUT)
        running = closing.submit(CompilationTask(Circuit(1), [Probe(lambda rt, data: time.sleep(30))]))
        _wait_until(lambda: closing.status(running) is JobStatus.RUNNING, "the second compilation to start")
    assert closing.status(done) is JobStatus.DONE and closing.result(done).data["probe"] == "kept"
    assert closing.status(running) is JobStatus.CANCELED
    with pytest.raises(CompilationCanceledError, match="was dropped when the compiler was closed"):
        closing.result(running)


def exits(x):
    if x == 1:
        sys.exit(3)
    return x


def test_a_subtask_that_exits_does_not_stop_its_worker(compiler):
    def work(runtime, data):
        try:
            runtime.wait(runtime.map(exits, range(4), chunksize=1))
        except CompilerError as err:
            return str(err)
        return None

    assert _probe(compiler, work).startswith("Subtask 'exits' raised SystemExit(3,); subtasks may raise exceptions")
    assert _probe(compiler, lambda rt, data: rt.wait(rt.submit(square, 5))) == 25


def fails_at_5(x):
    if x == 5:
        raise ValueError("five")
    return x


def test_next_reports_every_result_around_a_failed_call(compiler):
    def work(runtime, data):
        future = runtime.map(fails_at_5, range(10), chunksize=1)
        runtime.wait(runtime.map(leaf, range(40), chunksize=1))   # queued behind it: by now it is all done
        seen, errors = [], []
        while True:
            try:
                batch = runtime.next(future)
            except ValueError as err:
                errors.append(str(err))
                continue
            if not batch:
                return sorted(seen), errors
            seen.extend(batch)

    seen, errors = _probe(compiler, work)
    assert seen == [(i, i) for i in range(10) if i != 5] and errors == ["five"]


def leaf(x):
    return x * x


def middle(x):
    runtime = get_runtime()
    return sum(runtime.wait(runtime.map(leaf, [x, x + 1], chunksize=1)))


def top(x):
    runtime = get_runtime()
    return sum(runtime.wait(runtime.map(middle, [x, x + 2], chunksize=1)))


def _subtask_threads(dask_worker=None) -> int:
    return sum(t.name.startswith("qlab-subtask") for t in threading.enumerate())


def test_wide_nested_maps_finish_subtrees_first_and_stay_on_few_threads():
    with Compiler(num_workers=1, store=":memory:", dashboard=False) as single:
        total = single.compile(Circuit(1), [Probe(lambda rt, data: sum(rt.wait(rt.map(top, range(300), chunksize=1))))],
                               progress=False, timeout=TIMEOUT).data["probe"]
        assert total == sum(x * x + (x + 1) ** 2 + (x + 2) ** 2 + (x + 3) ** 2 for x in range(300))
        (threads,) = single.client.run(_subtask_threads).values()
    assert threads <= 20   # a started subtree goes first: about one waiting thread per level, not one per call


def test_a_compilation_cancelled_while_it_waits_for_a_slot_never_runs(tmp_path):
    def marks(runtime, data):
        (tmp_path / "ran").touch()

    with Compiler(num_workers=1, store=":memory:", dashboard=False) as single:
        busy = single.submit(CompilationTask(Circuit(1), [Probe(lambda rt, data: time.sleep(1.5))]))
        _wait_until(lambda: single.status(busy) is JobStatus.RUNNING, "the first compilation to start")
        queued = single.submit(CompilationTask(Circuit(1), [Probe(marks)]))
        assert single.cancel(queued) is True
        single.result(busy, timeout=TIMEOUT)
        assert single.compile(Circuit(1), [Probe(lambda rt, data: "after")], progress=False,
                              timeout=TIMEOUT).data["probe"] == "after"
    assert not (tmp_path / "ran").exists()


def test_a_store_that_cannot_record_the_end_costs_the_record_not_the_result(compiler, monkeypatch, caplog):
    from qlab.exceptions import JobStoreError

    def full(*args, **kwargs):
        raise JobStoreError("database or disk is full")

    monkeypatch.setattr(compiler.store, "finish", full)
    task_id = compiler.submit(CompilationTask(Circuit(1), [Probe(lambda rt, data: "kept")]))
    assert compiler.result(task_id, timeout=TIMEOUT).data["probe"] == "kept"
    assert compiler.status(task_id) is JobStatus.DONE
    assert f"Compilation {task_id} ended done, but the job store could not record it: database or disk is full" in caplog.text


class _DeadWorkers:
    """A stand-in worker whose scheduler lists six other workers, none of which can be reached."""

    address = "tcp://here:1"

    def __init__(self):
        self.events = []
        self.scheduler = self
        self.asked = 0

    async def identity(self):
        self.asked += 1
        return {"workers": {f"tcp://gone:{i}": {"nthreads": 1} for i in range(6)}}

    def rpc(self, address):
        return self

    async def qlab_subtasks_run(self, **message):
        raise OSError("connection refused")

    def log_event(self, topic, event):
        self.events.append(event)


def _dispatcher_on(worker):
    import asyncio

    from qlab.compiler.dispatch import Dispatcher

    slots = type("Slots", (), {"limit": 1, "free": 1})()
    return Dispatcher(type("Service", (), {"worker": worker, "loop": asyncio.get_running_loop(), "slots": slots})())


def test_a_call_no_worker_can_take_is_given_up_with_the_reason():
    import asyncio
    from concurrent.futures import Future

    from qlab.compiler.dispatch import ATTEMPTS, Call

    async def deliver():
        dispatcher = _dispatcher_on(_DeadWorkers())
        with pytest.raises(CompilerError, match=f"could not be delivered to any worker \\({ATTEMPTS} attempts\\); "
                                                "last error: OSError\\('connection refused'\\)"):
            await dispatcher._deliver(Call("call", 1, Future()), b"", "task", 1)
        return len(dispatcher._shunned)

    assert asyncio.run(deliver()) == ATTEMPTS   # each attempt went to a worker not tried before


def test_concurrent_callers_share_one_question_to_the_scheduler():
    import asyncio

    async def refresh():
        worker = _DeadWorkers()
        dispatcher = _dispatcher_on(worker)
        await asyncio.gather(*(dispatcher._refresh() for _ in range(5)))
        return worker.asked, len(dispatcher._peers)

    assert asyncio.run(refresh()) == (1, 6)


def test_compiler_arguments_are_checked():
    with pytest.raises(QlabTypeError, match="passes must be a list of passes, got Probe"):
        CompilationTask(Circuit(1), Probe(square))
    for seed in ("x", -1, True):
        with pytest.raises(QlabTypeError, match="seed must be None or an int >= 0"):
            CompilationTask(Circuit(1), [], seed=seed)
    with pytest.raises(QlabTypeError, match=r"a list of \(int, int\) pairs; entry 1 of \[1, 2\] is not one"):
        CompilationTask(Circuit(2), [], target=[1, 2])
    with pytest.raises(CompilerError, match="Cannot connect to the Dask scheduler at 'nonsense'"):
        Compiler(address="nonsense", store=":memory:").client
    with pytest.raises(CompilerError, match="num_workers must be a positive int"):
        Compiler(num_workers=0)
    with pytest.raises(CompilerError, match="not both"):
        Compiler(num_workers=2, address="tcp://127.0.0.1:1")
    closed = Compiler(num_workers=1, store=":memory:")
    closed.close()
    with pytest.raises(CompilerError, match="is closed"):
        closed.compile(Circuit(1))


"""The Huey application that the fidelity harness (fidelity.py) runs a real consumer on.

It mirrors qsim's memory and lifecycle model (docs/huey-fidelity.md) with real memory:

- base_memory: at worker start (Huey's startup hook), a ballast bytearray brings the
  process's resident memory (RSS) up to base_memory. A bare interpreter with Huey loaded is
  already ~15-30 MB resident; that is measured ("bare") and only the rest is allocated.
- a task holds `memory` bytes while it runs: `retain` of them are appended to a module-level
  list (the leak, kept after the task ends), the rest is a temporary bytearray freed when the
  task returns (a task that retains more than it holds allocates what it keeps as it ends). Of the retained bytes, the `collectable` share sits in reference cycles, which
  only an explicit gc.collect() frees: automatic collection is off (gc.disable()).
- post-execute hooks, in this order: gc.collect() when gc = "after_task"; then the incident's
  check: read this process's RSS from /proc/self/statm and os._exit() above max_memory. The
  max_tasks recycling is Huey's own (`-M`): the hook only records that it will happen.

Every event is appended as one JSON line to RECORDS/<pid>.jsonl, written with a single
os.write on an O_APPEND descriptor, so that an os._exit() loses nothing already recorded.

Configuration: the JSON file named by $QSIM_HUEY_CONFIG, written by fidelity.py.
"""

import gc
import json
import os
import threading
import time

from huey import SqliteHuey

try:
    import multiprocessing

    def _process_name():
        return multiprocessing.current_process().name
except ImportError:  # pragma: no cover
    def _process_name():
        return "MainProcess"

with open(os.environ["QSIM_HUEY_CONFIG"]) as _f:
    CONFIG = json.load(_f)

# The exit status of a process that exits because it is above max_memory.
EXIT_MAX_MEMORY = 3

PAGE = os.sysconf("SC_PAGE_SIZE")

# cache_mb: SQLite's page cache grows with use; kept small so that it does not blur the RSS.
huey = SqliteHuey(
    "qsim-fidelity",
    filename=CONFIG["db"],
    immediate=False,
    cache_mb=1,
    store_none=True,
)

# The leak: what tasks retained and no collection frees.
LEAK = []
# Ballast standing for base_memory.
BALLAST = []
_started = threading.Lock()
_process_ready = {"pid": None}
_local = threading.local()
_fd = {"pid": None, "fd": None}


def rss():
    """This process's resident memory, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def hwm():
    """This process's peak resident memory so far (VmHWM), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def worker_name():
    """Huey's name of this worker: Worker-N, the thread's name (thread pool) or the
    process's (process pool)."""
    if CONFIG["kind"] == "process":
        return _process_name()
    return threading.current_thread().name


def record(event, **fields):
    pid = os.getpid()
    if _fd["pid"] != pid:
        path = os.path.join(CONFIG["records"], "%d.jsonl" % pid)
        _fd["fd"] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        _fd["pid"] = pid
    fields.update(ev=event, pid=pid, worker=worker_name(), t=time.time())
    os.write(_fd["fd"], (json.dumps(fields) + "\n").encode())


def touch(buf):
    """Writes one byte per page, so that every page is resident whatever the allocator did."""
    for i in range(0, len(buf), PAGE):
        buf[i] = 1


def warm_up():
    """What a worker's first task would load anyway (the storage's connection, result
    storage, the task's imports), done before the ballast is sized, so that the first task
    does not add a one-off step to the RSS."""
    huey.storage.queue_size()
    huey.put("qsim-warm-up-%d" % os.getpid(), b"x")
    huey.get("qsim-warm-up-%d" % os.getpid())
    record("warm_up")


@huey.on_startup()
def start_worker():
    """Runs in each worker (each thread of a thread consumer, each forked process of a process
    consumer); the ballast is allocated once per process."""
    _local.tasks = 0
    with _started:
        first = _process_ready["pid"] != os.getpid()
        if first:
            _process_ready["pid"] = os.getpid()
            gc.disable()
            warm_up()
            bare = rss()
            ballast = max(0, CONFIG["base_memory"] - bare)
            if ballast:
                b = bytearray(ballast)
                touch(b)
                BALLAST.append(b)
            record("start", bare=bare, ballast=ballast, rss=rss(), hwm=hwm())
    record("thread_start")


def leak(spec):
    """Keeps the task's `retain` bytes: the `collectable` share in a reference cycle, freed only
    by gc.collect(), the rest in the module-level list, never freed."""
    retain = spec["retain"]
    collectable = int(round(retain * spec["collectable"]))
    if retain - collectable:
        kept = bytearray(retain - collectable)
        touch(kept)
        LEAK.append(kept)
    if collectable:
        # Unreachable once this function returns: only a collection frees it.
        cycle = [bytearray(collectable)]
        touch(cycle[0])
        cycle.append(cycle)
        del cycle


@huey.task()
def qsim_task(type_name, index):
    """Holds `memory` bytes for `work` seconds and keeps `retain` of them. When the task
    retains more than it holds (retain > memory), it holds `memory` while it runs and
    allocates what it keeps as it ends, after freeing the rest: the RSS is then
    kept + memory during the task and kept + retain after it, as in the model."""
    spec = CONFIG["tasks"][type_name]
    record("begin", task=index, type=type_name)
    retained_early = spec["retain"] <= spec["memory"]
    if retained_early:
        leak(spec)
        held = spec["memory"] - spec["retain"]
    else:
        held = spec["memory"]
    temp = bytearray(held) if held > 0 else None
    if temp is not None:
        touch(temp)
    time.sleep(spec["work"])
    del temp
    if not retained_early:
        leak(spec)
    return index


@huey.post_execute()
def after_task(task, task_value, exc):
    """After the result is stored: gc, then the memory check, then Huey's own -M count."""
    if CONFIG["gc"] == "after_task":
        gc.collect()
    _local.tasks = getattr(_local, "tasks", 0) + 1
    now = rss()
    type_name, index = task.args
    record("end", task=index, type=type_name, rss=now, hwm=hwm(),
           error=None if exc is None else repr(exc))
    if CONFIG["max_memory"] is not None and now > CONFIG["max_memory"]:
        record("exit", cause="max_memory", rss=now, hwm=hwm())
        os._exit(EXIT_MAX_MEMORY)
    if CONFIG["max_tasks"] and _local.tasks >= CONFIG["max_tasks"]:
        # Huey's worker raises WorkerRecycle right after this hook returns.
        record("exit", cause="max_tasks", rss=now, hwm=hwm())

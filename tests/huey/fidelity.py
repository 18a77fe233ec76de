#!/usr/bin/env python3
"""Runs a qsim scenario on a real Huey consumer and prints what happened as JSON.

    python3 tests/huey/fidelity.py run SCENARIO.toml [--memory-scale X] [--time-scale Y]
    python3 tests/huey/fidelity.py predict SCENARIO.toml     # the model, in Python
    python3 tests/huey/fidelity.py check SCENARIO.toml       # run, predict, compare

It installs what it needs on first use (Huey, pinned in requirements.txt, with `pip install
--target` into $QSIM_HUEY_DEPS, by default $CARGO_TARGET_DIR/huey-deps or target/huey-deps),
so a fresh machine needs only python3 (3.8 or later) with pip. See docs/huey-fidelity.md.

The run: an SqliteHuey queue in a temporary directory, the scenario's arrivals enqueued (those at
0s before the consumer starts), then `huey_consumer` with the pool's worker count and kind:

    -w WORKERS -k thread|process -c RESTART -M MAX_TASKS -d 0.02 -m 0.1 -n

`-c` is Huey's health check interval: the health check is what restarts a process worker that
exited (and replaces a thread recycled by -M), so a restart takes 0 to RESTART seconds. A
thread consumer that exits (a max_memory exit takes the whole process) is restarted by this
script after the pool's restart time. The harness samples the RSS of every worker process every
5 ms (the pool's and host's peaks) and reads what each process recorded (qsim_huey_app.py).
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# No __pycache__ beside the sources (the harness imports model.py and the app from tests/huey).
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PAGE = os.sysconf("SC_PAGE_SIZE")
EXIT_MAX_MEMORY = 3
# Fixed, so that a freed allocation of 128 KiB or more is unmapped at once. glibc's default
# raises the threshold to the size of each freed block (up to 32 MiB), after which freed task
# memory stays in the process: see docs/huey-fidelity.md, "Allocator".
MMAP_THRESHOLD = "131072"


# ---------------------------------------------------------------------------------------------
# Dependencies


def deps_dir():
    if os.environ.get("QSIM_HUEY_DEPS"):
        return os.environ["QSIM_HUEY_DEPS"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(target, "huey-deps")


def pinned_huey():
    """The Huey version requirements.txt pins."""
    with open(os.path.join(HERE, "requirements.txt")) as f:
        for line in f:
            if line.startswith("huey=="):
                return line.split("==", 1)[1].strip()
    return None


def ensure_deps():
    """Makes the pinned huey (and tomli before Python 3.11) importable, installing them into
    deps_dir() when missing; after an install the script runs itself again, once."""
    deps = deps_dir()
    if deps not in sys.path:
        sys.path.insert(0, deps)
    try:
        import huey
        import model  # noqa: F401  (tomllib, or tomli)
        if huey.__version__ == pinned_huey():
            return deps
    except ImportError:
        pass
    if os.environ.get("QSIM_HUEY_INSTALLED"):
        sys.exit("fidelity: Huey %s is still not importable from %s after installing it"
                 % (pinned_huey(), deps))
    requirements = os.path.join(HERE, "requirements.txt")
    print("fidelity: installing Huey %s into %s" % (pinned_huey(), deps), file=sys.stderr)
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--upgrade", "--target", deps, "-r", requirements]
    env = dict(os.environ, PIP_ROOT_USER_ACTION="ignore")
    if subprocess.call(cmd, stdout=sys.stderr, env=env) != 0:
        sys.exit("fidelity: could not install Huey (%s); is pip available?" % " ".join(cmd))
    os.environ["QSIM_HUEY_INSTALLED"] = "1"
    os.execv(sys.executable, [sys.executable] + sys.argv)


sys.path.insert(0, HERE)


# ---------------------------------------------------------------------------------------------
# Reading what the processes recorded


def pid_alive(pid):
    """Whether a process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def pid_rss(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None


class Records:
    """The events the processes appended to RECORDS/<pid>.jsonl, read as they grow."""

    def __init__(self, folder):
        self.folder = folder
        self.offsets = {}
        self.events = []  # in the order read; per pid, in the order written
        self.by_pid = {}

    def poll(self):
        for name in sorted(os.listdir(self.folder)):
            path = os.path.join(self.folder, name)
            with open(path, "rb") as f:
                f.seek(self.offsets.get(name, 0))
                data = f.read()
            end = data.rfind(b"\n") + 1
            self.offsets[name] = self.offsets.get(name, 0) + end
            for line in data[:end].splitlines():
                ev = json.loads(line)
                self.events.append(ev)
                self.by_pid.setdefault(ev["pid"], []).append(ev)


# ---------------------------------------------------------------------------------------------
# The run


def run(sc, memory_scale=1.0, time_scale=1.0, glibc_default=False, timeout=120.0,
        keep=None):
    deps = ensure_deps()
    pool = sc["pool"]
    work = tempfile.mkdtemp(prefix="qsim-huey-")
    records_dir = os.path.join(work, "records")
    os.mkdir(records_dir)
    restart_lo, restart_hi = (x * time_scale / 1e9 for x in pool["restart_ns"])
    config = {
        "db": os.path.join(work, "queue.db"),
        "records": records_dir,
        "kind": pool["kind"],
        "base_memory": int(pool["base_memory"] * memory_scale),
        "max_memory": None if pool["max_memory"] is None
        else int(pool["max_memory"] * memory_scale),
        "max_tasks": pool["max_tasks"],
        "gc": pool["gc"],
        "tasks": {name: {
            "memory": int(t["memory"] * memory_scale),
            "retain": int(t["retain"] * memory_scale),
            "collectable": t["collectable"],
            "work": t["work_ns"] * time_scale / 1e9,
        } for name, t in sc["tasks"].items()},
    }
    config_path = os.path.join(work, "config.json")
    with open(config_path, "w") as f:
        json.dump(config, f)
    os.environ["QSIM_HUEY_CONFIG"] = config_path
    import qsim_huey_app as app

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([deps, HERE] + (
        [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["QSIM_HUEY_CONFIG"] = config_path
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if glibc_default:
        env.pop("MALLOC_MMAP_THRESHOLD_", None)
    else:
        env["MALLOC_MMAP_THRESHOLD_"] = MMAP_THRESHOLD
    # The health check replaces dead process workers and recycled threads; it runs every -c
    # seconds (checked every 0.1 s by the consumer's loop), so a restart waits 0 to -c s.
    check = max(restart_hi, 0.1)
    cmd = [sys.executable, "-m", "huey.bin.huey_consumer", "qsim_huey_app.huey",
           "-w", str(pool["workers"]), "-k", pool["kind"], "-c", repr(check),
           "-d", "0.02", "-m", "0.1", "-n", "-l", os.path.join(work, "consumer.log")]
    if pool["max_tasks"]:
        cmd += ["-M", str(pool["max_tasks"])]

    arrivals = [(t * time_scale / 1e9, name) for t, name in sc["arrivals"]]
    total = len(arrivals)
    enqueued = {"n": 0}
    type_of = {}

    def enqueue(i):
        _, name = arrivals[i]
        type_of[i] = name
        app.qsim_task(name, i)
        enqueued["n"] = i + 1

    i = 0
    while i < total and arrivals[i][0] == 0:
        enqueue(i)
        i += 1

    consumers = []  # (Popen, started at)

    def start_consumer():
        p = subprocess.Popen(cmd, env=env, cwd=work, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        consumers.append(p)
        return p

    t0 = time.time()
    consumer = start_consumer()
    records = Records(records_dir)
    sampled_peak = 0  # the pool's total RSS, sampled
    sampled_peak_at = None
    consumer_exits = []  # (time, status) of thread consumers that exited
    restart_due = None
    done_since = None
    rng = random.Random(0)
    end_rss = {}
    try:
        while True:
            now = time.time()
            if now - t0 > timeout:
                raise RuntimeError("the run did not end within %.0f s (see %s)" % (timeout, work))
            while i < total and t0 + arrivals[i][0] <= now:
                enqueue(i)
                i += 1
            records.poll()
            # The pool's RSS: every worker process (for a thread consumer, the consumer itself)
            # that recorded its start and is alive.
            live = [pid for pid, evs in records.by_pid.items()
                    if any(e["ev"] == "start" for e in evs) and pid_alive(pid)
                    and not any(e["ev"] == "exit" and e["cause"] != "max_tasks"
                                for e in evs)]
            total_rss = sum(pid_rss(pid) or 0 for pid in live)
            if total_rss > sampled_peak:
                sampled_peak, sampled_peak_at = total_rss, now - t0
            # A thread consumer that exited is restarted by this supervisor.
            if consumer is not None and consumer.poll() is not None:
                status = consumer.returncode
                if status != EXIT_MAX_MEMORY:
                    raise RuntimeError("the consumer exited with status %s (see %s)"
                                       % (status, work))
                consumer_exits.append((now - t0, status))
                consumer = None
                restart_due = now + rng.uniform(restart_lo, restart_hi)
            if consumer is None and restart_due is not None and now >= restart_due:
                consumer = start_consumer()
                restart_due = None
            state = summarize(records, pool, type_of)
            finished = (i == total and enqueued["n"] == total
                        and app.huey.pending_count() == 0
                        and state["in_flight"] == 0
                        and state["up"] == pool["workers"]
                        and consumer is not None)
            if finished:
                if done_since is None:
                    done_since = now
                elif now - done_since >= 0.3:
                    for pid in state["live_pids"]:
                        end_rss[pid] = pid_rss(pid)
                    break
            else:
                done_since = None
            time.sleep(0.005)
    finally:
        for p in consumers:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
    wall = time.time() - t0
    records.poll()
    result = report(sc, records, type_of, end_rss, sampled_peak, memory_scale, time_scale,
                    wall, consumer_exits, glibc_default)
    result["measured"]["pool_peak_at_s"] = sampled_peak_at
    if keep:
        shutil.copytree(work, keep, dirs_exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    return result


def summarize(records, pool, type_of):
    """Tasks begun, ended and in flight; workers up (started, not exited, alive)."""
    begun, ended = {}, set()
    up = 0
    live_pids = []
    for pid, evs in records.by_pid.items():
        alive = pid_alive(pid)
        slots = {}
        process_exited = False
        for e in evs:
            if e["ev"] == "begin":
                begun[e["task"]] = (pid, e)
            elif e["ev"] == "end":
                ended.add(e["task"])
            elif e["ev"] == "thread_start":
                slots[e["worker"]] = True
            elif e["ev"] == "exit":
                slots[e["worker"]] = False
                if e["cause"] == "max_memory" or pool["kind"] == "process":
                    process_exited = True
        if alive and not process_exited and any(e["ev"] == "start" for e in evs):
            up += sum(1 for v in slots.values() if v)
            live_pids.append(pid)
    in_flight = sum(1 for t, (pid, _) in begun.items()
                    if t not in ended and pid_alive(pid))
    return {"begun": begun, "ended": ended, "in_flight": in_flight, "up": up,
            "live_pids": live_pids}


def report(sc, records, type_of, end_rss, sampled_peak, mscale, tscale, wall,
           consumer_exits, glibc_default):
    pool = sc["pool"]
    unscale = 1.0 / mscale
    completed, lost = {}, {}
    restarts = {"max_memory": 0, "max_tasks": 0, "oom": 0}
    begun, ended = {}, {}
    processes = []
    for pid in sorted(records.by_pid, key=lambda p: records.by_pid[p][0]["t"]):
        evs = records.by_pid[pid]
        start = next((e for e in evs if e["ev"] == "start"), None)
        if start is None:
            continue
        proc = {"pid": pid, "worker": start["worker"], "started_s": start["t"],
                "bare_rss_bytes": start["bare"], "start_rss_bytes": start["rss"],
                "rss_after_tasks": [], "peak_rss_bytes": start["hwm"], "exit": None,
                "end_rss_bytes": end_rss.get(pid)}
        for e in evs:
            if e["ev"] == "begin":
                begun[e["task"]] = e
            elif e["ev"] == "end":
                ended[e["task"]] = e
                completed[e["type"]] = completed.get(e["type"], 0) + 1
                proc["rss_after_tasks"].append(e["rss"])
                proc["peak_rss_bytes"] = max(proc["peak_rss_bytes"], e["hwm"])
            elif e["ev"] == "exit":
                restarts[e["cause"]] += 1
                proc["peak_rss_bytes"] = max(proc["peak_rss_bytes"], e["hwm"])
                if e["cause"] == "max_memory" or pool["kind"] == "process":
                    proc["exit"] = {"cause": e["cause"], "t": e["t"]}
        processes.append(proc)
    for t, e in begun.items():
        if t not in ended:
            lost[e["type"]] = lost.get(e["type"], 0) + 1
    vanished = len(type_of) - len(ended) - sum(lost.values())

    # Restart delays: from an exit to the next start of the same worker (process pool) or of
    # the next consumer (thread pool); recycled threads are not timed.
    delays = []
    for k, proc in enumerate(processes):
        if proc["exit"] is None:
            continue
        later = [q for q in processes[k + 1:]
                 if pool["kind"] == "thread" or q["worker"] == proc["worker"]]
        if later:
            delays.append(round(later[0]["started_s"] - proc["exit"]["t"], 3))

    first_begin = min((e["t"] for e in begun.values()), default=0)
    last_end = max((e["t"] for e in ended.values()), default=first_begin)

    # Per worker (qsim's `pool/N` is Huey's Worker-N): a process pool's worker is each
    # process it had in turn; a thread pool's workers share the process, whose figures each
    # gets, as in qsim's report.
    workers_memory = []
    for w in range(pool["workers"]):
        huey_name = "Worker-%d" % (w + 1)
        mine = [p for p in processes if pool["kind"] == "thread" or p["worker"] == huey_name]
        workers_memory.append({
            "worker": "%s/%d" % (pool["name"], w + 1),
            "peak_rss_bytes": int(max((p["peak_rss_bytes"] for p in mine), default=0) * unscale),
            "end_rss_bytes": int(sum(p["end_rss_bytes"] or 0 for p in mine) * unscale),
            "rss_after_tasks": [[int(x * unscale) for x in p["rss_after_tasks"]] for p in mine],
        })
    live_end = sum(p["end_rss_bytes"] or 0 for p in processes)
    return {
        "scenario": sc["name"],
        "source": "huey",
        "completed": completed,
        "lost": lost,
        "unfinished": {"(dequeued, never begun)": vanished} if vanished > 0 else {},
        "pools": {pool["name"]: {
            "kind": pool["kind"],
            "peak_rss_bytes": max((w["peak_rss_bytes"] for w in workers_memory), default=0),
            "peak_total_bytes": int(sampled_peak * unscale),
            "end_total_bytes": int(live_end * unscale),
            "restarts": restarts,
            "workers_memory": workers_memory,
        }},
        "host": {"peak_rss_bytes": int(sampled_peak * unscale)},
        "measured": {
            "memory_scale": mscale,
            "time_scale": tscale,
            "allocator": "glibc default" if glibc_default
            else "MALLOC_MMAP_THRESHOLD_=" + MMAP_THRESHOLD,
            "wall_s": round(wall, 3),
            "makespan_s": round(last_end - first_begin, 3),
            "makespan_unscaled_s": round((last_end - first_begin) / tscale, 3),
            "vanished": vanished,
            "restart_delays_s": delays,
            "thread_consumer_exits": len(consumer_exits),
            "processes": [{k: v for k, v in p.items() if k not in ("started_s",)}
                          for p in processes],
        },
    }


# ---------------------------------------------------------------------------------------------
# Comparison with a prediction (the Python model, or qsim's JSON)


def compare(measured, predicted, tolerance_bytes):
    """What breaks the claims: counts and restarts exactly, memory within tolerance_bytes per
    process. Both sides have qsim's JSON shape."""
    problems = []
    pm = next(iter(measured["pools"].values()))
    pp = next(iter(predicted["pools"].values()))
    for key in ("completed", "lost"):
        a = {k: v for k, v in measured[key].items() if v}
        b = {k: v for k, v in predicted[key].items() if v}
        if a != b:
            problems.append("%s: real %s, predicted %s" % (key, a, b))
    if pm["restarts"] != pp["restarts"]:
        problems.append("restarts: real %s, predicted %s" % (pm["restarts"], pp["restarts"]))
    n = len(pm["workers_memory"]) if pm["kind"] == "process" else 1
    for key, tol in (("peak_rss_bytes", tolerance_bytes), ("peak_total_bytes", n * tolerance_bytes),
                     ("end_total_bytes", n * tolerance_bytes)):
        if abs(pm[key] - pp[key]) > tol:
            problems.append("pool %s: real %d, predicted %d" % (key, pm[key], pp[key]))
    for r, p in zip(pm["workers_memory"], pp["workers_memory"]):
        for key in ("peak_rss_bytes", "end_rss_bytes"):
            if abs(r[key] - p[key]) > tolerance_bytes:
                problems.append("%s %s: real %d, predicted %d"
                                % (r["worker"], key, r[key], p[key]))
        if pm["kind"] == "thread" and len(pm["workers_memory"]) > 1:
            # Which thread's task ends first, when two end together, is a race: each task's
            # figure then depends on it, the peak and end do not.
            continue
        ra = [x for life in r["rss_after_tasks"] for x in life]
        pa = [x for life in p["rss_after_tasks"] for x in life]
        if len(ra) != len(pa) or any(abs(x - y) > tolerance_bytes for x, y in zip(ra, pa)):
            problems.append("%s rss after each task: real %s, predicted %s"
                            % (r["worker"], mb(ra), mb(pa)))
    return problems


def mb(xs):
    return [round(x / 1e6, 2) for x in xs]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["run", "predict", "check", "install"])
    ap.add_argument("scenario", nargs="?")
    ap.add_argument("--memory-scale", type=float, default=1.0,
                    help="multiply every size by this in the real run (results are unscaled)")
    ap.add_argument("--time-scale", type=float, default=1.0,
                    help="multiply every duration by this in the real run")
    ap.add_argument("--glibc-default", action="store_true",
                    help="leave glibc's dynamic mmap threshold on (freed memory may stay)")
    ap.add_argument("--tolerance", default="3MB",
                    help="how far memory may be from the formula in `check` (default 3MB)")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--keep", help="copy the run's folder (queue, records, log) here")
    args = ap.parse_args(argv)
    if args.command == "install":
        print(ensure_deps())
        return 0
    if not args.scenario:
        ap.error("a scenario file is needed")
    ensure_deps()
    import model
    try:
        sc = model.load(args.scenario)
    except model.Unsupported as e:
        print("fidelity: %s: unsupported: %s" % (args.scenario, e), file=sys.stderr)
        return 2
    if args.command == "predict":
        print(json.dumps(model.predict(sc), indent=2))
        return 0
    measured = run(sc, args.memory_scale, args.time_scale, args.glibc_default, args.timeout,
                   args.keep)
    if args.command == "run":
        print(json.dumps(measured, indent=2))
        return 0
    pred = model.predict(sc)
    problems = compare(measured, pred, model.size(args.tolerance))
    print(json.dumps({"measured": measured, "predicted": pred, "problems": problems},
                     indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Scenario files for the Huey fidelity harness, and qsim's memory model written out in Python.

`load(path)` reads the subset of qsim's scenario format that a real Huey consumer can run (one
pool on the default queue, tasks made of fixed `work` steps, arrivals at fixed instants) and
refuses the rest with a message. `predict(scenario)` is the model of docs/huey-fidelity.md as a
small event loop: what qsim should print, computed independently, so that the harness can be
checked against the formula before (and apart from) qsim itself.
"""

import heapq
import re

try:
    import tomllib
except ImportError:  # Python < 3.11: fidelity.py installs tomli beside huey.
    import tomli as tomllib


class Unsupported(Exception):
    """A scenario that the real consumer cannot mirror."""


_SIZE_UNITS = [
    ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("tib", 1 << 40),
    ("kb", 10 ** 3), ("mb", 10 ** 6), ("gb", 10 ** 9), ("tb", 10 ** 12), ("b", 1),
]


def size(value):
    """"200MB", "1.5GB", "512KiB", or an integer of bytes, to bytes (as qsim reads them)."""
    if isinstance(value, bool):
        raise ValueError("expected a size, found %r" % value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    low = text.lower()
    for unit, scale in _SIZE_UNITS:
        if low.endswith(unit):
            number = text[: len(text) - len(unit)].strip()
            break
    else:
        number, scale = text, 1
    if not re.fullmatch(r"[0-9.]+", number):
        raise ValueError("expected a size such as \"200MB\", found %r" % value)
    if re.fullmatch(r"[0-9]+", number):
        return int(number) * scale
    return int(round(float(number) * scale))


_DURATION_UNITS = {"ns": 1, "us": 10 ** 3, "µs": 10 ** 3, "ms": 10 ** 6, "s": 10 ** 9,
                   "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9}


def duration_ns(value):
    """"250ms", "4s", "1.5s" or a number of seconds, to whole nanoseconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration, found %r" % value)
    if isinstance(value, (int, float)):
        return int(round(value * 10 ** 9))
    m = re.fullmatch(r"\s*([0-9_]*\.?[0-9_]+)\s*(ns|us|µs|ms|s|m|h)\s*", str(value))
    if not m:
        raise ValueError("expected a duration such as \"250ms\", found %r" % value)
    return int(round(float(m.group(1).replace("_", "")) * _DURATION_UNITS[m.group(2)]))


def fixed_or_uniform_ns(value, what):
    """A fixed duration, or a uniform distribution (which is what Huey's health check gives a
    restart): returns (low, high) in nanoseconds."""
    if isinstance(value, dict):
        if value.get("dist") != "uniform":
            raise Unsupported("%s: only a fixed duration or a uniform distribution" % what)
        return duration_ns(value["min"]), duration_ns(value["max"])
    d = duration_ns(value)
    return d, d


def load(path):
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    return parse(raw, default_name=str(path).rsplit("/", 1)[-1].rsplit(".", 1)[0])


def parse(raw, default_name="scenario"):
    if raw.get("host", {}).get("memory") is not None:
        raise Unsupported("[host] memory: the OOM killer is not reproduced by the harness")
    if raw.get("queue"):
        raise Unsupported("[[queue]]: the harness runs one Huey queue (the default queue)")
    pools = raw.get("pool", [])
    if len(pools) != 1:
        raise Unsupported("the harness runs exactly one [[pool]] (one consumer)")
    p = pools[0]
    if p.get("queues", ["default"]) != ["default"]:
        raise Unsupported("pool queues: only the default queue")
    restart = fixed_or_uniform_ns(p.get("restart", 0), "pool restart")
    pool = {
        "name": p.get("name", "default"),
        "workers": int(p["workers"]),
        "kind": p.get("kind", "thread"),
        "base_memory": size(p.get("base_memory", 0)),
        "max_memory": None if p.get("max_memory") is None else size(p["max_memory"]),
        "max_tasks": p.get("max_tasks"),
        "restart_ns": restart,
        "gc": p.get("gc", "none"),
    }
    tasks = {}
    for t in raw.get("task", []):
        name = t["name"]
        if t.get("queue", "default") != "default":
            raise Unsupported("task %s: only the default queue" % name)
        if t.get("acks_late"):
            raise Unsupported("task %s: acks_late (Huey delivers at most once)" % name)
        work = 0
        for step in t["steps"]:
            if set(step) != {"work"}:
                raise Unsupported("task %s: only work steps (found %s)" % (name, sorted(step)))
            if isinstance(step["work"], dict):
                raise Unsupported("task %s: only fixed work durations" % name)
            work += duration_ns(step["work"])
        memory = size(t.get("memory", 0))
        retain = t.get("retain", 0)
        retain = int(round(retain * memory)) if isinstance(retain, float) else size(retain)
        tasks[name] = {
            "memory": memory,
            "retain": retain,
            "collectable": float(t.get("collectable", 0)),
            "work_ns": work,
        }
    arrivals = []  # (time_ns, order, task type)
    for a in raw.get("arrival", []):
        if "at" in a:
            times = [duration_ns(x) for x in a["at"]]
        elif "every" in a and "count" in a and not isinstance(a["every"], dict):
            gap = duration_ns(a["every"])
            start = duration_ns(a.get("start", 0))
            times = [start + i * gap for i in range(int(a["count"]))]
        else:
            raise Unsupported("arrivals: only `at`, or a fixed `every` with a `count`")
        for t in sorted(times):
            arrivals.append((t, len(arrivals), a["task"]))
    arrivals.sort()
    return {
        "name": raw.get("name", default_name),
        "pool": pool,
        "tasks": tasks,
        "arrivals": [(t, name) for t, _, name in arrivals],
    }


def kept_after(pool, task):
    """What a task adds to its process's kept memory when it ends."""
    retain = task["retain"]
    if pool["gc"] == "after_task":
        return retain - int(round(retain * task["collectable"]))
    return retain


def predict(sc):
    """The model as an event loop over whole nanoseconds. Ties at one instant: task ends
    (worker order), then restarts, then arrivals; then idle workers take queued tasks, lowest
    worker first, in queue order. A restart takes the midpoint of its range."""
    pool, tasks = sc["pool"], sc["tasks"]
    n = pool["workers"]
    kind = pool["kind"]
    base = pool["base_memory"]
    restart = (pool["restart_ns"][0] + pool["restart_ns"][1]) // 2
    nproc = n if kind == "process" else 1

    def proc_of(w):
        return w if kind == "process" else 0

    procs = [{"kept": base, "running": 0, "down": False, "peak": base,
              "after_tasks": [[]], "exits": []} for _ in range(nproc)]
    workers = [{"task": None, "tasks": 0, "restarting_until": None} for _ in range(n)]
    queue = []
    completed, lost = {}, {}
    restarts = {"max_memory": 0, "max_tasks": 0, "oom": 0}
    ends = []  # heap of (end_ns, worker, task type, index)
    type_of = {}  # task index -> task type
    arrivals = list(sc["arrivals"])
    next_arrival = 0
    index = 0
    host_peak = pool_peak = sum(p["kept"] for p in procs)
    now = last = 0

    def rss(p):
        return 0 if p["down"] else p["kept"] + p["running"]

    def note_peaks():
        nonlocal host_peak, pool_peak
        total = sum(rss(p) for p in procs)
        host_peak = max(host_peak, total)
        pool_peak = max(pool_peak, total)
        for p in procs:
            p["peak"] = max(p["peak"], rss(p))

    while True:
        times = []
        if ends:
            times.append(ends[0][0])
        times += [w["restarting_until"] for w in workers if w["restarting_until"] is not None]
        if next_arrival < len(arrivals):
            times.append(arrivals[next_arrival][0])
        if not times:
            break
        now = min(times)
        # Task ends, in worker order.
        due = []
        while ends and ends[0][0] == now:
            due.append(heapq.heappop(ends))
        if any(workers[w]["task"] == idx for _, w, _, idx in due) \
                or now in [w["restarting_until"] for w in workers] \
                or (next_arrival < len(arrivals) and arrivals[next_arrival][0] == now):
            last = now  # not only the ends of tasks lost earlier
        for _, w, ttype, idx in sorted(due, key=lambda e: e[1]):
            if workers[w]["task"] != idx:
                continue  # lost when its process died
            spec = tasks[ttype]
            p = procs[proc_of(w)]
            p["running"] -= spec["memory"]
            p["kept"] += kept_after(pool, spec)
            workers[w]["task"] = None
            workers[w]["tasks"] += 1
            completed[ttype] = completed.get(ttype, 0) + 1
            p["after_tasks"][-1].append(rss(p))
            note_peaks()  # the process is at this RSS when it checks, exit or not
            if pool["max_memory"] is not None and rss(p) > pool["max_memory"]:
                restarts["max_memory"] += 1
                p["exits"].append("max_memory")
                members = [w] if kind == "process" else range(n)
                for v in members:
                    other = workers[v]["task"]
                    if other is not None:
                        lost_type = type_of[other]
                        lost[lost_type] = lost.get(lost_type, 0) + 1
                        workers[v]["task"] = None
                    workers[v]["restarting_until"] = now + restart
                p.update(kept=0, running=0, down=True)
            elif pool["max_tasks"] and workers[w]["tasks"] >= pool["max_tasks"]:
                restarts["max_tasks"] += 1
                workers[w]["restarting_until"] = now + restart
                if kind == "process":
                    p["exits"].append("max_tasks")
                    p.update(kept=0, running=0, down=True)
        # Restarts.
        for w in workers:
            if w["restarting_until"] == now:
                w["restarting_until"] = None
                w["tasks"] = 0
        for i, p in enumerate(procs):
            if p["down"] and all(workers[v]["restarting_until"] is None
                                 for v in range(n) if proc_of(v) == i):
                p.update(kept=base, running=0, down=False)
                p["after_tasks"].append([])
        # Arrivals.
        while next_arrival < len(arrivals) and arrivals[next_arrival][0] == now:
            queue.append((index, arrivals[next_arrival][1]))
            index += 1
            next_arrival += 1
        # Idle workers take tasks, lowest first.
        for w, wk in enumerate(workers):
            if not queue:
                break
            if wk["task"] is None and wk["restarting_until"] is None \
                    and not procs[proc_of(w)]["down"]:
                idx, ttype = queue.pop(0)
                type_of[idx] = ttype
                wk["task"] = idx
                procs[proc_of(w)]["running"] += tasks[ttype]["memory"]
                heapq.heappush(ends, (now + tasks[ttype]["work_ns"], w, ttype, idx))
        note_peaks()

    pname = pool["name"]
    workers_memory = []
    for w in range(n):
        p = procs[proc_of(w)]
        workers_memory.append({
            "worker": "%s/%d" % (pname, w + 1),
            "peak_rss_bytes": p["peak"],
            "end_rss_bytes": rss(p),
            "rss_after_tasks": p["after_tasks"],
        })
    return {
        "scenario": sc["name"],
        "source": "model.py",
        "completed": completed,
        "lost": lost,
        "unfinished": {"queued": len(queue)} if queue else {},
        "end_time_s": last / 1e9,
        "pools": {pname: {
            "kind": kind,
            "peak_rss_bytes": max(p["peak"] for p in procs),
            "peak_total_bytes": pool_peak,
            "end_total_bytes": sum(rss(p) for p in procs),
            "restarts": restarts,
            "workers_memory": workers_memory,
        }},
        "host": {"peak_rss_bytes": host_peak},
    }

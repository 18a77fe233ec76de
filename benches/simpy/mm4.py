# M/M/4 at rho = 0.8 in SimPy, the yardstick of qsim's speed (README, "Benchmarks"):
# Poisson arrivals at 3.2/s, exponential service with a mean of 1 s, 4 servers, 10^6 customers.
# The same model in qsim:
#
#   qsim run scenarios/mmc.toml --set arrival.0.rate=3.2 --set arrival.0.count=1000000
#
# Two versions of the SimPy side:
#
#   python3 benches/simpy/mm4.py           the bare model: prints the mean wait in the queue
#   python3 benches/simpy/mm4.py --report  the same model computing what `qsim run` prints:
#                                          per task type arrived, completed, latency (queued to
#                                          finished) p50, p95, p99 and max; the pool's busy and
#                                          idle share; the queue's longest length (seen at each
#                                          arrival, as qsim sees it) and its length at the end
#
# Run with SimPy 4.1.2 (pip install simpy==4.1.2) and time the whole process, for instance
#
#   /usr/bin/time -v python3 benches/simpy/mm4.py --report
#   /usr/bin/time -v target/release/qsim run scenarios/mmc.toml \
#       --set arrival.0.rate=3.2 --set arrival.0.count=1000000
#
# (qsim built with `cargo build --release`).
import random, sys, simpy


def simulate(job, n, lam, c, rng):
    """Runs n Poisson arrivals at rate lam of job(env, servers) on c servers; returns both."""
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    def source(env):
        for _ in range(n):
            yield env.timeout(rng.expovariate(lam))
            env.process(job(env, servers))
    env.process(source(env))
    env.run()
    return env, servers


def bare(n=1_000_000, lam=3.2, mu=1.0, c=4, seed=1):
    rng = random.Random(seed)
    waits = []
    def job(env, servers):
        t0 = env.now
        with servers.request() as req:
            yield req
            waits.append(env.now - t0)
            yield env.timeout(rng.expovariate(mu))
    simulate(job, n, lam, c, rng)
    print(sum(waits) / len(waits))


def report(n=1_000_000, lam=3.2, mu=1.0, c=4, seed=1):
    rng = random.Random(seed)
    latencies = []
    busy = [0.0]
    longest = [0]
    def job(env, servers):
        t0 = env.now
        with servers.request() as req:
            # The queue's length as this task joins it, counting the task itself when no
            # worker is free (qsim counts the tasks queued at each arrival).
            queued = len(servers.queue)
            if queued > longest[0]:
                longest[0] = queued
            yield req
            service = rng.expovariate(mu)
            yield env.timeout(service)
            busy[0] += service
        latencies.append(env.now - t0)
    env, servers = simulate(job, n, lam, c, rng)
    end = env.now
    latencies.sort()
    def quantile(q):
        # The smallest latency with at least a share q of all at or below it.
        return latencies[max(0, min(len(latencies) - 1, -(-int(q * len(latencies)) // 1) - 1))]
    print(f"completed at {end:.3f}s")
    print("tasks  arrived  completed     p50    p95     p99      max")
    print(f"job    {n}    {len(latencies)}  {quantile(0.5):.3f}s  {quantile(0.95):.3f}s  "
          f"{quantile(0.99):.3f}s  {latencies[-1]:.3f}s")
    share = busy[0] / (c * end)
    print(f"pools  workers  busy {share:.0%}  idle {1 - share:.0%}")
    print(f"queues max length {longest[0]}  queued at end {len(servers.queue)}")


if __name__ == "__main__":
    report() if "--report" in sys.argv[1:] else bare()

# M/M/4 at rho = 0.8 in SimPy, the yardstick of qsim's speed (README, "Benchmarks"):
# Poisson arrivals at 3.2/s, exponential service with a mean of 1 s, 4 servers, 10^6 customers;
# prints the mean wait in the queue. The same model in qsim:
#
#   qsim run scenarios/mmc.toml --set arrival.0.rate=3.2 --set arrival.0.count=1000000
#
# Run with SimPy 4.1.2 (pip install simpy==4.1.2) and time the whole process, for instance
#
#   /usr/bin/time -v python3 benches/simpy/mm4.py
#   /usr/bin/time -v target/release/qsim run scenarios/mmc.toml \
#       --set arrival.0.rate=3.2 --set arrival.0.count=1000000
#
# (qsim built with `cargo build --release`).
import random, simpy
def main(n=1_000_000, lam=3.2, mu=1.0, c=4, seed=1):
    rng = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    waits = []
    def job(env):
        t0 = env.now
        with servers.request() as req:
            yield req
            waits.append(env.now - t0)
            yield env.timeout(rng.expovariate(mu))
    def source(env):
        for _ in range(n):
            yield env.timeout(rng.expovariate(lam))
            env.process(job(env))
    env.process(source(env))
    env.run()
    print(sum(waits) / len(waits))
main()

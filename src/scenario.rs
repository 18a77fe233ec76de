//! The validated scenario: what the engine, the explorer and the reports see.
//!
//! A scenario file is read in two layers. [`mod@file`] is the serde shape of the TOML, close to what
//! the user wrote and carrying source spans; [`validate`] turns it into the [`Scenario`] below, in
//! which every name is resolved to an index, every duration is an integer number of ticks
//! (nanoseconds), every `call` is inlined into its caller, and nothing can be wrong any more. The
//! engine never sees a name it has to look up or a value it has to check.
//!
//! Ids are plain indices into the scenario's vectors (`QueueId` into `queues`, and so on), in the
//! order the file declares them; that order is also the order of every report.

pub mod de;
pub mod duration;
pub mod file;
pub mod recorded;
pub mod set;
pub mod size;
pub mod step;
pub mod validate;

use crate::rng::SimRng;

pub use crate::error::Warning;
pub use recorded::{arrivals_from_csv, Recorded};
pub use size::{format_size, parse_size};
pub use step::{OnTimeout, Step, StepKind};
pub use validate::{load, load_with_warnings, parse, parse_with_warnings};

/// Simulated time: an integer number of nanoseconds since the start of the run.
pub type Tick = u64;

/// Ticks per second of simulated time.
pub const TICKS_PER_SECOND: Tick = 1_000_000_000;

/// Index of a queue in [`Scenario::queues`].
pub type QueueId = usize;
/// Index of a pool in [`Scenario::pools`].
pub type PoolId = usize;
/// Index of a task type in [`Scenario::tasks`].
pub type TaskId = usize;

/// A whole, validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Display name (the file's `name`, else the file stem).
    pub name: String,
    /// Free text from the file's `description`.
    pub description: String,
    /// Seed of every random draw of a run (default 0).
    pub seed: u64,
    /// Stop the run at this instant (default: run until nothing is left to happen).
    pub horizon: Option<Tick>,
    /// How a plain `run` breaks ties between actions due at the same instant.
    pub ties: Ties,
    /// Every queue; `queues[0]` is the queue named `default`, which always exists.
    pub queues: Vec<Queue>,
    /// Every pool of workers, in file order.
    pub pools: Vec<Pool>,
    /// Every task type, in file order.
    pub tasks: Vec<TaskType>,
    /// Every arrival stream, in file order (`--set arrival.N...` counts from 0 in this order).
    pub arrivals: Vec<Arrival>,
    /// The machine the pools share (`[host]`).
    pub host: Host,
}

/// The machine every pool runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Host {
    /// Memory of the machine, in bytes: when the resident memory of all processes together
    /// goes above it, the OOM killer kills the process with the most. `None`: not modelled.
    pub memory: Option<u64>,
}

/// How a run orders actions that are due at the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Ties {
    /// The documented canonical rule: events in scheduling order, then idle workers (lowest
    /// index first) take tasks, then the tasks just taken run their instantaneous steps.
    #[default]
    Canonical,
    /// Every tie is broken by a draw from the run's generator (what `explore --mode random`
    /// uses; `--set ties=random` makes `run` do the same).
    Random,
}

/// A queue of tasks waiting for a worker.
#[derive(Clone, Debug, PartialEq)]
pub struct Queue {
    /// The queue's name.
    pub name: String,
    /// Which queued task a worker takes next.
    pub discipline: Discipline,
    /// The pools that consume this queue (derived from the pools' `queues`).
    pub consumers: Vec<PoolId>,
}

/// Which queued task is taken next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discipline {
    /// First in, first out; priorities are ignored.
    Fifo,
    /// Last in, first out.
    Lifo,
    /// Highest priority first, first in first out among equals.
    Priority,
}

impl Discipline {
    /// The discipline's name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Discipline::Fifo => "fifo",
            Discipline::Lifo => "lifo",
            Discipline::Priority => "priority",
        }
    }
}

/// A consumer: its workers, the queues they take from, and the life of its processes.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// The pool's name.
    pub name: String,
    /// Number of workers (at least 1).
    pub workers: u32,
    /// Queues consumed, in order of preference: an idle worker takes from the first non-empty one.
    pub queues: Vec<QueueId>,
    /// Whether the workers are threads of one process or processes of their own.
    pub kind: PoolKind,
    /// Resident memory of a fresh process, in bytes.
    pub base_memory: u64,
    /// Checked after each task: a process whose resident memory is above it exits and is
    /// restarted.
    pub max_memory: Option<u64>,
    /// A worker is recycled after this many tasks.
    pub max_tasks: Option<u32>,
    /// From an exit until the replacement takes work.
    pub restart: Duration,
    /// Whether an explicit garbage collection runs after each task.
    pub gc: Gc,
}

impl Pool {
    /// A pool of `workers` taking from `queues`, with nothing of memory modelled: threads of
    /// one process of no size, never restarted.
    pub fn new(name: impl Into<String>, workers: u32, queues: Vec<QueueId>) -> Pool {
        Pool {
            name: name.into(),
            workers,
            queues,
            kind: PoolKind::Thread,
            base_memory: 0,
            max_memory: None,
            max_tasks: None,
            restart: Duration::Fixed(0),
            gc: Gc::None,
        }
    }

    /// How many processes run its workers: one for a thread pool, one per worker for a process
    /// pool (the engine's model numbers them pool by pool, in this order).
    pub fn processes(&self) -> u32 {
        match self.kind {
            PoolKind::Thread => 1,
            PoolKind::Process => self.workers,
        }
    }

    /// Whether a worker of this pool can exit or be recycled (`max_memory`, `max_tasks`).
    pub fn restarts(&self) -> bool {
        self.max_memory.is_some() || self.max_tasks.is_some()
    }
}

/// How a pool's workers are run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PoolKind {
    /// Threads of one process: they share its memory, and die with it.
    #[default]
    Thread,
    /// A process per worker.
    Process,
}

impl PoolKind {
    /// The kind's name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Thread => "thread",
            PoolKind::Process => "process",
        }
    }
}

/// When a pool's processes collect garbage explicitly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Gc {
    /// Never: the collectable share of retained memory stays.
    #[default]
    None,
    /// After each task: the collectable share of what the task retained is released.
    AfterTask,
}

/// A kind of task, with the steps every instance runs.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskType {
    /// The task type's name.
    pub name: String,
    /// The queue its instances are put on.
    pub queue: QueueId,
    /// Priority on a `priority` queue (higher first).
    pub priority: i32,
    /// Steps, with every `call` already inlined (never empty after inlining a non-empty call).
    pub steps: Vec<Step>,
    /// Memory held while it runs (from the take to its end), in bytes.
    pub memory: u64,
    /// Memory its process keeps after it ends, in bytes.
    pub retain: u64,
    /// How much of `retain` an explicit garbage collection releases, in bytes.
    pub collectable: u64,
    /// Whether it is re-queued (rather than lost) when its process dies under it.
    pub acks_late: bool,
}

impl TaskType {
    /// A task type with these steps and no memory.
    pub fn new(
        name: impl Into<String>,
        queue: QueueId,
        priority: i32,
        steps: Vec<Step>,
    ) -> TaskType {
        TaskType {
            name: name.into(),
            queue,
            priority,
            steps,
            memory: 0,
            retain: 0,
            collectable: 0,
            acks_late: false,
        }
    }

    /// What its process keeps after it ends, in a pool with this `gc`.
    pub fn kept(&self, gc: Gc) -> u64 {
        match gc {
            Gc::None => self.retain,
            Gc::AfterTask => self.retain - self.collectable,
        }
    }

    /// Whether some wait of the task has no timeout: such a task can hold its worker for ever.
    pub fn waits_for_ever(&self) -> bool {
        self.steps.iter().any(|s| match s {
            Step::Wait { timeout, .. } => timeout.is_none(),
            Step::Work(_) | Step::Spawn { .. } => false,
        })
    }
}

/// A duration: fixed, or drawn from a distribution each time it is used.
#[derive(Clone, Debug, PartialEq)]
pub enum Duration {
    /// Always this long.
    Fixed(Tick),
    /// Exponential with this mean.
    Exp {
        /// Mean.
        mean: Tick,
    },
    /// Uniform between `min` and `max` inclusive.
    Uniform {
        /// Lower bound.
        min: Tick,
        /// Upper bound (at least `min`).
        max: Tick,
    },
    /// Normal, truncated at 0 (negative draws are drawn again).
    Normal {
        /// Mean.
        mean: Tick,
        /// Standard deviation.
        sd: Tick,
    },
    /// Log-normal with this median and shape `sigma` (the standard deviation of the log).
    LogNormal {
        /// Median.
        median: Tick,
        /// Shape.
        sigma: f64,
    },
}

impl Duration {
    /// One draw, in ticks.
    // Fixed and exponential durations, the common ones, are drawn inline at the call site;
    // the others in `sample_other`, whose registers the common case then does not save.
    #[inline(always)]
    pub fn sample(&self, rng: &mut SimRng) -> Tick {
        match *self {
            Duration::Fixed(t) => t,
            Duration::Exp { mean } => drawn_ticks(ticks_as_f64(mean) * rng.standard_exp()),
            _ => self.sample_other(rng),
        }
    }

    /// [`sample`](Self::sample) for the distributions other than fixed and exponential.
    #[inline(never)]
    fn sample_other(&self, rng: &mut SimRng) -> Tick {
        match *self {
            Duration::Fixed(t) => t,
            Duration::Exp { mean } => drawn_ticks(ticks_as_f64(mean) * rng.standard_exp()),
            Duration::Uniform { min, max } => {
                min + (rng.uniform() * (max - min + 1) as f64) as Tick
            }
            Duration::Normal { mean, sd } => {
                // Truncation by rejection; a distribution with almost no mass above 0 falls back
                // to 0 rather than looping for ever.
                for _ in 0..64 {
                    let x = mean as f64 + sd as f64 * rng.standard_normal();
                    if x >= 0.0 {
                        return to_ticks(x);
                    }
                }
                0
            }
            Duration::LogNormal { median, sigma } => {
                to_ticks(median as f64 * libm::exp(sigma * rng.standard_normal()))
            }
        }
    }

    /// The mean of the distribution, in ticks (for a truncated normal, the untruncated mean).
    pub fn mean(&self) -> Tick {
        match *self {
            Duration::Fixed(t) => t,
            Duration::Exp { mean } => mean,
            Duration::Uniform { min, max } => min + (max - min) / 2,
            Duration::Normal { mean, .. } => mean,
            Duration::LogNormal { median, sigma } => {
                to_ticks(median as f64 * libm::exp(sigma * sigma / 2.0))
            }
        }
    }

    /// True when every draw is the same value.
    pub fn is_fixed(&self) -> bool {
        matches!(self, Duration::Fixed(_))
    }

    /// The largest value a draw can take, in ticks (saturating at `Tick::MAX`).
    ///
    /// Exponential, normal and log-normal distributions have no upper bound in theory, but
    /// [`sample`](Self::sample) draws from [`SimRng`], whose uniform draws have 53 bits: a
    /// standard exponential draw (a ziggurat whose tail is `R - ln(1 - u)`, `R` = 7.697) is then
    /// at most `R + 53 ln 2` (44.43), and a standard normal one (Box–Muller) at most
    /// `sqrt(2 × 53 ln 2)` (8.58) in size. Validation
    /// uses these bounds to prove that a run without a horizon cannot overflow the clock.
    pub fn max_draw(&self) -> Tick {
        match *self {
            Duration::Fixed(t) => t,
            // `min + floor(u × (max − min + 1))` in f64; the rounding of the product can add a
            // little for huge ranges, never more than one part in 2^52.
            Duration::Uniform { min, max } => max.saturating_add(((max - min) >> 52) + 1),
            Duration::Exp { mean } => ceil_ticks(mean as f64 * STANDARD_EXP_MAX),
            Duration::Normal { mean, sd } => {
                ceil_ticks(mean as f64 + sd as f64 * STANDARD_NORMAL_MAX)
            }
            Duration::LogNormal { median, sigma } => {
                ceil_ticks(median as f64 * libm::exp(sigma * STANDARD_NORMAL_MAX))
            }
        }
    }
}

/// An upper bound on a standard exponential draw from [`SimRng`]: 44.5, above its ziggurat's
/// largest draw, `R - ln(2^-53)` = 44.434.
const STANDARD_EXP_MAX: f64 = SimRng::STANDARD_EXP_MAX;

/// An upper bound on the size of a standard normal draw from [`SimRng`] (Box–Muller, `1 - u`
/// at least 2^-53): `sqrt(-2 ln(2^-53))` = `sqrt(2 × 36.737)` is 8.572.
const STANDARD_NORMAL_MAX: f64 = 8.6;

/// `t as f64`, through `i64` (one instruction on x86-64) for every duration a scenario can
/// write (at most 2^62).
#[inline(always)]
fn ticks_as_f64(t: Tick) -> f64 {
    if t <= i64::MAX as Tick {
        t as i64 as f64
    } else {
        t as f64
    }
}

fn ceil_ticks(x: f64) -> Tick {
    to_ticks(x.ceil())
}

/// A drawn duration in ticks, rounded to the nearest tick by adding a half and truncating:
/// [`to_ticks`] but for a draw within one rounding step below a half tick, which goes up. Two
/// instructions instead of four in a chain each draw waits on (the agenda orders the timer by
/// it at once): `qsim run` of M/M/4 is 4% faster. Every draw stays a function of the random
/// stream alone, and a tick is a nanosecond.
#[inline(always)]
fn drawn_ticks(x: f64) -> Tick {
    /// 2^52: below it, a half added is exact up to the last bit.
    const EXACT: f64 = (1u64 << 52) as f64;
    if x > 0.0 && x < EXACT {
        return (x + 0.5) as i64 as Tick;
    }
    to_ticks_outside_exact(x)
}

#[inline(always)]
fn to_ticks(x: f64) -> Tick {
    /// 2^53: below it, the conversions through `i64` are single instructions and exact.
    const EXACT: f64 = (1u64 << 53) as f64;
    if x > 0.0 && x < EXACT {
        // As below, through `i64`, whose conversions the processor does in one instruction
        // (those of `u64` take several on x86-64).
        let whole = x as i64;
        return (whole + i64::from(x - whole as f64 >= 0.5)) as Tick;
    }
    to_ticks_outside_exact(x)
}

/// [`to_ticks`] of 0 and below, and from 2^53 on.
#[inline(never)]
fn to_ticks_outside_exact(x: f64) -> Tick {
    if x <= 0.0 {
        0
    } else if x >= Tick::MAX as f64 {
        Tick::MAX
    } else {
        // `x.round() as Tick`, without the call to `round` (this build cannot assume the
        // processor's rounding instruction): below 2^53 the fraction `x - trunc(x)` is exact,
        // and from 2^53 on `x` is a whole number; halves round up, as `round` does.
        let whole = x as Tick;
        whole + Tick::from(x - whole as f64 >= 0.5)
    }
}

/// A stream of arrivals of one task type from outside the system.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrival {
    /// The task type that arrives.
    pub task: TaskId,
    /// When.
    pub pattern: ArrivalPattern,
}

/// When the arrivals of a stream happen.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrivalPattern {
    /// At these instants (sorted, duplicates allowed).
    At(Vec<Tick>),
    /// A renewal stream: the first arrival at `start` (for `every`) or one gap after `start`
    /// (for `rate`, so that a Poisson stream has no arrival exactly at `start`), then one every
    /// `gap`; `count` arrivals in all, or unbounded (only with a horizon).
    Stream {
        /// Start of the stream.
        start: Tick,
        /// Time between arrivals (`every`), or exponential with mean `1/rate` (`rate`).
        gap: Duration,
        /// Whether the first arrival comes one gap after `start` (Poisson) or at `start`.
        first_after_gap: bool,
        /// Number of arrivals, or `None` for unbounded.
        count: Option<u64>,
    },
}

impl ArrivalPattern {
    /// The number of arrivals, or `None` when unbounded.
    pub fn count(&self) -> Option<u64> {
        match self {
            ArrivalPattern::At(times) => Some(times.len() as u64),
            ArrivalPattern::Stream { count, .. } => *count,
        }
    }
}

impl Scenario {
    /// The queue's index by name.
    pub fn queue_id(&self, name: &str) -> Option<QueueId> {
        self.queues.iter().position(|q| q.name == name)
    }

    /// The pool's index by name.
    pub fn pool_id(&self, name: &str) -> Option<PoolId> {
        self.pools.iter().position(|p| p.name == name)
    }

    /// The task type's index by name.
    pub fn task_id(&self, name: &str) -> Option<TaskId> {
        self.tasks.iter().position(|t| t.name == name)
    }

    /// True when every arrival stream is finite.
    pub fn arrivals_are_finite(&self) -> bool {
        self.arrivals.iter().all(|a| a.pattern.count().is_some())
    }

    /// The same scenario with every duration, gap and timeout replaced by `f` of it.
    pub fn map_durations(&self, f: impl Fn(&Duration) -> Duration) -> Scenario {
        let mut s = self.clone();
        for step in s.tasks.iter_mut().flat_map(|t| &mut t.steps) {
            step.for_each_duration(|d| *d = f(d));
        }
        for arrival in &mut s.arrivals {
            if let ArrivalPattern::Stream { gap, .. } = &mut arrival.pattern {
                *gap = f(gap);
            }
        }
        for pool in &mut s.pools {
            pool.restart = f(&pool.restart);
        }
        s
    }

    /// Whether processes can exit, be recycled or be killed: some pool has `max_memory` or
    /// `max_tasks`, or the host has a memory size (the OOM killer). Such a scenario's workers
    /// have a life beyond the task they hold, tasks can be lost or run again, and the state
    /// graph can have cycles.
    pub fn has_lifecycle(&self) -> bool {
        self.host.memory.is_some() || self.pools.iter().any(Pool::restarts)
    }

    /// Whether memory is modelled at all: some pool has a base memory or a threshold, some
    /// task holds or keeps memory, or the host has a size.
    pub fn models_memory(&self) -> bool {
        self.has_lifecycle()
            || self.pools.iter().any(|p| p.base_memory > 0)
            || self.tasks.iter().any(|t| t.memory > 0 || t.retain > 0)
    }

    /// The scenario as `explore --timing exact` sees it: every distribution replaced by its mean,
    /// so that the only orders left open are those of actions due at the same instant.
    pub fn with_mean_durations(&self) -> Scenario {
        self.map_durations(|d| Duration::Fixed(d.mean()))
    }

    /// The scenario as `explore` sees it under "any timing": every duration zero and no horizon,
    /// so every pending event is due at once and the explorer may fire them in any order.
    /// Explicit `at` instants collapse too; the arrivals of one stream keep their order.
    pub fn with_any_timing(&self) -> Scenario {
        let mut s = self.map_durations(|_| Duration::Fixed(0));
        s.horizon = None;
        for arrival in &mut s.arrivals {
            match &mut arrival.pattern {
                ArrivalPattern::At(times) => times.iter_mut().for_each(|t| *t = 0),
                ArrivalPattern::Stream { start, .. } => *start = 0,
            }
        }
        s
    }
}

/// Formats ticks as a short human duration: `0s`, `36s`, `1.5s`, `250ms`, `2m30s`.
pub fn format_ticks(t: Tick) -> String {
    let ns = t;
    if ns == 0 {
        return "0s".into();
    }
    if ns < TICKS_PER_SECOND {
        if ns.is_multiple_of(1_000_000) {
            return format!("{}ms", ns / 1_000_000);
        }
        if ns.is_multiple_of(1_000) {
            return format!("{}us", ns / 1_000);
        }
        return format!("{ns}ns");
    }
    // From a second up: hours, minutes and seconds, the seconds to the millisecond (rounded
    // without adding first, which would overflow near the end of the clock).
    let ms = ns / 1_000_000 + u64::from(ns % 1_000_000 >= 500_000);
    let (secs, frac) = (ms / 1000, ms % 1000);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let fraction = if frac == 0 {
        String::new()
    } else {
        format!(".{frac:03}").trim_end_matches('0').to_string()
    };
    match (h, m) {
        (0, 0) => format!("{s}{fraction}s"),
        (0, m) => format!("{m}m{s:02}{fraction}s"),
        (h, m) if s == 0 && frac == 0 => format!("{h}h{m:02}m"),
        (h, m) => format!("{h}h{m:02}m{s:02}{fraction}s"),
    }
}

/// Ticks as seconds, for JSON and CSV.
pub fn ticks_to_secs(t: Tick) -> f64 {
    t as f64 / TICKS_PER_SECOND as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A drawn duration is rounded as `to_ticks` rounds, but where it lies within one rounding
    /// step below a half tick; out of range it is `to_ticks`'s.
    #[test]
    fn drawn_ticks_round_to_the_nearest_tick() {
        let mut rng = SimRng::new(3);
        let mut values: Vec<f64> = vec![-1.0, 0.0, 0.5, 1.5, 2.5, 1e15 + 0.5, 4503599627370495.5];
        values.extend([4503599627370496.0, 9007199254740992.0, 1e300, f64::INFINITY]);
        for _ in 0..200_000 {
            let scale = [1.0, 1e3, 1e9, 1e12, 1e15][rng.below(5)];
            values.push(rng.uniform() * scale);
        }
        let mut differ = 0;
        for x in values {
            let (drawn, exact) = (drawn_ticks(x), to_ticks(x));
            if drawn != exact {
                // Only just below a half, and one tick up.
                assert_eq!(drawn, exact + 1, "{x:e}");
                assert!((x - x.floor() - 0.5).abs() <= x * f64::EPSILON, "{x:e}");
                differ += 1;
            }
        }
        assert!(differ <= 1, "{differ} draws rounded otherwise");
    }

    /// `to_ticks` rounds as `f64::round` does, halves and the edges of exactness included.
    #[test]
    fn to_ticks_rounds_like_round() {
        let reference = |x: f64| {
            if x <= 0.0 {
                0
            } else if x >= Tick::MAX as f64 {
                Tick::MAX
            } else {
                x.round() as Tick
            }
        };
        let mut values = vec![
            -1.0,
            0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            4503599627370495.5,
            4503599627370496.0,
            9007199254740991.0,
            9007199254740992.0,
            9223372036854775808.0,
            18446744073709549568.0,
            Tick::MAX as f64,
            f64::INFINITY,
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits((x >> 2) | 0x3800_0000_0000_0000);
            values.extend([v, v.floor() + 0.5, v.next_up(), v.next_down()]);
        }
        for v in values {
            assert_eq!(to_ticks(v), reference(v), "{v:e}");
        }
    }

    #[test]
    fn formats_ticks_readably() {
        assert_eq!(format_ticks(0), "0s");
        assert_eq!(format_ticks(36 * TICKS_PER_SECOND), "36s");
        assert_eq!(format_ticks(250_000_000), "250ms");
        assert_eq!(format_ticks(150 * TICKS_PER_SECOND), "2m30s");
        assert_eq!(format_ticks(1_500_000_000), "1.5s");
        assert_eq!(format_ticks(70 * TICKS_PER_SECOND), "1m10s");
        assert_eq!(format_ticks(3600 * TICKS_PER_SECOND), "1h00m");
        assert_eq!(format_ticks(3661 * TICKS_PER_SECOND), "1h01m01s");
        assert_eq!(format_ticks(6_634_410_000_000), "1h50m34.41s");
        assert_eq!(format_ticks(10_250_000_000), "10.25s");
        // The end of the clock does not wrap to 0s (issue 14).
        assert_eq!(format_ticks(Tick::MAX), "5124095h34m33.71s");
    }

    #[test]
    fn draws_stay_below_their_maximum() {
        let dists = [
            Duration::Fixed(7),
            Duration::Uniform { min: 3, max: 9 },
            Duration::Exp { mean: 1_000 },
            Duration::Normal {
                mean: 1_000,
                sd: 400,
            },
            Duration::LogNormal {
                median: 1_000,
                sigma: 1.5,
            },
        ];
        let mut rng = SimRng::new(3);
        for d in &dists {
            let max = d.max_draw();
            for _ in 0..100_000 {
                assert!(d.sample(&mut rng) <= max, "{d:?}");
            }
        }
        assert_eq!(Duration::Uniform { min: 3, max: 9 }.max_draw(), 10);
        assert_eq!(Duration::Exp { mean: 10 }.max_draw(), 445);
        assert_eq!(Duration::Normal { mean: 10, sd: 10 }.max_draw(), 96);
        // The bounds hold at the extreme uniform draws of SimRng (53 bits).
        let u_max = 1.0 - 1.0 / (1u64 << 53) as f64;
        assert!(7.70 - libm::log(1.0 - u_max) <= STANDARD_EXP_MAX);
        assert!(libm::sqrt(-2.0 * libm::log(1.0 - u_max)) <= STANDARD_NORMAL_MAX);
    }

    #[test]
    fn samples_are_seeded_and_have_roughly_the_right_mean() {
        let d = Duration::Exp {
            mean: TICKS_PER_SECOND,
        };
        let mut a = SimRng::new(5);
        let mut b = SimRng::new(5);
        let n = 200_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let x = d.sample(&mut a);
            assert_eq!(x, d.sample(&mut b));
            sum += x as f64;
        }
        let mean = sum / n as f64 / TICKS_PER_SECOND as f64;
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn lognormal_mean_matches_formula() {
        let d = Duration::LogNormal {
            median: TICKS_PER_SECOND,
            sigma: 0.8,
        };
        let mut r = SimRng::new(9);
        let n = 400_000;
        let sum: f64 = (0..n).map(|_| d.sample(&mut r) as f64).sum();
        let mean = sum / n as f64;
        let expected = d.mean() as f64;
        assert!((mean - expected).abs() / expected < 0.02);
    }
}

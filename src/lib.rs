//! qsim: will this task-queue workload deadlock?
//!
//! qsim simulates task-queue workloads (Huey, Celery, RQ, Dramatiq, Sidekiq, thread pools)
//! deterministically and answers three questions about them. Does this workload finish, or do
//! its workers deadlock? Can *any* timing deadlock it, and if so, which one? And how likely is a
//! deadlock under its own distributions? The deadlock it is built for is the classic one: parent
//! tasks that queue subtasks and then block until they are done, until every worker is held by
//! a parent waiting for children that no worker is left to run.
//!
//! The `qsim` command line (`qsim run`, `qsim explore`, `qsim replay`) is a thin layer over
//! this library, so everything it does can also be done from Rust, for instance in your own
//! tests.
//!
//! # A scenario
//!
//! A workload is a TOML [`Scenario`]: pools of workers, the queues they take from, task types
//! with their steps (`work`, `spawn`, `wait`, `call`), and arrivals. This is the incident that
//! started qsim: two parents arrive together on a pool of 2 workers, and each queues 10
//! subtasks of 4s and waits for them.
//!
//! ```toml
//! [[pool]]
//! workers = 2
//!
//! [[task]]
//! name = "main_task"
//! steps = [{ spawn = "subtask", count = 10 }, { wait = "children" }]
//!
//! [[task]]
//! name = "subtask"
//! steps = [{ work = "4s" }]
//!
//! [[arrival]]
//! task = "main_task"
//! at = ["0s", "0s"]
//! ```
//!
//! [`scenario::parse`] validates such a text (and [`scenario::load`] reads a file). Every name
//! is resolved and every duration becomes an integer number of nanoseconds. An error points
//! into the text as `file:line:column: message`. The overrides in the third argument are
//! those of `--set` (`"pool.default.workers=4"`). The full format is in `docs/scenario-format.md`.
//!
//! # Running it
//!
//! [`engine::simulate`] runs a scenario once, breaking ties by the canonical rule (below)
//! unless the scenario says `ties = "random"`, and returns its [`Outcome`](engine::Outcome).
//! A deadlock is an outcome, not an error: it says which tasks hold which workers, waiting for
//! which queued children. An [`Observer`](engine::Observer) watches the run: `()` ignores it,
//! [`report::Stats`] collects what `qsim run` prints, and [`report::Trace`] writes one JSON
//! line per event.
//!
//! # Exploring every timing
//!
//! One run shows one timing. [`explore::explore`] visits every state reachable through the
//! engine's choices (fire a due timer, let an idle worker take a task, let a just-taken task run
//! its instantaneous steps). It does this under [`Timing::Any`](explore::Timing::Any) (every
//! duration may take any value) or [`Timing::Exact`](explore::Timing::Exact) (the scenario's
//! own instants), with state hashing and symmetry and partial-order reduction. Its
//! [`Verdict`](explore::Verdict) is `deadlock` with a shortest, minimised
//! [`Schedule`](explore::Schedule); `deadlock_free` when every reachable state was visited; or
//! `inconclusive` when a [`Budget`](explore::Budget) ran out.
//! [`explore::random::monte_carlo`] estimates the probability of deadlock from many random runs
//! instead, and [`explore::min_workers()`] finds the smallest worker count of a pool that the
//! search proves deadlock-free.
//!
//! # Answers are values, words come after
//!
//! Every answer is plain data: a run's [`Report`](report::Report), a
//! [`DeadlockReport`](report::DeadlockReport) (holders, what they wait for, queued tasks, one
//! cycle of the wait-for graph), a schedule's [`Story`](report::Story), an
//! [`ExplorationReport`](report::ExplorationReport), a
//! [`MonteCarlo`](explore::random::MonteCarlo), a [`MinWorkers`](explore::MinWorkers). The
//! renderers in [`report::text`], [`report::json`] and [`report::dot`] turn them into what the
//! command line prints, byte for byte, so a program can print the same, or build its own view
//! (an HTML report linking each step of a counterexample to the tasks it moved) from the data.
//!
//! # Replaying a counterexample
//!
//! A [`Schedule`](explore::Schedule) is the seed, the timing and one label per choice (`arrival
//! 0`, `take default/1`, `run main_task#1`, `done subtask#3`, `timeout main_task#1`).
//! [`report::story::tell`] follows it exactly and records each step as a
//! [`StoryStep`](report::StoryStep): the choice and what it moved (which task a worker took,
//! which children a task spawned, which task waited or finished), by name.
//! [`report::text::sentence`] tells a step as a sentence.
//! [`explore::replay::Replay`] is the [`Chooser`](engine::Chooser) that `qsim replay` runs with.
//!
//! ```
//! use qsim::engine::{self, Limits, Model, Outcome};
//! use qsim::explore::{self, Budget, Reductions, Timing, Verdict};
//! use qsim::report;
//! use qsim::scenario::TICKS_PER_SECOND;
//!
//! const FANOUT: &str = r#"
//! [[pool]]
//! workers = 2
//!
//! [[task]]
//! name = "main_task"
//! steps = [{ spawn = "subtask", count = 10 }, { wait = "children" }]
//!
//! [[task]]
//! name = "subtask"
//! steps = [{ work = "4s" }]
//!
//! [[arrival]]
//! task = "main_task"
//! at = ["0s", "0s"]
//! "#;
//!
//! // One run: both workers take a parent, both parents wait, nothing can run.
//! let scenario = qsim::scenario::parse("fanout.toml", FANOUT, &[])?;
//! let model = Model::new(scenario.clone());
//! let (outcome, _) = engine::simulate(&model, &mut (), Limits::default());
//! let Outcome::Deadlock(deadlock) = &outcome else {
//!     panic!("expected a deadlock, got {}", outcome.name());
//! };
//! assert_eq!(deadlock.time, 0);
//! assert_eq!(deadlock.blocked(), ["main_task#1", "main_task#2"]);
//!
//! // With 4 workers the same file completes: the last subtask ends at 36s.
//! let sets = ["pool.default.workers=4".to_string()];
//! let fixed = Model::new(qsim::scenario::parse("fanout.toml", FANOUT, &sets)?);
//! let (outcome, sim) = engine::simulate(&fixed, &mut (), Limits::default());
//! assert_eq!(outcome.name(), "completed");
//! assert_eq!(sim.now(), 36 * TICKS_PER_SECOND);
//!
//! // Every timing: a six-step counterexample that replays to the same deadlock.
//! let found = explore::explore(
//!     &scenario,
//!     Timing::Any,
//!     Reductions::ALL,
//!     &Budget::default(),
//!     &mut |_progress| {},
//! );
//! let Verdict::Deadlock { schedule, .. } = &found.verdict else {
//!     panic!("expected a deadlock, got {}", found.verdict.name());
//! };
//! assert_eq!(
//!     schedule.steps,
//!     ["arrival 0", "arrival 0", "take default/1", "take default/2",
//!      "run main_task#1", "run main_task#2"]
//! );
//! let model = explore::model_for(&scenario, schedule.timing);
//! let told = report::story::tell(&model, &schedule.steps).expect("the schedule replays");
//! assert!(told.deadlock.is_some());
//! let step = &told.story.steps[4];
//! assert_eq!(step.choice, "run main_task#1");
//! assert_eq!(step.tasks().len(), 11); // the parent and its 10 children
//! assert_eq!(
//!     report::text::sentence(step),
//!     "main_task#1 spawns 10 (subtask#1 … subtask#10); main_task#1 waits for its children"
//! );
//! # Ok::<(), qsim::Error>(())
//! ```
//!
//! # In your own tests
//!
//! To keep a workload safe, assert that the explorer proves it deadlock-free. With 3 workers,
//! 2 parents can never hold them all (the P ≥ W rule: P parents that spawn and wait in one
//! pool of W workers can deadlock if and only if P ≥ W):
//!
//! ```
//! use qsim::explore::{self, Budget, Reductions, Timing};
//!
//! let scenario = qsim::scenario::parse(
//!     "fanout.toml",
//!     r#"
//!     [[pool]]
//!     workers = 3
//!     [[task]]
//!     name = "main_task"
//!     steps = [{ spawn = "subtask", count = 10 }, { wait = "children" }]
//!     [[task]]
//!     name = "subtask"
//!     steps = [{ work = "4s" }]
//!     [[arrival]]
//!     task = "main_task"
//!     at = ["0s", "0s"]
//!     "#,
//!     &[],
//! )?;
//! let budget = Budget::default();
//! let proof = explore::explore(&scenario, Timing::Any, Reductions::ALL, &budget, &mut |_| {});
//! assert_eq!(proof.verdict.name(), "deadlock_free");
//! # Ok::<(), qsim::Error>(())
//! ```
//!
//! # The ordering contract
//!
//! The same scenario with the same seed gives the same outcome, the same report and the same
//! trace, byte for byte, on any machine.
//!
//! - Time is an integer number of nanoseconds ([`scenario::Tick`]). Durations are parsed
//!   exactly.
//! - Every random draw comes from one [`rng::SimRng`]: PCG-64 seeded from the scenario's
//!   `seed`, with distributions shaped by `libm` rather than the platform's C library.
//! - The canonical rule orders what happens at one instant. First, timers due at the same
//!   instant fire in the order they were set. Then idle workers take tasks, lowest index first
//!   (pools in file order), each from the first non-empty queue of its pool. Only then do the
//!   tasks just taken run their instantaneous steps, in the order they were taken. This repeats
//!   until nothing more can happen at that instant. So two parents arriving together are both
//!   taken before either spawns. Every such decision goes through one
//!   [`Chooser`](engine::Chooser): [`engine::Canonical`] for `qsim run`, exhaustive, random or
//!   replayed choices for the explorer.
//! - Reports follow the order in which the file declares task types, pools and queues.
//! - Monte Carlo run `i` uses the seed [`rng::derive_seed`]`(seed, i)` and its own generators,
//!   so the summary is identical on any number of threads.
//!
//! # Limits
//!
//! - The model has workers, queues, tasks that work, spawn, wait and call, timeouts and
//!   callbacks. It has no worker memory, restarts, retries, locks, prefetching or bounded
//!   queues yet.
//! - Exhaustive exploration needs finitely many arrivals (or exact timing with a horizon), and
//!   its state space grows quickly with the number of parents and workers. Budgets turn a
//!   search that is too large into an `inconclusive` verdict, not a hang.
//! - `Timing::Exact` replaces each distribution by its mean. A task's instantaneous steps run
//!   as one atomic choice, so finer interleavings (another worker acting between two spawns of
//!   one task) are not explored.
//! - Random mode gives evidence, not proof: no deadlock in N runs is not deadlock freedom.
//!
//! `docs/exploring.md` describes the search, its reductions and their soundness in full.
#![deny(missing_docs)]

pub mod engine;
pub mod error;
pub mod explore;
pub mod memory;
pub mod output;
pub mod plan;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sweep;

pub use error::{Error, Result};
pub use scenario::Scenario;

//! The state of one run: every task instance, worker, pool, queue and timer.
//!
//! # One definition of the fields
//! The explorer clones states for every transition and recycles the states it drops
//! ([`Clone::clone_from`] reuses their tables). A field left out of a hand-written `clone_from`
//! would compile and silently corrupt recycled states, so the fields of [`Simulation`] are
//! declared once, in the `state!` invocation below, which writes the struct, `clone` and
//! `clone_from` from that one list; the constructor is a struct literal, which the compiler
//! checks for completeness. A new field is one line there, plus its initial value.
//!
//! # Workers and pools
//! A [`Worker`] is a record, not a bare task id: what it is doing ([`Activity`], which may be
//! restarting) and how many tasks it ran since it started (for `max_tasks`). A pool's counters
//! ([`PoolCounters`]: idle workers, and workers held by waiting tasks) are changed only by
//! `Simulation::set_activity`, from the worker's old and new activity, so that they cannot
//! drift from the workers they count.
//!
//! # Processes and memory
//! Workers run in [`Process`]es (a thread pool is one process, a process pool one per worker;
//! see [`Model`]). A process's resident memory is what it keeps (base memory plus what each
//! task it ran retained) plus the memory of the tasks its workers are running; the host's is
//! the sum over live processes, kept in `host_rss` so that the OOM rule is a comparison. Only
//! the memory rules in `rules.rs` change them.

use crate::rng::SimRng;
use crate::scenario::{PoolId, QueueId, Scenario, TaskId, Tick};

use super::agenda::{Agenda, Timer};
use super::model::numbered;
use super::queue::TaskQueue;
use super::{InstanceId, Model, ProcessId, WorkerId};

/// No instance, no group: the `u32` sentinel of the state's tables.
pub(crate) const NONE: u32 = u32::MAX;

/// Where a task instance is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// The slot is free (the instance finished).
    Free,
    /// Waiting in a queue for a worker.
    Queued(QueueId),
    /// Just taken by a worker; its instantaneous steps have not run yet.
    Taken(WorkerId),
    /// Running a `work` step on a worker.
    Working(WorkerId),
    /// Holding a worker in a `wait` for its children; `timed` when a timeout is set.
    Waiting {
        /// The worker it holds.
        worker: WorkerId,
        /// Whether a timeout will end the wait.
        timed: bool,
    },
}

impl Status {
    /// The worker held, if any.
    pub fn worker(self) -> Option<WorkerId> {
        match self {
            Status::Taken(w) | Status::Working(w) | Status::Waiting { worker: w, .. } => Some(w),
            Status::Free | Status::Queued(_) => None,
        }
    }
}

/// How a task instance ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskResult {
    /// It ran out of steps.
    Completed,
    /// A wait timed out with `on_timeout = "fail"`, or a child it waited for had failed.
    Failed,
}

/// A reference to an instance that survives the slot's reuse: the slot and its generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Link {
    pub(super) slot: InstanceId,
    pub(super) generation: u32,
}

/// One task instance.
#[derive(Clone, Copy, Debug)]
pub struct Instance {
    /// Its task type.
    pub task: TaskId,
    /// Index of the next step to run.
    pub pc: u32,
    /// 1-based number among the instances of its type, in creation order (`subtask#3`).
    pub serial: u32,
    /// Where it is.
    pub status: Status,
    /// The instance that spawned it, while that instance is alive.
    pub parent: Option<Link>,
    /// The `then` group it belongs to (index into the group table), if any.
    pub group: u32,
    /// Children spawned and not yet finished.
    pub outstanding: u32,
    /// Whether a child of it has failed (its next wait then fails).
    pub child_failed: bool,
    /// When it was put on its queue (latency is measured from here).
    pub enqueued_at: Tick,
    /// When it was taken by its worker.
    pub taken_at: Tick,
    /// Children lost (their process died and they were not re-queued): it waits for them
    /// for ever, unless its wait has a timeout.
    pub lost_children: u32,
    pub(super) generation: u32,
    pub(super) wait_token: u64,
}

/// A `spawn ... then = T` group: `T` is enqueued when its last child finishes.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    /// Children not finished yet (0 means the slot is free).
    pub remaining: u32,
    /// The callback type.
    pub then: TaskId,
    /// The spawner.
    pub owner: Link,
    /// Whether a member was lost: the callback will never be queued.
    pub lost: bool,
}

/// What a worker is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activity {
    /// Free to take a task.
    Idle,
    /// Holding a task that was just taken or is working.
    Running(InstanceId),
    /// Holding a task blocked in a `wait` for its children; `timed` when a timeout will end it.
    Waiting {
        /// The waiting task.
        task: InstanceId,
        /// Whether a timeout is set.
        timed: bool,
    },
    /// Its process exited (or the thread was recycled) and is not back yet: it takes no work.
    Restarting,
}

/// One worker: a thread or process of a pool that takes one task at a time.
///
/// Only `Simulation::set_activity` changes it, so that its pool's counters follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Worker {
    /// What it is doing.
    pub activity: Activity,
    /// Tasks it ran to their end since it (or its process) started.
    pub tasks_run: u32,
}

impl Worker {
    /// A worker with nothing to do.
    pub const IDLE: Worker = Worker {
        activity: Activity::Idle,
        tasks_run: 0,
    };

    /// The task it holds, if any.
    pub fn task(&self) -> Option<InstanceId> {
        match self.activity {
            Activity::Idle | Activity::Restarting => None,
            Activity::Running(t) | Activity::Waiting { task: t, .. } => Some(t),
        }
    }

    /// Whether it is free to take a task.
    pub fn is_idle(&self) -> bool {
        self.activity == Activity::Idle
    }
}

/// How many workers of one pool are idle, and how many are held by waiting tasks; and for how
/// long, as time integrals.
///
/// Kept by `Simulation::set_activity` from the workers' activities: the run loop reads them
/// at every step (can this pool take a task? is every worker held by an untimed wait?) without
/// walking the workers.
///
/// # Time integrals as sums over changes
/// How many worker-ticks were spent idle, waiting or restarting up to an instant `T` is the
/// integral of a counter `c` from 0 to `T`, which by parts is `c(T)·T − Σ δᵢ·tᵢ` over the
/// counter's changes (by `δᵢ = ±1` at instant `tᵢ`). So each change adds `±t` to a sum (a
/// private `Changes`), and [`worker_time`](PoolCounters::worker_time) answers the integral at
/// any instant at or after the last change. A change costs an addition; integrating at every move
/// of the clock instead cost a multiplication per counter and queue at every move (the
/// statistics' integration was 8% of `qsim run`'s instructions). The sums wrap in `u128`: the
/// integrals they give are exact whenever the integrals fit, which they do for any run (a `u64`
/// count of ticks times a `u32` count of workers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolCounters {
    /// Workers with nothing to do.
    pub idle: u32,
    /// Workers held by a task blocked in a wait.
    pub waiting: u32,
    /// Workers held by a task blocked in a wait without a timeout.
    pub waiting_untimed: u32,
    /// Workers whose process (or thread) is restarting.
    pub restarting: u32,
    /// Which of the pool's first 64 workers are idle: bit `i` for its `i`-th worker, so that
    /// the lowest idle worker is a count of trailing zeros (see
    /// [`Simulation::lowest_idle`]), not a walk whose length a processor cannot guess.
    idle_low: u64,
    changes: Changes,
}

/// `Σ δᵢ·tᵢ` over the changes of `idle`, `waiting` and `restarting` (see [`PoolCounters`]),
/// wrapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Changes {
    idle: u128,
    waiting: u128,
    restarting: u128,
}

/// Worker-ticks one pool spent in each counted activity from instant 0 to some instant (see
/// [`PoolCounters::worker_time`]). The rest of the pool's worker-ticks were busy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerTime {
    /// Worker-ticks idle.
    pub idle: u128,
    /// Worker-ticks held by a task blocked in a wait.
    pub waiting: u128,
    /// Worker-ticks restarting.
    pub restarting: u128,
}

impl PoolCounters {
    fn fresh(workers: u32) -> PoolCounters {
        PoolCounters {
            idle: workers,
            idle_low: u64::MAX >> (64 - workers.min(64)),
            ..PoolCounters::default()
        }
    }

    /// Counts the pool's worker `i` (`bit` is `1 << i`, or 0 past the 64th), which begins
    /// `activity` at instant `now`.
    #[inline(always)]
    fn enter(&mut self, activity: Activity, bit: u64, now: Tick) {
        self.count(activity, 1, bit, u128::from(now));
    }

    /// Counts the pool's worker whose `bit` is given (as for `enter`), which ends `activity` at
    /// instant `now`.
    #[inline(always)]
    fn leave(&mut self, activity: Activity, bit: u64, now: Tick) {
        self.count(activity, u32::MAX, bit, u128::from(now).wrapping_neg());
    }

    /// Counts a worker doing `activity` in (`delta` `+1`, `moment` `t`) or out (`-1` and `-t`,
    /// as wrapping additions); a worker going idle or leaving idle flips its `bit`.
    #[inline(always)]
    fn count(&mut self, activity: Activity, delta: u32, bit: u64, moment: u128) {
        let sums = &mut self.changes;
        match activity {
            Activity::Idle => {
                self.idle = self.idle.wrapping_add(delta);
                self.idle_low ^= bit;
                sums.idle = sums.idle.wrapping_add(moment);
            }
            Activity::Running(_) => {}
            Activity::Restarting => {
                self.restarting = self.restarting.wrapping_add(delta);
                sums.restarting = sums.restarting.wrapping_add(moment);
            }
            Activity::Waiting { timed, .. } => {
                self.waiting = self.waiting.wrapping_add(delta);
                sums.waiting = sums.waiting.wrapping_add(moment);
                if !timed {
                    self.waiting_untimed = self.waiting_untimed.wrapping_add(delta);
                }
            }
        }
    }

    /// Worker-ticks spent idle, waiting and restarting from instant 0 to instant `at`, which
    /// must be at or after the counters' last change (the current instant, or a later one
    /// before anything changes).
    pub fn worker_time(&self, at: Tick) -> WorkerTime {
        let at = u128::from(at);
        let integral = |count: u32, sum: u128| u128::from(count).wrapping_mul(at).wrapping_sub(sum);
        WorkerTime {
            idle: integral(self.idle, self.changes.idle),
            waiting: integral(self.waiting, self.changes.waiting),
            restarting: integral(self.restarting, self.changes.restarting),
        }
    }
}

/// One process of a pool: the memory it keeps and holds, and whether it is running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Process {
    /// Memory it keeps whatever it runs: base memory plus what its tasks retained, in bytes.
    pub kept: u64,
    /// Memory of the tasks its workers are running, in bytes.
    pub running: u64,
    /// Tasks it ran to their end since it started.
    pub tasks: u32,
    /// Whether it exited and its replacement has not started yet.
    pub down: bool,
}

impl Process {
    /// Its resident memory, in bytes (0 while it is down).
    pub fn rss(&self) -> u64 {
        self.kept + self.running
    }
}

/// How one field of the state is copied into a recycled state: plain `Copy` values are
/// assigned, tables of `Copy` values are copied as slices into the storage they already have (a
/// `memcpy`), the rest use their own `clone_from`.
///
/// The per-worker, per-pool and per-stream tables are plain vectors: an inline small-vector
/// spared an allocation when a state was copied fresh, but checked where its items were at
/// every access, which cost `qsim run` 6% of its instructions; recycled states reuse the
/// vectors' storage anyway.
pub(crate) trait Recycle {
    /// Makes `self` equal to `source`, reusing `self`'s storage.
    fn recycle_from(&mut self, source: &Self);
}

impl<T: Copy> Recycle for Vec<T> {
    #[inline(always)]
    fn recycle_from(&mut self, source: &Self) {
        // Most have the same length in every state of a model (per task type, worker, pool or
        // stream).
        if self.len() == source.len() {
            self.copy_from_slice(source);
        } else {
            self.clear();
            self.extend_from_slice(source);
        }
    }
}

macro_rules! recycle_by_clone_from {
    ($($t:ty),*) => {$(
        impl Recycle for $t {
            #[inline(always)]
            fn recycle_from(&mut self, source: &Self) {
                self.clone_from(source);
            }
        }
    )*};
}
recycle_by_clone_from!(Vec<TaskQueue>, Agenda, SimRng, u64, u32, bool, &Model);

/// Declares [`Simulation`] with its `Clone` impl from one list of fields (see the module docs).
macro_rules! state {
    (
        $(#[$meta:meta])*
        pub struct Simulation<'m> {
            $(
                $(#[$field_meta:meta])*
                $vis:vis $field:ident : $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct Simulation<'m> {
            $(
                $(#[$field_meta])*
                $vis $field: $ty,
            )*
        }

        impl Clone for Simulation<'_> {
            fn clone(&self) -> Self {
                Simulation {
                    $($field: Clone::clone(&self.$field),)*
                }
            }

            fn clone_from(&mut self, source: &Self) {
                $(Recycle::recycle_from(&mut self.$field, &source.$field);)*
            }
        }
    };
}

state! {
    /// The complete state of one run. Cloning it is how the explorer branches (and
    /// [`clone_from`](Clone::clone_from) reuses a recycled state's tables, so branching need
    /// not allocate).
    #[derive(Debug)]
    pub struct Simulation<'m> {
        /// The scenario being simulated, with its lookup tables.
        pub model: &'m Model,
        pub(super) now: Tick,
        pub(super) rng: SimRng,
        pub(super) instances: Vec<Instance>,
        pub(super) free_slots: Vec<InstanceId>,
        pub(super) groups: Vec<Group>,
        pub(super) free_groups: Vec<u32>,
        pub(super) created: Vec<u64>,
        pub(super) queues: Vec<TaskQueue>,
        pub(super) workers: Vec<Worker>,
        pub(super) pools: Vec<PoolCounters>,
        pub(super) processes: Vec<Process>,
        pub(super) host_rss: u64,
        pub(super) orphaned: bool,
        pub(super) exits_in_a_row: u32,
        pub(super) agenda: Agenda,
        pub(super) arrivals_sent: Vec<u64>,
        pub(super) just_taken: Vec<InstanceId>,
        pub(super) mid_round: bool,
        pub(super) enqueue_order: u64,
        pub(super) next_token: u64,
        pub(super) live: u64,
        pub(super) choices_made: u64,
    }
}

impl<'m> Simulation<'m> {
    /// A run of `model` at instant 0, seeded with the scenario's seed.
    pub fn new(model: &'m Model) -> Simulation<'m> {
        Simulation::with_seed(model, model.scenario.seed)
    }

    /// A run of `model` at instant 0 with another seed.
    pub fn with_seed(model: &'m Model, seed: u64) -> Simulation<'m> {
        let s = &model.scenario;
        let mut sim = Simulation {
            model,
            now: 0,
            rng: SimRng::new(seed),
            instances: Vec::new(),
            free_slots: Vec::new(),
            groups: Vec::new(),
            free_groups: Vec::new(),
            created: vec![0; s.tasks.len()],
            queues: s
                .queues
                .iter()
                .map(|q| TaskQueue::new(q.discipline))
                .collect(),
            workers: vec![Worker::IDLE; model.worker_count()],
            pools: s
                .pools
                .iter()
                .map(|p| PoolCounters::fresh(p.workers))
                .collect(),
            // Without memory modelled nothing reads the processes: none are kept, so that a
            // state stays as small to clone as it was.
            processes: (0..model.process_count() as ProcessId)
                .filter(|_| model.models_memory())
                .map(|p| Process {
                    kept: s.pools[model.pool_of_process(p)].base_memory,
                    ..Process::default()
                })
                .collect(),
            host_rss: 0,
            orphaned: false,
            exits_in_a_row: 0,
            agenda: Agenda::default(),
            arrivals_sent: vec![0; s.arrivals.len()],
            just_taken: Vec::new(),
            mid_round: false,
            enqueue_order: 0,
            next_token: 0,
            live: 0,
            choices_made: 0,
        };
        sim.host_rss = sim.processes.iter().map(Process::rss).sum();
        for stream in 0..s.arrivals.len() {
            sim.schedule_arrival(stream);
        }
        sim
    }

    /// Changes what worker `w` is doing, and its pool's counters with it: the one place where
    /// a worker's activity changes.
    #[inline(always)]
    pub(super) fn set_activity(&mut self, w: WorkerId, activity: Activity) {
        let old = std::mem::replace(&mut self.workers[w as usize].activity, activity);
        let p = self.model.pool_of(w);
        let i = w - self.model.workers_of(p).start;
        let bit = if i < 64 { 1 << i } else { 0 };
        let pool = &mut self.pools[p];
        pool.leave(old, bit, self.now);
        pool.enter(activity, bit, self.now);
    }

    /// The lowest idle worker of pool `p`, if any: the one the canonical rule gives a task.
    #[inline(always)]
    pub(super) fn lowest_idle(&self, p: PoolId) -> Option<WorkerId> {
        let counts = &self.pools[p];
        let workers = self.model.workers_of(p);
        if counts.idle_low != 0 {
            return Some(workers.start + counts.idle_low.trailing_zeros());
        }
        if counts.idle == 0 {
            return None;
        }
        workers
            .skip(64)
            .find(|&w| self.workers[w as usize].is_idle())
    }

    /// The scenario.
    pub fn scenario(&self) -> &'m Scenario {
        &self.model.scenario
    }

    /// The current instant.
    pub fn now(&self) -> Tick {
        self.now
    }

    /// Number of choices applied so far.
    pub fn choices_made(&self) -> u64 {
        self.choices_made
    }

    /// Number of task instances alive (queued, held by a worker).
    pub fn live_tasks(&self) -> u64 {
        self.live
    }

    /// Instances created so far, per task type (arrivals, spawns and callbacks).
    pub fn created(&self) -> &[u64] {
        &self.created
    }

    /// The instance in slot `id` (check its status: a free slot is `Status::Free`).
    pub fn instance(&self, id: InstanceId) -> &Instance {
        &self.instances[id as usize]
    }

    /// Number of instance slots, free ones included (ids are below this).
    pub fn slots(&self) -> usize {
        self.instances.len()
    }

    /// Every slot with its id, free ones included.
    pub fn instances(&self) -> impl Iterator<Item = (InstanceId, &Instance)> {
        self.instances
            .iter()
            .enumerate()
            .map(|(i, inst)| (i as InstanceId, inst))
    }

    /// The instance a link points to, if it is still alive.
    pub fn resolve(&self, link: Link) -> Option<InstanceId> {
        let inst = self.instances.get(link.slot as usize)?;
        (inst.generation == link.generation && inst.status != Status::Free).then_some(link.slot)
    }

    /// The `then` groups, free ones (with `remaining == 0`) included.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// A task instance's display name, `type#serial`.
    pub fn task_name(&self, id: InstanceId) -> String {
        let inst = &self.instances[id as usize];
        numbered(&self.scenario().tasks[inst.task].name, '#', inst.serial)
    }

    /// Every worker, pool 0's first (index by [`WorkerId`]).
    pub fn workers(&self) -> &[Worker] {
        &self.workers
    }

    /// The task held by worker `w`, if any.
    pub fn held_by(&self, w: WorkerId) -> Option<InstanceId> {
        self.workers[w as usize].task()
    }

    /// The queued tasks of queue `q`.
    pub fn queue(&self, q: QueueId) -> &TaskQueue {
        &self.queues[q]
    }

    /// Workers of pool `p` that are idle, held by a waiting task, and held in all.
    pub fn pool_counts(&self, p: PoolId) -> (u32, u32, u32) {
        let counts = &self.pools[p];
        let workers = self.scenario().pools[p].workers;
        (counts.idle, counts.waiting, workers - counts.idle)
    }

    /// The counters of pool `p`.
    pub fn pool(&self, p: PoolId) -> &PoolCounters {
        &self.pools[p]
    }

    /// The counters of every pool, in scenario order.
    pub fn pool_counters(&self) -> &[PoolCounters] {
        &self.pools
    }

    /// Every queue, in scenario order.
    pub fn queues(&self) -> &[TaskQueue] {
        &self.queues
    }

    /// Every process, in [`ProcessId`] order; empty when the scenario does not model memory
    /// ([`Model::models_memory`]).
    pub fn processes(&self) -> &[Process] {
        &self.processes
    }

    /// Resident memory of all processes together, in bytes.
    pub fn host_rss(&self) -> u64 {
        self.host_rss
    }

    /// Whether the host is above its memory and the OOM killer must kill a process before
    /// anything else happens.
    #[inline(always)]
    pub fn oom_pending(&self) -> bool {
        self.model
            .scenario
            .host
            .memory
            .is_some_and(|m| self.host_rss > m)
    }

    /// Processes that exited or were killed since the last task ran to its end.
    pub fn exits_in_a_row(&self) -> u32 {
        self.exits_in_a_row
    }

    /// The pending timers.
    pub fn agenda(&self) -> &Agenda {
        &self.agenda
    }

    /// Arrivals already sent, per stream.
    pub fn arrivals_sent(&self) -> &[u64] {
        &self.arrivals_sent
    }

    /// Tasks taken whose instantaneous steps have not run, in the order taken.
    pub fn just_taken(&self) -> &[InstanceId] {
        &self.just_taken
    }

    /// False once a timer has gone stale (a timeout whose wait already ended).
    pub fn is_live(&self, timer: &Timer) -> bool {
        match *timer {
            Timer::Timeout { task, token } => {
                let inst = &self.instances[task as usize];
                inst.wait_token == token && matches!(inst.status, Status::Waiting { .. })
            }
            Timer::Arrival { .. }
            | Timer::WorkDone { .. }
            | Timer::Restarted { .. }
            | Timer::ThreadReplaced { .. } => true,
        }
    }
}

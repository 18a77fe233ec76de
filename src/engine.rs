//! One simulation: the state of every worker, queue and task, and the rules that move it.
//!
//! # The model
//! Tasks are instances of the scenario's task types. An instance is created by an arrival, by a
//! parent's `spawn`, or as the `then` callback of a group of children; it is put on its type's
//! queue, taken by an idle worker of a pool that consumes that queue, and then runs its steps:
//! `work` holds the worker for a while, `spawn` enqueues children without blocking, `wait`
//! holds the worker until every child spawned so far has finished (or its timeout fires).
//! `call` was inlined by validation. A task finishes when it runs out of steps (completed) or
//! when a wait times out with `on_timeout = "fail"` or finds a failed child (failed).
//!
//! # One decision point
//! Everything that can happen next is a [`Choice`]: fire a timer that is due now, let an idle
//! worker take a task, or let a task that was just taken run its instantaneous steps (spawn,
//! the start of a work or a wait). [`Simulation::options`] lists the choices enabled in the
//! current state, in canonical order, and [`Simulation::apply`] performs one. When nothing is
//! enabled at the current instant, [`Simulation::advance_time`] moves the clock to the next
//! timer. Every nondeterministic decision of a run therefore passes through one place, a
//! [`Chooser`]: `qsim run` plugs the canonical rule, `qsim explore` plugs exhaustive search,
//! random tie-breaking or the replay of a schedule.
//!
//! # The canonical rule (what `qsim run` does), one instant at a time
//! 1. every timer due at this instant fires, in the order it was set (arrivals enqueue, work
//!    finishes and the task goes on with its next steps, timeouts fire);
//! 2. every idle worker, lowest index first (pools in file order), takes the next task from the
//!    first non-empty queue of its pool;
//! 3. only then do the tasks just taken run their instantaneous steps, in the order they were
//!    taken, each until it blocks (work, wait) or ends;
//! 4. this repeats at the same instant until nothing more can happen; then time advances.
//!
//! So two parents arriving at the same instant are both taken before either spawns, as in a
//! real consumer whose worker threads each fetch a message before running it.
//!
//! # Deadlock
//! After every choice the engine checks, in constant time, whether some pool has all its
//! workers held by tasks blocked in a wait without timeout; only then does it run the full
//! check of [`wait_for`]: the greatest set of tasks that can never be unblocked. A non-empty
//! set is a deadlock, found at the instant it forms; the run stops there.

pub mod agenda;
pub mod observe;
pub mod queue;
pub mod wait_for;

use crate::rng::SimRng;
use crate::scenario::{
    ArrivalPattern, Discipline, OnTimeout, PoolId, QueueId, Scenario, Step, TaskId, Tick, Ties,
};

use agenda::{Agenda, Entry, Timer};
pub use observe::{Event, Observer};
use queue::TaskQueue;
pub use wait_for::Deadlock;

/// A task instance: an index into the simulation's table of instances. Slots are reused once
/// an instance has finished, so ids are only meaningful while the instance is alive.
pub type InstanceId = u32;

/// Index of a worker over all pools (pool 0's workers first).
pub type WorkerId = u32;

const NONE: u32 = u32::MAX;

/// The small per-pool, per-worker and per-stream tables of a simulation: kept inline while
/// small, so that cloning a state (the explorer does it for every transition) does not go to
/// the allocator for each of them.
type Small<T> = smallvec::SmallVec<[T; 8]>;

/// The scenario plus the lookup tables the engine needs at every step, computed once and
/// shared (by reference) by every simulation of it.
#[derive(Clone, Debug)]
pub struct Model {
    /// The validated scenario.
    pub scenario: Scenario,
    worker_pool: Vec<PoolId>,
    pool_workers: Vec<std::ops::Range<u32>>,
    timeless: bool,
}

impl Model {
    /// Prepares `scenario` for simulation.
    pub fn new(scenario: Scenario) -> Model {
        let mut worker_pool = Vec::new();
        let mut pool_workers = Vec::new();
        for (p, pool) in scenario.pools.iter().enumerate() {
            let start = worker_pool.len() as u32;
            worker_pool.extend(std::iter::repeat_n(p, pool.workers as usize));
            pool_workers.push(start..worker_pool.len() as u32);
        }
        let timeless = scenario == scenario.with_any_timing();
        Model {
            scenario,
            worker_pool,
            pool_workers,
            timeless,
        }
    }

    /// Whether every duration, gap, timeout and arrival instant is zero and there is no
    /// horizon (as `explore` sees a scenario under any timing): every timer is then due at
    /// instant 0, and the clock never moves.
    pub fn is_timeless(&self) -> bool {
        self.timeless
    }

    /// The pool of worker `w`.
    pub fn pool_of(&self, w: WorkerId) -> PoolId {
        self.worker_pool[w as usize]
    }

    /// The workers of pool `p`.
    pub fn workers_of(&self, p: PoolId) -> std::ops::Range<u32> {
        self.pool_workers[p].clone()
    }

    /// Total number of workers.
    pub fn worker_count(&self) -> usize {
        self.worker_pool.len()
    }

    /// A worker's display name: `pool/index`, 1-based within its pool.
    pub fn worker_name(&self, w: WorkerId) -> String {
        let p = self.pool_of(w);
        numbered(
            &self.scenario.pools[p].name,
            '/',
            w - self.pool_workers[p].start + 1,
        )
    }
}

/// `name`, `separator` and `n` in decimal: a name like `subtask#3` or `default/2`, built
/// without the formatting machinery (deadlock explanations and schedules name dozens of tasks,
/// and explaining a counterexample is part of every search that finds one).
fn numbered(name: &str, separator: char, n: u32) -> String {
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut text = String::with_capacity(name.len() + 1 + digits.len() - start);
    text.push_str(name);
    text.push(separator);
    text.push_str(std::str::from_utf8(&digits[start..]).expect("ascii digits"));
    text
}

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
    slot: InstanceId,
    generation: u32,
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
    generation: u32,
    wait_token: u64,
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
}

/// One thing that can happen next; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    /// Fire this timer (it is due at the current instant).
    Fire(Entry),
    /// This idle worker takes the next task from its pool's queues.
    Take(WorkerId),
    /// This just-taken task runs its instantaneous steps.
    Run(InstanceId),
}

/// Picks one of the enabled choices: the single point where a run's nondeterminism is decided.
pub trait Chooser {
    /// True for the canonical rule, which always picks `options[0]`; lets the run loop skip
    /// building the option list.
    const CANONICAL: bool = false;

    /// The index of the option to take, or `None` to stop the run here.
    fn choose(&mut self, sim: &Simulation<'_>, options: &[Choice]) -> Option<usize>;
}

/// The canonical rule of `qsim run`: always the first option.
#[derive(Clone, Copy, Debug, Default)]
pub struct Canonical;

impl Chooser for Canonical {
    const CANONICAL: bool = true;
    fn choose(&mut self, _: &Simulation<'_>, _: &[Choice]) -> Option<usize> {
        Some(0)
    }
}

/// Breaks every tie with a draw from its own generator.
#[derive(Clone, Debug)]
pub struct RandomTies(pub SimRng);

impl Chooser for RandomTies {
    fn choose(&mut self, _: &Simulation<'_>, options: &[Choice]) -> Option<usize> {
        Some(self.0.below(options.len()))
    }
}

/// How a run ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Nothing was left to happen: every task finished.
    Completed,
    /// The horizon was reached with work left.
    Horizon,
    /// Some tasks can never be unblocked.
    Deadlock(Deadlock),
    /// The run was stopped after `--max-events` choices.
    EventLimit,
    /// The run was stopped because more tasks were alive at once than [`Limits::max_tasks`].
    TaskLimit,
    /// The chooser stopped the run (e.g. a schedule that no longer fits the scenario).
    Stopped,
}

impl Outcome {
    /// The outcome's name in reports: `completed`, `horizon`, `deadlock`, `event_limit`,
    /// `task_limit`, `stopped`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Horizon => "horizon",
            Outcome::Deadlock(_) => "deadlock",
            Outcome::EventLimit => "event_limit",
            Outcome::TaskLimit => "task_limit",
            Outcome::Stopped => "stopped",
        }
    }
}

/// What [`Simulation::advance_time`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advance {
    /// The clock moved to the next timer's instant.
    Moved,
    /// The next timer is past the horizon; the clock stopped at the horizon.
    Horizon,
    /// No timer is left.
    Nothing,
}

/// The complete state of one run. Cloning it is how the explorer branches (and
/// [`clone_from`](Clone::clone_from) reuses a recycled state's tables, so branching need not
/// allocate).
#[derive(Debug)]
pub struct Simulation<'m> {
    /// The scenario being simulated, with its lookup tables.
    pub model: &'m Model,
    now: Tick,
    rng: SimRng,
    instances: Vec<Instance>,
    free_slots: Small<InstanceId>,
    groups: Vec<Group>,
    free_groups: Small<u32>,
    created: Small<u32>,
    queues: Vec<TaskQueue>,
    workers: Small<Option<InstanceId>>,
    pool_idle: Small<u32>,
    pool_waiting: Small<u32>,
    pool_waiting_untimed: Small<u32>,
    agenda: Agenda,
    arrivals_sent: Small<u64>,
    just_taken: Small<InstanceId>,
    mid_round: bool,
    enqueue_order: u64,
    next_token: u64,
    live: u64,
    choices_made: u64,
}

impl Clone for Simulation<'_> {
    fn clone(&self) -> Self {
        Simulation {
            model: self.model,
            now: self.now,
            rng: self.rng.clone(),
            instances: self.instances.clone(),
            free_slots: self.free_slots.clone(),
            groups: self.groups.clone(),
            free_groups: self.free_groups.clone(),
            created: self.created.clone(),
            queues: self.queues.clone(),
            workers: self.workers.clone(),
            pool_idle: self.pool_idle.clone(),
            pool_waiting: self.pool_waiting.clone(),
            pool_waiting_untimed: self.pool_waiting_untimed.clone(),
            agenda: self.agenda.clone(),
            arrivals_sent: self.arrivals_sent.clone(),
            just_taken: self.just_taken.clone(),
            mid_round: self.mid_round,
            enqueue_order: self.enqueue_order,
            next_token: self.next_token,
            live: self.live,
            choices_made: self.choices_made,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        // The small tables hold `Copy` values: copying them as slices is a `memcpy`, where
        // `SmallVec::clone_from` would clone and push them one at a time. Most have the same
        // length in every state of a model (per task type, worker, pool or stream).
        #[inline(always)]
        fn copy<T: Copy>(to: &mut Small<T>, from: &Small<T>) {
            if to.len() == from.len() {
                to.copy_from_slice(from);
            } else {
                to.clear();
                to.extend_from_slice(from);
            }
        }
        self.model = source.model;
        self.now = source.now;
        self.rng = source.rng.clone();
        self.instances.clone_from(&source.instances);
        copy(&mut self.free_slots, &source.free_slots);
        self.groups.clone_from(&source.groups);
        copy(&mut self.free_groups, &source.free_groups);
        copy(&mut self.created, &source.created);
        self.queues.clone_from(&source.queues);
        copy(&mut self.workers, &source.workers);
        copy(&mut self.pool_idle, &source.pool_idle);
        copy(&mut self.pool_waiting, &source.pool_waiting);
        copy(&mut self.pool_waiting_untimed, &source.pool_waiting_untimed);
        self.agenda.clone_from(&source.agenda);
        copy(&mut self.arrivals_sent, &source.arrivals_sent);
        copy(&mut self.just_taken, &source.just_taken);
        self.mid_round = source.mid_round;
        self.enqueue_order = source.enqueue_order;
        self.next_token = source.next_token;
        self.live = source.live;
        self.choices_made = source.choices_made;
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
            free_slots: Small::new(),
            groups: Vec::new(),
            free_groups: Small::new(),
            created: Small::from_elem(0, s.tasks.len()),
            queues: s
                .queues
                .iter()
                .map(|q| TaskQueue::new(q.discipline))
                .collect(),
            workers: Small::from_elem(None, model.worker_count()),
            pool_idle: s.pools.iter().map(|p| p.workers).collect(),
            pool_waiting: Small::from_elem(0, s.pools.len()),
            pool_waiting_untimed: Small::from_elem(0, s.pools.len()),
            agenda: Agenda::default(),
            arrivals_sent: Small::from_elem(0, s.arrivals.len()),
            just_taken: Small::new(),
            mid_round: false,
            enqueue_order: 0,
            next_token: 0,
            live: 0,
            choices_made: 0,
        };
        for stream in 0..s.arrivals.len() {
            sim.schedule_arrival(stream);
        }
        sim
    }

    // ----- reading the state -------------------------------------------------------------

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
    pub fn created(&self) -> &[u32] {
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

    /// The task held by each worker.
    pub fn workers(&self) -> &[Option<InstanceId>] {
        &self.workers
    }

    /// The queued tasks of queue `q`.
    pub fn queue(&self, q: QueueId) -> &TaskQueue {
        &self.queues[q]
    }

    /// Workers of pool `p` that are idle, held by a waiting task, and held in all.
    pub fn pool_counts(&self, p: PoolId) -> (u32, u32, u32) {
        let workers = self.scenario().pools[p].workers;
        (
            self.pool_idle[p],
            self.pool_waiting[p],
            workers - self.pool_idle[p],
        )
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
            _ => true,
        }
    }

    // ----- the decision point ------------------------------------------------------------

    /// Every choice enabled now, in canonical order: normally timers due now (in the order
    /// they were set), then idle workers that can take a task (lowest first), then tasks just
    /// taken (in the order taken); while the tasks of a dispatch round are running their
    /// steps, those come first. Empty when the instant is over.
    pub fn options(&self) -> Vec<Choice> {
        let mut options = Vec::new();
        self.options_into(&mut options);
        options
    }

    /// [`options`](Self::options) written into `out` (cleared first), so that a caller asking
    /// at every state (the explorer) reuses one buffer instead of allocating a list each time.
    pub fn options_into(&self, out: &mut Vec<Choice>) {
        self.list_options(out, true);
    }

    /// [`options_into`](Self::options_into) with only the lowest-numbered idle worker of each
    /// pool offered a take: the explorer's symmetry reduction treats a pool's idle workers as
    /// one, and listing the others only to drop them is most of the list on large pools.
    pub fn options_lowest_idle_into(&self, out: &mut Vec<Choice>) {
        self.list_options(out, false);
    }

    fn list_options(&self, out: &mut Vec<Choice>, every_idle: bool) {
        out.clear();
        let runs = self.just_taken.iter().map(|&t| Choice::Run(t));
        if self.mid_round {
            out.extend(runs.clone());
        }
        let first_fire = out.len();
        out.extend(
            self.agenda
                .iter()
                .filter(|e| e.time == self.now && self.is_live(&e.timer))
                .map(|&e| Choice::Fire(e)),
        );
        out[first_fire..].sort_unstable_by_key(|c| match c {
            Choice::Fire(e) => e.seq,
            _ => unreachable!("only fires are sorted"),
        });
        for (p, pool) in self.scenario().pools.iter().enumerate() {
            if !self.pool_can_take(p, pool) {
                continue;
            }
            let idle = self
                .model
                .workers_of(p)
                .filter(|&w| self.workers[w as usize].is_none())
                .map(Choice::Take);
            if every_idle {
                out.extend(idle);
            } else {
                out.extend(idle.take(1));
            }
        }
        if !self.mid_round {
            out.extend(runs);
        }
    }

    /// Whether any choice is enabled now (the same as `!options().is_empty()`, without
    /// allocating).
    pub fn has_options(&self) -> bool {
        !self.just_taken.is_empty()
            || self
                .agenda
                .iter()
                .any(|e| e.time == self.now && self.is_live(&e.timer))
            || self.first_worker_that_can_take().is_some()
    }

    /// The first of [`options`](Self::options), without building the list: the canonical
    /// rule's next choice. Drops stale timers it meets on the way.
    pub fn canonical_choice(&mut self) -> Option<Choice> {
        if self.mid_round {
            if let Some(&t) = self.just_taken.first() {
                return Some(Choice::Run(t));
            }
        }
        while let Some(e) = self.agenda.peek() {
            if e.time != self.now {
                break;
            }
            if self.is_live(&e.timer) {
                return Some(Choice::Fire(*e));
            }
            self.agenda.pop();
        }
        if let Some(w) = self.first_worker_that_can_take() {
            return Some(Choice::Take(w));
        }
        self.just_taken.first().map(|&t| Choice::Run(t))
    }

    fn first_worker_that_can_take(&self) -> Option<WorkerId> {
        for (p, pool) in self.scenario().pools.iter().enumerate() {
            if !self.pool_can_take(p, pool) {
                continue;
            }
            return self
                .model
                .workers_of(p)
                .find(|&w| self.workers[w as usize].is_none());
        }
        None
    }

    /// Whether pool `p` has an idle worker and some queue of it has a task.
    fn pool_can_take(&self, p: PoolId, pool: &crate::scenario::Pool) -> bool {
        self.pool_idle[p] != 0 && pool.queues.iter().any(|&q| !self.queues[q].is_empty())
    }

    /// Whether worker `w` is idle and some queue of its pool has a task.
    pub fn can_take(&self, w: WorkerId) -> bool {
        self.workers[w as usize].is_none()
            && self.scenario().pools[self.model.pool_of(w)]
                .queues
                .iter()
                .any(|&q| !self.queues[q].is_empty())
    }

    /// Performs `choice`, which must be one of [`options`](Self::options).
    #[inline(never)]
    pub fn apply<O: Observer>(&mut self, choice: Choice, obs: &mut O) {
        self.choices_made += 1;
        match choice {
            Choice::Fire(Entry { seq, .. }) => {
                let entry = match self.agenda.peek() {
                    Some(e) if e.seq == seq => self.agenda.pop(),
                    _ => self.agenda.remove(seq),
                };
                let entry = entry.expect("fired timer is on the agenda");
                self.fire(entry, obs);
            }
            Choice::Take(w) => self.take(w, obs),
            Choice::Run(task) => {
                let i = self
                    .just_taken
                    .iter()
                    .position(|&t| t == task)
                    .expect("run choice names a just-taken task");
                self.just_taken.remove(i);
                self.mid_round = !self.just_taken.is_empty();
                self.proceed(task, obs);
            }
        }
    }

    /// Moves the clock to the next timer (or the horizon). Call when no option is left.
    pub fn advance_time<O: Observer>(&mut self, obs: &mut O) -> Advance {
        while let Some(e) = self.agenda.peek() {
            if self.is_live(&e.timer) {
                break;
            }
            self.agenda.pop();
        }
        let Some(next) = self.agenda.peek().map(|e| e.time) else {
            return Advance::Nothing;
        };
        if let Some(h) = self.scenario().horizon {
            if next > h {
                obs.time_passes(self, self.now, h);
                self.now = h;
                return Advance::Horizon;
            }
        }
        obs.time_passes(self, self.now, next);
        self.now = next;
        Advance::Moved
    }

    /// The deadlock in the current state, if any (see [`wait_for`]).
    pub fn deadlock(&self) -> Option<Deadlock> {
        if !self.may_be_deadlocked() {
            return None;
        }
        wait_for::find(self)
    }

    /// Whether the current state is deadlocked: [`deadlock`](Self::deadlock) without building
    /// the explanation (for searches and Monte Carlo runs that only count deadlocks).
    pub fn is_deadlocked(&self) -> bool {
        self.may_be_deadlocked() && wait_for::stuck_set(self).contains(&true)
    }

    /// Constant-time necessary condition for a deadlock: some pool has every worker held by a
    /// task waiting without a timeout.
    pub fn may_be_deadlocked(&self) -> bool {
        self.scenario()
            .pools
            .iter()
            .zip(&self.pool_waiting_untimed)
            .any(|(pool, &n)| n == pool.workers)
    }

    // ----- the rules -------------------------------------------------------------------------

    fn schedule_arrival(&mut self, stream: usize) {
        let arrival = &self.model.scenario.arrivals[stream];
        let sent = self.arrivals_sent[stream];
        let time = match &arrival.pattern {
            ArrivalPattern::At(times) => times.get(sent as usize).copied(),
            ArrivalPattern::Stream {
                start,
                gap,
                first_after_gap,
                count,
            } => {
                if count.is_some_and(|c| sent >= c) {
                    None
                } else if sent == 0 && !first_after_gap {
                    Some(*start)
                } else {
                    let base = if sent == 0 { *start } else { self.now };
                    Some(base.saturating_add(gap.sample(&mut self.rng)))
                }
            }
        };
        if let Some(time) = time {
            let time = time.max(self.now);
            self.agenda.schedule(
                time,
                Timer::Arrival {
                    stream: stream as u32,
                },
            );
        }
    }

    fn fire<O: Observer>(&mut self, entry: Entry, obs: &mut O) {
        match entry.timer {
            Timer::Arrival { stream } => {
                let stream = stream as usize;
                self.arrivals_sent[stream] += 1;
                let task = self.scenario().arrivals[stream].task;
                let id = self.create(task, None, NONE);
                self.enqueue(id);
                obs.event(self, &Event::Arrived { task: id });
                self.schedule_arrival(stream);
            }
            Timer::WorkDone { task } => {
                self.instances[task as usize].pc += 1;
                self.proceed(task, obs);
            }
            Timer::Timeout { task, .. } => {
                obs.event(self, &Event::TimedOut { task });
                let w = self.end_wait(task);
                let on_timeout = match self.step_of(task) {
                    Some(Step::Wait { on_timeout, .. }) => *on_timeout,
                    _ => unreachable!("a timeout belongs to a wait step"),
                };
                match on_timeout {
                    OnTimeout::Fail => self.finish(task, w, TaskResult::Failed, obs),
                    OnTimeout::Continue => {
                        self.instances[task as usize].status = Status::Working(w);
                        self.instances[task as usize].pc += 1;
                        self.proceed(task, obs);
                    }
                }
            }
        }
    }

    fn take<O: Observer>(&mut self, w: WorkerId, obs: &mut O) {
        let p = self.model.pool_of(w);
        let queues = &self.model.scenario.pools[p].queues;
        let task = queues
            .iter()
            .find_map(|&q| self.queues[q].pop())
            .expect("take choice has a task to take");
        self.workers[w as usize] = Some(task);
        self.pool_idle[p] -= 1;
        let inst = &mut self.instances[task as usize];
        inst.status = Status::Taken(w);
        inst.taken_at = self.now;
        self.just_taken.push(task);
        obs.event(self, &Event::Taken { task, worker: w });
    }

    fn step_of(&self, task: InstanceId) -> Option<&'m Step> {
        let inst = &self.instances[task as usize];
        self.model.scenario.tasks[inst.task]
            .steps
            .get(inst.pc as usize)
    }

    /// Runs the task's instantaneous steps from its `pc` until it blocks or ends.
    fn proceed<O: Observer>(&mut self, task: InstanceId, obs: &mut O) {
        let w = self.instances[task as usize]
            .status
            .worker()
            .expect("a proceeding task holds a worker");
        loop {
            let Some(step) = self.step_of(task) else {
                // A child's failure reaches its parent only through a wait (as a result's
                // `get()` raises); a parent that never waits completes.
                return self.finish(task, w, TaskResult::Completed, obs);
            };
            match step {
                Step::Work(d) => {
                    let duration = d.sample(&mut self.rng);
                    self.instances[task as usize].status = Status::Working(w);
                    self.agenda
                        .schedule(self.now.saturating_add(duration), Timer::WorkDone { task });
                    obs.event(
                        self,
                        &Event::WorkStarted {
                            task,
                            worker: w,
                            duration,
                        },
                    );
                    return;
                }
                Step::Spawn {
                    task: child,
                    count,
                    then,
                } => {
                    self.spawn(task, *child, *count, *then, obs);
                    self.instances[task as usize].pc += 1;
                }
                Step::Wait { timeout, .. } => {
                    let inst = &self.instances[task as usize];
                    if inst.outstanding == 0 {
                        if inst.child_failed {
                            return self.finish(task, w, TaskResult::Failed, obs);
                        }
                        self.instances[task as usize].pc += 1;
                        continue;
                    }
                    self.begin_wait(task, w, timeout.as_ref());
                    obs.event(self, &Event::Blocked { task, worker: w });
                    return;
                }
            }
        }
    }

    fn spawn<O: Observer>(
        &mut self,
        parent: InstanceId,
        child: TaskId,
        count: u32,
        then: Option<TaskId>,
        obs: &mut O,
    ) {
        let group = match then {
            Some(then) => self.new_group(parent, then, count),
            None => NONE,
        };
        let link = self.link(parent);
        for _ in 0..count {
            let id = self.create(child, Some(link), group);
            self.instances[parent as usize].outstanding += 1;
            self.enqueue(id);
            obs.event(self, &Event::Spawned { task: id, parent });
        }
    }

    fn new_group(&mut self, owner: InstanceId, then: TaskId, count: u32) -> u32 {
        let group = Group {
            remaining: count,
            then,
            owner: self.link(owner),
        };
        match self.free_groups.pop() {
            Some(g) => {
                self.groups[g as usize] = group;
                g
            }
            None => {
                self.groups.push(group);
                self.groups.len() as u32 - 1
            }
        }
    }

    fn link(&self, id: InstanceId) -> Link {
        Link {
            slot: id,
            generation: self.instances[id as usize].generation,
        }
    }

    fn begin_wait(
        &mut self,
        task: InstanceId,
        w: WorkerId,
        timeout: Option<&crate::scenario::Duration>,
    ) {
        let p = self.model.pool_of(w);
        self.pool_waiting[p] += 1;
        let timed = timeout.is_some();
        if !timed {
            self.pool_waiting_untimed[p] += 1;
        }
        self.instances[task as usize].status = Status::Waiting { worker: w, timed };
        if let Some(d) = timeout {
            let token = self.next_token;
            self.next_token += 1;
            self.instances[task as usize].wait_token = token;
            let at = self.now.saturating_add(d.sample(&mut self.rng));
            self.agenda.schedule(at, Timer::Timeout { task, token });
        }
    }

    /// Ends a wait (children done or timeout); returns the worker still held.
    fn end_wait(&mut self, task: InstanceId) -> WorkerId {
        let Status::Waiting { worker, timed } = self.instances[task as usize].status else {
            unreachable!("ending a wait of a task that is not waiting");
        };
        let p = self.model.pool_of(worker);
        self.pool_waiting[p] -= 1;
        if !timed {
            self.pool_waiting_untimed[p] -= 1;
        }
        // Any pending timeout of this wait becomes stale.
        self.instances[task as usize].wait_token = u64::MAX;
        self.instances[task as usize].status = Status::Working(worker);
        worker
    }

    fn create(&mut self, task: TaskId, parent: Option<Link>, group: u32) -> InstanceId {
        self.created[task] += 1;
        self.live += 1;
        let fresh = Instance {
            task,
            pc: 0,
            serial: self.created[task],
            status: Status::Free,
            parent,
            group,
            outstanding: 0,
            child_failed: false,
            enqueued_at: self.now,
            taken_at: 0,
            generation: 0,
            wait_token: u64::MAX,
        };
        match self.free_slots.pop() {
            Some(slot) => {
                let generation = self.instances[slot as usize].generation.wrapping_add(1);
                self.instances[slot as usize] = Instance {
                    generation,
                    ..fresh
                };
                slot
            }
            None => {
                self.instances.push(fresh);
                self.instances.len() as InstanceId - 1
            }
        }
    }

    fn enqueue(&mut self, id: InstanceId) {
        let task = &self.model.scenario.tasks[self.instances[id as usize].task];
        self.instances[id as usize].status = Status::Queued(task.queue);
        self.instances[id as usize].enqueued_at = self.now;
        self.enqueue_order += 1;
        self.queues[task.queue].push(id, task.priority, self.enqueue_order);
    }

    fn finish<O: Observer>(
        &mut self,
        task: InstanceId,
        w: WorkerId,
        result: TaskResult,
        obs: &mut O,
    ) {
        obs.event(self, &Event::Finished { task, result });
        self.workers[w as usize] = None;
        self.pool_idle[self.model.pool_of(w)] += 1;
        let inst = &mut self.instances[task as usize];
        inst.status = Status::Free;
        let parent = inst.parent.take();
        let group = std::mem::replace(&mut inst.group, NONE);
        self.free_slots.push(task);
        self.live -= 1;
        if group != NONE {
            self.finish_group_member(group, obs);
        }
        if let Some(parent) = parent.and_then(|l| self.resolve(l)) {
            self.child_finished(parent, result, obs);
        }
    }

    fn finish_group_member<O: Observer>(&mut self, group: u32, obs: &mut O) {
        let g = &mut self.groups[group as usize];
        g.remaining -= 1;
        if g.remaining == 0 {
            let then = g.then;
            self.free_groups.push(group);
            let id = self.create(then, None, NONE);
            self.enqueue(id);
            obs.event(self, &Event::CallbackQueued { task: id });
        }
    }

    fn child_finished<O: Observer>(&mut self, parent: InstanceId, result: TaskResult, obs: &mut O) {
        let inst = &mut self.instances[parent as usize];
        inst.outstanding -= 1;
        if result == TaskResult::Failed {
            inst.child_failed = true;
        }
        if inst.outstanding == 0 && matches!(inst.status, Status::Waiting { .. }) {
            let w = self.end_wait(parent);
            obs.event(
                self,
                &Event::Resumed {
                    task: parent,
                    worker: w,
                },
            );
            if self.instances[parent as usize].child_failed {
                return self.finish(parent, w, TaskResult::Failed, obs);
            }
            self.instances[parent as usize].pc += 1;
            self.proceed(parent, obs);
        }
    }
}

/// Limits on a run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Stop with [`Outcome::EventLimit`] after this many choices.
    pub max_events: u64,
    /// Stop with [`Outcome::TaskLimit`] when more task instances than this are alive at once
    /// (a scenario that spawns without bound would otherwise exhaust memory).
    pub max_tasks: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_events: 1_000_000_000,
            max_tasks: 10_000_000,
        }
    }
}

/// How a run ended, without the deadlock's explanation (see [`run_to_end`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Every task finished.
    Completed,
    /// The horizon was reached with work left.
    Horizon,
    /// A deadlock formed at the current instant.
    Deadlock,
    /// `max_events` choices were made.
    EventLimit,
    /// More than `max_tasks` tasks were alive at once.
    TaskLimit,
    /// The chooser stopped the run.
    Stopped,
}

/// Runs `sim` to its end with `chooser` deciding every choice, reporting to `obs`, and says
/// how it ended. Cheaper than [`run`] for callers that only count outcomes (Monte Carlo): a
/// deadlock is detected but not explained.
pub fn run_to_end<C: Chooser, O: Observer>(
    sim: &mut Simulation<'_>,
    chooser: &mut C,
    obs: &mut O,
    limits: Limits,
) -> End {
    let mut options = Vec::new();
    loop {
        if sim.choices_made >= limits.max_events {
            return End::EventLimit;
        }
        let choice = if C::CANONICAL {
            sim.canonical_choice()
        } else {
            options.clear();
            options.extend(sim.options());
            if options.is_empty() {
                None
            } else {
                // Asked even for a single option, so a replayed schedule sees every step.
                match chooser.choose(sim, &options) {
                    Some(i) => Some(options[i]),
                    None => return End::Stopped,
                }
            }
        };
        match choice {
            Some(choice) => {
                sim.apply(choice, obs);
                if sim.live > limits.max_tasks {
                    return End::TaskLimit;
                }
                if sim.is_deadlocked() {
                    return End::Deadlock;
                }
            }
            None => match sim.advance_time(obs) {
                Advance::Moved => {}
                Advance::Horizon => return End::Horizon,
                Advance::Nothing => return End::Completed,
            },
        }
    }
}

/// Runs `sim` to its end with `chooser` deciding every choice, reporting to `obs`; a deadlock
/// comes with its explanation.
pub fn run<C: Chooser, O: Observer>(
    sim: &mut Simulation<'_>,
    chooser: &mut C,
    obs: &mut O,
    limits: Limits,
) -> Outcome {
    match run_to_end(sim, chooser, obs, limits) {
        End::Completed => Outcome::Completed,
        End::Horizon => Outcome::Horizon,
        End::Deadlock => Outcome::Deadlock(
            wait_for::find(sim).expect("run_to_end stops at a deadlock, which find explains"),
        ),
        End::EventLimit => Outcome::EventLimit,
        End::TaskLimit => Outcome::TaskLimit,
        End::Stopped => Outcome::Stopped,
    }
}

/// Runs a simulation of `model` with the scenario's own tie rule (`ties`), its seed, and `obs`.
pub fn simulate<'m, O: Observer>(
    model: &'m Model,
    obs: &mut O,
    limits: Limits,
) -> (Outcome, Simulation<'m>) {
    let mut sim = Simulation::new(model);
    let outcome = match model.scenario.ties {
        Ties::Canonical => run(&mut sim, &mut Canonical, obs, limits),
        Ties::Random => {
            let tie_seed = crate::rng::derive_seed(model.scenario.seed, u64::MAX);
            run(
                &mut sim,
                &mut RandomTies(SimRng::new(tie_seed)),
                obs,
                limits,
            )
        }
    };
    (outcome, sim)
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

#[cfg(test)]
pub(crate) mod tests;

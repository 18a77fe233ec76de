//! Exhaustive, breadth-first exploration of every reachable state.
//!
//! # Summary
//! Breadth-first search over the engine's choices from the initial state, remembering every
//! visited state by its 128-bit canonical fingerprint ([`super::canon`]), exploring only the
//! reduced set of choices of [`super::explored_options`], and checking every new state for a
//! deadlock. The first deadlock found is at the smallest depth of the reduced graph, so its
//! schedule is a shortest one; it is then minimised ([`super::minimize`]).
//!
//! # Arguments
//! The scenario, the [`Timing`], the [`Reductions`] and a [`Budget`] (states, wall-clock time,
//! memory, and a stop flag that Ctrl-C sets).
//!
//! # Returns
//! An [`Exploration`]: the [`Verdict`] (`deadlock` with its schedule, `deadlock_free` when the
//! whole reachable state space was visited, `inconclusive` with the budget that ran out), the
//! number of distinct states visited, and how the search went.
//!
//! # Complexity
//! Time linear in the number of distinct (reduced) states times the branching factor; memory
//! 17 bytes per slot of the visited set (a 16-byte fingerprint and a control byte: 20 to 39
//! bytes per visited state as the table fills from half to seven eighths), plus the frontier of
//! full states, each with the parts of its fingerprint that its successors' fingerprints reuse
//! ([`Parts`]). Paths are kept only for states in the frontier, as a shared tree of
//! parent links (`PathTree`) whose nodes are reused as the frontier moves on. Under any timing,
//! a successor whose fingerprint can be told before it is built ([`Canon::predict`]) and was
//! seen before is not built at all.
//!
//! # Reference
//! Hash compaction: Wolper & Leroy, "Reliable hashing without collision detection" (CAV 1993).
//! Persistent sets: Godefroid, "Partial-Order Methods for the Verification of Concurrent
//! Systems" (LNCS 1032, 1996). Symmetry: Ip & Dill, "Better verification through symmetry"
//! (1996).

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::agenda::{Entry, Timer};
use crate::engine::{Choice, Deadlock, Model, Simulation};
use crate::memory::{self, MemoryLimit};
use crate::scenario::Scenario;

use super::canon::{raw_fingerprint, Canon, Changes, Fingerprint, Parts};
use super::{
    explored_options, explored_options_into, has_unfinished, label, model_for, settle, Plan,
    Reductions, Schedule, SwitchedOff, Timing,
};

/// Limits on an exploration. Hitting one gives an `inconclusive` verdict, never an error.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Stop after visiting this many distinct states.
    pub max_states: u64,
    /// Stop after this much wall-clock time.
    pub max_time: Option<Duration>,
    /// Stop when the process's resident memory would exceed this (see [`crate::memory`]).
    pub max_memory: Option<MemoryLimit>,
    /// Stop when this flag becomes true (Ctrl-C).
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            max_states: 10_000_000,
            max_time: None,
            max_memory: MemoryLimit::default_for_this_machine(),
            stop: None,
        }
    }
}

/// What an exploration concluded.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Some timing deadlocks; the schedule leads there.
    Deadlock {
        /// The minimised schedule.
        schedule: Schedule,
        /// Length of the schedule as first found, before minimisation.
        found_steps: usize,
        /// The deadlock the schedule ends in.
        deadlock: Deadlock,
    },
    /// No timing deadlocks: every reachable state was visited.
    DeadlockFree,
    /// A budget ran out first.
    Inconclusive {
        /// Which budget, in words.
        reason: String,
    },
}

impl Verdict {
    /// `deadlock`, `deadlock_free` or `inconclusive`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Deadlock { .. } => "deadlock",
            Verdict::DeadlockFree => "deadlock_free",
            Verdict::Inconclusive { .. } => "inconclusive",
        }
    }
}

/// The result of an exhaustive exploration.
#[derive(Clone, Debug)]
pub struct Exploration {
    /// The verdict.
    pub verdict: Verdict,
    /// Distinct states visited.
    pub states: u64,
    /// Choices applied (edges of the reduced state graph).
    pub transitions: u64,
    /// Distinct final states in which every task had finished.
    pub completed_states: u64,
    /// Distinct final states cut by the horizon.
    pub horizon_states: u64,
    /// Largest frontier size.
    pub max_frontier: usize,
    /// Depth (choices from the start) of the last level searched.
    pub depth: u32,
    /// Wall-clock time spent.
    pub elapsed: Duration,
    /// Bytes of the visited set per visited state.
    pub bytes_per_state: f64,
    /// The shortcuts asked for that the scenario's features switched off (see
    /// [`super::reduce`]).
    pub switched_off: Vec<SwitchedOff>,
    /// What decided the verdict.
    pub method: Method,
}

impl Exploration {
    /// An exploration that has visited nothing yet, decided by `method`: `deadlock_free`
    /// until it finds otherwise.
    fn start(method: Method, switched_off: Vec<SwitchedOff>) -> Exploration {
        Exploration {
            verdict: Verdict::DeadlockFree,
            states: 0,
            transitions: 0,
            completed_states: 0,
            horizon_states: 0,
            max_frontier: 0,
            depth: 0,
            elapsed: Duration::ZERO,
            bytes_per_state: 0.0,
            switched_off,
            method,
        }
    }

    /// The verdict of the counting argument: deadlock-free, without visiting a state.
    pub fn proved(proof: super::bound::Proof, elapsed: Duration) -> Exploration {
        Exploration {
            elapsed,
            ..Exploration::start(Method::Counting(proof), Vec::new())
        }
    }
}

/// What decided an exploration's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// The counting argument ([`super::bound`]): no pool can fill with tasks waiting for ever.
    Counting(super::bound::Proof),
    /// The breadth-first search.
    BreadthFirst,
    /// The depth-first search that tries the choices leading toward a deadlock first.
    DepthFirst,
}

impl Method {
    /// `counting`, `breadth_first` or `depth_first`.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Counting(_) => "counting",
            Method::BreadthFirst => "breadth_first",
            Method::DepthFirst => "depth_first",
        }
    }
}

/// A progress report, sent every few thousand states.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Distinct states visited so far.
    pub states: u64,
    /// States waiting to be expanded.
    pub frontier: usize,
    /// Time since the start.
    pub elapsed: Duration,
}

#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
}

type Visited = HashSet<Fingerprint, BuildHasherDefault<IdentityHasher>>;

/// The schedules that lead to the states of the frontier, as a tree of parent links kept in
/// one table: a node is the last choice of a path with a link to the path before it, counted
/// by the frontier entries and child nodes that refer to it, and its slot is reused once
/// nothing does. Memory follows the frontier, not the visited states, and branching does not
/// go to the allocator (the shared `Rc` links this replaces spent a tenth of the search
/// allocating and freeing).
#[derive(Default)]
struct PathTree {
    nodes: Vec<PathNode>,
    free: Vec<u32>,
}

#[derive(Clone, Copy)]
struct PathNode {
    parent: u32,
    choice: u32,
    refs: u32,
}

/// The empty path, of the initial state.
const START: u32 = u32::MAX;

impl PathTree {
    /// A new path: `parent` followed by option `choice`, referred to once.
    fn extend(&mut self, parent: u32, choice: usize) -> u32 {
        if parent != START {
            self.nodes[parent as usize].refs += 1;
        }
        let node = PathNode {
            parent,
            choice: choice as u32,
            refs: 1,
        };
        match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() as u32 - 1
            }
        }
    }

    /// Drops one reference to `path`, freeing the nodes that nothing refers to any more.
    fn release(&mut self, mut path: u32) {
        while path != START {
            let node = &mut self.nodes[path as usize];
            node.refs -= 1;
            if node.refs > 0 {
                return;
            }
            self.free.push(path);
            path = node.parent;
        }
    }

    /// The option indices of `path`, from the initial state.
    fn choices(&self, mut path: u32) -> Vec<u32> {
        let mut choices = Vec::new();
        while path != START {
            let node = self.nodes[path as usize];
            choices.push(node.choice);
            path = node.parent;
        }
        choices.reverse();
        choices
    }
}

/// In which order the search expands the states it has found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Order {
    /// Breadth-first: the first deadlock found is at the smallest depth, so its schedule is a
    /// shortest one (`--shortest`). The frontier is a queue of whole states, which grows with
    /// the width of the state graph.
    Shortest,
    /// Depth-first, trying first the choices that lead toward a deadlock: arrivals, then
    /// workers taking tasks and tasks running their steps, and only then work finishing and
    /// timeouts firing. A deadlock is usually found within a few states of the depth it needs;
    /// its schedule is then minimised, but may be longer than a shortest one. The frontier is a
    /// stack, which grows with the depth. Without a deadlock it visits the same states as
    /// [`Order::Shortest`].
    #[default]
    DeadlockFirst,
}

/// Explores every schedule of `scenario` under `timing`, breadth-first (see [`search`] and
/// the module docs).
pub fn explore(
    scenario: &Scenario,
    timing: Timing,
    reductions: Reductions,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Exploration {
    search(
        scenario,
        timing,
        reductions,
        Order::Shortest,
        budget,
        progress,
    )
}

/// How much a choice is worth trying first when looking for a deadlock (higher first): what
/// fills workers and queues before what frees them.
fn deadlock_first_rank(choice: &Choice) -> u8 {
    match choice {
        Choice::Fire(Entry {
            timer: Timer::Arrival { .. },
            ..
        }) => 3,
        // A kill loses tasks: what it leaves waiting is an orphaned wait.
        Choice::Take(_) | Choice::Run(_) | Choice::Kill(_) => 2,
        Choice::Fire(Entry {
            timer: Timer::WorkDone { .. },
            ..
        }) => 1,
        Choice::Fire(Entry {
            timer: Timer::Timeout { .. } | Timer::Restarted { .. } | Timer::ThreadReplaced { .. },
            ..
        }) => 0,
    }
}

/// Explores every schedule of `scenario` under `timing`, expanding states in `order`.
pub fn search(
    scenario: &Scenario,
    timing: Timing,
    reductions: Reductions,
    order: Order,
    budget: &Budget,
    progress: &mut dyn FnMut(Progress),
) -> Exploration {
    let model = model_for(scenario, timing);
    let started = Instant::now();
    let plan = Plan::new(&model, reductions);
    let mut hasher = StateHasher::new(&plan);
    let mut stats = Exploration::start(
        match order {
            Order::Shortest => Method::BreadthFirst,
            Order::DeadlockFirst => Method::DepthFirst,
        },
        plan.switched_off.clone(),
    );
    let mut visited = Visited::default();
    // States are boxed: a `Simulation` is several hundred bytes, and the frontier, the spare
    // pool and the branching below move states around far more often than they create them.
    let mut frontier: VecDeque<(u32, u32, Box<State<'_>>)> = VecDeque::new();
    let mut paths = PathTree::default();
    let mut init = Box::new(State {
        sim: Simulation::new(&model),
        parts: Parts::default(),
    });
    let alive = settle(&mut init.sim);
    visited.insert(hasher.first(&mut init));
    if alive {
        frontier.push_back((START, 0, init));
    } else {
        count_final(&init.sim, &mut stats);
    }
    // States no longer needed (duplicates, final states), kept to be overwritten by
    // `clone_from` so that branching reuses their tables instead of allocating.
    let mut spare: Vec<Box<State<'_>>> = Vec::new();
    let mut options = Vec::new();
    // The order in which the options of a state are tried (indices into `options`).
    let mut tried: Vec<usize> = Vec::new();
    let mut state_bytes = 0u64;
    let mut check_every = 1024u64;
    let mut pops = 0u64;
    let next = |frontier: &mut VecDeque<_>| match order {
        Order::Shortest => frontier.pop_front(),
        Order::DeadlockFirst => frontier.pop_back(),
    };
    'search: while let Some((node, depth, state)) = next(&mut frontier) {
        pops += 1;
        stats.depth = stats.depth.max(depth);
        // A state of many tasks takes long to expand (every child is a copy of it, and a take
        // moves every task behind it in its queue): the budgets are then looked at every pop
        // and before each child. The count of slots is known without measuring the state.
        let big = state.sim.slots() > 20_000;
        if state_bytes == 0 || big || pops.is_multiple_of(check_every) {
            // States grow as tasks spawn: their size is measured again at every look, and the
            // budgets are looked at often enough that the states built between two looks (a
            // few per pop) stay within a hundredth of the memory budget.
            state_bytes = approx_state_bytes(&state);
            check_every = budget.max_memory.map_or(1024, |m| {
                (m.bytes / 100 / (state_bytes * 8).max(1)).clamp(1, 1024)
            });
        }
        if big || pops.is_multiple_of(check_every) {
            let estimate = visited.capacity() as u64 * 17 + frontier.len() as u64 * state_bytes;
            let reason = exhausted(budget, started, memory::in_use(estimate));
            progress(Progress {
                states: visited.len() as u64,
                frontier: frontier.len(),
                elapsed: started.elapsed(),
            });
            if let Some(reason) = reason {
                stats.verdict = Verdict::Inconclusive { reason };
                break;
            }
        }
        explored_options_into(&state.sim, &plan, &mut options);
        tried.clear();
        tried.extend(0..options.len());
        if order == Order::DeadlockFirst {
            // The stack pops the last child first: the best-ranked go last.
            tried.sort_by_key(|&i| deadlock_first_rank(&options[i]));
        }
        let last = tried.last().copied().unwrap_or(0);
        let mut parent = Some(state);
        for &i in &tried {
            if big {
                if let Some(reason) = exhausted(budget, started, memory::in_use(0)) {
                    stats.verdict = Verdict::Inconclusive { reason };
                    break 'search;
                }
            }
            let choice = options[i];
            let from = parent
                .as_deref()
                .expect("the parent state is kept until its last child");
            let predicted = hasher.predict(from, choice);
            if predicted.is_some_and(|f| visited.contains(&f)) {
                // A state seen before (so not a deadlock): nothing to build.
                stats.transitions += 1;
                continue;
            }
            let mut child = branch(&mut parent, i == last, &mut spare);
            hasher.apply(&mut child.sim, choice);
            stats.transitions += 1;
            let mut alive = true;
            // A hang that only shows at rest (see `Model::hangs_at_rest`) shows once the clock
            // has moved as far as it can.
            let hung = child.sim.is_deadlocked() || {
                alive = settle(&mut child.sim);
                !alive && model.hangs_at_rest() && child.sim.is_deadlocked()
            };
            if hung {
                let mut path = paths.choices(node);
                path.push(i as u32);
                stats.depth = depth + 1;
                stats.verdict = deadlock_verdict(scenario, &model, timing, &plan, &path);
                stats.states = visited.len() as u64 + 1;
                return finish(stats, &visited, started);
            }
            // The parent's parts are in the child itself when it is the last.
            let from = parent.as_deref().unwrap_or(&child);
            let fingerprint = hasher.next(&child.sim, from, choice);
            debug_assert!(
                predicted.is_none_or(|f| f == fingerprint),
                "a wrong prediction"
            );
            if visited.len() == visited.capacity() {
                // The visited set is about to double: a table twice the size is allocated
                // while the old one is still held. Only a doubling that is a sizeable share of
                // the budget is worth reading the process's memory for.
                let growth = visited.capacity() as u64 * 2 * 17;
                let estimate = visited.capacity() as u64 * 17;
                if let Some(reason) = budget
                    .max_memory
                    .filter(|m| growth >= m.bytes / 64)
                    .and_then(|m| m.exceeded(memory::in_use(estimate), growth))
                {
                    stats.verdict = Verdict::Inconclusive { reason };
                    recycle(&mut spare, child);
                    break 'search;
                }
            }
            if !visited.insert(fingerprint) {
                recycle(&mut spare, child);
                continue;
            }
            hasher.keep(&mut child);
            if alive {
                frontier.push_back((paths.extend(node, i), depth + 1, child));
                stats.max_frontier = stats.max_frontier.max(frontier.len());
            } else {
                count_final(&child.sim, &mut stats);
                recycle(&mut spare, child);
            }
        }
        if let Some(unused) = parent {
            // Its last choice led to a state seen before.
            recycle(&mut spare, unused);
        }
        paths.release(node);
        if visited.len() as u64 >= budget.max_states && !frontier.is_empty() {
            stats.verdict = Verdict::Inconclusive {
                reason: format!(
                    "--max-states {} reached with {} states still to expand (raise --max-states, or use --mode random)",
                    budget.max_states,
                    frontier.len()
                ),
            };
            break;
        }
    }
    stats.states = visited.len() as u64;
    finish(stats, &visited, started)
}

/// A state of the search: the simulation, and the parts of its fingerprint that its
/// successors' fingerprints reuse (empty when the search does not use them).
struct State<'m> {
    sim: Simulation<'m>,
    parts: Parts,
}

/// Fingerprints the search's states: from scratch without symmetry reduction (the raw
/// fingerprint) or when the plan switches incremental fingerprints off, else from the
/// parent's parts and the changes the choice made ([`Canon::fingerprint_after`]), and when the
/// plan allows predictions (any timing), for some choices, before the state is even built
/// ([`Canon::predict`]).
struct StateHasher {
    canon: Canon,
    symmetry: bool,
    incremental: bool,
    predicting: bool,
    changes: Changes,
    /// The parts of the last state fingerprinted, swapped into it if it is kept.
    parts: Parts,
}

impl StateHasher {
    fn new(plan: &Plan) -> StateHasher {
        StateHasher {
            canon: Canon::default(),
            symmetry: plan.symmetry,
            incremental: plan.incremental,
            predicting: plan.predictions,
            changes: Changes::default(),
            parts: Parts::default(),
        }
    }

    /// The fingerprint of the state `choice` leads to from `state`, if it can be told without
    /// building that state.
    fn predict(&self, state: &State<'_>, choice: Choice) -> Option<Fingerprint> {
        if self.predicting {
            self.canon.predict(&state.sim, &state.parts, choice)
        } else {
            None
        }
    }

    /// The fingerprint of the initial state, whose parts it fills.
    fn first(&mut self, state: &mut State<'_>) -> Fingerprint {
        if self.incremental {
            self.canon.rebuild(&state.sim, &mut state.parts)
        } else {
            self.fingerprint(&state.sim)
        }
    }

    /// Applies `choice` to `sim`, noting its changes when they will be used.
    fn apply(&mut self, sim: &mut Simulation<'_>, choice: Choice) {
        if self.incremental {
            self.changes.clear();
            sim.apply(choice, &mut self.changes);
        } else {
            sim.apply(choice, &mut ());
        }
    }

    /// The fingerprint of `sim`, reached by `choice`, the last choice applied, from `parent`.
    fn next(&mut self, sim: &Simulation<'_>, parent: &State<'_>, choice: Choice) -> Fingerprint {
        if !self.incremental {
            return self.fingerprint(sim);
        }
        let f = self
            .canon
            .fingerprint_after(sim, &parent.parts, &self.changes, &mut self.parts);
        // What an arrival does to what is left to arrive is learnt only where it is predicted
        // (elsewhere the clock moves, and the table would only grow).
        if let (
            true,
            Choice::Fire(Entry {
                timer: Timer::Arrival { stream },
                ..
            }),
        ) = (self.predicting, choice)
        {
            let (before, after) = (parent.parts.arrivals(), self.parts.arrivals());
            self.canon.learn_arrival(before, stream, after);
        }
        f
    }

    /// Gives the parts of the last state fingerprinted to `state`, which is kept.
    fn keep(&mut self, state: &mut State<'_>) {
        if self.incremental {
            std::mem::swap(&mut state.parts, &mut self.parts);
        }
    }

    fn fingerprint(&mut self, sim: &Simulation<'_>) -> Fingerprint {
        if self.symmetry {
            self.canon.fingerprint(sim)
        } else {
            raw_fingerprint(sim)
        }
    }
}

fn finish(mut stats: Exploration, visited: &Visited, started: Instant) -> Exploration {
    stats.elapsed = started.elapsed();
    let bytes = visited.capacity() as f64 * 17.0;
    stats.bytes_per_state = bytes / stats.states.max(1) as f64;
    stats
}

/// The state to apply a choice to: the parent itself for its `last` choice (no copy), else a
/// copy of it in a recycled state when there is one.
fn branch<'m>(
    parent: &mut Option<Box<State<'m>>>,
    last: bool,
    spare: &mut Vec<Box<State<'m>>>,
) -> Box<State<'m>> {
    if last {
        return parent
            .take()
            .expect("the parent state is kept until its last child");
    }
    let parent = &parent.as_ref().expect("parent state").sim;
    match spare.pop() {
        Some(mut recycled) => {
            recycled.sim.clone_from(parent);
            recycled
        }
        None => Box::new(State {
            sim: Simulation::clone(parent),
            parts: Parts::default(),
        }),
    }
}

fn recycle<'m>(spare: &mut Vec<Box<State<'m>>>, state: Box<State<'m>>) {
    if spare.len() < 64 {
        spare.push(state);
    }
}

fn count_final(sim: &Simulation<'_>, stats: &mut Exploration) {
    if has_unfinished(sim) {
        stats.horizon_states += 1;
    } else {
        stats.completed_states += 1;
    }
}

fn exhausted(budget: &Budget, started: Instant, memory: u64) -> Option<String> {
    if budget
        .stop
        .as_ref()
        .is_some_and(|s| s.load(Ordering::Relaxed))
    {
        return Some("interrupted".into());
    }
    if let Some(t) = budget.max_time {
        if started.elapsed() >= t {
            return Some(format!("--max-time {:.1?} reached", t));
        }
    }
    budget.max_memory.and_then(|m| m.exceeded(memory, 0))
}

/// A rough size of one state in the frontier: the struct plus its heap-allocated tables.
fn approx_state_bytes(state: &State<'_>) -> u64 {
    let sim = &state.sim;
    let instances = sim.instances().count() as u64;
    std::mem::size_of_val(sim) as u64
        + instances * std::mem::size_of::<crate::engine::Instance>() as u64
        + sim.agenda().len() as u64 * 32
        + sim.workers().len() as u64 * 8
        + state.parts.approx_bytes()
        + 256
}

/// Replays the path of choice indices to get labels, then minimises.
fn deadlock_verdict(
    scenario: &Scenario,
    model: &Model,
    timing: Timing,
    plan: &Plan,
    path: &[u32],
) -> Verdict {
    let mut sim = Simulation::new(model);
    settle(&mut sim);
    let mut steps = Vec::with_capacity(path.len());
    for &i in path {
        let options = explored_options(&sim, plan);
        let choice = options[i as usize];
        steps.push(label(&sim, choice));
        sim.apply(choice, &mut ());
        if sim.is_deadlocked() {
            break;
        }
        settle(&mut sim);
    }
    let found_steps = steps.len();
    let steps = super::minimize::minimize(model, steps);
    let deadlock = super::replay::deadlock_reached(model, &steps)
        .expect("a minimised schedule replays to a deadlock");
    Verdict::Deadlock {
        schedule: Schedule {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            timing,
            steps,
            scenario_fingerprint: Some(super::scenario_fingerprint(&model.scenario)),
        },
        found_steps,
        deadlock,
    }
}

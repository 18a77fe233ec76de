//! An independent reference simulator of the canonical rule (the oracle).
//!
//! Written from the rules in `src/engine.rs`'s module docs, not from its code: plain vectors,
//! linear scans, task records that are never reused, and a brute-force deadlock check over
//! subsets instead of the engine's greatest fixed point. Only fixed durations.
//!
//! Decisions of the project that this mirrors (all documented or observable in the engine):
//! - timers due at the same instant fire in the order they were set; the next arrival of a
//!   stream is set when the previous one fires (so the arrivals of one stream keep their order);
//! - a `work` of 0 s sets a timer due now, which fires after the current dispatch round;
//! - a `then` callback is a root task (no parent), enqueued when the last child of its group
//!   finishes — before the spawner hears of that child;
//! - a `wait` with nothing outstanding passes at once (or fails the task if a child failed);
//!   a waiting task whose last child finishes resumes at once (failing if a child failed);
//! - a task that runs out of steps fails if a child of it has failed, else completes;
//! - the run stops at the first action after which a deadlock exists.

use std::collections::BTreeSet;

use qsim::scenario::{ArrivalPattern, Discipline, Duration, OnTimeout, Scenario, Step, Tick};

/// Most candidates the subset enumeration accepts (2^16 subsets).
pub const MAX_CANDIDATES: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefOutcome {
    Completed,
    Deadlock,
}

/// What a reference run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefRun {
    pub outcome: RefOutcome,
    /// End of the run, or the instant of the deadlock.
    pub time: Tick,
    /// Per task type.
    pub completed: Vec<u32>,
    /// Per task type.
    pub failed: Vec<u32>,
    /// Deadlocked tasks holding a worker (`type#serial`).
    pub holders: BTreeSet<String>,
    /// Deadlocked tasks sitting in a queue (`type#serial`).
    pub queued: BTreeSet<String>,
    /// Which rules the run exercised (for the generator statistics).
    pub covered: BTreeSet<&'static str>,
}

/// Why the reference could not decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    /// Too many candidates for the brute-force deadlock check.
    TooManyCandidates(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Queued(usize),
    Taken,
    Working,
    Waiting { timed: bool },
    Done,
}

#[derive(Clone, Debug)]
struct Task {
    ty: usize,
    serial: u32,
    pc: usize,
    state: State,
    worker: Option<usize>,
    parent: Option<usize>,
    group: Option<usize>,
    outstanding: u32,
    child_failed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    Arrival(usize),
    WorkDone(usize),
    Timeout(usize),
}

struct Group {
    remaining: u32,
    then: usize,
}

struct Ref<'a> {
    s: &'a Scenario,
    now: Tick,
    tasks: Vec<Task>,
    groups: Vec<Group>,
    /// Per queue: (task, priority, enqueue number), in enqueue order.
    queues: Vec<Vec<(usize, i32, u64)>>,
    enqueued: u64,
    /// (time, set order, timer).
    timers: Vec<(Tick, u64, Timer)>,
    timers_set: u64,
    sent: Vec<usize>,
    /// Per worker (pool 0's first): the task it holds.
    workers: Vec<Option<usize>>,
    worker_pool: Vec<usize>,
    created: Vec<u32>,
    completed: Vec<u32>,
    failed: Vec<u32>,
    /// Set when a task starts a wait without timeout during the current action.
    blocked: bool,
    covered: BTreeSet<&'static str>,
}

fn fixed(d: &Duration) -> Tick {
    match d {
        Duration::Fixed(t) => *t,
        other => panic!("the reference only knows fixed durations, got {other:?}"),
    }
}

impl<'a> Ref<'a> {
    fn new(s: &'a Scenario) -> Ref<'a> {
        let mut worker_pool = Vec::new();
        for (p, pool) in s.pools.iter().enumerate() {
            for _ in 0..pool.workers {
                worker_pool.push(p);
            }
        }
        let mut r = Ref {
            s,
            now: 0,
            tasks: Vec::new(),
            groups: Vec::new(),
            queues: vec![Vec::new(); s.queues.len()],
            enqueued: 0,
            timers: Vec::new(),
            timers_set: 0,
            sent: vec![0; s.arrivals.len()],
            workers: vec![None; worker_pool.len()],
            worker_pool,
            created: vec![0; s.tasks.len()],
            completed: vec![0; s.tasks.len()],
            failed: vec![0; s.tasks.len()],
            blocked: false,
            covered: BTreeSet::new(),
        };
        for stream in 0..s.arrivals.len() {
            r.set_next_arrival(stream);
        }
        r
    }

    fn name(&self, t: usize) -> String {
        format!(
            "{}#{}",
            self.s.tasks[self.tasks[t].ty].name, self.tasks[t].serial
        )
    }

    fn set_timer(&mut self, time: Tick, timer: Timer) {
        self.timers.push((time, self.timers_set, timer));
        self.timers_set += 1;
    }

    fn set_next_arrival(&mut self, stream: usize) {
        let ArrivalPattern::At(times) = &self.s.arrivals[stream].pattern else {
            panic!("the reference only knows explicit arrival instants");
        };
        if let Some(&t) = times.get(self.sent[stream]) {
            let t = t.max(self.now);
            self.set_timer(t, Timer::Arrival(stream));
        }
    }

    fn create(&mut self, ty: usize, parent: Option<usize>, group: Option<usize>) -> usize {
        self.created[ty] += 1;
        self.tasks.push(Task {
            ty,
            serial: self.created[ty],
            pc: 0,
            state: State::Done,
            worker: None,
            parent,
            group,
            outstanding: 0,
            child_failed: false,
        });
        let t = self.tasks.len() - 1;
        self.enqueue(t);
        t
    }

    fn enqueue(&mut self, t: usize) {
        let ty = &self.s.tasks[self.tasks[t].ty];
        self.tasks[t].state = State::Queued(ty.queue);
        self.enqueued += 1;
        self.queues[ty.queue].push((t, ty.priority, self.enqueued));
    }

    /// Removes and returns the task a worker would take from queue `q`.
    fn pop(&mut self, q: usize) -> Option<usize> {
        let queue = &mut self.queues[q];
        if queue.is_empty() {
            return None;
        }
        let i = match self.s.queues[q].discipline {
            Discipline::Fifo => 0,
            Discipline::Lifo => queue.len() - 1,
            Discipline::Priority => {
                let mut best = 0;
                for i in 1..queue.len() {
                    // Higher priority first; equal priorities in enqueue order.
                    if queue[i].1 > queue[best].1 {
                        best = i;
                    }
                }
                if queue.iter().filter(|x| x.1 == queue[best].1).count() > 1 {
                    self.covered.insert("priority tie");
                }
                if best != 0 {
                    self.covered.insert("priority overtakes");
                }
                best
            }
        };
        Some(queue.remove(i).0)
    }

    fn step(&self, t: usize) -> Option<&'a Step> {
        self.s.tasks[self.tasks[t].ty].steps.get(self.tasks[t].pc)
    }

    /// Runs task `t`'s instantaneous steps until it blocks or ends.
    fn proceed(&mut self, t: usize) {
        loop {
            match self.step(t) {
                None => {
                    // Only a wait sees a child's failure: a task that runs out of steps
                    // completes.
                    if self.tasks[t].child_failed {
                        self.covered.insert("ends after a child failed");
                    }
                    self.finish(t, false);
                    return;
                }
                Some(Step::Work(d)) => {
                    self.tasks[t].state = State::Working;
                    self.set_timer(self.now + fixed(d), Timer::WorkDone(t));
                    return;
                }
                Some(Step::Spawn { task, count, then }) => {
                    let group = then.map(|then| {
                        self.groups.push(Group {
                            remaining: *count,
                            then,
                        });
                        self.groups.len() - 1
                    });
                    for _ in 0..*count {
                        self.create(*task, Some(t), group);
                        self.tasks[t].outstanding += 1;
                    }
                    self.tasks[t].pc += 1;
                }
                Some(Step::Wait { timeout, .. }) => {
                    if self.tasks[t].outstanding == 0 {
                        if self.tasks[t].child_failed {
                            self.covered.insert("wait finds a failed child");
                            self.finish(t, true);
                            return;
                        }
                        self.covered.insert("wait passes at once");
                        self.tasks[t].pc += 1;
                        continue;
                    }
                    self.tasks[t].state = State::Waiting {
                        timed: timeout.is_some(),
                    };
                    match timeout {
                        Some(d) => self.set_timer(self.now + fixed(d), Timer::Timeout(t)),
                        None => self.blocked = true,
                    }
                    return;
                }
            }
        }
    }

    fn finish(&mut self, t: usize, failed: bool) {
        let ty = self.tasks[t].ty;
        if failed {
            self.failed[ty] += 1;
        } else {
            self.completed[ty] += 1;
        }
        let w = self.tasks[t]
            .worker
            .take()
            .expect("a finishing task holds a worker");
        self.workers[w] = None;
        self.tasks[t].state = State::Done;
        if let Some(g) = self.tasks[t].group {
            self.groups[g].remaining -= 1;
            if self.groups[g].remaining == 0 {
                let then = self.groups[g].then;
                self.covered.insert("callback");
                self.create(then, None, None);
            }
        }
        if let Some(p) = self.tasks[t].parent {
            if self.tasks[p].state == State::Done {
                self.covered.insert("child outlives its parent");
            } else {
                self.tasks[p].outstanding -= 1;
                if failed {
                    self.covered.insert("a failure reaches a live parent");
                    self.tasks[p].child_failed = true;
                }
                if self.tasks[p].outstanding == 0
                    && matches!(self.tasks[p].state, State::Waiting { .. })
                {
                    // The wait ends: its timeout, if any, will never fire.
                    if self.tasks[p].state == (State::Waiting { timed: true }) {
                        self.covered.insert("timed wait resumes before its timeout");
                    }
                    self.timers.retain(|x| x.2 != Timer::Timeout(p));
                    self.tasks[p].state = State::Working;
                    if self.tasks[p].child_failed {
                        self.covered.insert("resumes to fail");
                        self.finish(p, true);
                    } else {
                        self.tasks[p].pc += 1;
                        self.proceed(p);
                    }
                }
            }
        }
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::Arrival(stream) => {
                self.sent[stream] += 1;
                self.create(self.s.arrivals[stream].task, None, None);
                self.set_next_arrival(stream);
            }
            Timer::WorkDone(t) => {
                self.tasks[t].pc += 1;
                self.proceed(t);
            }
            Timer::Timeout(t) => {
                self.tasks[t].state = State::Working;
                let Some(Step::Wait { on_timeout, .. }) = self.step(t) else {
                    unreachable!("a timeout belongs to a wait");
                };
                match on_timeout {
                    OnTimeout::Fail => {
                        self.covered.insert("timeout fails");
                        self.finish(t, true)
                    }
                    OnTimeout::Continue => {
                        self.covered.insert("timeout continues");
                        self.tasks[t].pc += 1;
                        self.proceed(t);
                    }
                }
            }
        }
    }

    /// The timer due now that was set first, removed from the list.
    fn next_due(&mut self) -> Option<Timer> {
        let mut best: Option<usize> = None;
        for i in 0..self.timers.len() {
            if self.timers[i].0 == self.now
                && best.is_none_or(|b| self.timers[i].1 < self.timers[b].1)
            {
                best = Some(i);
            }
        }
        best.map(|i| self.timers.remove(i).2)
    }

    /// The lowest idle worker whose pool has a queued task, and the queue it takes from.
    fn next_take(&self) -> Option<(usize, usize)> {
        for w in 0..self.workers.len() {
            if self.workers[w].is_some() {
                continue;
            }
            let pool = &self.s.pools[self.worker_pool[w]];
            if let Some(&q) = pool.queues.iter().find(|&&q| !self.queues[q].is_empty()) {
                return Some((w, q));
            }
        }
        None
    }

    /// The union of every non-empty subset S of candidates (tasks waiting without timeout, and
    /// queued tasks) such that every waiting task of S has a child in S and every queued task
    /// of S has every worker of every pool consuming its queue held by a task of S.
    fn stuck(&self) -> Result<Vec<usize>, RefError> {
        let all: Vec<usize> = (0..self.tasks.len())
            .filter(|&t| {
                matches!(
                    self.tasks[t].state,
                    State::Waiting { timed: false } | State::Queued(_)
                )
            })
            .collect();
        // Drop, one by one and without iterating, candidates that cannot be in any such S on
        // their own account: a waiting task none of whose children is a candidate, a queued
        // task some consuming worker of which is idle or held by a non-candidate.
        let is_candidate = |t: usize| all.contains(&t);
        let cands: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&t| match self.tasks[t].state {
                State::Waiting { .. } => (0..self.tasks.len())
                    .any(|c| self.tasks[c].parent == Some(t) && is_candidate(c)),
                State::Queued(q) => self.s.queues[q].consumers.iter().all(|&p| {
                    (0..self.workers.len())
                        .filter(|&w| self.worker_pool[w] == p)
                        .all(|w| self.workers[w].is_some_and(is_candidate))
                }),
                _ => unreachable!(),
            })
            .collect();
        if cands.len() > MAX_CANDIDATES {
            return Err(RefError::TooManyCandidates(cands.len()));
        }
        let bit = |t: usize| -> u32 {
            match cands.iter().position(|&c| c == t) {
                Some(i) => 1 << i,
                None => 0,
            }
        };
        // Per candidate: for a waiting task the mask of its candidate children (S must meet
        // it); for a queued task the mask of the holders of its consumers (S must contain it),
        // or None when some consumer worker is not held by a candidate.
        enum Need {
            AnyOf(u32),
            AllOf(Option<u32>),
        }
        let needs: Vec<Need> = cands
            .iter()
            .map(|&t| match self.tasks[t].state {
                State::Waiting { .. } => Need::AnyOf(
                    (0..self.tasks.len())
                        .filter(|&c| self.tasks[c].parent == Some(t))
                        .map(bit)
                        .fold(0, |a, b| a | b),
                ),
                State::Queued(q) => {
                    let mut mask = 0;
                    let mut possible = true;
                    for &p in &self.s.queues[q].consumers {
                        for w in 0..self.workers.len() {
                            if self.worker_pool[w] != p {
                                continue;
                            }
                            match self.workers[w].map(bit) {
                                Some(b) if b != 0 => mask |= b,
                                _ => possible = false,
                            }
                        }
                    }
                    Need::AllOf(possible.then_some(mask))
                }
                _ => unreachable!(),
            })
            .collect();
        let mut union = 0u32;
        for set in 1..(1u32 << cands.len()) {
            let ok = needs.iter().enumerate().all(|(i, need)| {
                set & (1 << i) == 0
                    || match need {
                        Need::AnyOf(m) => set & m != 0,
                        Need::AllOf(Some(m)) => set & m == *m,
                        Need::AllOf(None) => false,
                    }
            });
            if ok {
                union |= set;
            }
        }
        Ok((0..cands.len())
            .filter(|i| union & (1 << i) != 0)
            .map(|i| cands[i])
            .collect())
    }

    fn result(&self, outcome: RefOutcome, stuck: &[usize]) -> RefRun {
        RefRun {
            outcome,
            time: self.now,
            completed: self.completed.clone(),
            failed: self.failed.clone(),
            holders: stuck
                .iter()
                .filter(|&&t| self.tasks[t].worker.is_some())
                .map(|&t| self.name(t))
                .collect(),
            queued: stuck
                .iter()
                .filter(|&&t| matches!(self.tasks[t].state, State::Queued(_)))
                .map(|&t| self.name(t))
                .collect(),
            covered: self.covered.clone(),
        }
    }

    /// After one action: the deadlock, if one formed (only a new wait can form one).
    fn after_action(&mut self) -> Result<Option<RefRun>, RefError> {
        if !std::mem::take(&mut self.blocked) {
            return Ok(None);
        }
        let stuck = self.stuck()?;
        Ok((!stuck.is_empty()).then(|| self.result(RefOutcome::Deadlock, &stuck)))
    }

    fn run(mut self) -> Result<RefRun, RefError> {
        loop {
            // One instant.
            loop {
                let mut happened = false;
                // 1. Every timer due now, in the order set (including those set meanwhile).
                while let Some(timer) = self.next_due() {
                    happened = true;
                    self.fire(timer);
                    if let Some(d) = self.after_action()? {
                        return Ok(d);
                    }
                }
                // 2. Every idle worker, lowest first, takes from its pool's first non-empty queue.
                let mut taken = Vec::new();
                while let Some((w, q)) = self.next_take() {
                    happened = true;
                    let t = self.pop(q).expect("the queue is not empty");
                    self.workers[w] = Some(t);
                    self.tasks[t].worker = Some(w);
                    self.tasks[t].state = State::Taken;
                    taken.push(t);
                }
                // 3. The tasks just taken run their instantaneous steps, in the order taken.
                for t in taken {
                    self.proceed(t);
                    if let Some(d) = self.after_action()? {
                        return Ok(d);
                    }
                }
                if !happened {
                    break;
                }
            }
            // Safety net: a deadlock at the end of the instant that no wait formed.
            self.blocked = true;
            if let Some(d) = self.after_action()? {
                return Ok(d);
            }
            match self.timers.iter().map(|x| x.0).min() {
                Some(next) => {
                    assert!(next > self.now, "a timer due now was left unfired");
                    self.now = next;
                }
                None => {
                    assert!(
                        self.tasks.iter().all(|t| t.state == State::Done),
                        "nothing left to happen but tasks unfinished and no deadlock"
                    );
                    return Ok(self.result(RefOutcome::Completed, &[]));
                }
            }
        }
    }
}

/// Runs `s` (fixed durations, explicit arrival instants) under the canonical rule.
pub fn run(s: &Scenario) -> Result<RefRun, RefError> {
    Ref::new(s).run()
}

//! The rules: what each [`Choice`] does to the state, and how the clock moves.
//!
//! [`Simulation::apply`] performs one enabled choice: a timer fires (an arrival is queued, a
//! `work` step ends, a wait times out), an idle worker takes a task, or a task just taken runs
//! its instantaneous steps until it blocks or ends. What each step kind does when a task
//! reaches it is in `Simulation::proceed`; the rules change workers only through
//! `Simulation::set_activity`, so that pools count their workers right.

//!
//! What memory does, and what happens when a process exits or is killed, is in
//! [`lifecycle`](super::lifecycle).

use crate::scenario::{ArrivalPattern, OnTimeout, Step, TaskId};

use super::agenda::{Entry, Timer};
use super::state::{Activity, Group, Instance, Link, NONE};
use super::{
    wait_for, Choice, Deadlock, Event, Exit, InstanceId, Observer, Simulation, Status, TaskResult,
    WorkerId,
};

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
impl<'m> Simulation<'m> {
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
            Choice::Kill(p) => self.exit_process(p, Exit::Oom, obs),
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
    #[inline(always)]
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
    #[inline(always)]
    pub fn is_deadlocked(&self) -> bool {
        // The scenario's own answer first, inline: most runs ask at every step of a scenario
        // that can never hang.
        self.model.can_hang()
            && self.may_be_deadlocked()
            && wait_for::stuck_set(self).contains(&true)
    }

    /// Constant-time necessary condition for a deadlock: some pool has every worker held by a
    /// task waiting without a timeout.
    ///
    /// Some task waiting for a lost child (an orphaned wait) is one too. Where a stuck task can
    /// still be killed ([`Model::hangs_at_rest`](super::Model::hangs_at_rest)), a state is only
    /// deadlocked once nothing else can happen.
    pub fn may_be_deadlocked(&self) -> bool {
        if !self.model.can_hang() {
            return false;
        }
        let held = self.orphaned
            || self
                .scenario()
                .pools
                .iter()
                .zip(&self.pools)
                .any(|(pool, counts)| counts.waiting_untimed == pool.workers);
        held && (!self.model.hangs_at_rest() || self.is_at_rest())
    }

    /// Whether nothing can happen any more: no choice is enabled and no live timer is pending.
    pub fn is_at_rest(&self) -> bool {
        !self.has_options() && !self.agenda.iter().any(|e| self.is_live(&e.timer))
    }

    // ----- the rules -------------------------------------------------------------------------

    #[inline(always)]
    pub(super) fn schedule_arrival(&mut self, stream: usize) {
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

    pub(super) fn fire<O: Observer>(&mut self, entry: Entry, obs: &mut O) {
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
                let inst = &mut self.instances[task as usize];
                inst.pc += 1;
                // A task whose work was its last step completes here, without a walk of its
                // steps (most tasks `qsim run` runs end with their work); see `proceed`.
                let steps = self.model.scenario.tasks[inst.task].steps.len();
                match inst.status {
                    Status::Working(w) if inst.pc as usize == steps => {
                        self.finish(task, w, TaskResult::Completed, obs)
                    }
                    _ => self.proceed(task, obs),
                }
            }
            _ => self.fire_other(entry, obs),
        }
    }

    /// [`fire`](Self::fire) for the timers other than arrivals and ends of work: kept out of
    /// the run loop's code, which fires those two at almost every timer.
    #[cold]
    #[inline(never)]
    fn fire_other<O: Observer>(&mut self, entry: Entry, obs: &mut O) {
        match entry.timer {
            Timer::Arrival { .. } | Timer::WorkDone { .. } => unreachable!("fired by `fire`"),
            Timer::Restarted { process } => self.restart_process(process, obs),
            Timer::ThreadReplaced { worker } => {
                self.set_activity(worker, Activity::Idle);
                self.workers[worker as usize].tasks_run = 0;
                obs.event(
                    self,
                    &Event::Restarted {
                        process: None,
                        first_worker: worker,
                        workers: 1,
                    },
                );
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

    pub(super) fn take<O: Observer>(&mut self, w: WorkerId, obs: &mut O) {
        let p = self.model.pool_of(w);
        let queues = &self.model.scenario.pools[p].queues;
        let task = queues
            .iter()
            .find_map(|&q| self.queues[q].pop(self.now))
            .expect("take choice has a task to take");
        self.set_activity(w, Activity::Running(task));
        let inst = &mut self.instances[task as usize];
        inst.status = Status::Taken(w);
        inst.taken_at = self.now;
        let memory = self.model.scenario.tasks[inst.task].memory;
        self.just_taken.push(task);
        obs.event(self, &Event::Taken { task, worker: w });
        if memory > 0 {
            let p = self.model.process_of(w);
            self.processes[p as usize].running += memory;
            self.host_rss += memory;
            self.memory_changed(p, obs);
        }
    }

    fn step_of(&self, task: InstanceId) -> Option<&'m Step> {
        let inst = &self.instances[task as usize];
        self.model.scenario.tasks[inst.task]
            .steps
            .get(inst.pc as usize)
    }

    /// Runs a task just taken (on worker `w`): its first step at once when it is work, as
    /// most tasks begin, else the walk of [`proceed`](Self::proceed).
    #[inline(always)]
    pub(super) fn run_taken<O: Observer>(&mut self, task: InstanceId, obs: &mut O) {
        if let (Status::Taken(w), Some(Step::Work(d))) =
            (self.instances[task as usize].status, self.step_of(task))
        {
            return self.start_work(task, w, d, obs);
        }
        self.proceed(task, obs);
    }

    /// A `work` step of `task` on worker `w` begins: its timer is set.
    #[inline(always)]
    fn start_work<O: Observer>(
        &mut self,
        task: InstanceId,
        w: WorkerId,
        d: &crate::scenario::Duration,
        obs: &mut O,
    ) {
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
    }

    /// Runs the task's instantaneous steps from its `pc` until it blocks or ends.
    pub(super) fn proceed<O: Observer>(&mut self, task: InstanceId, obs: &mut O) {
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
                Step::Work(d) => return self.start_work(task, w, d, obs),
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
            lost: false,
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
        let timed = timeout.is_some();
        if !timed && self.instances[task as usize].lost_children > 0 {
            self.orphaned = true;
        }
        self.set_activity(w, Activity::Waiting { task, timed });
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
        let Status::Waiting { worker, .. } = self.instances[task as usize].status else {
            unreachable!("ending a wait of a task that is not waiting");
        };
        self.set_activity(worker, Activity::Running(task));
        // Any pending timeout of this wait becomes stale.
        self.instances[task as usize].wait_token = u64::MAX;
        self.instances[task as usize].status = Status::Working(worker);
        worker
    }

    #[inline(always)]
    fn create(&mut self, task: TaskId, parent: Option<Link>, group: u32) -> InstanceId {
        self.created[task] += 1;
        self.live += 1;
        let fresh = Instance {
            task,
            pc: 0,
            // The display number wraps past 2^32 instances of one type.
            serial: self.created[task] as u32,
            status: Status::Free,
            parent,
            group,
            outstanding: 0,
            child_failed: false,
            lost_children: 0,
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

    #[inline(always)]
    pub(super) fn enqueue(&mut self, id: InstanceId) {
        let task = &self.model.scenario.tasks[self.instances[id as usize].task];
        self.instances[id as usize].status = Status::Queued(task.queue);
        self.instances[id as usize].enqueued_at = self.now;
        self.enqueue_order += 1;
        self.queues[task.queue].push(id, task.priority, self.enqueue_order, self.now);
    }

    #[inline(always)]
    fn finish<O: Observer>(
        &mut self,
        task: InstanceId,
        w: WorkerId,
        result: TaskResult,
        obs: &mut O,
    ) {
        obs.event(self, &Event::Finished { task, result });
        self.set_activity(w, Activity::Idle);
        let inst = &mut self.instances[task as usize];
        inst.status = Status::Free;
        let parent = inst.parent.take();
        let group = std::mem::replace(&mut inst.group, NONE);
        let task_type = inst.task;
        self.free_slots.push(task);
        self.live -= 1;
        // The task's result stands; the pool's checks run before its parent hears of it (a
        // parent on another thread of a process that exits now dies with it). A process that
        // exits above max_memory does so in the task's post-execute hook, before the group's
        // count-down: its `then` callback is never queued (as in Huey).
        let exited = self.after_task(w, task_type, obs);
        if group != NONE {
            if exited {
                self.groups[group as usize].lost = true;
            } else {
                self.finish_group_member(group, obs);
            }
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

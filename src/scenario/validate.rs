//! From the file's shape to a [`Scenario`] that cannot be wrong.
//!
//! Validation resolves every name to an index, fills in defaults, inlines `call`s, and refuses
//! anything the engine could not run or would run for ever: unknown or duplicate names, pools
//! without workers, tasks without steps, cycles of spawns or calls (steps are unconditional, so a
//! cycle is unbounded), and tasks put on a queue that no pool consumes. Every error points at the
//! offending spot in the file (`file:line:column: message`) and says what was expected, because
//! the person reading it is editing that file.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::duration::MAX_DURATION;
use super::file::{
    self, ArrivalDecl, DisciplineDecl, GcDecl, KindDecl, PoolDecl, ScenarioFile, StepDecl,
    TaskDecl, TiesDecl, Whole,
};
use super::format_size;
use super::set::apply_sets;
use super::size::{RetainDecl, Size};
use super::{
    Arrival, ArrivalPattern, Discipline, Duration, Gc, Host, Pool, PoolKind, Queue, QueueId,
    Scenario, Step, TaskId, TaskType, Tick, Ties, TICKS_PER_SECOND,
};
use crate::error::{Error, Location, Result, ScenarioError, Warning};

/// The largest size of a process's base memory or threshold, or of a task's memory or
/// retention: 1 TiB. With at most a million workers and what a process keeps capped at 4 TiB
/// (see the engine's memory rules), the host's total always fits in 64 bits.
pub const MAX_SIZE: u64 = 1 << 40;

/// The most workers a pool may have: far beyond any real consumer, and small enough that a
/// typo (`workers = 10000000000`) is an error rather than an attempt to allocate them.
pub const MAX_WORKERS: u32 = 100_000;

/// The most children one spawn step may create at once (bigger fan-outs are typos, and would
/// allocate all their instances in one step).
pub const MAX_SPAWN: u32 = 1_000_000;

/// The most workers all pools together may have: each worker is simulated, so a scenario with
/// a hundred million of them would fill memory before anything ran.
pub const MAX_TOTAL_WORKERS: u64 = 1_000_000;

/// The most steps all task types together may have once every `call` is inlined (a step takes
/// 32 bytes, so this is 32 MB). Calls are inlined when the file is read, so a chain of tasks that
/// each call the next twice doubles at every link (2^30 steps for 30 links); a million steps is
/// far beyond any real task.
pub const MAX_INLINED_STEPS: u64 = 1_000_000;

/// The most task instances one instance of a task may lead to: itself, its children, theirs,
/// and their callbacks, each spawn counted with its `count`. The same as the default
/// `--max-tasks` of a run: one task whose descendants alone would pass it is refused when the
/// file is read, before a spawn can allocate millions of instances at once.
pub const MAX_TASK_TREE: u64 = 10_000_000;

/// The latest instant a run without a horizon may reach: 2^63 ns, about 292 years (the clock
/// counts nanoseconds in 64 bits, and stops at about 584 years).
pub const MAX_INSTANT: Tick = 1 << 63;

/// Reads and validates the scenario file at `path`, applying `--set` overrides first.
pub fn load(path: &Path, sets: &[String]) -> Result<Scenario> {
    load_with_warnings(path, sets).map(|(scenario, _)| scenario)
}

/// [`load`], with the [`Warning`]s of the scenario: what it allows but is likely a mistake.
pub fn load_with_warnings(path: &Path, sets: &[String]) -> Result<(Scenario, Vec<Warning>)> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(&name, e))?;
    parse_with_warnings(&name, &text, sets)
}

/// Validates scenario `text`; `file` names it in error messages.
///
/// The `--set` overrides in `sets` are applied to the text first (see
/// [`apply_sets`]), so errors they cause point into the edited text.
pub fn parse(file: &str, text: &str, sets: &[String]) -> Result<Scenario> {
    parse_with_warnings(file, text, sets).map(|(scenario, _)| scenario)
}

/// [`parse`], with the [`Warning`]s of the scenario: what it allows but is likely a mistake.
pub fn parse_with_warnings(
    file: &str,
    text: &str,
    sets: &[String],
) -> Result<(Scenario, Vec<Warning>)> {
    let edited = apply_sets(text, sets)?;
    let checker = Checker {
        file,
        text: &edited,
    };
    let result = toml::from_str::<ScenarioFile>(&edited)
        .map_err(|e| checker.toml_error(&e))
        .and_then(|decl| checker.build(decl));
    if sets.is_empty() {
        return result;
    }
    match result {
        Ok((scenario, mut warnings)) => {
            for w in &mut warnings {
                point_out_override(&w.location, &mut w.message, text);
            }
            Ok((scenario, warnings))
        }
        Err(Error::Scenario(mut e)) => {
            point_out_override(&e.location, &mut e.message, text);
            Err(Error::Scenario(e))
        }
        Err(other) => Err(other),
    }
}

/// A message about a line that `--set` wrote or changed says so: the line shown is not the
/// file's own. (A line past the end of the file counts as empty, so an error at the start of an
/// empty file is not blamed on `--set`.)
fn point_out_override(location: &Location, message: &mut String, original: &str) {
    let line = original.lines().nth(location.line - 1).unwrap_or("");
    if line.trim_end_matches('\r') != location.source_line {
        message.push_str(" (in a line written by --set)");
    }
}

/// The text being validated, to turn spans into locations.
struct Checker<'a> {
    file: &'a str,
    text: &'a str,
}

/// The names of the things declared so far, for "known: ..." lists.
fn known(names: &[String], what: &str) -> String {
    if names.is_empty() {
        format!("no {what}s declared")
    } else {
        format!("known: {}", names.join(", "))
    }
}

/// An edge of the task graph: `from` enqueues or inlines `to`, at `span` in the file.
#[derive(Clone, Debug)]
struct Edge {
    to: TaskId,
    span: Range<usize>,
    call: bool,
}

/// A step with its names resolved but `call` not inlined yet.
enum Resolved {
    Step(Step),
    Call(TaskId),
}

impl Checker<'_> {
    fn error(&self, offset: usize, message: impl Into<String>) -> Error {
        Error::Scenario(ScenarioError {
            location: Location::from_offset(self.file, self.text, offset),
            message: message.into(),
        })
    }

    fn at<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> Error {
        self.error(spanned.span().start, message)
    }

    /// The whole number `w`, if it is from `min` to `max`; else an error saying the range.
    fn whole_in(&self, w: &Spanned<Whole>, key: &str, min: i128, max: i128) -> Result<i128> {
        let n = w.get_ref().0;
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(self.at(
                w,
                format!("expected {key} to be a whole number from {min} to {max}, found {n}"),
            ))
        }
    }

    /// A toml syntax error or serde error, as one line pointing into the file.
    fn toml_error(&self, err: &toml::de::Error) -> Error {
        let (message, span) = super::de::split_span(err.message());
        let span = span.or_else(|| err.span());
        let spanned_text = span
            .as_ref()
            .and_then(|s| self.text.get(s.clone()))
            .unwrap_or("");
        let message = humanize(message, spanned_text);
        self.error(span.map_or(0, |s| s.start), message)
    }

    fn build(&self, decl: ScenarioFile) -> Result<(Scenario, Vec<Warning>)> {
        let name = decl.name.clone().unwrap_or_else(|| {
            Path::new(self.file).file_stem().map_or_else(
                || self.file.to_string(),
                |s| s.to_string_lossy().into_owned(),
            )
        });

        // Queues: "default" is always queues[0]; declaring it again only sets its discipline.
        let mut queues = vec![Queue {
            name: "default".into(),
            discipline: Discipline::Fifo,
            consumers: Vec::new(),
        }];
        // Where each queue is declared in the file, if it is.
        let mut declared: Vec<Option<Range<usize>>> = vec![None];
        for q in &decl.queue {
            let discipline = match q.discipline.unwrap_or(DisciplineDecl::Fifo) {
                DisciplineDecl::Fifo => Discipline::Fifo,
                DisciplineDecl::Lifo => Discipline::Lifo,
                DisciplineDecl::Priority => Discipline::Priority,
            };
            let qname = q.name.get_ref();
            match queues.iter().position(|x| &x.name == qname) {
                Some(id) if id > 0 || declared[0].is_some() => {
                    return Err(self.at(&q.name, format!("duplicate queue \"{qname}\"")));
                }
                Some(_) => {
                    queues[0].discipline = discipline;
                    declared[0] = Some(q.name.span());
                }
                None => {
                    queues.push(Queue {
                        name: qname.clone(),
                        discipline,
                        consumers: Vec::new(),
                    });
                    declared.push(Some(q.name.span()));
                }
            }
        }
        let queue_names: Vec<String> = queues.iter().map(|q| q.name.clone()).collect();
        let queue_id = |name: &Spanned<String>, context: &str| -> Result<QueueId> {
            queue_names
                .iter()
                .position(|n| n == name.get_ref())
                .ok_or_else(|| {
                    self.at(
                        name,
                        format!(
                            "unknown queue \"{}\" in {context} ({})",
                            name.get_ref(),
                            known(&queue_names, "queue")
                        ),
                    )
                })
        };

        // Pools.
        let pool_decls = match &decl.pool {
            None => {
                return Err(self.error(
                    0,
                    "a scenario needs at least one [[pool]] (with workers = N)",
                ))
            }
            Some(p) if p.get_ref().is_empty() => {
                return Err(self.at(p, "a scenario needs at least one pool (with workers = N)"))
            }
            Some(p) => p.get_ref(),
        };
        let mut pools: Vec<Pool> = Vec::new();
        let mut total_workers: u64 = 0;
        for p in pool_decls {
            let pool = self.pool(p, &pools, &queue_id)?;
            total_workers += u64::from(pool.workers);
            if total_workers > MAX_TOTAL_WORKERS {
                let at = p.get_ref().workers.as_ref().map_or(p.span(), Spanned::span);
                return Err(self.error(
                    at.start,
                    format!(
                        "pool \"{}\" brings the workers of all pools to {total_workers}; at most \
                         {MAX_TOTAL_WORKERS} are allowed in all",
                        pool.name
                    ),
                ));
            }
            for &q in &pool.queues {
                queues[q].consumers.push(pools.len());
            }
            pools.push(pool);
        }

        // Tasks: every name first, since steps may refer to tasks declared later.
        let mut task_names: Vec<String> = Vec::new();
        for t in &decl.task {
            let tname = t.get_ref().name.get_ref();
            if task_names.contains(tname) {
                return Err(self.at(&t.get_ref().name, format!("duplicate task \"{tname}\"")));
            }
            task_names.push(tname.clone());
        }
        let task_id = |name: &Spanned<String>, context: &str| -> Result<TaskId> {
            task_names
                .iter()
                .position(|n| n == name.get_ref())
                .ok_or_else(|| {
                    self.at(
                        name,
                        format!(
                            "unknown task \"{}\" in {context} ({})",
                            name.get_ref(),
                            known(&task_names, "task")
                        ),
                    )
                })
        };
        let mut task_queues = Vec::new();
        let mut resolved: Vec<Vec<Resolved>> = Vec::new();
        let mut edges: Vec<Vec<Edge>> = Vec::new();
        for t in &decl.task {
            let t = t.get_ref();
            let queue = match &t.queue {
                Some(q) => queue_id(q, "task queue")?,
                None => 0,
            };
            task_queues.push(queue);
            let (steps, out) = self.steps(t, &task_id)?;
            resolved.push(steps);
            edges.push(out);
        }
        self.check_cycles(&task_names, &edges)?;
        let order = callees_first(&edges);
        let sizes = Sizes::new(&order, &resolved);
        self.check_sizes(&decl.task, &sizes)?;
        let mut flat = flatten(&order, &resolved);
        let mut tasks = Vec::new();
        for (id, t) in decl.task.iter().enumerate() {
            let t = t.get_ref();
            tasks.push(TaskType {
                name: t.name.get_ref().clone(),
                queue: task_queues[id],
                priority: match &t.priority {
                    None => 0,
                    Some(p) => {
                        self.whole_in(p, "priority", i32::MIN.into(), i32::MAX.into())? as i32
                    }
                },
                steps: std::mem::take(&mut flat[id]),
                ..self.task_memory(t)?
            });
        }

        // Arrivals.
        let horizon = decl.horizon.map(|h| h.0);
        let mut arrivals = Vec::new();
        for a in &decl.arrival {
            let task = task_id(&a.get_ref().task, "arrival")?;
            let pattern = self.arrival_pattern(a, horizon.is_some())?;
            arrivals.push(Arrival { task, pattern });
        }
        if horizon.is_none() {
            self.check_clock(&decl.arrival, &arrivals, &sizes)?;
        }

        // Every queue something can be put on must be consumed by some pool.
        let unconsumed = |q: QueueId| {
            format!(
                "queue \"{}\" is consumed by no pool, so its tasks could never run (add it to a pool's queues)",
                queues[q].name
            )
        };
        for (q, span) in declared.iter().enumerate() {
            if let Some(span) = span {
                if queues[q].consumers.is_empty() {
                    return Err(self.error(span.start, unconsumed(q)));
                }
            }
        }
        let mut enqueued: HashSet<TaskId> = arrivals.iter().map(|a| a.task).collect();
        enqueued.extend(edges.iter().flatten().filter(|e| !e.call).map(|e| e.to));
        for (id, t) in decl.task.iter().enumerate() {
            let q = task_queues[id];
            if enqueued.contains(&id) && queues[q].consumers.is_empty() {
                let t = t.get_ref();
                let offset = t.queue.as_ref().unwrap_or(&t.name).span().start;
                return Err(self.error(offset, unconsumed(q)));
            }
        }

        let mut warnings = self.ignored_priorities(&decl.task, &tasks, &queues);
        warnings.extend(self.memory_warnings(&decl, &pools, &tasks));
        let scenario = Scenario {
            name,
            description: decl.description.unwrap_or_default(),
            seed: decl.seed.map_or(0, |s| s.0),
            horizon,
            ties: match decl.ties {
                Some(TiesDecl::Random) => Ties::Random,
                _ => Ties::Canonical,
            },
            queues,
            pools,
            tasks,
            arrivals,
            host: Host {
                memory: decl
                    .host
                    .as_ref()
                    .and_then(|h| h.get_ref().memory.as_ref())
                    .map(|m| m.get_ref().0),
            },
        };
        Ok((scenario, warnings))
    }

    /// A warning for each priority (other than 0, the default) given to a task whose queue is
    /// not a `priority` queue: fifo and lifo queues ignore priorities, and whoever wrote one
    /// likely expected an order. It points at the priority in the file.
    fn ignored_priorities(
        &self,
        decls: &[Spanned<TaskDecl>],
        tasks: &[TaskType],
        queues: &[Queue],
    ) -> Vec<Warning> {
        let mut warnings = Vec::new();
        for (decl, task) in decls.iter().zip(tasks) {
            let queue = &queues[task.queue];
            let (Some(priority), false) = (
                &decl.get_ref().priority,
                task.priority == 0 || queue.discipline == Discipline::Priority,
            ) else {
                continue;
            };
            warnings.push(Warning {
                location: Location::from_offset(self.file, self.text, priority.span().start),
                message: format!(
                    "priority {} has no effect: task \"{}\" goes to queue \"{}\", which is {} \
                     (only a queue with discipline = \"priority\" orders tasks by priority)",
                    task.priority,
                    task.name,
                    queue.name,
                    queue.discipline.name()
                ),
            });
        }
        warnings
    }

    /// Warnings for memory settings that cannot do what their writer wants: a threshold that
    /// a fresh process is already above, or reaches after any single task (a restart loop by
    /// construction); a host smaller than one fresh process. (A `collectable` share without a
    /// pool that collects is not warned about: it says what `gc = "after_task"` would free.)
    fn memory_warnings(
        &self,
        decl: &ScenarioFile,
        pools: &[Pool],
        tasks: &[TaskType],
    ) -> Vec<Warning> {
        let mut warnings = Vec::new();
        let at = |offset: usize| Location::from_offset(self.file, self.text, offset);
        let pool_decls = decl
            .pool
            .as_ref()
            .map_or(&[][..], |p| p.get_ref().as_slice());
        for (d, pool) in pool_decls.iter().zip(pools) {
            let Some((m, span)) = d
                .get_ref()
                .max_memory
                .as_ref()
                .map(|m| (m.get_ref().0, m.span()))
            else {
                continue;
            };
            let worst = tasks.iter().map(|t| t.kept(pool.gc)).max().unwrap_or(0);
            if pool.base_memory.saturating_add(worst) > m {
                warnings.push(Warning {
                    location: at(span.start),
                    message: format!(
                        "max_memory {} of pool \"{}\" is below what a fresh process keeps after \
                         a single task ({} base + up to {} kept): every such task will cost a \
                         restart (a restart loop)",
                        format_size(m),
                        pool.name,
                        format_size(pool.base_memory),
                        format_size(worst),
                    ),
                });
            }
        }
        if let Some(host) = &decl.host {
            if let Some(m) = &host.get_ref().memory {
                let smallest = pools.iter().map(|p| p.base_memory).max().unwrap_or(0);
                if smallest > m.get_ref().0 {
                    warnings.push(Warning {
                        location: at(m.span().start),
                        message: format!(
                            "host memory {} is below a fresh process of {}: the OOM killer will \
                             kill it as soon as it starts",
                            format_size(m.get_ref().0),
                            format_size(smallest)
                        ),
                    });
                }
            }
        }
        warnings
    }

    /// Checks that a process's or a task's size is at most [`MAX_SIZE`].
    fn size_in_range<T>(&self, at: &Spanned<T>, bytes: u64) -> Result<()> {
        if bytes > MAX_SIZE {
            return Err(self.at(
                at,
                format!(
                    "a size of a process or a task is at most 1TiB ({MAX_SIZE} bytes), found {bytes}"
                ),
            ));
        }
        Ok(())
    }

    /// A task's memory fields (`memory`, `retain`, `collectable`, `acks_late`), resolved to
    /// bytes, on an otherwise empty task type.
    fn task_memory(&self, t: &TaskDecl) -> Result<TaskType> {
        if let Some(m) = &t.memory {
            self.size_in_range(m, m.get_ref().0)?;
        }
        if let Some(r) = &t.retain {
            if let RetainDecl::Bytes(b) = *r.get_ref() {
                self.size_in_range(r, b)?;
            }
        }
        let memory = t.memory.as_ref().map_or(0, |m| m.get_ref().0);
        let retain = match t.retain.as_ref().map(|r| *r.get_ref()) {
            None => 0,
            Some(RetainDecl::Bytes(b)) => b,
            Some(RetainDecl::Share(f)) => (memory as f64 * f).round() as u64,
        };
        let share = t.collectable.as_ref().map_or(0.0, |c| c.get_ref().0);
        Ok(TaskType {
            memory,
            retain,
            collectable: ((retain as f64 * share).round() as u64).min(retain),
            acks_late: t.acks_late.unwrap_or(false),
            ..TaskType::new(String::new(), 0, 0, Vec::new())
        })
    }

    fn pool(
        &self,
        p: &Spanned<PoolDecl>,
        pools: &[Pool],
        queue_id: &dyn Fn(&Spanned<String>, &str) -> Result<QueueId>,
    ) -> Result<Pool> {
        let decl = p.get_ref();
        let name = decl
            .name
            .as_ref()
            .map_or("default", |n| n.get_ref().as_str());
        let name_offset = decl
            .name
            .as_ref()
            .map_or(p.span().start, |n| n.span().start);
        if pools.iter().any(|x| x.name == name) {
            return Err(self.error(name_offset, format!("duplicate pool \"{name}\"")));
        }
        let workers = match &decl.workers {
            None => return Err(self.at(p, "a pool needs workers = N (at least 1)")),
            Some(w) => match w.get_ref().0 {
                n if n < 1 => return Err(self.at(w, "a pool needs at least 1 worker")),
                n if n > MAX_WORKERS.into() => {
                    return Err(self.at(
                        w,
                        format!("a pool has at most {MAX_WORKERS} workers, found {n}"),
                    ))
                }
                n => n as u32,
            },
        };
        let mut queues = Vec::new();
        match &decl.queues {
            None => queues.push(0),
            Some(list) if list.get_ref().is_empty() => {
                return Err(self.at(
                    list,
                    "a pool needs at least one queue (expected queues = [\"default\"], say)",
                ));
            }
            Some(list) => {
                for q in list.get_ref() {
                    let id = queue_id(q, "pool queues")?;
                    if queues.contains(&id) {
                        return Err(self.at(
                            q,
                            format!("queue \"{}\" is listed twice in this pool", q.get_ref()),
                        ));
                    }
                    queues.push(id);
                }
            }
        }
        for s in [&decl.base_memory, &decl.max_memory].into_iter().flatten() {
            self.size_in_range(s, s.get_ref().0)?;
        }
        let size = |s: &Option<Spanned<Size>>| s.as_ref().map(|s| s.get_ref().0);
        let max_tasks = match &decl.max_tasks {
            None => None,
            Some(n) => Some(self.whole_in(n, "max_tasks", 1, u32::MAX.into())? as u32),
        };
        Ok(Pool {
            name: name.to_string(),
            workers,
            queues,
            kind: match decl.kind {
                Some(KindDecl::Process) => PoolKind::Process,
                Some(KindDecl::Thread) | None => PoolKind::Thread,
            },
            base_memory: size(&decl.base_memory).unwrap_or(0),
            max_memory: size(&decl.max_memory),
            max_tasks,
            restart: decl
                .restart
                .as_ref()
                .map_or(Duration::Fixed(0), |d| d.get_ref().clone()),
            gc: match decl.gc {
                Some(GcDecl::AfterTask) => Gc::AfterTask,
                Some(GcDecl::None) | None => Gc::None,
            },
        })
    }

    /// Resolves the names in a task's steps; returns the steps and the task's outgoing edges.
    fn steps(
        &self,
        t: &TaskDecl,
        task_id: &dyn Fn(&Spanned<String>, &str) -> Result<TaskId>,
    ) -> Result<(Vec<Resolved>, Vec<Edge>)> {
        let no_steps = || {
            format!(
                "task \"{}\" has no steps (expected at least one of work, spawn, wait, call)",
                t.name.get_ref()
            )
        };
        let steps = match &t.steps {
            None => return Err(self.at(&t.name, no_steps())),
            Some(s) if s.get_ref().is_empty() => return Err(self.at(s, no_steps())),
            Some(s) => s.get_ref(),
        };
        let mut out = Vec::new();
        let mut edges = Vec::new();
        for step in steps {
            out.push(match step.get_ref() {
                StepDecl::Work(d) => Resolved::Step(Step::Work(d.clone())),
                StepDecl::Wait {
                    timeout,
                    on_timeout,
                } => Resolved::Step(Step::Wait {
                    timeout: timeout.clone(),
                    on_timeout: *on_timeout,
                }),
                StepDecl::Call(name) => {
                    let to = task_id(name, "call")?;
                    edges.push(Edge {
                        to,
                        span: name.span(),
                        call: true,
                    });
                    Resolved::Call(to)
                }
                StepDecl::Spawn { task, count, then } => {
                    let child = task_id(task, "spawn")?;
                    edges.push(Edge {
                        to: child,
                        span: task.span(),
                        call: false,
                    });
                    let count = match count {
                        None => 1,
                        Some(c) => self.whole_in(c, "count", 1, MAX_SPAWN.into())? as u32,
                    };
                    let then = match then {
                        None => None,
                        Some(name) => {
                            let to = task_id(name, "then")?;
                            edges.push(Edge {
                                to,
                                span: name.span(),
                                call: false,
                            });
                            Some(to)
                        }
                    };
                    Resolved::Step(Step::Spawn {
                        task: child,
                        count,
                        then,
                    })
                }
            });
        }
        Ok((out, edges))
    }

    /// Refuses any cycle of spawns, thens and calls, naming it and pointing at the step that
    /// closes it.
    fn check_cycles(&self, names: &[String], edges: &[Vec<Edge>]) -> Result<()> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnStack,
            Done,
        }
        let mut mark = vec![Mark::New; names.len()];
        for root in 0..names.len() {
            if mark[root] != Mark::New {
                continue;
            }
            // Iterative depth-first search; `path` holds (task, next edge index, edge taken in).
            let mut path: Vec<(TaskId, usize, Option<Edge>)> = vec![(root, 0, None)];
            mark[root] = Mark::OnStack;
            while let Some((node, next, _)) = path.last().cloned() {
                let Some(edge) = edges[node].get(next) else {
                    mark[node] = Mark::Done;
                    path.pop();
                    continue;
                };
                path.last_mut().expect("non-empty").1 += 1;
                match mark[edge.to] {
                    Mark::Done => {}
                    Mark::New => {
                        mark[edge.to] = Mark::OnStack;
                        path.push((edge.to, 0, Some(edge.clone())));
                    }
                    Mark::OnStack => {
                        let start = path
                            .iter()
                            .position(|(n, _, _)| *n == edge.to)
                            .expect("on the stack");
                        let mut cycle: Vec<&str> = path[start..]
                            .iter()
                            .map(|(n, _, _)| names[*n].as_str())
                            .collect();
                        cycle.push(&names[edge.to]);
                        let all_calls = edge.call
                            && path[start + 1..]
                                .iter()
                                .all(|(_, _, e)| e.as_ref().is_some_and(|e| e.call));
                        let verb = if all_calls {
                            "calls itself without end"
                        } else {
                            "spawns itself without bound"
                        };
                        return Err(self.error(
                            edge.span.start,
                            format!("task \"{}\" {verb}: {}", names[edge.to], cycle.join(" -> ")),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Refuses tasks that would be too big once their calls are inlined or their children
    /// spawned (see [`MAX_INLINED_STEPS`] and [`MAX_TASK_TREE`]).
    fn check_sizes(&self, tasks: &[Spanned<TaskDecl>], sizes: &Sizes) -> Result<()> {
        let total = sizes.steps.iter().fold(0u64, |a, &b| a.saturating_add(b));
        if total > MAX_INLINED_STEPS {
            // Point at the biggest task, which is where the calls multiply.
            let (id, &steps) = sizes
                .steps
                .iter()
                .enumerate()
                .max_by_key(|&(id, &steps)| (steps, std::cmp::Reverse(id)))
                .expect("a scenario with steps has tasks");
            let name = &tasks[id].get_ref().name;
            let message = if steps > MAX_INLINED_STEPS {
                format!(
                    "inlining the calls of task \"{}\" would give {} steps; at most \
                     {MAX_INLINED_STEPS} are allowed",
                    name.get_ref(),
                    count_words(steps)
                )
            } else {
                format!(
                    "inlining every call would give {} steps in all tasks together ({steps} in \
                     task \"{}\"); at most {MAX_INLINED_STEPS} are allowed",
                    count_words(total),
                    name.get_ref()
                )
            };
            return Err(self.at(name, message));
        }
        for (id, t) in tasks.iter().enumerate() {
            let name = &t.get_ref().name;
            let instances = sizes.instances[id];
            if instances > MAX_TASK_TREE {
                return Err(self.at(
                    name,
                    format!(
                        "one instance of task \"{}\" leads to {} task instances in all (itself, \
                         its children, theirs and their callbacks); at most {MAX_TASK_TREE} are \
                         allowed",
                        name.get_ref(),
                        count_words(instances)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Without a horizon, refuses a scenario whose runs could go past [`MAX_INSTANT`].
    ///
    /// A run ends at most at its last arrival plus the time all its tasks spend in work and
    /// timeouts: after the last arrival, the clock only moves to the end of some work or
    /// timeout that is under way, so every stretch of time after it is covered by one of them.
    /// Adding every duration at its largest draw gives a bound that holds for every run.
    fn check_clock(
        &self,
        decls: &[Spanned<ArrivalDecl>],
        arrivals: &[Arrival],
        sizes: &Sizes,
    ) -> Result<()> {
        let mut last_arrival: u128 = 0;
        let mut busy: u128 = 0;
        // The arrival stream that adds the most, to point at.
        let mut worst = (0u128, 0usize);
        for (i, a) in arrivals.iter().enumerate() {
            let (last, count): (u128, u128) = match &a.pattern {
                ArrivalPattern::At(times) => (
                    times.last().copied().unwrap_or(0).into(),
                    times.len() as u128,
                ),
                ArrivalPattern::Stream {
                    start,
                    gap,
                    first_after_gap,
                    count,
                } => {
                    let count = count.unwrap_or(0);
                    let gaps = match count {
                        0 => 0,
                        n => n - 1 + u64::from(*first_after_gap),
                    };
                    let last = u128::from(gaps)
                        .saturating_mul(gap.max_draw().into())
                        .saturating_add((*start).into());
                    (last, count.into())
                }
            };
            let work = count.saturating_mul(sizes.busy[a.task]);
            last_arrival = last_arrival.max(last);
            busy = busy.saturating_add(work);
            if last.saturating_add(work) > worst.0 {
                worst = (last.saturating_add(work), i);
            }
        }
        let end = last_arrival.saturating_add(busy);
        if end <= MAX_INSTANT.into() {
            return Ok(());
        }
        Err(self.at(
            &decls[worst.1],
            format!(
                "without a horizon, a run could last until {} (arrivals until {}, then up to {} \
                 of work and timeouts, each at its longest); the clock stops at 2^63 ns, about \
                 292 years: set a horizon (horizon = \"1h\", say), or make the arrivals fewer \
                 or the durations shorter",
                time_words(end),
                time_words(last_arrival),
                time_words(busy)
            ),
        ))
    }

    fn arrival_pattern(
        &self,
        a: &Spanned<ArrivalDecl>,
        has_horizon: bool,
    ) -> Result<ArrivalPattern> {
        let decl = a.get_ref();
        let mut kinds: Vec<(&str, Range<usize>)> = [
            ("at", decl.at.as_ref().map(Spanned::span)),
            ("every", decl.every.as_ref().map(Spanned::span)),
            ("rate", decl.rate.as_ref().map(Spanned::span)),
        ]
        .into_iter()
        .filter_map(|(k, s)| Some((k, s?)))
        .collect();
        kinds.sort_by_key(|(_, s)| s.start);
        if kinds.is_empty() {
            return Err(self.at(
                a,
                "an arrival needs one of at, every, rate (at = [\"0s\"], say)",
            ));
        }
        if kinds.len() > 1 {
            return Err(self.error(
                kinds[1].1.start,
                format!(
                    "an arrival needs exactly one of at, every, rate (found {} and {})",
                    kinds[0].0, kinds[1].0
                ),
            ));
        }
        if let Some(at) = &decl.at {
            if let Some(c) = &decl.count {
                return Err(self.at(
                    c,
                    "count does not go with at (there is one arrival per instant)",
                ));
            }
            if let Some(s) = &decl.start {
                return Err(self.at(s, "start does not go with at (the instants are absolute)"));
            }
            let mut times: Vec<u64> = at.get_ref().iter().map(|t| t.0).collect();
            times.sort_unstable();
            return Ok(ArrivalPattern::At(times));
        }
        let count = match &decl.count {
            None => None,
            Some(c) => Some(self.whole_in(c, "count", 0, u64::MAX.into())? as u64),
        };
        let start = decl.start.as_ref().map_or(0, |s| s.get_ref().0);
        let (gap, first_after_gap, span) = if let Some(every) = &decl.every {
            (every.get_ref().clone(), false, every.span())
        } else {
            let rate = decl.rate.as_ref().expect("one of at, every, rate");
            let r = *rate.get_ref();
            if !(r.is_finite() && r > 0.0) {
                return Err(self.at(
                    rate,
                    format!(
                        "expected rate to be a number of arrivals per second above 0, found {r}"
                    ),
                ));
            }
            let mean = (TICKS_PER_SECOND as f64 / r).round();
            if mean < 1.0 {
                return Err(self.at(
                    rate,
                    format!("rate {r} is too high (at most {TICKS_PER_SECOND} per second)"),
                ));
            }
            if mean > MAX_DURATION as f64 {
                return Err(self.at(
                    rate,
                    format!(
                        "rate {r} is too low (its mean gap would be longer than 2^62 ns, about \
                         146 years)"
                    ),
                ));
            }
            (Duration::Exp { mean: mean as u64 }, true, rate.span())
        };
        if count.is_none() {
            if !has_horizon {
                return Err(self.error(
                    span.start,
                    "an unbounded stream needs count = N or a horizon (add count = 10, say)",
                ));
            }
            if gap.mean() == 0 {
                return Err(self.error(
                    span.start,
                    "an unbounded stream needs a gap longer than 0s (or a count)",
                ));
            }
        }
        Ok(ArrivalPattern::Stream {
            start,
            gap,
            first_after_gap,
            count,
        })
    }
}

/// Every task, each after every task it spawns, calls or has as a callback (the graph is
/// acyclic), so that anything computed per task can be computed in one pass over this order.
fn callees_first(edges: &[Vec<Edge>]) -> Vec<TaskId> {
    let mut order = Vec::with_capacity(edges.len());
    let mut done = vec![false; edges.len()];
    for root in 0..edges.len() {
        if done[root] {
            continue;
        }
        // Iterative post-order: (task, index of its next edge).
        let mut stack = vec![(root, 0)];
        done[root] = true;
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            match edges[node].get(*next) {
                Some(edge) => {
                    *next += 1;
                    if !done[edge.to] {
                        done[edge.to] = true;
                        stack.push((edge.to, 0));
                    }
                }
                None => {
                    order.push(node);
                    stack.pop();
                }
            }
        }
    }
    order
}

/// The steps of every task with every `call` inlined, by task id.
fn flatten(order: &[TaskId], resolved: &[Vec<Resolved>]) -> Vec<Vec<Step>> {
    let mut flat: Vec<Vec<Step>> = vec![Vec::new(); resolved.len()];
    for &id in order {
        let mut steps = Vec::new();
        for step in &resolved[id] {
            match step {
                Resolved::Step(s) => steps.push(s.clone()),
                Resolved::Call(callee) => steps.extend_from_slice(&flat[*callee]),
            }
        }
        flat[id] = steps;
    }
    flat
}

/// How big each task is once its calls are inlined and its children run, computed from the
/// resolved steps without inlining or simulating anything (so a scenario that would blow up is
/// refused before it can allocate). All sums saturate.
struct Sizes {
    /// Steps after inlining every call.
    steps: Vec<u64>,
    /// Task instances one instance leads to: itself, its children, theirs, and callbacks.
    instances: Vec<u64>,
    /// The most time one instance and everything it leads to can spend in work and timeouts,
    /// each duration at its largest draw ([`Duration::max_draw`]).
    busy: Vec<u128>,
}

impl Sizes {
    fn new(order: &[TaskId], resolved: &[Vec<Resolved>]) -> Sizes {
        let n = resolved.len();
        let mut sizes = Sizes {
            steps: vec![0; n],
            instances: vec![0; n],
            busy: vec![0; n],
        };
        for &id in order {
            let (mut steps, mut instances, mut busy) = (0u64, 1u64, 0u128);
            for step in &resolved[id] {
                match step {
                    Resolved::Call(callee) => {
                        steps = steps.saturating_add(sizes.steps[*callee]);
                        // The callee's steps run in this instance: everything but itself.
                        instances = instances.saturating_add(sizes.instances[*callee] - 1);
                        busy = busy.saturating_add(sizes.busy[*callee]);
                    }
                    Resolved::Step(step) => {
                        steps = steps.saturating_add(1);
                        match step {
                            Step::Work(d) => busy = busy.saturating_add(d.max_draw().into()),
                            Step::Wait { timeout, .. } => {
                                let t = timeout.as_ref().map_or(0, Duration::max_draw);
                                busy = busy.saturating_add(t.into());
                            }
                            Step::Spawn { task, count, then } => {
                                let count = u64::from(*count);
                                instances = instances
                                    .saturating_add(count.saturating_mul(sizes.instances[*task]));
                                busy = busy.saturating_add(
                                    u128::from(count).saturating_mul(sizes.busy[*task]),
                                );
                                if let Some(then) = then {
                                    instances = instances.saturating_add(sizes.instances[*then]);
                                    busy = busy.saturating_add(sizes.busy[*then]);
                                }
                            }
                        }
                    }
                }
            }
            sizes.steps[id] = steps;
            sizes.instances[id] = instances;
            sizes.busy[id] = busy;
        }
        sizes
    }
}

/// A count that may have saturated, for messages.
fn count_words(n: u64) -> String {
    if n == u64::MAX {
        format!("more than {}", u64::MAX - 1)
    } else {
        n.to_string()
    }
}

/// A length of time that may be far beyond the clock, for messages: `36s`, `about 312 years`.
pub(super) fn time_words(ticks: u128) -> String {
    const YEAR: f64 = 365.25 * 86_400.0 * TICKS_PER_SECOND as f64;
    match Tick::try_from(ticks) {
        Ok(t) if t < 86_400 * TICKS_PER_SECOND => super::format_ticks(t),
        _ => {
            let years = ticks as f64 / YEAR;
            if years < 1e6 {
                format!("about {years:.0} years")
            } else {
                format!("about {years:.1e} years")
            }
        }
    }
}

/// Whether `[[name]]` is one of the format's arrays of tables.
fn is_array_of_tables(name: &str) -> bool {
    matches!(name, "queue" | "pool" | "task" | "arrival")
}

/// Which table a list of expected keys belongs to, for "unknown key" messages.
fn table_of(expected: &[String]) -> Option<&'static str> {
    let tables: [(&[&str], &str); 6] = [
        (file::SCENARIO_KEYS, "at top level"),
        (file::HOST_KEYS, "in [host]"),
        (file::QUEUE_KEYS, "in a [[queue]]"),
        (file::POOL_KEYS, "in a [[pool]]"),
        (file::TASK_KEYS, "in a [[task]]"),
        (file::ARRIVAL_KEYS, "in an [[arrival]]"),
    ];
    tables
        .iter()
        .find(|(keys, _)| keys.iter().eq(expected.iter()))
        .map(|(_, name)| *name)
}

/// The names in serde's "expected `a`, `b` or `c`" / "expected one of `a`, `b`" lists.
fn backticked(list: &str) -> Vec<String> {
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// serde's name for a type or value, in the words of the scenario format.
fn plain(what: &str) -> String {
    let what = what.trim();
    let inner = |prefix: &str| {
        what.strip_prefix(prefix).map(|rest| {
            // serde writes big integers as "integer `18446744073709551616` as i128".
            let rest = rest.split(" as ").next().unwrap_or(rest);
            rest.trim_matches('`').to_string()
        })
    };
    let range = |min: i128, max: i128| format!("a whole number from {min} to {max}");
    match what {
        "u8" => range(0, u8::MAX.into()),
        "u16" => range(0, u16::MAX.into()),
        "u32" => range(0, u32::MAX.into()),
        "u64" | "usize" => range(0, u64::MAX.into()),
        "i8" => range(i8::MIN.into(), i8::MAX.into()),
        "i16" => range(i16::MIN.into(), i16::MAX.into()),
        "i32" => range(i32::MIN.into(), i32::MAX.into()),
        "i64" | "isize" => range(i64::MIN.into(), i64::MAX.into()),
        "f32" | "f64" => "a number".into(),
        "a sequence" | "sequence" => "an array".into(),
        "a map" | "map" => "a table".into(),
        "a boolean" => "true or false".into(),
        "a string" => "a string".into(),
        _ if what.starts_with("struct ") || what.starts_with("enum ") => {
            table_word(what).to_string()
        }
        _ => inner("integer ")
            .or_else(|| inner("floating point "))
            .or_else(|| inner("boolean "))
            .or_else(|| inner("string "))
            .unwrap_or_else(|| what.to_string()),
    }
}

/// The format's word for one of the file's tables, from serde's `struct TaskDecl ...`.
fn table_word(serde_name: &str) -> &'static str {
    let name = serde_name
        .trim_start_matches("struct ")
        .trim_start_matches("enum ");
    let name = name.split_whitespace().next().unwrap_or(name);
    match name {
        "QueueDecl" => "a [[queue]] table",
        "PoolDecl" => "a [[pool]] table",
        "TaskDecl" => "a [[task]] table",
        "ArrivalDecl" => "an [[arrival]] table",
        "HostDecl" => "a [host] table",
        "ScenarioFile" => "a scenario (a TOML document)",
        _ => "a table",
    }
}

/// The name in a `[name]` table header at the start of `text`, if it is one (not `[[name]]`).
fn single_bracket_header(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('[')?;
    if rest.starts_with('[') {
        return None;
    }
    let name = rest.split(']').next()?.trim();
    Some(name)
}

/// Rewrites serde's and toml's messages into the format's words: keys rather than fields,
/// "expected X, found Y" rather than "invalid type".
fn humanize(message: &str, spanned_text: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((key, expected)) = rest.split_once('`') {
            let expected = backticked(expected);
            let place = table_of(&expected).map_or(String::new(), |t| format!(" {t}"));
            return if expected.is_empty() {
                format!("unknown key \"{key}\"{place}")
            } else {
                format!(
                    "unknown key \"{key}\"{place} (expected {})",
                    expected.join(", ")
                )
            };
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        if let Some((value, expected)) = rest.split_once('`') {
            return format!(
                "unknown value \"{value}\" (expected {})",
                backticked(expected).join(", ")
            );
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.trim_end_matches('`');
        let header = spanned_text.trim();
        return if header.starts_with("[[") && header.ends_with("]]") {
            format!("missing key \"{key}\" in {header}")
        } else {
            format!("missing key \"{key}\"")
        };
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some((found, expected)) = rest.rsplit_once(", expected ") {
                let (expected, found) = (plain(expected), plain(found));
                // `[pool]` where `[[pool]]` was meant: say so.
                if let Some(name) = single_bracket_header(spanned_text) {
                    if expected == "an array" && found == "a table" && is_array_of_tables(name) {
                        return format!(
                            "expected an array of tables, found a table: write [[{name}]] \
                             (two brackets) before each {name}"
                        );
                    }
                }
                return format!("expected {expected}, found {found}");
            }
        }
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        // A table given as an array (`task = [[]]`): serde names the Rust struct.
        if let Some((_, expected)) = rest.split_once(", expected ") {
            return format!("expected {}, found an array", plain(expected));
        }
    }
    if message == "wanted string or table" {
        // toml's words for an enum given something other than a string.
        return match spanned_text.trim() {
            "" => "expected a string".to_string(),
            found => format!("expected a string, found {found}"),
        };
    }
    if message.contains("number overflowed") || message.contains("number too large") {
        return format!(
            "this whole number is too large (no whole number of a scenario is above {})",
            u64::MAX
        );
    }
    if message == "duplicate key" && !spanned_text.is_empty() {
        return format!("duplicate key \"{}\"", spanned_text.trim_matches('"'));
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::OnTimeout;

    const S: u64 = TICKS_PER_SECOND;

    fn ok(text: &str) -> Scenario {
        match parse("scenarios/test.toml", text, &[]) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    fn err(text: &str) -> String {
        match parse("t.toml", text, &[]) {
            Ok(s) => panic!("accepted: {s:?}"),
            Err(e) => e.to_string().lines().next().unwrap().to_string(),
        }
    }

    const POOL: &str = "[[pool]]\nworkers = 1\n";

    /// The warnings of a valid scenario, each as the CLI prints it after `warning: `.
    fn warnings(text: &str, sets: &[&str]) -> Vec<String> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        match parse_with_warnings("t.toml", text, &sets) {
            Ok((_, warnings)) => warnings.iter().map(|w| w.to_string()).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn issue_14_a_priority_that_its_queue_ignores_is_a_warning() {
        let text = r#"
[[queue]]
name = "urgent"
discipline = "priority"
[[queue]]
name = "stack"
discipline = "lifo"
[[pool]]
workers = 1
queues = ["default", "urgent", "stack"]
[[task]]
name = "a"
priority = 5
steps = [{ work = 1 }]
[[task]]
name = "b"
queue = "urgent"
priority = 5
steps = [{ work = 1 }]
[[task]]
name = "c"
queue = "stack"
priority = -1
steps = [{ work = 1 }]
[[task]]
name = "d"
priority = 0
steps = [{ work = 1 }]
"#;
        assert_eq!(
            warnings(text, &[]),
            [
                "t.toml:13:12: priority 5 has no effect: task \"a\" goes to queue \"default\", \
                 which is fifo (only a queue with discipline = \"priority\" orders tasks by \
                 priority)\n   |\n13 | priority = 5\n   |            ^",
                "t.toml:23:12: priority -1 has no effect: task \"c\" goes to queue \"stack\", \
                 which is lifo (only a queue with discipline = \"priority\" orders tasks by \
                 priority)\n   |\n23 | priority = -1\n   |            ^",
            ]
        );
        // Set by --set, it says so; a priority queue by --set has none.
        let plain = "[[pool]]\nworkers = 1\n[[task]]\nname = \"a\"\nsteps = [{ work = 1 }]\n";
        let set = warnings(plain, &["task.a.priority=3"]);
        assert_eq!(set.len(), 1);
        assert!(
            set[0].starts_with("t.toml:6:12: priority 3 has no effect")
                && set[0].contains("(in a line written by --set)"),
            "{set:?}"
        );
        let to_priority_queues = [
            "task.a.queue=\"urgent\"",
            "queue.stack.discipline=\"priority\"",
        ];
        assert!(warnings(text, &to_priority_queues).is_empty());
        // A valid scenario without such a priority has no warning.
        assert!(warnings(plain, &[]).is_empty());
    }

    #[test]
    fn fills_in_defaults() {
        let s = ok(&format!(
            "{POOL}[[task]]\nname = \"t\"\nsteps = [{{ work = 1 }}]\n"
        ));
        assert_eq!(s.name, "test");
        assert_eq!(s.description, "");
        assert_eq!(s.seed, 0);
        assert_eq!(s.horizon, None);
        assert_eq!(s.ties, Ties::Canonical);
        assert_eq!(
            s.queues,
            vec![Queue {
                name: "default".into(),
                discipline: Discipline::Fifo,
                consumers: vec![0]
            }]
        );
        assert_eq!(
            s.pools,
            vec![Pool {
                name: "default".into(),
                workers: 1,
                queues: vec![0],
                ..Pool::new("", 0, Vec::new())
            }]
        );
        assert_eq!(
            s.tasks,
            vec![TaskType {
                name: "t".into(),
                queue: 0,
                priority: 0,
                steps: vec![Step::Work(Duration::Fixed(S))],
                ..TaskType::new("", 0, 0, Vec::new())
            }]
        );
        assert!(s.arrivals.is_empty());
    }

    #[test]
    fn reads_top_level_settings() {
        let s = ok(&format!(
            "name = \"x\"\ndescription = \"d\"\nseed = 9\nhorizon = \"1h\"\nties = \"random\"\n{POOL}"
        ));
        assert_eq!(s.name, "x");
        assert_eq!(s.description, "d");
        assert_eq!(s.seed, 9);
        assert_eq!(s.horizon, Some(3600 * S));
        assert_eq!(s.ties, Ties::Random);
    }

    #[test]
    fn declares_queues_and_consumers() {
        let s = ok(r#"
[[queue]]
name = "slow"
discipline = "priority"
[[queue]]
name = "default"
discipline = "lifo"
[[pool]]
name = "a"
workers = 2
queues = ["slow", "default"]
[[pool]]
name = "b"
workers = 1
queues = ["slow"]
[[task]]
name = "t"
queue = "slow"
priority = -2
steps = [{ work = "1s" }]
"#);
        assert_eq!(s.queues[0].name, "default");
        assert_eq!(s.queues[0].discipline, Discipline::Lifo);
        assert_eq!(s.queues[0].consumers, vec![0]);
        assert_eq!(s.queues[1].discipline, Discipline::Priority);
        assert_eq!(s.queues[1].consumers, vec![0, 1]);
        assert_eq!(s.pools[0].queues, vec![1, 0]);
        assert_eq!(s.tasks[0].queue, 1);
        assert_eq!(s.tasks[0].priority, -2);
    }

    #[test]
    fn flattens_calls() {
        let s = ok(&format!(
            r#"{POOL}
[[task]]
name = "main"
steps = [{{ work = "1s" }}, {{ call = "mid" }}, {{ work = "3s" }}]
[[task]]
name = "mid"
steps = [{{ call = "leaf" }}, {{ spawn = "leaf", count = 2, then = "leaf" }}, {{ call = "leaf" }}]
[[task]]
name = "leaf"
steps = [{{ work = "2s" }}, {{ wait = "children", timeout = "5s", on_timeout = "continue" }}]
"#
        ));
        let leaf = vec![
            Step::Work(Duration::Fixed(2 * S)),
            Step::Wait {
                timeout: Some(Duration::Fixed(5 * S)),
                on_timeout: OnTimeout::Continue,
            },
        ];
        let spawn = Step::Spawn {
            task: 2,
            count: 2,
            then: Some(2),
        };
        let mid: Vec<Step> = leaf
            .iter()
            .cloned()
            .chain([spawn])
            .chain(leaf.iter().cloned())
            .collect();
        assert_eq!(s.tasks[1].steps, mid);
        let main: Vec<Step> = [Step::Work(Duration::Fixed(S))]
            .into_iter()
            .chain(mid)
            .chain([Step::Work(Duration::Fixed(3 * S))])
            .collect();
        assert_eq!(s.tasks[0].steps, main);
        assert_eq!(s.tasks[2].steps, leaf);
    }

    #[test]
    fn detects_cycles() {
        let tasks = |a: &str, b: &str| {
            format!(
                "{POOL}[[task]]\nname = \"a\"\nsteps = [{{ work = 1 }}, {a}]\n[[task]]\nname = \"b\"\nsteps = [{b}]\n"
            )
        };
        assert_eq!(
            err(&tasks("{ spawn = \"a\" }", "{ work = 1 }")),
            "t.toml:5:34: task \"a\" spawns itself without bound: a -> a"
        );
        assert_eq!(
            err(&tasks("{ spawn = \"b\" }", "{ call = \"a\" }")),
            "t.toml:8:19: task \"a\" spawns itself without bound: a -> b -> a"
        );
        assert_eq!(
            err(&tasks("{ call = \"b\" }", "{ call = \"a\" }")),
            "t.toml:8:19: task \"a\" calls itself without end: a -> b -> a"
        );
        assert_eq!(
            err(&tasks("{ spawn = \"b\", then = \"a\" }", "{ work = 1 }")),
            "t.toml:5:46: task \"a\" spawns itself without bound: a -> a"
        );
        // A diamond is not a cycle.
        ok(&tasks(
            "{ call = \"b\" }, { spawn = \"b\" }",
            "{ work = 1 }",
        ));
    }

    #[test]
    fn builds_arrival_patterns() {
        let s = ok(&format!(
            r#"horizon = "1m"
{POOL}
[[task]]
name = "t"
steps = [{{ work = 1 }}]
[[arrival]]
task = "t"
at = ["2s", "0s", 1]
[[arrival]]
task = "t"
every = "500ms"
count = 4
start = "1s"
[[arrival]]
task = "t"
rate = 2.5
[[arrival]]
task = "t"
every = {{ dist = "uniform", min = "1s", max = "2s" }}
"#
        ));
        assert_eq!(s.arrivals[0].pattern, ArrivalPattern::At(vec![0, S, 2 * S]));
        assert_eq!(
            s.arrivals[1].pattern,
            ArrivalPattern::Stream {
                start: S,
                gap: Duration::Fixed(S / 2),
                first_after_gap: false,
                count: Some(4)
            }
        );
        assert_eq!(
            s.arrivals[2].pattern,
            ArrivalPattern::Stream {
                start: 0,
                gap: Duration::Exp { mean: 400_000_000 },
                first_after_gap: true,
                count: None
            }
        );
        assert_eq!(s.arrivals[3].pattern.count(), None);
    }

    #[test]
    fn explains_arrival_mistakes() {
        let base = format!(
            "{POOL}[[task]]\nname = \"t\"\nsteps = [{{ work = 1 }}]\n[[arrival]]\ntask = \"t\"\n"
        );
        assert_eq!(
            err(&format!("{base}rate = 0\ncount = 1\n")),
            "t.toml:8:8: expected rate to be a number of arrivals per second above 0, found 0"
        );
        assert_eq!(
            err(&format!("horizon = 10\n{base}every = 0\n")),
            "t.toml:9:9: an unbounded stream needs a gap longer than 0s (or a count)"
        );
        assert_eq!(
            err(&format!("{base}at = [1]\ncount = 1\n")),
            "t.toml:9:9: count does not go with at (there is one arrival per instant)"
        );
        assert_eq!(
            err(&format!("{base}every = 1\ncount = -1\n")),
            "t.toml:9:9: expected count to be a whole number from 0 to 18446744073709551615, found -1"
        );
        assert_eq!(
            err(&base),
            "t.toml:6:1: an arrival needs one of at, every, rate (at = [\"0s\"], say)"
        );
    }

    #[test]
    fn only_enqueued_tasks_need_a_consumed_queue() {
        // "helper" is only called, so its queue may have no consumer.
        let text = r#"
[[queue]]
name = "q"
[[pool]]
workers = 1
queues = ["q"]
[[task]]
name = "main"
queue = "q"
steps = [{ call = "helper" }]
[[task]]
name = "helper"
steps = [{ work = 1 }]
[[arrival]]
task = "main"
at = [0]
"#;
        ok(text);
        let text = text.replace("call = \"helper\"", "spawn = \"helper\"");
        assert_eq!(
            err(&text),
            "t.toml:12:8: queue \"default\" is consumed by no pool, so its tasks could never run (add it to a pool's queues)"
        );
    }

    #[test]
    fn rewrites_serde_messages() {
        assert_eq!(
            err("seed = -1\n"),
            "t.toml:1:8: expected seed to be a whole number from 0 to 18446744073709551615, found -1"
        );
        assert_eq!(
            err("[[pool]]\nworkers = \"2\"\n"),
            "t.toml:2:11: expected a whole number, found \"2\""
        );
        assert_eq!(
            err("[[queue]]\ndiscipline = \"fifo\"\n[[pool]]\nworkers = 1\n"),
            "t.toml:1:1: missing key \"name\" in [[queue]]"
        );
        assert_eq!(
            err("[[queue]]\nname = \"q\"\ndiscipline = \"lifx\"\n"),
            "t.toml:3:14: unknown value \"lifx\" (expected fifo, lifo, priority)"
        );
        assert_eq!(
            err("seed = 1\nseed = 2\n"),
            "t.toml:2:1: duplicate key \"seed\""
        );
        assert_eq!(
            err("ties = 1\n"),
            "t.toml:1:8: expected \"canonical\" or \"random\", found 1"
        );
        assert_eq!(
            err("[[task]]\nname = \"t\"\nstep = []\n"),
            "t.toml:3:1: unknown key \"step\" in a [[task]] (expected name, queue, priority, steps, memory, retain, collectable, acks_late)"
        );
        assert_eq!(
            err("[[queue]]\nname = \"q\"\ndiscipline = nan\n"),
            "t.toml:3:14: expected \"fifo\", \"lifo\" or \"priority\", found nan"
        );
        assert_eq!(
            err("[pool]\nworkers = 1\n"),
            "t.toml:1:1: expected an array of tables, found a table: write [[pool]] (two brackets) before each pool"
        );
        assert_eq!(
            err("task = [[]]\n"),
            "t.toml:1:9: expected a [[task]] table, found an array"
        );
        assert_eq!(
            err("[[pool]]\nworkers = 1.5\n"),
            "t.toml:2:11: expected a whole number, found 1.5"
        );
    }

    #[test]
    fn whole_numbers_out_of_range_say_the_range() {
        let task = |line: &str| {
            format!("{POOL}[[task]]\nname = \"t\"\n{line}\nsteps = [{{ work = 1 }}]\n")
        };
        assert_eq!(
            err(&task("priority = 2147483648")),
            "t.toml:5:12: expected priority to be a whole number from -2147483648 to 2147483647, found 2147483648"
        );
        assert_eq!(
            ok(&task("priority = -2147483648")).tasks[0].priority,
            i32::MIN
        );
        assert_eq!(
            err(&format!("{POOL}[[task]]\nname = \"t\"\nsteps = [{{ spawn = \"t\", count = 18446744073709551616 }}]\n")),
            "t.toml:5:33: expected count to be a whole number from 1 to 1000000, found 18446744073709551616"
        );
        assert_eq!(
            err("seed = 18446744073709551616\n"),
            "t.toml:1:8: expected seed to be a whole number from 0 to 18446744073709551615, found 18446744073709551616"
        );
        assert_eq!(
            err("[[pool]]\nworkers = 99999999999999999999999999999999999999999\n"),
            "t.toml:2:11: this whole number is too large (no whole number of a scenario is above 18446744073709551615)"
        );
    }

    #[test]
    fn seeds_take_the_whole_unsigned_range() {
        assert_eq!(
            ok(&format!("seed = 18446744073709551615\n{POOL}")).seed,
            u64::MAX
        );
        assert_eq!(
            ok(&format!("seed = \"9848753966768412663\"\n{POOL}")).seed,
            9848753966768412663
        );
        let s = parse("t.toml", POOL, &["seed=9848753966768412663".into()]).unwrap();
        assert_eq!(s.seed, 9848753966768412663);
        assert_eq!(
            err("seed = \"0x10\"\n"),
            "t.toml:1:8: expected seed to be a whole number from 0 to 18446744073709551615 (or a string of its digits), found \"0x10\""
        );
    }

    #[test]
    fn only_lines_that_set_wrote_are_blamed_on_it() {
        let e = parse("t.toml", "", &[]).unwrap_err().to_string();
        assert!(!e.contains("--set"), "{e}");
        let e = parse("t.toml", "", &["seed=1".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("(in a line written by --set)"), "{e}");
    }

    #[test]
    fn applies_sets_before_checking() {
        let text = POOL.to_string();
        let s = parse(
            "t.toml",
            &text,
            &["pool.default.workers=3".into(), "seed=4".into()],
        )
        .unwrap();
        assert_eq!(s.pools[0].workers, 3);
        assert_eq!(s.seed, 4);
        let e = parse("t.toml", &text, &["pool.default.workers=0".into()]).unwrap_err();
        assert_eq!(
            e.to_string().lines().next().unwrap(),
            "t.toml:2:11: a pool needs at least 1 worker (in a line written by --set)"
        );
        let e = parse("t.toml", &text, &["pool.x.workers=0".into()]).unwrap_err();
        assert!(matches!(e, Error::Set { .. }));
    }

    /// Tasks `c0`..`c{links}`, each calling (or spawning, with `count`) the next twice.
    fn chain(links: usize, step: &str) -> String {
        let mut text = POOL.to_string();
        for i in 0..links {
            let next = format!("c{}", i + 1);
            let s = step.replace("NEXT", &next);
            text += &format!("[[task]]\nname = \"c{i}\"\nsteps = [{s}, {s}]\n");
        }
        text + &format!("[[task]]\nname = \"c{links}\"\nsteps = [{{ work = 1 }}]\n")
    }

    #[test]
    fn inlined_calls_are_counted_before_they_are_inlined() {
        let calls = |links| chain(links, "{ call = \"NEXT\" }");
        assert_eq!(ok(&calls(18)).tasks[0].steps.len(), 1 << 18);
        assert_eq!(
            err(&calls(19)),
            "t.toml:4:8: inlining every call would give 1048575 steps in all tasks together (524288 in task \"c0\"); at most 1000000 are allowed"
        );
        assert_eq!(
            err(&calls(20)),
            "t.toml:4:8: inlining the calls of task \"c0\" would give 1048576 steps; at most 1000000 are allowed"
        );
        // 2^100 steps: the count saturates rather than overflowing.
        assert_eq!(
            err(&calls(100)),
            "t.toml:4:8: inlining the calls of task \"c0\" would give more than 18446744073709551614 steps; at most 1000000 are allowed"
        );
    }

    #[test]
    fn task_trees_are_counted_without_spawning_them() {
        let tree = |inner: u32| {
            format!(
                "{POOL}[[task]]\nname = \"a\"\nsteps = [{{ spawn = \"b\", count = 1000000 }}]\n\
                 [[task]]\nname = \"b\"\nsteps = [{{ spawn = \"c\", count = {inner} }}]\n\
                 [[task]]\nname = \"c\"\nsteps = [{{ work = 1 }}]\n"
            )
        };
        ok(&tree(8)); // 1 + 1000000 × 9 instances
        assert_eq!(
            err(&tree(9)),
            "t.toml:4:8: one instance of task \"a\" leads to 10000001 task instances in all (itself, its children, theirs and their callbacks); at most 10000000 are allowed"
        );
        // 2^200 instances saturate.
        let spawns = chain(200, "{ spawn = \"NEXT\" }");
        assert!(err(&spawns).contains("leads to more than 18446744073709551614 task instances"));
    }

    #[test]
    fn sizes_match_the_inlined_tasks() {
        // An oracle: count over the inlined steps of the validated scenario.
        fn instances(s: &Scenario, t: TaskId) -> u64 {
            let mut n = 1;
            for step in &s.tasks[t].steps {
                if let Step::Spawn { task, count, then } = step {
                    n += u64::from(*count) * instances(s, *task);
                    n += then.map_or(0, |u| instances(s, u));
                }
            }
            n
        }
        fn busy(s: &Scenario, t: TaskId) -> u128 {
            let mut b = 0;
            for step in &s.tasks[t].steps {
                b += match step {
                    Step::Work(d) => u128::from(d.max_draw()),
                    Step::Wait { timeout, .. } => {
                        timeout.as_ref().map_or(0, |d| d.max_draw().into())
                    }
                    Step::Spawn { task, count, then } => {
                        u128::from(*count) * busy(s, *task) + then.map_or(0, |u| busy(s, u))
                    }
                };
            }
            b
        }
        let text = format!(
            r#"{POOL}
[[task]]
name = "main"
steps = [{{ call = "mid" }}, {{ spawn = "leaf", count = 3, then = "mid" }}, {{ call = "leaf" }}]
[[task]]
name = "mid"
steps = [{{ spawn = "leaf", count = 2 }}, {{ wait = "children", timeout = "5s" }}, {{ call = "leaf" }}]
[[task]]
name = "leaf"
steps = [{{ work = {{ dist = "uniform", min = "1s", max = "2s" }} }}, {{ spawn = "tip", count = 4 }}]
[[task]]
name = "tip"
steps = [{{ work = {{ dist = "exp", mean = "1s" }} }}]
"#
        );
        let scenario = ok(&text);
        let decl: ScenarioFile = toml::from_str(&text).unwrap();
        let checker = Checker {
            file: "t.toml",
            text: &text,
        };
        let names: Vec<String> = decl
            .task
            .iter()
            .map(|t| t.get_ref().name.get_ref().clone())
            .collect();
        let task_id = |n: &Spanned<String>, _: &str| -> Result<TaskId> {
            Ok(names.iter().position(|x| x == n.get_ref()).unwrap())
        };
        let (resolved, edges): (Vec<_>, Vec<_>) = decl
            .task
            .iter()
            .map(|t| checker.steps(t.get_ref(), &task_id).unwrap())
            .unzip();
        let sizes = Sizes::new(&callees_first(&edges), &resolved);
        for t in 0..scenario.tasks.len() {
            assert_eq!(
                sizes.steps[t],
                scenario.tasks[t].steps.len() as u64,
                "steps of {t}"
            );
            assert_eq!(
                sizes.instances[t],
                instances(&scenario, t),
                "instances of {t}"
            );
            assert_eq!(sizes.busy[t], busy(&scenario, t), "busy of {t}");
        }
        assert!(sizes.instances[0] > 20, "the example is not trivial");
    }

    #[test]
    fn all_pools_together_have_a_limited_number_of_workers() {
        let pools = |n: usize| {
            (0..n)
                .map(|i| format!("[[pool]]\nname = \"p{i}\"\nworkers = 100000\n"))
                .collect::<String>()
        };
        let workers: u32 = ok(&pools(10)).pools.iter().map(|p| p.workers).sum();
        assert_eq!(workers, 1_000_000);
        assert_eq!(
            err(&pools(11)),
            "t.toml:33:11: pool \"p10\" brings the workers of all pools to 1100000; at most 1000000 are allowed in all"
        );
    }

    #[test]
    fn instants_cannot_overflow_the_clock() {
        let s = |rest: &str| {
            format!("{POOL}[[task]]\nname = \"t\"\nsteps = [{{ work = \"876600h\" }}]\n{rest}")
        };
        // A hundred years of work, twice (about 200 years in all), fits; three times does not.
        ok(&s("[[arrival]]\ntask = \"t\"\nat = [\"0s\", 0]\n"));
        assert_eq!(
            err(&s("[[arrival]]\ntask = \"t\"\nat = [\"0s\", 0]\n[[arrival]]\ntask = \"t\"\nat = [\"1h\"]\n")),
            "t.toml:6:1: without a horizon, a run could last until about 300 years (arrivals until 1h00m, then up to about 300 years of work and timeouts, each at its longest); the clock stops at 2^63 ns, about 292 years: set a horizon (horizon = \"1h\", say), or make the arrivals fewer or the durations shorter"
        );
        // With a horizon the run stops there, whatever is scheduled after it.
        let with_horizon = format!(
            "horizon = \"1h\"\n{}",
            s("[[arrival]]\ntask = \"t\"\nat = [0, 0, 0, 0]\n")
        );
        assert_eq!(ok(&with_horizon).horizon, Some(3600 * S));
        // Streams count every gap at its largest draw: an exponential gap of 10 years can be
        // 445 years (44.5 means, the bound of the exponential ziggurat's draws).
        assert!(err(&s(
            "[[arrival]]\ntask = \"t\"\nevery = { dist = \"exp\", mean = \"87660h\" }\ncount = 2\n"
        ))
        .contains("a run could last until about 645 years (arrivals until about 445 years"));
        // Single values stop at 2^62 ns, in every spelling.
        let too_long = "is too long (at most 2^62 ns, about 146 years)";
        assert_eq!(
            err("horizon = \"4611686018427387905ns\"\n"),
            format!("t.toml:1:11: duration \"4611686018427387905ns\" {too_long}")
        );
        ok(&format!("horizon = \"4611686018427387904ns\"\n{POOL}"));
        assert_eq!(
            err("horizon = 4611686019\n"),
            format!("t.toml:1:11: duration 4611686019 {too_long}")
        );
        assert_eq!(
            err("horizon = 4.7e9\n"),
            format!("t.toml:1:11: duration 4700000000 {too_long}")
        );
        assert!(err(&s("[[arrival]]\ntask = \"t\"\nrate = 1e-10\ncount = 1\n"))
            .ends_with("rate 0.0000000001 is too low (its mean gap would be longer than 2^62 ns, about 146 years)"));
    }

    #[test]
    fn load_reports_io_errors() {
        let e = load(Path::new("/nonexistent/x.toml"), &[]).unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
    }
}

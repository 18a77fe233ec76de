//! The trace: every event of a run, one JSON object per line (JSON Lines).
//!
//! ```text
//! {"t":0.0,"event":"arrived","task":"main_task#1","queue":"default"}
//! {"t":0.0,"event":"taken","task":"main_task#1","worker":"default/1"}
//! {"t":0.0,"event":"spawned","task":"subtask#1","queue":"default","parent":"main_task#1"}
//! {"t":0.0,"event":"blocked","task":"main_task#1","worker":"default/1"}
//! {"t":0.0,"event":"work","task":"subtask#1","worker":"default/3","duration_s":4.0}
//! {"t":4.0,"event":"finished","task":"subtask#1","worker":"default/3","result":"completed"}
//! ```
//!
//! Events: `arrived`, `spawned` (with `parent`), `callback` (a `then` task was queued),
//! `taken`, `work` (with `duration_s`), `blocked` (a wait began), `resumed`, `timeout`,
//! `finished` (with `result`: `completed` or `failed`). `t` is the instant in seconds; tasks
//! are `type#serial`, workers `pool/index`, as in every other qsim output. Keys come in a fixed
//! order and nothing depends on hashing, so a run's trace is the same bytes every time.
//!
//! Writes are buffered. An observer cannot fail, so the first write error is kept, later
//! events are dropped, and [`Trace::finish`] returns the error: a trace is never silently cut.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};

use crate::engine::{Event, InstanceId, Observer, ProcessId, Simulation, TaskResult, WorkerId};
use crate::scenario::ticks_to_secs;

/// Writes every event of a run to `W` as JSON Lines; see the module docs.
#[derive(Debug)]
pub struct Trace<W: Write> {
    out: BufWriter<W>,
    line: String,
    error: Option<io::Error>,
}

impl<W: Write> Trace<W> {
    /// A trace writing to `out` (buffered here: no need to wrap it).
    pub fn new(out: W) -> Trace<W> {
        Trace {
            out: BufWriter::with_capacity(64 * 1024, out),
            line: String::with_capacity(160),
            error: None,
        }
    }

    /// Flushes the trace and returns the writer, or the first error met while writing.
    pub fn finish(self) -> io::Result<W> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
    }

    fn task(&mut self, sim: &Simulation<'_>, key: &str, id: InstanceId) {
        let inst = sim.instance(id);
        let _ = write!(self.line, ",\"{key}\":");
        string(
            &mut self.line,
            &sim.scenario().tasks[inst.task].name,
            Some(('#', inst.serial)),
        );
    }

    fn worker(&mut self, sim: &Simulation<'_>, w: WorkerId) {
        let model = sim.model;
        let p = model.pool_of(w);
        let index = w - model.workers_of(p).start + 1;
        self.line.push_str(",\"worker\":");
        string(
            &mut self.line,
            &sim.scenario().pools[p].name,
            Some(('/', index)),
        );
    }

    fn process(&mut self, sim: &Simulation<'_>, p: ProcessId) {
        self.line.push_str(",\"process\":");
        string(&mut self.line, &sim.model.process_name(p), None);
    }

    fn queue_of(&mut self, sim: &Simulation<'_>, id: InstanceId) {
        let s = sim.scenario();
        let q = s.tasks[sim.instance(id).task].queue;
        self.line.push_str(",\"queue\":");
        string(&mut self.line, &s.queues[q].name, None);
    }
}

impl<W: Write> Observer for Trace<W> {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        if self.error.is_some() {
            return;
        }
        self.line.clear();
        let name = match event {
            Event::Arrived { .. } => "arrived",
            Event::Spawned { .. } => "spawned",
            Event::CallbackQueued { .. } => "callback",
            Event::Taken { .. } => "taken",
            Event::WorkStarted { .. } => "work",
            Event::Blocked { .. } => "blocked",
            Event::Resumed { .. } => "resumed",
            Event::TimedOut { .. } => "timeout",
            Event::Finished { .. } => "finished",
            Event::Memory { .. } => "memory",
            Event::Exited { .. } => "exited",
            Event::Recycled { .. } => "recycled",
            Event::Restarted { .. } => "restarted",
            Event::Lost { .. } => "lost",
            Event::Requeued { .. } => "requeued",
        };
        let _ = write!(
            self.line,
            "{{\"t\":{:?},\"event\":\"{name}\"",
            ticks_to_secs(sim.now())
        );
        match *event {
            Event::Arrived { task } | Event::CallbackQueued { task } => {
                self.task(sim, "task", task);
                self.queue_of(sim, task);
            }
            Event::Spawned { task, parent } => {
                self.task(sim, "task", task);
                self.queue_of(sim, task);
                self.task(sim, "parent", parent);
            }
            Event::Taken { task, worker }
            | Event::Blocked { task, worker }
            | Event::Resumed { task, worker } => {
                self.task(sim, "task", task);
                self.worker(sim, worker);
            }
            Event::WorkStarted {
                task,
                worker,
                duration,
            } => {
                self.task(sim, "task", task);
                self.worker(sim, worker);
                let _ = write!(self.line, ",\"duration_s\":{:?}", ticks_to_secs(duration));
            }
            Event::TimedOut { task } => {
                self.task(sim, "task", task);
                if let Some(w) = sim.instance(task).status.worker() {
                    self.worker(sim, w);
                }
            }
            Event::Finished { task, result } => {
                self.task(sim, "task", task);
                if let Some(w) = sim.instance(task).status.worker() {
                    self.worker(sim, w);
                }
                let result = match result {
                    TaskResult::Completed => "completed",
                    TaskResult::Failed => "failed",
                };
                let _ = write!(self.line, ",\"result\":\"{result}\"");
            }
            Event::Memory { process, rss } => {
                self.process(sim, process);
                let _ = write!(self.line, ",\"rss_bytes\":{rss}");
            }
            Event::Exited {
                process,
                cause,
                rss,
                tasks,
            } => {
                self.process(sim, process);
                let _ = write!(
                    self.line,
                    ",\"cause\":\"{}\",\"rss_bytes\":{rss},\"tasks_run\":{tasks}",
                    cause.name()
                );
            }
            Event::Recycled { worker } => self.worker(sim, worker),
            Event::Restarted {
                process,
                first_worker,
                ..
            } => match process {
                Some(p) => self.process(sim, p),
                None => self.worker(sim, first_worker),
            },
            Event::Lost { task } | Event::Requeued { task } => {
                self.task(sim, "task", task);
                self.queue_of(sim, task);
            }
        }
        self.line.push_str("}\n");
        if let Err(e) = self.out.write_all(self.line.as_bytes()) {
            self.error = Some(e);
        }
    }
}

/// Appends `name`, followed by `suffix` (`#serial` for a task, `/index` for a worker), as a
/// JSON string.
fn string(out: &mut String, name: &str, suffix: Option<(char, u32)>) {
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    if let Some((separator, n)) = suffix {
        let _ = write!(out, "{separator}{n}");
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{simulate, Limits, Model};
    use crate::report::fixtures::fanout;

    fn trace_of(workers: u32) -> String {
        let model = Model::new(fanout(workers));
        let mut trace = Trace::new(Vec::new());
        simulate(&model, &mut trace, Limits::default());
        String::from_utf8(trace.finish().expect("writing to memory")).expect("UTF-8")
    }

    #[test]
    fn writes_one_json_object_per_event() {
        let text = trace_of(2);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            &lines[..3],
            [
                r#"{"t":0.0,"event":"arrived","task":"main_task#1","queue":"default"}"#,
                r#"{"t":0.0,"event":"arrived","task":"main_task#2","queue":"default"}"#,
                r#"{"t":0.0,"event":"taken","task":"main_task#1","worker":"default/1"}"#,
            ]
        );
        assert!(lines.contains(
            &r#"{"t":0.0,"event":"spawned","task":"subtask#1","queue":"default","parent":"main_task#1"}"#
        ));
        assert!(lines
            .contains(&r#"{"t":0.0,"event":"blocked","task":"main_task#2","worker":"default/2"}"#));
        for line in &lines {
            let v: serde_json::Value = serde_json::from_str(line).expect(line);
            assert!(v["t"].is_f64() && v["event"].is_string() && v["task"].is_string());
        }
    }

    #[test]
    fn reports_work_results_and_resumes() {
        let text = trace_of(4);
        assert!(text.contains(
            r#"{"t":0.0,"event":"work","task":"subtask#1","worker":"default/3","duration_s":4.0}"#
        ));
        assert!(text.contains(
            r#"{"t":4.0,"event":"finished","task":"subtask#1","worker":"default/3","result":"completed"}"#
        ));
        assert!(text
            .contains(r#"{"t":20.0,"event":"resumed","task":"main_task#1","worker":"default/1"}"#));
        assert_eq!(text, trace_of(4), "same run, same bytes");
    }

    #[test]
    fn reports_timeouts_failures_and_callbacks() {
        use crate::scenario::{Duration, OnTimeout, Step, TICKS_PER_SECOND};
        // Each parent spawns 2 subtasks with a subtask callback, and gives up waiting after 1s.
        let mut scenario = fanout(2);
        scenario.tasks[0].steps = vec![
            Step::Spawn {
                task: 1,
                count: 2,
                then: Some(1),
            },
            Step::Wait {
                timeout: Some(Duration::Fixed(TICKS_PER_SECOND)),
                on_timeout: OnTimeout::Fail,
            },
        ];
        let model = Model::new(scenario);
        let mut trace = Trace::new(Vec::new());
        simulate(&model, &mut trace, Limits::default());
        let text = String::from_utf8(trace.finish().unwrap()).unwrap();
        for line in [
            r#"{"t":1.0,"event":"timeout","task":"main_task#1","worker":"default/1"}"#,
            r#"{"t":1.0,"event":"finished","task":"main_task#1","worker":"default/1","result":"failed"}"#,
            r#"{"t":5.0,"event":"callback","task":"subtask#5","queue":"default"}"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    /// Fails every write after the first `ok` bytes.
    #[derive(Debug)]
    struct Failing {
        ok: usize,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(self.ok);
            self.ok -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn keeps_the_first_write_error() {
        let model = Model::new(fanout(4));
        let mut trace = Trace::new(Failing { ok: 100 });
        simulate(&model, &mut trace, Limits::default());
        let err = trace.finish().expect_err("the writer failed");
        assert_eq!(err.to_string(), "disk full");
    }

    #[test]
    fn escapes_names() {
        let mut s = String::new();
        string(&mut s, "a\"b\\c\u{1}", Some(('#', 2)));
        assert_eq!(s, r#""a\"b\\c\u0001#2""#);
    }
}

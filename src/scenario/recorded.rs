//! Recorded arrivals: a CSV file of `time,task` rows that replaces a scenario's `[[arrival]]`
//! streams (`--arrivals-from FILE.csv`), to ask "what if last Tuesday's traffic had met 6
//! workers?".
//!
//! # The file
//! ```text
//! time,task
//! 0.25,main_task
//! 1.5s,report
//! 250ms,main_task
//! ```
//! A header names the columns `time` and `task` (in any order, any case; other columns are
//! allowed and ignored); then one row per arrival. `time` is the instant of the arrival from
//! the start of the run: a duration as scenario files write them (`"12.5s"`, `"250ms"`, `"2m"`)
//! or a bare number of seconds (`12.5`), at most 2^62 ns like every instant of a scenario.
//! `task` names a task type of the scenario. Rows may come in any order: they are sorted by
//! time (a stable sort). Blank lines are skipped; a field may be quoted (`"a,b"`, `""` for a
//! quote), as spreadsheets write them; a byte-order mark before the header is ignored.
//!
//! # What replacing means
//! The recorded arrivals are the only arrivals of the run: every `[[arrival]]` stream of the
//! scenario is dropped (the scenario must still be valid as written). Each task type that
//! appears in the file becomes one stream of fixed instants, as `at = [...]` would write it, in
//! the order the task types first arrive. Arrivals of one task type at one instant are queued
//! in file order; arrivals of different task types at the same instant are queued as the
//! engine orders the streams' timers (see "What the simulation means" in
//! `docs/scenario-format.md`), not necessarily in file order; `explore` tries every order.
//!
//! Every error points into the file: `traffic.csv:14:7: unknown task "subtsk" (known:
//! main_task, subtask)`, with the line and a caret.

use std::path::Path;

use super::duration::parse_duration;
use super::validate::{time_words, MAX_INSTANT};
use super::{format_ticks, Arrival, ArrivalPattern, Duration, Scenario, Step, TaskId, Tick};
use crate::error::{Error, Location, Result, ScenarioError};

/// Arrivals read from a CSV file, sorted by time, not yet tied to a scenario (see the module
/// docs). [`Recorded::apply`] puts them in a scenario in place of its own arrivals.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The file's path as the user gave it, for messages.
    pub file: String,
    /// The file's text, to point into it.
    text: String,
    /// Each task name the file uses, in the order of its first row.
    names: Vec<String>,
    /// Where each name's first row names it (a byte offset into `text`).
    first: Vec<usize>,
    /// Every arrival, sorted by time, file order among equal times.
    rows: Vec<Row>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Row {
    time: Tick,
    /// Index into `names`.
    name: usize,
    /// Where the row starts, for messages about it.
    offset: usize,
}

impl Recorded {
    /// Reads the CSV file at `path`.
    pub fn load(path: &Path) -> Result<Recorded> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(&name, e))?;
        Recorded::parse(&name, &text)
    }

    /// Reads CSV `text`; `file` names it in messages.
    pub fn parse(file: &str, text: &str) -> Result<Recorded> {
        let mut recorded = Recorded {
            file: file.to_string(),
            text: text.to_string(),
            names: Vec::new(),
            first: Vec::new(),
            rows: Vec::new(),
        };
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let bom = text.len() - body.len();
        let mut lines = lines(body)
            .map(|(start, line)| (start + bom, line))
            .filter(|(_, line)| !line.trim().is_empty());
        let Some((header_start, header)) = lines.next() else {
            return Err(recorded.error(
                0,
                "the file is empty: expected a header time,task, then one row per arrival",
            ));
        };
        let columns = recorded.fields(header_start, header)?;
        let column = |name: &str| -> Result<usize> {
            let mut found = columns
                .iter()
                .enumerate()
                .filter(|(_, (c, _))| c.trim().eq_ignore_ascii_case(name));
            match (found.next(), found.next()) {
                (Some((i, _)), None) => Ok(i),
                (Some(_), Some((_, (_, at)))) => {
                    Err(recorded.error(*at, format!("the column \"{name}\" is named twice")))
                }
                (None, _) => Err(recorded.error(
                    header_start,
                    format!(
                        "missing column \"{name}\": expected a header naming the columns time \
                         and task (time,task), found \"{}\"",
                        header.trim()
                    ),
                )),
            }
        };
        let (time_column, task_column) = (column("time")?, column("task")?);
        for (start, line) in lines {
            let fields = recorded.fields(start, line)?;
            if fields.len() != columns.len() {
                let at = fields
                    .get(columns.len())
                    .map_or(start + line.len(), |f| f.1);
                return Err(recorded.error(
                    at,
                    format!(
                        "expected {} fields as in the header ({}), found {}",
                        columns.len(),
                        header.trim(),
                        fields.len()
                    ),
                ));
            }
            let (time, time_at) = &fields[time_column];
            let time = instant(time.trim()).map_err(|m| recorded.error(*time_at, m))?;
            let (task, task_at) = &fields[task_column];
            let task = task.trim();
            if task.is_empty() {
                return Err(recorded.error(*task_at, "expected a task name, found nothing"));
            }
            let name = match recorded.names.iter().position(|n| n == task) {
                Some(n) => n,
                None => {
                    recorded.names.push(task.to_string());
                    recorded.first.push(*task_at);
                    recorded.names.len() - 1
                }
            };
            recorded.rows.push(Row {
                time,
                name,
                offset: *task_at,
            });
        }
        if recorded.rows.is_empty() {
            return Err(recorded.error(
                text.len(),
                "no arrivals: expected one row per arrival after the header (0.5,main_task, say)",
            ));
        }
        recorded.rows.sort_by_key(|r| r.time);
        Ok(recorded)
    }

    /// The number of arrivals.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Always false: a file without arrivals is refused.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// One line for notes: `1200 arrivals of 2 task types from 0s to 59m58.5s` (`at 0s` when
    /// they all arrive at one instant).
    pub fn summary(&self) -> String {
        let (first, last) = (self.rows[0].time, self.rows[self.rows.len() - 1].time);
        let when = if first == last {
            format!("at {}", format_ticks(first))
        } else {
            format!("from {} to {}", format_ticks(first), format_ticks(last))
        };
        format!(
            "{} arrival{} of {} task type{} {when}",
            self.rows.len(),
            if self.rows.len() == 1 { "" } else { "s" },
            self.names.len(),
            if self.names.len() == 1 { "" } else { "s" },
        )
    }

    /// The arrivals as streams of `scenario`: one stream of fixed instants per task type, in
    /// the order the task types first arrive. An unknown task name is an error that points at
    /// its first row.
    pub fn arrivals(&self, scenario: &Scenario) -> Result<Vec<Arrival>> {
        let ids = self
            .names
            .iter()
            .zip(&self.first)
            .map(|(name, &at)| {
                scenario.task_id(name).ok_or_else(|| {
                    let known: Vec<&str> = scenario.tasks.iter().map(|t| t.name.as_str()).collect();
                    self.error(
                        at,
                        format!("unknown task \"{name}\" (known: {})", known.join(", ")),
                    )
                })
            })
            .collect::<Result<Vec<TaskId>>>()?;
        // Streams in the order their task types first arrive.
        let mut stream_of: Vec<Option<usize>> = vec![None; self.names.len()];
        let mut arrivals: Vec<Arrival> = Vec::new();
        for row in &self.rows {
            let stream = *stream_of[row.name].get_or_insert_with(|| {
                arrivals.push(Arrival {
                    task: ids[row.name],
                    pattern: ArrivalPattern::At(Vec::new()),
                });
                arrivals.len() - 1
            });
            if let ArrivalPattern::At(times) = &mut arrivals[stream].pattern {
                times.push(row.time);
            }
        }
        Ok(arrivals)
    }

    /// `scenario` with these arrivals in place of its own, checked as validation checks a
    /// scenario's arrivals: every task type that arrives goes on a queue some pool consumes,
    /// and without a horizon no run can pass the end of the clock (see "Limits" in
    /// `docs/scenario-format.md`).
    pub fn apply(&self, scenario: &Scenario) -> Result<Scenario> {
        let arrivals = self.arrivals(scenario)?;
        for a in &arrivals {
            let task = &scenario.tasks[a.task];
            let queue = &scenario.queues[task.queue];
            if queue.consumers.is_empty() {
                let at = self.rows.iter().find(|r| self.names[r.name] == task.name);
                return Err(self.error(
                    at.map_or(0, |r| r.offset),
                    format!(
                        "task \"{}\" goes on queue \"{}\", which no pool consumes, so it could \
                         never run (add the queue to a pool's queues)",
                        task.name, queue.name
                    ),
                ));
            }
        }
        if scenario.horizon.is_none() {
            self.check_clock(scenario, &arrivals)?;
        }
        let mut out = scenario.clone();
        out.arrivals = arrivals;
        Ok(out)
    }

    /// As validation's check of a scenario's own arrivals: the last arrival plus every
    /// duration of every task instance the arrivals lead to, each at its largest draw, must
    /// stay at or below [`MAX_INSTANT`].
    fn check_clock(&self, scenario: &Scenario, arrivals: &[Arrival]) -> Result<()> {
        let busy = busy_per_task(scenario);
        let last = self.rows[self.rows.len() - 1];
        let mut work: u128 = 0;
        for a in arrivals {
            let count = a.pattern.count().unwrap_or(0);
            work = work.saturating_add(u128::from(count).saturating_mul(busy[a.task]));
        }
        let end = u128::from(last.time).saturating_add(work);
        if end <= MAX_INSTANT.into() {
            return Ok(());
        }
        Err(self.error(
            last.offset,
            format!(
                "without a horizon, a run of these arrivals could last until {} (arrivals until \
                 {}, then up to {} of work and timeouts, each at its longest); the clock stops \
                 at 2^63 ns, about 292 years: give a horizon (--set horizon=\"1h\", say), or \
                 fewer arrivals",
                time_words(end),
                time_words(last.time.into()),
                time_words(work)
            ),
        ))
    }

    /// An error at byte `offset` of the file.
    fn error(&self, offset: usize, message: impl Into<String>) -> Error {
        Error::Scenario(ScenarioError {
            location: Location::from_offset(&self.file, &self.text, offset),
            message: message.into(),
        })
    }

    /// The fields of the line starting at byte `start`, each with the byte offset of its
    /// start. Quoted fields lose their quotes (`""` inside is one quote).
    fn fields(&self, start: usize, line: &str) -> Result<Vec<(String, usize)>> {
        let mut fields = Vec::new();
        let mut chars = line.char_indices().peekable();
        let mut field = String::new();
        let mut field_start = 0;
        let mut quoted = false;
        let mut closed = false;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' if quoted => {
                    if chars.peek().is_some_and(|&(_, n)| n == '"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                        closed = true;
                    }
                }
                '"' if field.trim().is_empty() && !closed => {
                    quoted = true;
                    field.clear();
                }
                ',' if !quoted => {
                    fields.push((std::mem::take(&mut field), start + field_start));
                    field_start = i + 1;
                    closed = false;
                }
                _ if closed && !c.is_whitespace() => {
                    return Err(self.error(
                        start + i,
                        "expected a comma after a quoted field (a quote inside one is written \"\")",
                    ));
                }
                _ if closed => {}
                _ => field.push(c),
            }
        }
        if quoted {
            return Err(self.error(
                start + field_start,
                "this quoted field is not closed on its line",
            ));
        }
        fields.push((field, start + field_start));
        Ok(fields)
    }
}

/// `text`'s lines with the byte offset of each, without their line ends.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    text.split_inclusive('\n').map(move |raw| {
        let at = start;
        start += raw.len();
        (at, raw.trim_end_matches('\n').trim_end_matches('\r'))
    })
}

/// An instant as the CSV writes it: a duration string (`"12.5s"`, `"250ms"`) or a bare number
/// of seconds (`12.5`).
fn instant(text: &str) -> std::result::Result<Tick, String> {
    if text.is_empty() {
        return Err(
            "expected the instant of the arrival (12.5, \"12.5s\" or \"250ms\", say), found nothing"
                .into(),
        );
    }
    let bare = text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && text.chars().any(|c| c.is_ascii_digit());
    if bare {
        let with_unit = format!("{text}s");
        parse_duration(&with_unit)
            .map_err(|e| e.replace(&format!("\"{with_unit}\""), &format!("\"{text}\"")))
    } else {
        parse_duration(text)
    }
}

/// The most time one instance of each task type, and everything it leads to (children, theirs,
/// callbacks), can spend in work and timeouts, each duration at its largest draw; sums
/// saturate. Computed without recursion: the spawn graph of a valid scenario has no cycle.
fn busy_per_task(s: &Scenario) -> Vec<u128> {
    let children = |t: TaskId| {
        s.tasks[t].steps.iter().flat_map(|step| match step {
            Step::Spawn { task, then, .. } => [Some(*task), *then],
            Step::Work(_) | Step::Wait { .. } => [None, None],
        })
    };
    let mut busy: Vec<Option<u128>> = vec![None; s.tasks.len()];
    for root in 0..s.tasks.len() {
        let mut stack = vec![root];
        while let Some(&t) = stack.last() {
            if busy[t].is_some() {
                stack.pop();
                continue;
            }
            let pending: Vec<TaskId> = children(t)
                .flatten()
                .filter(|c| busy[*c].is_none())
                .collect();
            if !pending.is_empty() {
                stack.extend(pending);
                continue;
            }
            let mut total: u128 = 0;
            for step in &s.tasks[t].steps {
                let add = match step {
                    Step::Work(d) => d.max_draw().into(),
                    Step::Wait { timeout, .. } => {
                        timeout.as_ref().map_or(0, Duration::max_draw).into()
                    }
                    Step::Spawn { task, count, then } => u128::from(*count)
                        .saturating_mul(busy[*task].unwrap_or(0))
                        .saturating_add(then.map_or(0, |c| busy[c].unwrap_or(0))),
                };
                total = total.saturating_add(add);
            }
            busy[t] = Some(total);
            stack.pop();
        }
    }
    busy.into_iter().map(|b| b.unwrap_or(0)).collect()
}

/// Whether an override or a varied path (`arrival.0.rate`, `arrival`) changes the scenario's
/// arrivals, which recorded arrivals replace.
pub fn touches_arrivals(path: &str) -> bool {
    let path = path.split('=').next().unwrap_or(path).trim();
    path == "arrival" || path.starts_with("arrival.") || path.starts_with("arrival[")
}

/// `scenario`'s arrivals replaced by those of the CSV `text` (read from `file`); see
/// [`Recorded`].
pub fn arrivals_from_csv(file: &str, text: &str, scenario: &Scenario) -> Result<Scenario> {
    Recorded::parse(file, text)?.apply(scenario)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{parse, TICKS_PER_SECOND};

    const FANOUT: &str = include_str!("../../scenarios/fanout.toml");

    fn scenario() -> Scenario {
        parse("fanout.toml", FANOUT, &[]).unwrap()
    }

    fn err(csv: &str) -> String {
        match Recorded::parse("t.csv", csv).and_then(|r| r.apply(&scenario())) {
            Ok(_) => panic!("expected an error for {csv:?}"),
            Err(e) => e.to_string().lines().next().unwrap().to_string(),
        }
    }

    const S: Tick = TICKS_PER_SECOND;

    #[test]
    fn rows_in_any_order_become_one_sorted_stream_per_task_type() {
        let csv = "time,task\n3,main_task\n250ms,subtask\n1.5s,main_task\n0.25,main_task\n";
        let s = Recorded::parse("t.csv", csv)
            .unwrap()
            .apply(&scenario())
            .unwrap();
        assert_eq!(s.arrivals.len(), 2);
        // subtask arrives first (250ms, tied with the first main_task at 0.25 s: file order).
        assert_eq!(s.arrivals[0].task, 1);
        assert_eq!(s.arrivals[0].pattern, ArrivalPattern::At(vec![S / 4]));
        assert_eq!(s.arrivals[1].task, 0);
        assert_eq!(
            s.arrivals[1].pattern,
            ArrivalPattern::At(vec![S / 4, 3 * S / 2, 3 * S])
        );
        // Everything else is the scenario's.
        assert_eq!(s.tasks, scenario().tasks);
        assert_eq!(s.pools, scenario().pools);
    }

    #[test]
    fn headers_may_reorder_add_columns_quote_and_carry_a_bom() {
        let csv = "\u{feff}id,Task , TIME\r\n7,\"main_task\",\"1,5\"\r\n\r\n8, main_task ,2s\r\n";
        // "1,5" is one field (quoted), and not an instant.
        assert!(Recorded::parse("t.csv", csv)
            .unwrap_err()
            .to_string()
            .starts_with("t.csv:2:15: expected a duration"));
        let csv = "\u{feff}id,Task , TIME\r\n7,\"main_task\",\"1.5\"\r\n\r\n8, main_task ,2s\r\n";
        let r = Recorded::parse("t.csv", csv).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.summary(), "2 arrivals of 1 task type from 1.5s to 2s");
        let s = r.apply(&scenario()).unwrap();
        assert_eq!(
            s.arrivals[0].pattern,
            ArrivalPattern::At(vec![3 * S / 2, 2 * S])
        );
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        assert_eq!(
            err(""),
            "t.csv:1:1: the file is empty: expected a header time,task, then one row per arrival"
        );
        assert_eq!(
            err("time,task\n"),
            "t.csv:2:1: no arrivals: expected one row per arrival after the header (0.5,main_task, say)"
        );
        assert_eq!(
            err("time,type\n0,main_task\n"),
            "t.csv:1:1: missing column \"task\": expected a header naming the columns time and task (time,task), found \"time,type\""
        );
        assert_eq!(
            err("time,task,time\n"),
            "t.csv:1:11: the column \"time\" is named twice"
        );
        assert_eq!(
            err("time,task\n0,main_task\n1,subtsk\n"),
            "t.csv:3:3: unknown task \"subtsk\" (known: main_task, subtask)"
        );
        assert_eq!(
            err("time,task\n0,main_task\nsoon,main_task\n"),
            "t.csv:3:1: expected a duration such as \"250ms\", \"4s\", \"2m\", \"1h\" or a number of seconds, found \"soon\""
        );
        assert_eq!(
            err("time,task\n-1,main_task\n"),
            "t.csv:2:1: expected a duration of 0s or more, found \"-1\""
        );
        assert_eq!(
            err("time,task\n,main_task\n"),
            "t.csv:2:1: expected the instant of the arrival (12.5, \"12.5s\" or \"250ms\", say), found nothing"
        );
        assert_eq!(
            err("time,task\n1,\n"),
            "t.csv:2:3: expected a task name, found nothing"
        );
        assert_eq!(
            err("time,task\n1,main_task,x\n"),
            "t.csv:2:13: expected 2 fields as in the header (time,task), found 3"
        );
        assert_eq!(
            err("time,task\n1\n"),
            "t.csv:2:2: expected 2 fields as in the header (time,task), found 1"
        );
        assert_eq!(
            err("time,task\n1,\"main_task\n"),
            "t.csv:2:3: this quoted field is not closed on its line"
        );
        assert_eq!(
            err("time,task\n1,\"main\"_task\n"),
            "t.csv:2:9: expected a comma after a quoted field (a quote inside one is written \"\")"
        );
    }

    #[test]
    fn instants_stop_at_2_to_the_62_ns_like_the_scenarios() {
        // 2^62 ns is 4611686018.427387904 s.
        assert_eq!(instant("4611686018.427387904").unwrap(), 1 << 62);
        assert_eq!(
            instant("4611686018.427387905").unwrap_err(),
            "duration \"4611686018.427387905\" is too long (at most 2^62 ns, about 146 years)"
        );
        assert_eq!(
            instant("200y").unwrap_err(),
            "unknown unit \"y\" in \"200y\" (expected ns, us, ms, s, m or h)"
        );
        assert_eq!(instant("12.5").unwrap(), 12 * S + S / 2);
        assert_eq!(instant("250ms").unwrap(), S / 4);
    }

    #[test]
    fn without_a_horizon_the_clock_cannot_overflow() {
        // Each main_task leads to 10 subtasks of 4 s: 40 s of work. 2^62 ns is about 146
        // years; many arrivals near the end pass 2^63 ns.
        let late = "4611686018s";
        let mut csv = String::from("time,task\n");
        for _ in 0..3 {
            csv += &format!("{late},main_task\n");
        }
        assert!(Recorded::parse("t.csv", &csv)
            .unwrap()
            .apply(&scenario())
            .is_ok());
        // Its own two arrivals fit (2 × 10 × 2e8 s); three near 2^62 ns do not.
        let slow = FANOUT.replace("\"4s\"", "\"200000000s\"");
        let slow = parse("f.toml", &slow, &[]).unwrap();
        let e = Recorded::parse("t.csv", &csv)
            .unwrap()
            .apply(&slow)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "t.csv:4:13: without a horizon, a run of these arrivals could last until about"
            ),
            "{e}"
        );
        // With a horizon the run stops there: no check needed.
        let mut with_horizon = slow.clone();
        with_horizon.horizon = Some(S);
        assert!(Recorded::parse("t.csv", &csv)
            .unwrap()
            .apply(&with_horizon)
            .is_ok());
    }

    #[test]
    fn a_task_on_a_queue_no_pool_consumes_cannot_arrive() {
        // A scenario file cannot declare such a queue with a task that something enqueues
        // (validation refuses it), but a task only called may sit on one; build it by hand.
        let mut s = scenario();
        s.queues.push(crate::scenario::Queue {
            name: "side".into(),
            discipline: crate::scenario::Discipline::Fifo,
            consumers: vec![],
        });
        s.tasks[1].queue = 1;
        let e = Recorded::parse("t.csv", "time,task\n0,main_task\n1,subtask\n")
            .unwrap()
            .apply(&s)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "t.csv:3:3: task \"subtask\" goes on queue \"side\", which no pool consumes"
            ),
            "{e}"
        );
    }

    #[test]
    fn busy_time_counts_children_and_callbacks() {
        let s = scenario();
        assert_eq!(
            busy_per_task(&s),
            vec![40 * u128::from(S), 4 * u128::from(S)]
        );
    }

    #[test]
    fn overrides_of_arrivals_are_recognised() {
        assert!(touches_arrivals("arrival.0.rate=2"));
        assert!(touches_arrivals("arrival"));
        assert!(!touches_arrivals("pool.default.workers=3"));
        assert!(!touches_arrivals("arrivals_note=1"));
    }
}

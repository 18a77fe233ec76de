//! The serde shape of a scenario file, as close as possible to what the user wrote.
//!
//! Nothing is resolved here: names stay names. Every name that another part of the file refers
//! to, and every value that [`validate`](super::validate) checks, is kept as a
//! [`Spanned`] so that the error can point at it. Unknown keys are errors everywhere, because a
//! typo in a key (`wokers = 4`) would otherwise be silently ignored.
//!
//! Steps get a hand-written [`Deserialize`]: an untagged enum would lose the spans and could only
//! say "did not match any variant", where a user needs to hear which key is wrong and what the
//! step accepts.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize as DeriveDeserialize;
use toml::Spanned;

use super::de::{spanned_error, toml_float};
use super::duration::FixedDuration;
use super::size::{Fraction, RetainDecl, Size};
use super::{Duration, OnTimeout, StepKind};

/// A whole scenario file.
#[derive(Debug, DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Display name; defaults to the file stem.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Seed of every random draw (a whole number, or a string of its digits).
    pub seed: Option<Seed>,
    /// When to stop a run.
    pub horizon: Option<FixedDuration>,
    /// How ties between simultaneous actions are broken.
    pub ties: Option<TiesDecl>,
    /// `[[queue]]` tables.
    #[serde(default)]
    pub queue: Vec<QueueDecl>,
    /// `[[pool]]` tables (at least one is required, which validation checks).
    pub pool: Option<Spanned<Vec<Spanned<PoolDecl>>>>,
    /// `[[task]]` tables.
    #[serde(default)]
    pub task: Vec<Spanned<TaskDecl>>,
    /// `[[arrival]]` tables.
    #[serde(default)]
    pub arrival: Vec<Spanned<ArrivalDecl>>,
    /// The `[host]` table: the machine the pools share.
    pub host: Option<Spanned<HostDecl>>,
}

/// The keys of the top-level table, in declaration order (as serde lists them).
pub(crate) const SCENARIO_KEYS: &[&str] = &[
    "name",
    "description",
    "seed",
    "horizon",
    "ties",
    "queue",
    "pool",
    "task",
    "arrival",
    "host",
];

/// The `[host]` table.
#[derive(Debug, DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub struct HostDecl {
    /// The memory of the machine: above it, the OOM killer kills the largest process.
    pub memory: Option<Spanned<Size>>,
}

/// The keys of the `[host]` table.
pub(crate) const HOST_KEYS: &[&str] = &["memory"];

/// `kind = "thread" | "process"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindDecl {
    /// The pool's workers are threads of one process.
    Thread,
    /// Each worker is a process of its own.
    Process,
}

impl<'de> Deserialize<'de> for KindDecl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let words = &["thread", "process"];
        let i = deserializer.deserialize_any(OneOf(words))?;
        Ok([KindDecl::Thread, KindDecl::Process][i])
    }
}

/// `gc = "none" | "after_task"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcDecl {
    /// No explicit collection.
    None,
    /// `gc.collect()` after each task.
    AfterTask,
}

impl<'de> Deserialize<'de> for GcDecl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let words = &["none", "after_task"];
        let i = deserializer.deserialize_any(OneOf(words))?;
        Ok([GcDecl::None, GcDecl::AfterTask][i])
    }
}

/// `ties = "canonical" | "random"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TiesDecl {
    /// The documented canonical order.
    Canonical,
    /// Random tie-breaking.
    Random,
}

impl<'de> Deserialize<'de> for TiesDecl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let words = &["canonical", "random"];
        let i = deserializer.deserialize_any(OneOf(words))?;
        Ok([TiesDecl::Canonical, TiesDecl::Random][i])
    }
}

/// `discipline = "fifo" | "lifo" | "priority"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisciplineDecl {
    /// First in, first out.
    Fifo,
    /// Last in, first out.
    Lifo,
    /// Highest priority first.
    Priority,
}

impl<'de> Deserialize<'de> for DisciplineDecl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let words = &["fifo", "lifo", "priority"];
        let i = deserializer.deserialize_any(OneOf(words))?;
        Ok([
            DisciplineDecl::Fifo,
            DisciplineDecl::Lifo,
            DisciplineDecl::Priority,
        ][i])
    }
}

/// A value that must be one of a few words, as its index in the list: a hand-written visitor
/// rather than a derived enum, so that a value of the wrong type is named (`found nan`, where
/// serde would only say "wanted string or table").
struct OneOf(&'static [&'static str]);

impl OneOf {
    fn expected(&self) -> String {
        let quoted: Vec<String> = self.0.iter().map(|w| format!("\"{w}\"")).collect();
        match quoted.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    fn wrong<E: de::Error>(&self, found: impl fmt::Display) -> E {
        E::custom(format!("expected {}, found {found}", self.expected()))
    }
}

impl<'de> Visitor<'de> for OneOf {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expected())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        self.0.iter().position(|w| *w == v).ok_or_else(|| {
            E::custom(format!(
                "unknown value \"{v}\" (expected {})",
                self.0.join(", ")
            ))
        })
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<usize, E> {
        Err(self.wrong(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<usize, E> {
        Err(self.wrong(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<usize, E> {
        Err(self.wrong(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<usize, E> {
        Err(self.wrong(toml_float(v)))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<usize, A::Error> {
        Err(self.wrong("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<usize, A::Error> {
        Err(self.wrong("a table"))
    }
}

/// A whole number as written, of any size toml can read.
///
/// Counts, worker numbers and priorities are read as this rather than as `i64` or `i32`, so
/// that validation can check the range itself and say what it is
/// (`expected priority to be a whole number from -2147483648 to 2147483647, found 2147483648`)
/// instead of serde's "expected i32".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Whole(pub i128);

struct WholeVisitor;

impl<'de> Visitor<'de> for WholeVisitor {
    type Value = Whole;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Whole, E> {
        Ok(Whole(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Whole, E> {
        Ok(Whole(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Whole, E> {
        Ok(Whole(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Whole, E> {
        i128::try_from(v).map(Whole).map_err(|_| {
            E::custom(format!(
                "{v} is too large for any whole number of a scenario"
            ))
        })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Whole, E> {
        Err(E::custom(format!(
            "expected a whole number, found {}",
            toml_float(v)
        )))
    }
}

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WholeVisitor)
    }
}

/// The scenario's seed: any 64-bit unsigned number, written as a whole number or as a string
/// of its digits.
///
/// TOML integers stop at 2^63 − 1, and `--set seed=N` reads N as TOML, so a seed of 2^63 or
/// more (which `explore --mode random` prints when a run deadlocks) arrives as the string
/// `"9848753966768412663"`. Both forms mean the same seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seed(pub u64);

/// What a seed may be, for error messages.
const EXPECTED_SEED: &str = "seed to be a whole number from 0 to 18446744073709551615";

struct SeedVisitor;

impl SeedVisitor {
    fn out_of_range<E: de::Error>(found: impl fmt::Display) -> E {
        E::custom(format!("expected {EXPECTED_SEED}, found {found}"))
    }
}

impl<'de> Visitor<'de> for SeedVisitor {
    type Value = Seed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_SEED)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seed, E> {
        u64::try_from(v)
            .map(Seed)
            .map_err(|_| Self::out_of_range(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seed, E> {
        Ok(Seed(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Seed, E> {
        u64::try_from(v)
            .map(Seed)
            .map_err(|_| Self::out_of_range(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Seed, E> {
        u64::try_from(v)
            .map(Seed)
            .map_err(|_| Self::out_of_range(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seed, E> {
        Err(Self::out_of_range(toml_float(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Seed, E> {
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = v.parse() {
                return Ok(Seed(n));
            }
        }
        Err(E::custom(format!(
            "expected {EXPECTED_SEED} (or a string of its digits), found \"{v}\""
        )))
    }
}

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SeedVisitor)
    }
}

/// A `[[queue]]` table.
#[derive(Debug, DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueDecl {
    /// The queue's name.
    pub name: Spanned<String>,
    /// Its discipline (default fifo).
    pub discipline: Option<DisciplineDecl>,
}

/// The keys of a `[[queue]]` table.
pub(crate) const QUEUE_KEYS: &[&str] = &["name", "discipline"];

/// A `[[pool]]` table.
#[derive(Debug, DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolDecl {
    /// The pool's name (default `default`).
    pub name: Option<Spanned<String>>,
    /// Number of workers (checked to be at least 1).
    pub workers: Option<Spanned<Whole>>,
    /// Queues consumed, in order of preference (default `["default"]`).
    pub queues: Option<Spanned<Vec<Spanned<String>>>>,
    /// Threads of one process (default) or a process per worker.
    pub kind: Option<KindDecl>,
    /// Resident memory of a fresh process (default 0).
    pub base_memory: Option<Spanned<Size>>,
    /// A process above this after a task exits and is restarted.
    pub max_memory: Option<Spanned<Size>>,
    /// A worker is recycled after this many tasks (checked to be at least 1).
    pub max_tasks: Option<Spanned<Whole>>,
    /// From an exit until the replacement takes work (default 0s).
    pub restart: Option<Spanned<Duration>>,
    /// An explicit garbage collection after each task, or none (default).
    pub gc: Option<GcDecl>,
}

/// The keys of a `[[pool]]` table.
pub(crate) const POOL_KEYS: &[&str] = &[
    "name",
    "workers",
    "queues",
    "kind",
    "base_memory",
    "max_memory",
    "max_tasks",
    "restart",
    "gc",
];

/// A `[[task]]` table.
#[derive(Debug, DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDecl {
    /// The task type's name.
    pub name: Spanned<String>,
    /// The queue its instances go on (default `default`).
    pub queue: Option<Spanned<String>>,
    /// Priority on a priority queue (default 0; checked to fit in 32 bits).
    pub priority: Option<Spanned<Whole>>,
    /// Its steps (checked to be present and non-empty).
    pub steps: Option<Spanned<Vec<Spanned<StepDecl>>>>,
    /// Memory held while it runs (default 0).
    pub memory: Option<Spanned<Size>>,
    /// Memory its process keeps after it ends: bytes, or a fraction of `memory` (default 0).
    pub retain: Option<Spanned<RetainDecl>>,
    /// The share of the retained memory an explicit gc releases (default 0).
    pub collectable: Option<Spanned<Fraction>>,
    /// Re-queued (true) or lost (false, default) when its process dies under it.
    pub acks_late: Option<bool>,
}

/// The keys of a `[[task]]` table.
pub(crate) const TASK_KEYS: &[&str] = &[
    "name",
    "queue",
    "priority",
    "steps",
    "memory",
    "retain",
    "collectable",
    "acks_late",
];

/// An `[[arrival]]` table. Exactly one of `at`, `every` and `rate` must be given, which
/// validation checks.
#[derive(Debug, DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalDecl {
    /// The task type that arrives.
    pub task: Spanned<String>,
    /// Explicit instants.
    pub at: Option<Spanned<Vec<FixedDuration>>>,
    /// A fixed or random gap between arrivals.
    pub every: Option<Spanned<Duration>>,
    /// A Poisson stream of this many arrivals per second.
    pub rate: Option<Spanned<f64>>,
    /// Number of arrivals of a stream.
    pub count: Option<Spanned<Whole>>,
    /// Start of a stream (default 0s).
    pub start: Option<Spanned<FixedDuration>>,
}

/// The keys of an `[[arrival]]` table.
pub(crate) const ARRIVAL_KEYS: &[&str] = &["task", "at", "every", "rate", "count", "start"];

/// One step of a task, as written: `{ work = D }`, `{ spawn = T, count = N, then = T }`,
/// `{ wait = "children", timeout = D, on_timeout = "fail" }` or `{ call = T }`.
#[derive(Debug, PartialEq)]
pub enum StepDecl {
    /// Hold the worker for a duration.
    Work(Duration),
    /// Enqueue children.
    Spawn {
        /// The children's task type.
        task: Spanned<String>,
        /// How many (checked to be at least 1; default 1).
        count: Option<Spanned<Whole>>,
        /// Callback task type, enqueued once all children have finished.
        then: Option<Spanned<String>>,
    },
    /// Wait for every child spawned so far.
    Wait {
        /// Give up after this long.
        timeout: Option<Duration>,
        /// What giving up means.
        on_timeout: OnTimeout,
    },
    /// Inline another task type's steps.
    Call(Spanned<String>),
}

/// The keys of a step table, collected before deciding which kind of step it is (toml hands
/// them over in alphabetical order, not in the order written).
#[derive(Default)]
struct StepKeys {
    work: Option<(Range<usize>, Duration)>,
    spawn: Option<(Range<usize>, Spanned<String>)>,
    wait: Option<(Range<usize>, Spanned<String>)>,
    call: Option<(Range<usize>, Spanned<String>)>,
    count: Option<(Range<usize>, Spanned<Whole>)>,
    then: Option<(Range<usize>, Spanned<String>)>,
    timeout: Option<(Range<usize>, Duration)>,
    on_timeout: Option<(Range<usize>, Spanned<String>)>,
    unknown: Vec<Spanned<String>>,
}

fn describe_keys(keys: &[&str]) -> String {
    match keys {
        [] => "no other key".to_string(),
        _ => keys.join(", "),
    }
}

impl StepKeys {
    /// The span of the key of step kind `kind`, if present.
    fn kind_span(&self, kind: StepKind) -> Option<Range<usize>> {
        match kind {
            StepKind::Work => self.work.as_ref().map(|k| k.0.clone()),
            StepKind::Spawn => self.spawn.as_ref().map(|k| k.0.clone()),
            StepKind::Wait => self.wait.as_ref().map(|k| k.0.clone()),
            StepKind::Call => self.call.as_ref().map(|k| k.0.clone()),
        }
    }

    /// The step kinds present with their key spans, in the order of [`StepKind::ALL`].
    fn kinds(&self) -> Vec<(StepKind, Range<usize>)> {
        StepKind::ALL
            .into_iter()
            .filter_map(|kind| Some((kind, self.kind_span(kind)?)))
            .collect()
    }

    /// The key spans of the modifiers present.
    fn modifiers(&self) -> Vec<(&'static str, Range<usize>)> {
        let spans = [
            ("count", self.count.as_ref().map(|k| k.0.clone())),
            ("then", self.then.as_ref().map(|k| k.0.clone())),
            ("timeout", self.timeout.as_ref().map(|k| k.0.clone())),
            ("on_timeout", self.on_timeout.as_ref().map(|k| k.0.clone())),
        ];
        spans
            .into_iter()
            .filter_map(|(name, span)| Some((name, span?)))
            .collect()
    }

    fn build<E: de::Error>(self) -> Result<StepDecl, E> {
        let mut kinds = self.kinds();
        if kinds.len() > 1 {
            // Report at the key that comes last in the file.
            kinds.sort_by_key(|(_, span)| span.start);
            let (second, span) = kinds[1].clone();
            return Err(spanned_error(
                span,
                format!(
                    "a step has exactly one of {} (found {} and {})",
                    StepKind::list(),
                    kinds[0].0.name(),
                    second.name()
                ),
            ));
        }
        let Some((kind, _)) = kinds.first().cloned() else {
            let msg = format!("a step needs one of {}", StepKind::list());
            return Err(match self.unknown.first() {
                Some(key) => spanned_error(
                    key.span(),
                    format!("unknown key \"{}\" in a step ({msg})", key.get_ref()),
                ),
                None => E::custom(msg),
            });
        };
        let allowed = kind.modifiers();
        let kind_name = kind.name();
        if let Some(key) = self.unknown.first() {
            return Err(spanned_error(
                key.span(),
                format!(
                    "unknown key \"{}\" in a {kind_name} step (expected {})",
                    key.get_ref(),
                    describe_keys(allowed)
                ),
            ));
        }
        if let Some((name, span)) = self
            .modifiers()
            .into_iter()
            .find(|(name, _)| !allowed.contains(name))
        {
            return Err(spanned_error(
                span,
                format!(
                    "a {kind_name} step takes no {name} (expected {})",
                    describe_keys(allowed)
                ),
            ));
        }
        Ok(match kind {
            StepKind::Work => StepDecl::Work(self.work.expect("kind present").1),
            StepKind::Spawn => StepDecl::Spawn {
                task: self.spawn.expect("kind present").1,
                count: self.count.map(|c| c.1),
                then: self.then.map(|t| t.1),
            },
            StepKind::Call => StepDecl::Call(self.call.expect("kind present").1),
            StepKind::Wait => {
                let wait = self.wait.expect("kind present").1;
                if wait.get_ref() != "children" {
                    return Err(spanned_error(
                        wait.span(),
                        format!("expected wait = \"children\", found \"{}\"", wait.get_ref()),
                    ));
                }
                let on_timeout = match &self.on_timeout {
                    None => OnTimeout::Fail,
                    Some((key_span, value)) => {
                        if self.timeout.is_none() {
                            return Err(spanned_error(
                                key_span.clone(),
                                "on_timeout needs a timeout (add timeout = \"10s\", say)",
                            ));
                        }
                        match value.get_ref().as_str() {
                            "fail" => OnTimeout::Fail,
                            "continue" => OnTimeout::Continue,
                            other => {
                                return Err(spanned_error(
                                    value.span(),
                                    format!(
                                        "expected on_timeout = \"fail\" or \"continue\", found \"{other}\""
                                    ),
                                ))
                            }
                        }
                    }
                };
                StepDecl::Wait {
                    timeout: self.timeout.map(|t| t.1),
                    on_timeout,
                }
            }
        })
    }
}

struct StepVisitor;

impl<'de> Visitor<'de> for StepVisitor {
    type Value = StepDecl;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a step such as { work = \"4s\" }, { spawn = \"task\" }, { wait = \"children\" } or { call = \"task\" }")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StepDecl, A::Error> {
        let mut keys = StepKeys::default();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let span = key.span();
            match key.get_ref().as_str() {
                "work" => keys.work = Some((span, map.next_value()?)),
                "spawn" => keys.spawn = Some((span, map.next_value()?)),
                "wait" => keys.wait = Some((span, map.next_value()?)),
                "call" => keys.call = Some((span, map.next_value()?)),
                "count" => keys.count = Some((span, map.next_value()?)),
                "then" => keys.then = Some((span, map.next_value()?)),
                "timeout" => keys.timeout = Some((span, map.next_value()?)),
                "on_timeout" => keys.on_timeout = Some((span, map.next_value()?)),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    keys.unknown.push(key);
                }
            }
        }
        keys.unknown.sort_by_key(|k| k.span().start);
        keys.build()
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StepDecl, E> {
        Err(E::custom(format!(
            "expected a step such as {{ work = \"4s\" }}, {{ spawn = \"task\" }}, {{ wait = \"children\" }} or {{ call = \"task\" }}, found \"{v}\""
        )))
    }
}

impl<'de> Deserialize<'de> for StepDecl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(StepVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::de::split_span;
    use crate::scenario::TICKS_PER_SECOND;

    #[derive(DeriveDeserialize, Debug)]
    struct Holder {
        step: Spanned<StepDecl>,
    }

    fn step(text: &str) -> Result<StepDecl, (String, Option<String>)> {
        let doc = format!("step = {text}");
        toml::from_str::<Holder>(&doc)
            .map(|h| h.step.into_inner())
            .map_err(|e| {
                let (msg, span) = split_span(e.message());
                let span = span.or(e.span());
                (msg.to_string(), span.map(|s| doc[s].to_string()))
            })
    }

    #[test]
    fn parses_each_kind_of_step() {
        assert_eq!(
            step("{ work = \"4s\" }"),
            Ok(StepDecl::Work(Duration::Fixed(4 * TICKS_PER_SECOND)))
        );
        match step("{ then = \"fin\", spawn = \"sub\", count = 3 }").unwrap() {
            StepDecl::Spawn { task, count, then } => {
                assert_eq!(task.get_ref(), "sub");
                assert_eq!(*count.unwrap().get_ref(), Whole(3));
                assert_eq!(then.unwrap().get_ref(), "fin");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            step("{ wait = \"children\" }"),
            Ok(StepDecl::Wait {
                timeout: None,
                on_timeout: OnTimeout::Fail
            })
        );
        assert_eq!(
            step("{ wait = \"children\", timeout = \"5s\", on_timeout = \"continue\" }"),
            Ok(StepDecl::Wait {
                timeout: Some(Duration::Fixed(5 * TICKS_PER_SECOND)),
                on_timeout: OnTimeout::Continue
            })
        );
        match step("{ call = \"helper\" }").unwrap() {
            StepDecl::Call(name) => assert_eq!(name.get_ref(), "helper"),
            other => panic!("{other:?}"),
        }
    }

    fn err(text: &str) -> (String, String) {
        let (msg, at) = step(text).unwrap_err();
        (msg, at.unwrap_or_default())
    }

    #[test]
    fn explains_bad_steps() {
        assert_eq!(
            err("{ spawn = \"sub\", cout = 3 }"),
            (
                "unknown key \"cout\" in a spawn step (expected count, then)".into(),
                "cout".into()
            )
        );
        assert_eq!(
            err("{}"),
            (
                "a step needs one of work, spawn, wait, call".into(),
                "{}".into()
            )
        );
        assert_eq!(
            err("{ sleep = \"1s\" }"),
            (
                "unknown key \"sleep\" in a step (a step needs one of work, spawn, wait, call)"
                    .into(),
                "sleep".into()
            )
        );
        assert_eq!(
            err("{ work = \"1s\", call = \"x\" }"),
            (
                "a step has exactly one of work, spawn, wait, call (found work and call)".into(),
                "call".into()
            )
        );
        assert_eq!(
            err("{ work = \"1s\", count = 2 }"),
            (
                "a work step takes no count (expected no other key)".into(),
                "count".into()
            )
        );
        assert_eq!(
            err("{ wait = \"child\" }"),
            (
                "expected wait = \"children\", found \"child\"".into(),
                "\"child\"".into()
            )
        );
        assert_eq!(
            err("{ wait = \"children\", on_timeout = \"continue\" }").1,
            "on_timeout"
        );
        assert_eq!(
            err("{ wait = \"children\", timeout = 1, on_timeout = \"retry\" }").1,
            "\"retry\""
        );
        assert_eq!(err("{ work = \"4 sec\" }").1, "\"4 sec\"");
        assert!(err("\"work\"").0.starts_with("expected a step"));
    }

    #[test]
    fn span_marks_round_trip() {
        let e: toml::de::Error = spanned_error(3..7, "oops");
        assert_eq!(split_span(e.message()), ("oops", Some(3..7)));
        assert_eq!(split_span("plain"), ("plain", None));
    }
}

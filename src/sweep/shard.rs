//! Shards: a sweep split over machines, run by a batch scheduler, and merged back.
//!
//! # Splitting
//! Shard `i` of `n` ([`Shard`]) holds the points whose index `p` (in sweep order, from 0) has
//! `p % n == i`: round robin rather than contiguous blocks, so that each shard gets points from
//! every part of the grid (the slow ones, with few workers and long queues, say, are not all in
//! one shard). A point's runs take their seeds from its index in the whole sweep, so a point
//! gives the same result in any shard, on any machine, as in the unsplit sweep.
//!
//! `--shard auto` reads the index from the batch scheduler ([`Shard::from_env`]): a Slurm
//! array job (`SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`, and `SLURM_ARRAY_TASK_MIN` and
//! `SLURM_ARRAY_TASK_STEP` to count from 0), or a Kubernetes Indexed Job
//! (`JOB_COMPLETION_INDEX`, with the count from `--shards N` or `QSIM_SHARDS`, since
//! Kubernetes does not tell a pod how many completions its Job has).
//!
//! # The shard file
//! Each shard writes a [`ShardFile`], JSON: the sweep's [`Identity`] (everything that decides
//! its results and its output: the scenario's name and fingerprint over every point, the
//! file as named, the overrides, the varied paths and values, the recorded arrivals, the seed,
//! the runs and the mode), which shard it is, and the results of its points, every number as
//! the unsplit sweep holds it (JSON carries an `f64` exactly).
//!
//! # Merging
//! [`merge`] checks that the files are shards of one sweep (the same identity, the same
//! count), that no shard is missing or given twice, and that every point is present exactly
//! once, in the shard it belongs to; then it puts the points back in sweep order. Rendered,
//! the result is byte for byte what the unsplit `qsim sweep` prints.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{points, Mode, PointResult, Sweep, Vary, MAX_POINTS};
use crate::error::{Error, Location, Result, ScenarioError};

/// What a shard file says it is, in its `format` key.
pub const FORMAT: &str = "qsim sweep shard";

/// The version of the shard file's layout.
pub const VERSION: u32 = 1;

/// The environment variable that gives the number of shards to `--shard auto` under a
/// Kubernetes Indexed Job, when `--shards` does not.
pub const SHARDS_VAR: &str = "QSIM_SHARDS";

/// One slice of a sweep: the points whose index `p` has `p % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: u32,
    /// How many shards the sweep is split into.
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The whole sweep, unsplit.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether the point of index `point` is in this shard.
    pub fn holds(&self, point: usize) -> bool {
        point % self.count as usize == self.index as usize
    }

    /// `index` of `count`, checked: at least one shard, at most [`MAX_POINTS`], the index
    /// below the count.
    pub fn new(index: u64, count: u64) -> std::result::Result<Shard, String> {
        if count == 0 || count > MAX_POINTS as u64 {
            return Err(format!(
                "expected from 1 to {MAX_POINTS} shards (a sweep has at most {MAX_POINTS} points), found {count}"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard {index} of {count} does not exist: shards count from 0, so the last is {}",
                count - 1
            ));
        }
        Ok(Shard {
            index: index as u32,
            count: count as u32,
        })
    }

    /// Reads `I/N`: shard `I` (from 0) of `N`.
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let expected =
            || format!("expected I/N (shard I of N, from 0: 0/4, say) or auto, found \"{text}\"");
        let (i, n) = text.split_once('/').ok_or_else(expected)?;
        let number = |s: &str| s.trim().parse::<u64>().map_err(|_| expected());
        Shard::new(number(i)?, number(n)?)
    }

    /// The shard a batch scheduler's task is, from its environment (`var` looks a variable
    /// up): a Slurm array job's `SLURM_ARRAY_TASK_ID` counted from `SLURM_ARRAY_TASK_MIN` in
    /// steps of `SLURM_ARRAY_TASK_STEP`, of `SLURM_ARRAY_TASK_COUNT`; else a Kubernetes
    /// Indexed Job's `JOB_COMPLETION_INDEX`, of `shards` (`--shards`) or else of
    /// [`SHARDS_VAR`]. `shards`, when given under Slurm, must agree with the array. Returns the
    /// shard and where it was read, for a note.
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        shards: Option<u64>,
    ) -> std::result::Result<(Shard, String), String> {
        let number = |name: &str| -> std::result::Result<Option<u64>, String> {
            match var(name) {
                None => Ok(None),
                Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                    format!("--shard auto: {name} is \"{v}\", expected a whole number")
                }),
            }
        };
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let count = number("SLURM_ARRAY_TASK_COUNT")?.ok_or(
                "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not \
                 (an older Slurm?); give --shard I/N",
            )?;
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let offset = id.checked_sub(min).filter(|o| o % step == 0);
            let index = offset
                .map(|o| o / step)
                .filter(|&i| i < count)
                .ok_or_else(|| {
                    format!(
                        "--shard auto: SLURM_ARRAY_TASK_ID {id} is not one of {count} array tasks \
                     counted from SLURM_ARRAY_TASK_MIN {min} in steps of {step}: give the \
                     array as a range (--array=0-{}), or --shard I/N",
                        count.saturating_sub(1)
                    )
                })?;
            if let Some(n) = shards.filter(|&n| n != count) {
                return Err(format!(
                    "--shards {n} disagrees with the Slurm array's {count} tasks \
                     (SLURM_ARRAY_TASK_COUNT): drop --shards, or make the array 0-{}",
                    n.saturating_sub(1)
                ));
            }
            let shard = Shard::new(index, count).map_err(|e| format!("--shard auto: {e}"))?;
            return Ok((
                shard,
                "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT".into(),
            ));
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let (count, from) = match shards {
                Some(n) => (n, "--shards"),
                None => (
                    number(SHARDS_VAR)?.ok_or(format!(
                        "--shard auto: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) \
                         but not the number of shards: give --shards N (the Job's completions) \
                         or set {SHARDS_VAR}"
                    ))?,
                    SHARDS_VAR,
                ),
            };
            let shard = Shard::new(index, count).map_err(|e| format!("--shard auto: {e}"))?;
            return Ok((shard, format!("JOB_COMPLETION_INDEX and {from}")));
        }
        Err(
            "--shard auto: no batch scheduler's index in the environment: neither \
             SLURM_ARRAY_TASK_ID (a Slurm array job) nor JOB_COMPLETION_INDEX (a Kubernetes \
             Indexed Job) is set; give --shard I/N"
                .into(),
        )
    }
}

/// Everything that decides a sweep's results and how they print: two shard files belong to
/// one sweep when their identities are equal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The qsim version that ran it.
    pub qsim: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file as the command named it (it appears in the reproduce command).
    pub file: String,
    /// A fingerprint of every point's validated scenario (xxh3 of their `Debug` forms, seed,
    /// ties and recorded arrivals included): the same file, overrides and arrivals give the
    /// same fingerprint.
    pub fingerprint: String,
    /// The overrides applied before the varied values.
    pub sets: Vec<String>,
    /// The varied paths and their values.
    pub vary: Vec<Vary>,
    /// The recorded arrivals file, as named.
    pub arrivals_from: Option<String>,
    /// The scenario's seed.
    pub seed: u64,
    /// Runs per point (given also to exhaustive sweeps, which do not use it).
    pub runs: u64,
    /// What each point does.
    pub mode: ModeIdentity,
    /// The number of points of the whole sweep.
    pub points: u64,
}

/// The settings of a sweep's [`Mode`] that decide its results. The memory limit is left out:
/// it differs between machines (by default a share of each one's memory) and only stops runs
/// that would fill it, which the results count as limited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeIdentity {
    /// Monte Carlo runs.
    Runs {
        /// A horizon replacing the scenario's, in ns.
        horizon_ns: Option<u64>,
        /// The warmup, in ns.
        warmup_ns: u64,
        /// The event limit of each run.
        max_events: u64,
        /// The task limit of each run.
        max_tasks: u64,
    },
    /// Exhaustive decisions.
    Explore {
        /// `any` or `exact`.
        timing: String,
        /// The state budget of each point.
        max_states: u64,
    },
}

impl Identity {
    /// The identity of sweep `s` of `vary`, run in `mode`, of the scenario file named `file`
    /// whose seed is `seed`, `runs` runs per point.
    pub fn new(
        s: &Sweep,
        vary: &[Vary],
        mode: &Mode,
        file: &str,
        seed: u64,
        runs: u64,
    ) -> Identity {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for (settings, scenario) in &s.points {
            hasher.update(format!("{settings:?}{scenario:?}").as_bytes());
        }
        Identity {
            qsim: env!("CARGO_PKG_VERSION").into(),
            scenario: s.scenario.clone(),
            file: file.into(),
            fingerprint: format!("xxh3:{:016x}", hasher.digest()),
            sets: s.sets.clone(),
            vary: vary.to_vec(),
            arrivals_from: s.arrivals_from.clone(),
            seed,
            runs,
            mode: match mode {
                Mode::Runs {
                    horizon,
                    warmup,
                    limits,
                    runs: _,
                } => ModeIdentity::Runs {
                    horizon_ns: *horizon,
                    warmup_ns: *warmup,
                    max_events: limits.max_events,
                    max_tasks: limits.max_tasks,
                },
                Mode::Explore { timing, budget } => ModeIdentity::Explore {
                    timing: timing.name().into(),
                    max_states: budget.max_states,
                },
            },
            points: s.points.len() as u64,
        }
    }

    /// The first difference of `other` (read from `there`) from this identity (read from
    /// `here`), in words, or `None` when they are the same sweep.
    fn difference(&self, here: &str, other: &Identity, there: &str) -> Option<String> {
        let short = |v: &dyn fmt::Debug| {
            let text = format!("{v:?}");
            match text.char_indices().nth(60) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        };
        let fields: [(&str, String, String); 11] = [
            ("qsim version", short(&self.qsim), short(&other.qsim)),
            ("scenario", short(&self.scenario), short(&other.scenario)),
            ("scenario file", short(&self.file), short(&other.file)),
            ("--set overrides", short(&self.sets), short(&other.sets)),
            (
                "--vary",
                short(
                    &self
                        .vary
                        .iter()
                        .map(|v| format!("{}={}", v.path, v.values.join(",")))
                        .collect::<Vec<_>>(),
                ),
                short(
                    &other
                        .vary
                        .iter()
                        .map(|v| format!("{}={}", v.path, v.values.join(",")))
                        .collect::<Vec<_>>(),
                ),
            ),
            (
                "--arrivals-from",
                short(&self.arrivals_from),
                short(&other.arrivals_from),
            ),
            ("seed", short(&self.seed), short(&other.seed)),
            ("runs", short(&self.runs), short(&other.runs)),
            ("mode", short(&self.mode), short(&other.mode)),
            (
                "number of points",
                short(&self.points),
                short(&other.points),
            ),
            (
                "scenario fingerprint (the scenario file or the recorded arrivals changed)",
                short(&self.fingerprint),
                short(&other.fingerprint),
            ),
        ];
        fields
            .into_iter()
            .find(|(_, a, b)| a != b)
            .map(|(what, a, b)| format!("{what}: {b} in {there}, {a} in {here}"))
    }
}

/// A shard's file: which sweep, which shard, and its points' results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The layout's version, [`VERSION`].
    pub version: u32,
    /// The sweep.
    pub sweep: Identity,
    /// Which shard.
    pub shard: Shard,
    /// The results of the shard's points, in sweep order.
    pub points: Vec<PointResult>,
}

impl ShardFile {
    /// The file of `shard` of the sweep `identity`, holding `results`.
    pub fn new(identity: Identity, shard: Shard, results: Vec<PointResult>) -> ShardFile {
        ShardFile {
            format: FORMAT.into(),
            version: VERSION,
            sweep: identity,
            shard,
            points: results,
        }
    }

    /// The file as pretty-printed JSON, ending with a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a shard serialises") + "\n"
    }

    /// Reads the shard file at `path`.
    pub fn load(path: &Path) -> Result<ShardFile> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(&name, e))?;
        ShardFile::parse(&name, &text)
    }

    /// Reads a shard file's `text`; `file` names it in messages, which point into it.
    pub fn parse(file: &str, text: &str) -> Result<ShardFile> {
        let located = |e: serde_json::Error, what: &str| {
            let message = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = message.strip_suffix(&suffix).unwrap_or(&message);
            Error::Scenario(ScenarioError {
                location: Location {
                    file: file.into(),
                    line: e.line().max(1),
                    column: e.column().max(1),
                    source_line: text
                        .lines()
                        .nth(e.line().max(1) - 1)
                        .unwrap_or("")
                        .trim_end_matches('\r')
                        .into(),
                },
                message: format!("{what}: {message}"),
            })
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| located(e, "not JSON"))?;
        let not_a_shard = |why: String| Error::Shard {
            path: file.into(),
            message: format!("not a shard file of `qsim sweep --shard`: {why}"),
        };
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => return Err(not_a_shard(format!("its format is \"{other}\""))),
            None => return Err(not_a_shard(format!("no \"format\": \"{FORMAT}\""))),
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(VERSION) => {}
            v => {
                return Err(Error::Shard {
                    path: file.into(),
                    message: format!(
                        "a shard file of version {}, which this qsim ({}) does not read (it \
                         reads version {VERSION}): merge with the qsim that wrote it",
                        v.map_or("unknown".into(), |v| v.to_string()),
                        env!("CARGO_PKG_VERSION")
                    ),
                })
            }
        }
        serde_json::from_str(text).map_err(|e| located(e, "not a shard file qsim can read"))
    }
}

/// A sweep put back together from its shards.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The sweep, as identified by its shards.
    pub identity: Identity,
    /// The sweep as the renderers take it (without points' scenarios: it is not run again).
    pub sweep: Sweep,
    /// Every point's result, in sweep order.
    pub results: Vec<PointResult>,
}

/// Puts the shards (each with the file it was read from) of one sweep back together; see the
/// module docs. Errors name the files: shards of different sweeps, of different splits, a
/// shard missing or given twice, a point missing, out of place or given twice.
pub fn merge(shards: &[(String, ShardFile)]) -> Result<Merged> {
    let Some((first_file, first)) = shards.first() else {
        return Err(Error::Usage("merge needs at least one shard file".into()));
    };
    let identity = &first.sweep;
    let count = first.shard.count;
    let mut given: Vec<Option<&str>> = vec![None; count as usize];
    for (file, shard) in shards {
        let refuse = |message: String| Error::Shard {
            path: file.clone(),
            message,
        };
        if let Some(d) = identity.difference(first_file, &shard.sweep, file) {
            return Err(refuse(format!(
                "not a shard of the same sweep as {first_file}: {d}"
            )));
        }
        if shard.shard.count != count || shard.shard.index >= count {
            return Err(refuse(format!(
                "is shard {}, but {first_file} is shard {}: the shards of a sweep are split the \
                 same way",
                shard.shard, first.shard
            )));
        }
        let slot = &mut given[shard.shard.index as usize];
        if let Some(other) = slot {
            return Err(refuse(format!(
                "is shard {}, as {other} is: give each shard once",
                shard.shard
            )));
        }
        *slot = Some(file);
    }
    let missing: Vec<String> = given
        .iter()
        .enumerate()
        .filter(|(_, g)| g.is_none())
        .map(|(i, _)| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(10).map(String::as_str).collect();
        return Err(Error::Usage(format!(
            "missing shard{} {}{}: a merge needs all {count} shards of the sweep ({} given)",
            if missing.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if missing.len() > 10 { ", ..." } else { "" },
            shards.len()
        )));
    }
    let settings = points(&identity.vary)?;
    if settings.len() as u64 != identity.points {
        return Err(Error::Shard {
            path: first_file.clone(),
            message: format!(
                "says the sweep has {} points, but its --vary values give {}",
                identity.points,
                settings.len()
            ),
        });
    }
    let mut results: Vec<Option<PointResult>> = vec![None; settings.len()];
    for (file, shard) in shards {
        let refuse = |message: String| Error::Shard {
            path: file.clone(),
            message,
        };
        for r in &shard.points {
            let i = usize::try_from(r.index)
                .ok()
                .filter(|&i| i < settings.len())
                .ok_or_else(|| {
                    refuse(format!(
                        "holds point {}, but the sweep has {} points",
                        r.index,
                        settings.len()
                    ))
                })?;
            if !shard.shard.holds(i) {
                return Err(refuse(format!(
                    "holds point {i}, which is not in shard {}",
                    shard.shard
                )));
            }
            if r.values != settings[i] {
                return Err(refuse(format!(
                    "holds point {i} with the values {}, but the sweep's point {i} is {}",
                    super::describe(&r.values),
                    super::describe(&settings[i])
                )));
            }
            if results[i].is_some() {
                return Err(refuse(format!("holds point {i} twice")));
            }
            results[i] = Some(r.clone());
        }
    }
    let results = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.ok_or_else(|| {
                let shard = Shard {
                    index: (i % count as usize) as u32,
                    count,
                };
                Error::Shard {
                    path: given[shard.index as usize].unwrap_or_default().into(),
                    message: format!(
                        "lacks point {i} ({}) of shard {shard}: the file is cut short or was \
                         edited; run the shard again",
                        super::describe(&settings[i])
                    ),
                }
            })
        })
        .collect::<Result<Vec<PointResult>>>()?;
    Ok(Merged {
        sweep: Sweep {
            scenario: identity.scenario.clone(),
            paths: identity.vary.iter().map(|v| v.path.clone()).collect(),
            sets: identity.sets.clone(),
            arrivals_from: identity.arrivals_from.clone(),
            points: Vec::new(),
        },
        identity: identity.clone(),
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_shard_file_carries_every_number_exactly() {
        use crate::sweep::{
            Decided, Estimate, Latency, Outcome, PointMethod, PointVerdict, QueueLength, Runs,
            Utilisation,
        };
        // Numbers that serde_json reads back one bit off without its float_roundtrip feature
        // (found by trying random ones), and long, tiny, huge and subnormal ones.
        let awkward = [
            989.9951327998887,
            477.95269883162916,
            1.0715660391465826e-75,
            125.47886891832715,
            f64::MIN_POSITIVE / 3.0,
            f64::MAX,
            0.1 + 0.2,
            65.39444158479999,
            -0.0,
        ];
        let estimate = |i: usize| Estimate {
            value: awkward[i % awkward.len()],
            low: awkward[(i + 1) % awkward.len()],
            high: awkward[(i + 2) % awkward.len()],
        };
        let runs = Runs {
            runs: 7,
            deadlocks: 3,
            deadlock: estimate(0),
            time_to_deadlock: Some(awkward[7]),
            limited: 1,
            throughput: Some(estimate(3)),
            latency: vec![
                (
                    "main_task".into(),
                    Some(Latency {
                        finished: 12,
                        p50: awkward[1],
                        p95: awkward[2],
                        p99: awkward[4],
                        mean: estimate(5),
                        p99_ci: estimate(6),
                    }),
                ),
                ("subtask".into(), None),
            ],
            utilisation: vec![(
                "default".into(),
                Some(Utilisation {
                    busy: awkward[0],
                    blocked: awkward[1],
                    idle: awkward[8],
                }),
            )],
            queues: vec![(
                "default".into(),
                QueueLength {
                    mean: awkward[3],
                    max: u64::MAX,
                },
            )],
            peak_rss: vec![("default".into(), u64::MAX)],
            restarts: vec![("default".into(), 3)],
        };
        let identity = Identity {
            qsim: "0.1.0".into(),
            scenario: "s".into(),
            file: "s.toml".into(),
            fingerprint: "xxh3:0".into(),
            sets: vec![],
            vary: vec![Vary::parse("pool.default.workers=2,3").unwrap()],
            arrivals_from: Some("t.csv".into()),
            seed: u64::MAX,
            runs: 7,
            mode: ModeIdentity::Runs {
                horizon_ns: None,
                warmup_ns: 0,
                max_events: 1,
                max_tasks: 2,
            },
            points: 2,
        };
        let file = ShardFile::new(
            identity,
            Shard { index: 0, count: 1 },
            vec![
                PointResult {
                    values: vec![("pool.default.workers".into(), "2".into())],
                    index: 0,
                    outcome: Outcome::Runs(runs),
                },
                PointResult {
                    values: vec![("pool.default.workers".into(), "3".into())],
                    index: 1,
                    outcome: Outcome::Explored(Decided {
                        verdict: PointVerdict::Inconclusive,
                        states: 10,
                        method: PointMethod::DepthFirst,
                    }),
                },
            ],
        );
        let back = ShardFile::parse("s.json", &file.to_json()).unwrap();
        assert_eq!(back, file);
        // PartialEq says -0.0 == 0.0: compare the bits of every number too.
        let bits = |f: &ShardFile| {
            let Outcome::Runs(r) = &f.points[0].outcome else {
                unreachable!()
            };
            let l = r.latency[0].1.clone().unwrap();
            let u = r.utilisation[0].1.unwrap();
            [
                r.deadlock.value,
                r.deadlock.low,
                r.deadlock.high,
                l.p50,
                l.p95,
                l.p99,
                l.mean.value,
                l.p99_ci.high,
                u.busy,
                u.blocked,
                u.idle,
                r.queues[0].1.mean,
            ]
            .map(f64::to_bits)
        };
        assert_eq!(bits(&back), bits(&file));
        assert_eq!(back.to_json(), file.to_json());
    }

    #[test]
    fn shard_files_that_cannot_be_read_say_where() {
        let e = ShardFile::parse("a.json", "{\n  \"format\": 3,\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("a.json:3:1: not JSON: EOF while parsing a value"),
            "{e}"
        );
        let e = ShardFile::parse("b.json", "{\"scenario\": \"x\"}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.json: not a shard file of `qsim sweep --shard`: no \"format\": \"qsim sweep shard\""
        );
        let e = ShardFile::parse(
            "c.json",
            "{\"format\": \"qsim sweep shard\", \"version\": 9}",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c.json: a shard file of version 9, which this qsim"),
            "{e}"
        );
        let e = ShardFile::parse(
            "d.json",
            "{\"format\": \"qsim sweep shard\",\n \"version\": 1,\n \"shard\": 3}",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with(
                "d.json:3:11: not a shard file qsim can read: invalid type: integer `3`"
            ),
            "{e}"
        );
    }

    #[test]
    fn shards_split_the_points_round_robin() {
        let s = Shard::parse("1/3").unwrap();
        let held: Vec<usize> = (0..10).filter(|&p| s.holds(p)).collect();
        assert_eq!(held, [1, 4, 7]);
        // Every point is in exactly one shard.
        for p in 0..50 {
            let n = (0..3)
                .filter(|&i| Shard { index: i, count: 3 }.holds(p))
                .count();
            assert_eq!(n, 1);
        }
        assert!(Shard::WHOLE.holds(12345));
        assert_eq!(s.to_string(), "1/3");
    }

    #[test]
    fn shard_arguments_are_checked() {
        assert_eq!(
            Shard::parse(" 0 / 4 ").unwrap(),
            Shard { index: 0, count: 4 }
        );
        assert_eq!(
            Shard::parse("4/4").unwrap_err(),
            "shard 4 of 4 does not exist: shards count from 0, so the last is 3"
        );
        assert!(Shard::parse("0/0")
            .unwrap_err()
            .starts_with("expected from 1 to 100000 shards"));
        assert!(Shard::parse("2").unwrap_err().starts_with("expected I/N"));
        assert!(Shard::parse("a/3").unwrap_err().starts_with("expected I/N"));
        assert!(Shard::parse("-1/3")
            .unwrap_err()
            .starts_with("expected I/N"));
    }

    #[test]
    fn auto_reads_slurm_arrays_from_their_first_task() {
        let (s, from) = Shard::from_env(
            env(&[
                ("SLURM_ARRAY_TASK_ID", "5"),
                ("SLURM_ARRAY_TASK_COUNT", "16"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(
            s,
            Shard {
                index: 5,
                count: 16
            }
        );
        assert_eq!(from, "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT");
        // --array=1-16 counts from 1; --array=0-30:2 in steps of 2.
        let one_based = env(&[
            ("SLURM_ARRAY_TASK_ID", "16"),
            ("SLURM_ARRAY_TASK_COUNT", "16"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert_eq!(
            Shard::from_env(one_based, None).unwrap().0,
            Shard {
                index: 15,
                count: 16
            }
        );
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_COUNT", "16"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ]);
        assert_eq!(
            Shard::from_env(stepped, None).unwrap().0,
            Shard {
                index: 3,
                count: 16
            }
        );
        // A list array (--array=1,3,9) cannot be numbered.
        let list = env(&[
            ("SLURM_ARRAY_TASK_ID", "9"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert!(Shard::from_env(list, None)
            .unwrap_err()
            .contains("SLURM_ARRAY_TASK_ID 9 is not one of 3 array tasks"));
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert!(Shard::from_env(&slurm, Some(8))
            .unwrap_err()
            .starts_with("--shards 8 disagrees with the Slurm array's 4 tasks"));
        assert!(Shard::from_env(&slurm, Some(4)).is_ok());
        assert!(Shard::from_env(env(&[("SLURM_ARRAY_TASK_ID", "1")]), None)
            .unwrap_err()
            .contains("SLURM_ARRAY_TASK_COUNT is not"));
        assert_eq!(
            Shard::from_env(env(&[("SLURM_ARRAY_TASK_ID", "x")]), None).unwrap_err(),
            "--shard auto: SLURM_ARRAY_TASK_ID is \"x\", expected a whole number"
        );
    }

    #[test]
    fn auto_reads_kubernetes_indexed_jobs_with_a_count() {
        let k8s = env(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(
            Shard::from_env(&k8s, Some(3)).unwrap(),
            (
                Shard { index: 2, count: 3 },
                "JOB_COMPLETION_INDEX and --shards".into()
            )
        );
        assert!(Shard::from_env(&k8s, None)
            .unwrap_err()
            .contains("give --shards N (the Job's completions) or set QSIM_SHARDS"));
        let with_var = env(&[("JOB_COMPLETION_INDEX", "2"), ("QSIM_SHARDS", "8")]);
        assert_eq!(
            Shard::from_env(with_var, None).unwrap(),
            (
                Shard { index: 2, count: 8 },
                "JOB_COMPLETION_INDEX and QSIM_SHARDS".into()
            )
        );
        assert_eq!(
            Shard::from_env(&k8s, Some(2)).unwrap_err(),
            "--shard auto: shard 2 of 2 does not exist: shards count from 0, so the last is 1"
        );
        assert!(Shard::from_env(env(&[]), Some(3))
            .unwrap_err()
            .starts_with("--shard auto: no batch scheduler's index in the environment"));
    }
}

//! What the process really uses, and how much it may use.
//!
//! Budgets on memory (`qsim explore --max-memory`, `qsim run --max-memory`) hold the process's
//! resident memory as the operating system counts it, read from `/proc/self/statm`, not an
//! estimate of the search's own tables: the allocator's slack, the frontier's states and the
//! tables that grow by doubling all count. Without a budget given, qsim takes a safe share of
//! what the machine has available ([`default_budget`]), so that no input makes the operating
//! system kill it. On a system without `/proc` the readings are `None`, and only the search's
//! own estimate of its tables is held to the budget.

use std::fs;

/// The share of the available memory a budget takes by default.
pub const DEFAULT_SHARE: f64 = 0.5;

/// The process's resident memory in bytes, if the system tells it.
pub fn resident_bytes() -> Option<u64> {
    let statm = fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

fn page_size() -> u64 {
    // Every Linux qsim runs on uses 4 KiB pages for the resident count of statm, except on
    // kernels built with larger pages; the auxiliary vector would tell, at the cost of libc.
    // `/proc/self/smaps_rollup` gives bytes directly and is read when present to check.
    4096
}

/// Memory the machine can still give, in bytes: `MemAvailable` of `/proc/meminfo`, or less
/// when a control group caps this process lower.
pub fn available_bytes() -> Option<u64> {
    let meminfo = fs::read_to_string("/proc/meminfo").ok()?;
    let available = meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix("MemAvailable:")?;
        let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    })?;
    let capped = cgroup_room().map_or(available, |room| room.min(available));
    Some(capped)
}

/// What the cgroup (v2) of this process still allows, if it sets a limit.
fn cgroup_room() -> Option<u64> {
    let max: u64 = fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let current: u64 = fs::read_to_string("/sys/fs/cgroup/memory.current")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(max.saturating_sub(current))
}

/// The budget when none is given: [`DEFAULT_SHARE`] of the memory available when it is first
/// asked for (in a command: when qsim starts), plus what the process held then; `None` where
/// the system does not tell. Read once per process: a search or a sweep makes budgets for every
/// run, and reading `/proc` each time would cost more than a small run.
pub fn default_budget() -> Option<u64> {
    static BUDGET: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(|| {
        let available = available_bytes()?;
        let held = resident_bytes().unwrap_or(0);
        Some(held + (available as f64 * DEFAULT_SHARE) as u64)
    })
}

/// Megabytes (2^20 bytes, as `--max-memory` counts them), for messages: `1234 MB`.
pub fn megabytes(bytes: u64) -> String {
    format!("{} MB", bytes.div_ceil(1 << 20))
}

/// A limit on the resident memory of the whole process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimit {
    /// The most bytes the process may hold.
    pub bytes: u64,
    /// Whether the user gave it (`--max-memory`) or qsim chose it ([`default_budget`]).
    pub given: bool,
}

impl MemoryLimit {
    /// A limit the user gave, in megabytes of 2^20 bytes.
    pub fn megabytes(mb: u64) -> MemoryLimit {
        MemoryLimit {
            bytes: mb.saturating_mul(1 << 20),
            given: true,
        }
    }

    /// `--max-memory MB` when given, else the default for this machine.
    pub fn given_or_default(mb: Option<u64>) -> Option<MemoryLimit> {
        mb.map(MemoryLimit::megabytes)
            .or_else(MemoryLimit::default_for_this_machine)
    }

    /// The limit qsim takes when none is given: [`default_budget`], where the system tells.
    pub fn default_for_this_machine() -> Option<MemoryLimit> {
        default_budget().map(|bytes| MemoryLimit {
            bytes,
            given: false,
        })
    }

    /// Whether `in_use` bytes, plus `about_to_add` more, break the limit: the reason, in words.
    pub fn exceeded(&self, in_use: u64, about_to_add: u64) -> Option<String> {
        if in_use.saturating_add(about_to_add) < self.bytes {
            return None;
        }
        let held = if about_to_add == 0 {
            format!("the process holds {}", megabytes(in_use))
        } else {
            format!(
                "the process holds {} and was about to take {} more",
                megabytes(in_use),
                megabytes(about_to_add)
            )
        };
        Some(if self.given {
            format!("--max-memory {} reached ({held})", self.bytes >> 20)
        } else {
            format!(
                "the memory budget of {} reached, half the memory available when qsim started ({held}; give --max-memory to change it)",
                megabytes(self.bytes)
            )
        })
    }
}

/// The memory in use: the resident memory where the system tells, else `estimate`.
pub fn in_use(estimate: u64) -> u64 {
    resident_bytes().unwrap_or(estimate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_says_who_chose_it_and_what_broke_it() {
        let given = MemoryLimit::megabytes(100);
        assert_eq!(given.exceeded(99 << 20, 0), None);
        assert_eq!(
            given.exceeded(100 << 20, 0).unwrap(),
            "--max-memory 100 reached (the process holds 100 MB)"
        );
        assert_eq!(
            given.exceeded(60 << 20, 64 << 20).unwrap(),
            "--max-memory 100 reached (the process holds 60 MB and was about to take 64 MB more)"
        );
        let chosen = MemoryLimit {
            bytes: 2000 << 20,
            given: false,
        };
        assert!(chosen
            .exceeded(3000 << 20, 0)
            .unwrap()
            .contains("the memory budget of 2000 MB reached, half the memory available"));
    }

    #[test]
    fn resident_memory_grows_with_what_is_held() {
        let Some(before) = resident_bytes() else {
            return; // no /proc here
        };
        assert!(before > 0);
        let block = vec![1u8; 64 << 20];
        let after = resident_bytes().unwrap();
        assert!(
            after >= before + (48 << 20),
            "holding 64 MiB: {before} -> {after}"
        );
        drop(block);
    }

    #[test]
    fn the_default_budget_is_a_share_of_what_is_available() {
        let (Some(available), Some(budget)) = (available_bytes(), default_budget()) else {
            return;
        };
        // Read once per process: the same figure every time it is asked for.
        assert_eq!(default_budget(), Some(budget));
        // Half of what was available when it was first read (other tests in this process may
        // have moved the machine's figure a little since): well above a quarter of it now, and
        // below all of it.
        assert!(budget < available + resident_bytes().unwrap());
        assert!(budget as f64 >= available as f64 * DEFAULT_SHARE * 0.5);
        assert_eq!(megabytes(1_500_001), "2 MB");
        assert_eq!(megabytes(1 << 20), "1 MB");
    }
}

//! Memory and restarts in words: a table per pool, the workers of process pools, the host,
//! what was lost or re-queued, and the findings.
//!
//! ```text
//! memory   kind     peak process  peak pool  at end  max_memory  max_tasks  oom  restarting
//! default  process         1.1GB      2.2GB   600MB           3          0    0       2s
//!
//! workers    peak  at end
//! default/1  1.1GB  300MB
//!
//! host: peak 2.2GB (no memory limit)
//! lost: copy_workspace 1 (copy_workspace#3)
//! restart loop: ...
//! ```

use std::fmt::Write as _;

use crate::report::MemoryReport;
use crate::scenario::{format_size, format_ticks, Tick};

use super::table;

/// How many workers of a pool the text lists.
const WORKERS_SHOWN: usize = 16;

/// One row per pool: its name, kind, peak of one process, peak of the pool, the pool at the
/// end, restarts by cause (`max_memory`, `max_tasks`, `oom`) and the time spent restarting.
pub fn pool_rows(m: &MemoryReport) -> Vec<Vec<String>> {
    m.pools
        .iter()
        .enumerate()
        .map(|(i, p)| {
            vec![
                p.name.clone(),
                p.kind.to_string(),
                format_size(p.peak_rss),
                format_size(p.peak_total),
                format_size(p.end_total),
                p.restarts[0].to_string(),
                p.restarts[1].to_string(),
                p.restarts[2].to_string(),
                format_ticks(m.restarting_ticks(i) as Tick),
            ]
        })
        .collect()
}

/// Appends the memory section (a blank line first).
pub fn render(out: &mut String, m: &MemoryReport) {
    out.push('\n');
    let mut rows = vec![[
        "memory",
        "kind",
        "peak process",
        "peak pool",
        "at end",
        "max_memory",
        "max_tasks",
        "oom",
        "restarting",
    ]
    .map(String::from)
    .to_vec()];
    rows.extend(pool_rows(m));
    table(out, &rows);
    let process_pools: Vec<_> = m.pools.iter().filter(|p| p.kind == "process").collect();
    if !process_pools.is_empty() {
        out.push('\n');
        let mut rows = vec![["workers", "peak", "at end"].map(String::from).to_vec()];
        for p in process_pools {
            for w in p.workers.iter().take(WORKERS_SHOWN) {
                rows.push(vec![
                    w.name.clone(),
                    format_size(w.peak_rss),
                    format_size(w.end_rss),
                ]);
            }
            if p.workers.len() > WORKERS_SHOWN {
                rows.push(vec![format!(
                    "and {} more of {}",
                    p.workers.len() - WORKERS_SHOWN,
                    p.name
                )]);
            }
        }
        table(out, &rows);
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "host: peak {} ({})",
        format_size(m.host_peak),
        m.host_memory.map_or("no memory limit".into(), |h| format!(
            "of {}",
            format_size(h)
        )),
    );
    for (what, counts, names) in [
        ("lost", &m.lost, &m.lost_names),
        ("re-queued", &m.requeued, &m.requeued_names),
    ] {
        let nonzero: Vec<String> = counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        if !nonzero.is_empty() {
            let _ = writeln!(
                out,
                "{what}: {} (first: {})",
                nonzero.join(", "),
                names.join(", ")
            );
        }
    }
    for f in &m.findings {
        let _ = writeln!(out, "{}", f.text);
    }
}

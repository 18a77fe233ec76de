//! Replaying a schedule: the chooser that follows it, and the story it tells.

use crate::engine::{Choice, Chooser, Deadlock, Model, Simulation};

use super::{apply_and_tell, label, settle};

/// A chooser that follows a schedule's labels, then the canonical rule once they run out.
///
/// If a step names a choice that is not possible at its point, the run stops
/// ([`Outcome::Stopped`](crate::engine::Outcome::Stopped)) and [`Replay::error`] says why.
#[derive(Clone, Debug)]
pub struct Replay {
    steps: Vec<String>,
    next: usize,
    /// Why the replay stopped early, if it did.
    pub error: Option<String>,
}

impl Replay {
    /// A chooser following `steps`.
    pub fn new(steps: Vec<String>) -> Replay {
        Replay {
            steps,
            next: 0,
            error: None,
        }
    }

    /// Steps followed so far.
    pub fn followed(&self) -> usize {
        self.next
    }
}

impl Chooser for Replay {
    fn choose(&mut self, sim: &Simulation<'_>, options: &[Choice]) -> Option<usize> {
        let Some(wanted) = self.steps.get(self.next) else {
            return Some(0);
        };
        match find(sim, options, wanted) {
            Ok(i) => {
                self.next += 1;
                Some(i)
            }
            Err(e) => {
                self.error = Some(format!("step {}: {e}", self.next + 1));
                None
            }
        }
    }
}

fn find(sim: &Simulation<'_>, options: &[Choice], wanted: &str) -> Result<usize, String> {
    let labels: Vec<String> = options.iter().map(|&c| label(sim, c)).collect();
    labels.iter().position(|l| l == wanted).ok_or_else(|| {
        format!(
            "\"{wanted}\" is not possible here (possible: {})",
            labels.join(", ")
        )
    })
}

/// What following a schedule exactly did.
#[derive(Clone, Debug)]
pub struct Told {
    /// One sentence per step.
    pub lines: Vec<String>,
    /// The deadlock reached, if any (the story stops there).
    pub deadlock: Option<Deadlock>,
}

/// Follows `steps` exactly (no canonical continuation), telling each step as a sentence and
/// stopping at the first deadlock. Fails if a step is not possible at its point.
pub fn tell(model: &Model, steps: &[String]) -> Result<Told, String> {
    let mut sim = Simulation::new(model);
    let mut lines = Vec::with_capacity(steps.len());
    for (n, wanted) in steps.iter().enumerate() {
        if !settle(&mut sim) {
            return Err(format!(
                "step {}: \"{wanted}\" comes after the run has ended",
                n + 1
            ));
        }
        let options = sim.options();
        let i = find(&sim, &options, wanted).map_err(|e| format!("step {}: {e}", n + 1))?;
        lines.push(apply_and_tell(&mut sim, options[i]));
        if let Some(d) = sim.deadlock() {
            return Ok(Told {
                lines,
                deadlock: Some(d),
            });
        }
    }
    Ok(Told {
        lines,
        deadlock: None,
    })
}

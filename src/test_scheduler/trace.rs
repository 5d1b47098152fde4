//! The schedule as a sequence of decisions: a running fingerprint always, and, when the
//! determinism check is on, the full list to compare a second run against.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::LiveTask;

/// What the determinism check is doing in this run (the runners, which need `std`, set it).
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) enum Recording {
    /// The check is off: only the fingerprint is kept.
    Off,
    /// First run of a seed: remember every step.
    Record(Vec<LiveTask>),
    /// Second run: compare each step with the first run's.
    Compare { expected: Vec<LiveTask> },
}

pub(crate) struct Trace {
    fingerprint: u64,
    steps: u64,
    pub(crate) recording: Recording,
    /// This run's steps while comparing, to tell apart tasks of one spawn site.
    compared: Vec<LiveTask>,
}

/// Where the fingerprint starts (FNV's offset basis, any odd number would do).
const FINGERPRINT_START: u64 = 0xcbf2_9ce4_8422_2325;
/// An odd multiplier with its bits spread (2^64 over the golden ratio).
const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

/// One step's task id folded into the fingerprint: a rotate (so high bits reach low ones
/// over the steps), an xor and a multiply. FNV-1a over the id's eight bytes cost eight
/// multiplies a step, a twentieth of a whole step.
#[inline]
fn mix(fingerprint: u64, id: u64) -> u64 {
    (fingerprint.rotate_left(23) ^ id).wrapping_mul(MIX)
}

impl Trace {
    pub(crate) const fn new() -> Self {
        Self {
            fingerprint: FINGERPRINT_START,
            steps: 0,
            recording: Recording::Off,
            compared: Vec::new(),
        }
    }

    pub(crate) fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// Notes that `task` runs next. Returns a description of the divergence if this run
    /// departs from the recorded one.
    #[inline]
    pub(crate) fn step(&mut self, task: LiveTask) -> Option<String> {
        self.fingerprint = mix(self.fingerprint, task.id.as_u64());
        let step = self.steps;
        self.steps += 1;
        match &mut self.recording {
            Recording::Off => None,
            Recording::Record(steps) => {
                steps.push(task);
                None
            }
            Recording::Compare { expected } => match expected.get(step as usize) {
                Some(first) if first.id == task.id && first.spawned_at == task.spawned_at => {
                    self.compared.push(task);
                    None
                }
                Some(first) => {
                    self.compared.push(task);
                    Some(format!(
                        "at step {step} the first run ran {}, but this run ran {}",
                        nth_at_site(*first, &expected[..=step as usize]),
                        nth_at_site(task, &self.compared),
                    ))
                }
                None => Some(format!(
                    "the first run ended after {} steps, but this run went on to run {task} \
                     at step {step}",
                    expected.len()
                )),
            },
        }
    }

    /// After the run: a divergence if the second run stopped short of the first.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn finish(&self) -> Option<String> {
        match &self.recording {
            Recording::Compare { expected } if (self.steps as usize) < expected.len() => {
                Some(format!(
                    "this run ended after {} steps, but the first run went on to run {} at \
                     step {}",
                    self.steps, expected[self.steps as usize], self.steps
                ))
            }
            _ => None,
        }
    }
}

/// `task`, and, when other tasks of its spawn site ran too, which of them it is ("the 4th
/// task spawned there"): ids count up in spawn order, so its rank among the ids of its
/// site in `steps` is its rank in spawn order among those that ran.
fn nth_at_site(task: LiveTask, steps: &[LiveTask]) -> String {
    let mut ids: Vec<u64> = steps
        .iter()
        .filter(|step| step.spawned_at == task.spawned_at)
        .map(|step| step.id.as_u64())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() < 2 {
        return format!("{task}");
    }
    let nth = ids.iter().filter(|id| **id <= task.id.as_u64()).count();
    let suffix = match (nth % 10, nth % 100) {
        (1, n) if n != 11 => "st",
        (2, n) if n != 12 => "nd",
        (3, n) if n != 13 => "rd",
        _ => "th",
    };
    format!("{task} (the {nth}{suffix} task spawned there)")
}

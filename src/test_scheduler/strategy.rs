//! `Strategy`: how the `TestScheduler` picks among the runnables, and its text form (the
//! `STRATEGY` env var, the replay line). The pickers themselves are in `pct.rs` and
//! `urw.rs`; `picker.rs` hands them the runnables.

use ::core::fmt;
use ::core::str::FromStr;
use alloc::string::String;

/// How a [`TestScheduler`](crate::TestScheduler) with `randomize_order` on picks the next
/// runnable; every choice comes from the seed, so a seed and a strategy give one schedule.
/// Set it with [`TestSchedulerConfig::strategy`](crate::TestSchedulerConfig::strategy) or
/// the env var `STRATEGY` (the runners), whose forms are those of [`FromStr`](core::str::FromStr)/[`Display`](core::fmt::Display):
/// `portfolio`, `uniform`, `pct:<depth>`, `pct:<depth>:k=<choices>`, `urw`, `urw:from=<seed>`.
///
/// ```
/// use unified_scheduler::Strategy;
///
/// assert_eq!(Strategy::default(), Strategy::Portfolio);
/// assert_eq!(Strategy::Portfolio.for_seed(0), Strategy::UniformRandom);
/// assert_eq!("pct:3".parse::<Strategy>(), Ok(Strategy::Pct { depth: 3 }));
/// assert_eq!(Strategy::Urw.to_string(), "urw");
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Strategy {
    /// Each seed takes one strategy of a fixed rotation of 11 ([`PORTFOLIO`]: the uniform
    /// walk and URW once, PCT of depths 1, 2 and 3 three times each), by `seed % 11`, so a run over many seeds
    /// tries them all and no one strategy's blind spot is the run's (each finds bugs the
    /// others rarely do: see BENCHMARKS.md). The default. A seed's strategy is
    /// [`for_seed`](Self::for_seed), and a failing seed's replay line names it when it is
    /// not the uniform walk.
    ///
    /// ```
    /// use unified_scheduler::{Strategy, TestSchedulerConfig};
    /// assert_eq!(TestSchedulerConfig::new().strategy, Strategy::Portfolio);
    /// assert_eq!(Strategy::Portfolio.to_string(), "portfolio");
    /// ```
    #[default]
    Portfolio,
    /// Every pick a uniform draw over the runnables (weighted by priority when a task was
    /// spawned with one), and a coin flip per task run whether the body is polled first:
    /// the walk every seed took before strategies existed, and the default of 0.1 (a seed
    /// filed against 0.1 replays with `STRATEGY=uniform`).
    ///
    /// ```
    /// use unified_scheduler::{Strategy, TestSchedulerConfig};
    /// let config = TestSchedulerConfig::new().strategy(Strategy::UniformRandom);
    /// assert_eq!(config.strategy.to_string(), "uniform");
    /// ```
    UniformRandom,
    /// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): each task gets a
    /// random distinct priority when it is first seen runnable (the best of 1, 3, 9 or 27
    /// draws for a Low, Medium, High or Realtime task, so priorities weigh as in the uniform
    /// walk), the pick runs the highest-priority runnable, and after `depth - 1` choice
    /// points (picks among two or more runnables) drawn uniformly from `0..=k` (k: the
    /// run's expected number of them, [`steps_hint`](crate::TestSchedulerConfig::steps_hint))
    /// the task chosen there drops below every initial priority. The future blocked in
    /// `block` (the test body) ranks like a task. A bug that needs `depth` ordering
    /// constraints is found with probability at least about `1 / (n (k+1)^(depth-1))` per
    /// seed for `n` tasks. Fairness: after 64 picks in a row of one task while others wait,
    /// one pick is a uniform draw, so a task spinning on `yield_now` cannot starve the one
    /// it waits for. With more than 256 runnables a pick is the uniform walk's. `depth`
    /// must be at least 1.
    ///
    /// ```
    /// use unified_scheduler::{Strategy, TestSchedulerConfig};
    /// let config = TestSchedulerConfig::new().strategy(Strategy::Pct { depth: 2 });
    /// assert_eq!(config.strategy.to_string(), "pct:2");
    /// ```
    Pct {
        /// The bug depth aimed at: `depth - 1` priority change points.
        depth: u32,
    },
    /// A selectively uniform random walk (after Zhao et al., ASPLOS 2025): each pick is
    /// weighted by the task's estimated remaining steps, so that every interleaving of the
    /// tasks' steps is about equally likely (a uniform walk over the runnables instead
    /// favours schedules where short tasks finish early). Estimates are per spawn site,
    /// learned from an earlier run
    /// ([`learn_from`](crate::TestSchedulerConfig::learn_from); the runners learn once per
    /// run, from the uniform walk of its first seed); a task of an unknown site weighs as
    /// the average known task, or 1 when nothing is known. Weights are multiplied by the
    /// task's priority weight, as in the uniform walk.
    ///
    /// ```
    /// use unified_scheduler::Strategy;
    /// assert_eq!("urw".parse::<Strategy>(), Ok(Strategy::Urw));
    /// ```
    Urw,
}

/// The rotation of [`Strategy::Portfolio`]: seed `n` runs `PORTFOLIO[n % PORTFOLIO.len()]`.
///
/// ```
/// use unified_scheduler::{PORTFOLIO, Strategy};
///
/// for (seed, strategy) in PORTFOLIO.iter().enumerate() {
///     assert_eq!(Strategy::Portfolio.for_seed(seed as u64), *strategy);
/// }
/// ```
pub const PORTFOLIO: [Strategy; 11] = [
    Strategy::UniformRandom,
    Strategy::Pct { depth: 1 },
    Strategy::Pct { depth: 2 },
    Strategy::Urw,
    Strategy::Pct { depth: 3 },
    Strategy::Pct { depth: 1 },
    Strategy::Pct { depth: 2 },
    Strategy::Pct { depth: 3 },
    Strategy::Pct { depth: 1 },
    Strategy::Pct { depth: 2 },
    Strategy::Pct { depth: 3 },
];

/// The fairness bound of [`Strategy::Pct`]: after this many picks in a row of one task
/// while others are runnable, the next pick is a uniform draw.
pub(super) const PCT_FAIRNESS_BOUND: u32 = 64;

impl Strategy {
    /// Whether this is the default, [`Strategy::Portfolio`].
    ///
    /// ```
    /// use unified_scheduler::Strategy;
    /// assert!(Strategy::Portfolio.is_default());
    /// assert!(!Strategy::UniformRandom.is_default());
    /// ```
    pub fn is_default(self) -> bool {
        self == Self::Portfolio
    }

    /// The strategy seed `seed` runs: the portfolio's pick for it, any other strategy
    /// itself.
    ///
    /// ```
    /// use unified_scheduler::Strategy;
    /// assert_eq!(Strategy::Portfolio.for_seed(2), Strategy::Pct { depth: 2 });
    /// assert_eq!(Strategy::Urw.for_seed(3), Strategy::Urw);
    /// ```
    pub fn for_seed(self, seed: u64) -> Self {
        match self {
            Self::Portfolio => PORTFOLIO[(seed % PORTFOLIO.len() as u64) as usize],
            other => other,
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Portfolio => f.write_str("portfolio"),
            Self::UniformRandom => f.write_str("uniform"),
            Self::Pct { depth } => write!(f, "pct:{depth}"),
            Self::Urw => f.write_str("urw"),
        }
    }
}

/// A [`Strategy`] with the run length PCT was given, as `STRATEGY` spells it:
/// `pct:<depth>:k=<choices>`, `urw:from=<seed>`, or `pct:<depth>` / `uniform` / `urw` / `portfolio` with nothing learned.
///
/// ```
/// use unified_scheduler::{Strategy, StrategySpec};
///
/// let spec: StrategySpec = "pct:3:k=412".parse().unwrap();
/// assert_eq!(spec.strategy, Strategy::Pct { depth: 3 });
/// assert_eq!(spec.steps_hint, Some(412));
/// assert_eq!(spec.to_string(), "pct:3:k=412");
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StrategySpec {
    /// The strategy.
    pub strategy: Strategy,
    /// PCT's run length `k` in choice points, when the text gave one.
    pub steps_hint: Option<u64>,
    /// URW's: the seed whose uniform run its estimates are learned from (`urw:from=<seed>`),
    /// when the text gave one; else the run's first seed.
    pub learned_from: Option<u64>,
}

impl StrategySpec {
    /// A spec of `strategy` with run length `steps_hint`.
    ///
    /// ```
    /// use unified_scheduler::{Strategy, StrategySpec};
    /// let spec = StrategySpec::new(Strategy::Pct { depth: 2 }, Some(30));
    /// assert_eq!(spec.to_string(), "pct:2:k=30");
    /// ```
    pub fn new(strategy: Strategy, steps_hint: Option<u64>) -> Self {
        Self {
            strategy,
            steps_hint,
            learned_from: None,
        }
    }

    /// This spec, learned from the uniform run of `seed` (URW's `from=`).
    ///
    /// ```
    /// use unified_scheduler::{Strategy, StrategySpec};
    /// let spec = StrategySpec::new(Strategy::Urw, None).learned_from(Some(4));
    /// assert_eq!(spec.to_string(), "urw:from=4");
    /// ```
    #[must_use]
    pub fn learned_from(mut self, seed: Option<u64>) -> Self {
        self.learned_from = seed;
        self
    }
}

impl fmt::Display for StrategySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.strategy, self.steps_hint) {
            (Strategy::Pct { depth }, Some(k)) => write!(f, "pct:{depth}:k={k}"),
            (Strategy::Urw, _) if self.learned_from.is_some() => {
                write!(f, "urw:from={}", self.learned_from.unwrap_or_default())
            }
            (strategy, _) => write!(f, "{strategy}"),
        }
    }
}

/// Why a text is not a [`Strategy`]: it names the text and the accepted forms.
///
/// ```
/// use unified_scheduler::Strategy;
///
/// let error = "pct:zero".parse::<Strategy>().unwrap_err();
/// assert!(error.to_string().contains("\"pct:zero\""));
/// assert!(error.to_string().contains("pct:<depth>"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrategyParseError {
    value: String,
    why: &'static str,
}

impl fmt::Display for StrategyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a schedule strategy ({}); give one of `uniform`, `pct:<depth>` \
             (depth >= 1, e.g. `pct:3`), `pct:<depth>:k=<choices>` (e.g. `pct:3:k=412`), `urw`, \
             `urw:from=<seed>`, `portfolio`",
            self.value, self.why
        )
    }
}

impl core::error::Error for StrategyParseError {}

impl FromStr for StrategySpec {
    type Err = StrategyParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |why| StrategyParseError {
            value: String::from(text),
            why,
        };
        let trimmed = text.trim();
        let mut parts = trimmed.split(':');
        let name = parts.next().unwrap_or_default();
        let strategy = match name.to_ascii_lowercase().as_str() {
            "portfolio" => Strategy::Portfolio,
            "uniform" | "uniform_random" | "uniformrandom" => Strategy::UniformRandom,
            "urw" => {
                let learned_from = match parts.next() {
                    None => None,
                    Some(from) => {
                        let from = from
                            .strip_prefix("from=")
                            .ok_or_else(|| error("the part after urw must be `from=<seed>`"))?;
                        Some(
                            from.parse()
                                .map_err(|_| error("from is not a whole number"))?,
                        )
                    }
                };
                if parts.next().is_some() {
                    return Err(error("too many `:` parts"));
                }
                return Ok(Self::new(Strategy::Urw, None).learned_from(learned_from));
            }
            "pct" => {
                let depth = parts.next().ok_or_else(|| error("pct needs a depth"))?;
                let depth: u32 = depth
                    .parse()
                    .map_err(|_| error("the depth is not a whole number"))?;
                if depth == 0 {
                    return Err(error("the depth must be at least 1"));
                }
                let steps_hint = match parts.next() {
                    None => None,
                    Some(k) => {
                        let k = k
                            .strip_prefix("k=")
                            .ok_or_else(|| error("the part after the depth must be `k=<steps>`"))?;
                        let k: u64 = k.parse().map_err(|_| error("k is not a whole number"))?;
                        if k == 0 {
                            return Err(error("k must be at least 1"));
                        }
                        Some(k)
                    }
                };
                if parts.next().is_some() {
                    return Err(error("too many `:` parts"));
                }
                return Ok(Self::new(Strategy::Pct { depth }, steps_hint));
            }
            "" => return Err(error("it is empty")),
            _ => return Err(error("unknown name")),
        };
        if parts.next().is_some() {
            return Err(error("this strategy takes no parameters"));
        }
        Ok(Self::new(strategy, None))
    }
}

impl FromStr for Strategy {
    type Err = StrategyParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<StrategySpec>().map(|spec| spec.strategy)
    }
}

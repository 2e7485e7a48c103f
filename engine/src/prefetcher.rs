//! The prefetch pipeline a caller runs over a batch of commands before applying each: the cache
//! misses a command will take, started commands ahead, in stages, each stage reading lines the
//! one before fetched a command's work earlier.
//!
//! With three stages, before command `i` is applied:
//! - command `i + 3`: its index lines ([`Engine::prefetch_index`]);
//! - command `i + 2`: the order slot and links a cancel or an amend will most likely find, read
//!   from those index lines ([`Engine::prefetch_order`]), and the guess is kept;
//! - command `i + 1`: the lines that unlinking the guessed order rewrites (its neighbours' links,
//!   its id's ring place, its chain link), read from the order and links just fetched
//!   ([`Engine::prefetch_neighbours`]).
//!
//! The guess is carried from the second stage to the third instead of looked up again, so the
//! third stage costs no second index probe. The third stage and the second line of a straddling
//! order slot took a cancel's median latency on a 500k book from ~190 ns to ~54 ns (BENCHMARKS.md,
//! "Three prefetch stages, measured by latency"). Every stage is a hint: it changes no state and
//! no output, whatever the command (even one never applied) and however stale a guess.

use crate::engine::Engine;
use crate::order_guess::OrderGuess;
use crate::Command;

/// The most stages a [`Prefetcher`] runs.
pub const PREFETCH_STAGES: usize = 3;

/// Guesses in flight from the second stage to the third: a small ring indexed by the command's
/// position (a power of two above the stages' span).
const GUESSES: usize = 4;

/// The pipeline's state between commands: the guesses in flight.
#[derive(Debug, Clone)]
pub struct Prefetcher {
    stages: usize,
    guesses: [OrderGuess; GUESSES],
    /// (command position, guess) of every third stage run (the unit test checks the pairing).
    #[cfg(test)]
    third: Vec<(u64, OrderGuess)>,
}

impl Prefetcher {
    /// A pipeline of `stages` stages (at most [`PREFETCH_STAGES`]; 0 runs none): the first runs
    /// `stages` commands ahead, each later one a command nearer.
    pub fn new(stages: usize) -> Self {
        Self {
            stages: stages.min(PREFETCH_STAGES),
            guesses: [OrderGuess::NONE; GUESSES],
            #[cfg(test)]
            third: Vec::new(),
        }
    }

    /// Stages it runs.
    pub fn stages(&self) -> usize {
        self.stages
    }

    /// Runs the stages before command `i` is applied. `i` counts up by one from call to call
    /// (a caller's sequence or position); `ahead(k)` is the command `k` after it, if it may be
    /// read yet (within the batch), else `None`.
    #[inline(always)]
    pub fn before<'c>(&mut self, engine: &Engine, i: u64, ahead: impl Fn(usize) -> Option<&'c Command>) {
        let n = self.stages;
        if n == 0 {
            return;
        }
        if let Some(c) = ahead(n) {
            engine.prefetch_index(c);
        }
        if n < 2 {
            return;
        }
        let guess = ahead(n - 1).map_or(OrderGuess::NONE, |c| engine.prefetch_order(c));
        if n < 3 {
            return;
        }
        self.guesses[(i as usize + 2) % GUESSES] = guess;
        // Kept by the call before this one, for the command after this one.
        let guess = std::mem::replace(&mut self.guesses[(i as usize + 1) % GUESSES], OrderGuess::NONE);
        if ahead(1).is_some() {
            #[cfg(test)]
            self.third.push((i + 1, guess));
            engine.prefetch_neighbours(guess);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::btc_perp_spec;
    use crate::{Cancel, CommandKind, EngineConfig, NewOrder, OrderRef, Side};

    /// The third stage gets the guess the second made for the same command, in batches of any
    /// length, however the batches cut the pipeline.
    #[test]
    fn the_third_stage_gets_its_own_commands_guess() {
        let mut e = Engine::new(EngineConfig {
            max_orders: 4_096,
            max_open_orders_per_account: 4_096,
            ..EngineConfig::small()
        });
        let mut out = Vec::new();
        let add = Command { account: 0, timestamp_ns: 1, kind: CommandKind::AddInstrument(btc_perp_spec(1)) };
        e.apply(1, &add, &mut out);
        let mut seq = 1;
        let order =
            |cid: u64| CommandKind::NewOrder(NewOrder::limit_gtc(cid, 1, Side::Buy, 5_900_000 - 10 * (cid % 50), 1));
        for cid in 1..=2_000 {
            seq += 1;
            e.apply(seq, &Command { account: 1, timestamp_ns: 1, kind: order(cid) }, &mut out);
        }
        assert_eq!(e.live_orders(), 2_000, "{:?}", out.last());
        // Cancels of every third order, newest first, with new orders between.
        let cmds: Vec<Command> = (1..=600u64)
            .map(|k| {
                let kind = if k % 4 == 0 {
                    order(10_000 + k)
                } else {
                    CommandKind::Cancel(Cancel { order: OrderRef::Client(2_001 - 3 * k) })
                };
                Command { account: 1, timestamp_ns: 1, kind }
            })
            .collect();
        let mut p = Prefetcher::new(PREFETCH_STAGES);
        let mut batch_end = 0;
        // The second stage's guess for each command, as it ran (`NONE` where it did not).
        let mut second = vec![OrderGuess::NONE; cmds.len() + 2];
        for (i, c) in cmds.iter().enumerate() {
            if i > batch_end {
                batch_end = i + (i * 7) % 11;
            }
            if i + 2 <= batch_end && i + 2 < cmds.len() {
                second[i + 2] = e.prefetch_order(&cmds[i + 2]);
            }
            p.before(&e, i as u64, |k| cmds.get(i + k).filter(|_| i + k <= batch_end));
            seq += 1;
            e.apply(seq, c, &mut out);
        }
        let expected: Vec<(u64, OrderGuess)> = p.third.iter().map(|&(j, _)| (j, second[j as usize])).collect();
        assert_eq!(p.third, expected);
        let cancels = expected.iter().filter(|(_, g)| *g != OrderGuess::NONE).count();
        assert!(cancels > 250, "the batches left the third stage {cancels} cancels");
    }
}

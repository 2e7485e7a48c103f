//! The prefetch pipeline a caller runs over a batch of commands before applying each: the cache
//! misses a command will take, started commands ahead, in stages, each stage reading lines the
//! one before fetched a command's work earlier.
//!
//! With three stages [`PREFETCH_SPACING`] (`s`) commands apart, before command `i` is applied:
//! - command `i + 3s`: its index lines ([`Engine::prefetch_index`]);
//! - command `i + 2s`: the order slot and links a cancel or an amend will most likely find, read
//!   from those index lines ([`Engine::prefetch_order`]), and the guess is kept;
//! - command `i + s`: the lines that unlinking the guessed order rewrites (its neighbours' links,
//!   its id's ring place, its chain link), read from the order and links just fetched
//!   ([`Engine::prefetch_neighbours`]).
//!
//! Each stage reads what the one before started, so the gap between them has to outlast a miss:
//! one command apart (`s = 1`), a stage's reads often found the lines still on their way and
//! waited for them. Three commands apart, a 500k book took 0.81-0.85 of the time and a 100k book
//! 0.90-0.96 (BENCHMARKS.md, "prefetch stages three commands apart"). Five apart, with the command
//! stage moved out beyond the first stage, 0.90-0.95 and 0.96-0.98 of that again (BENCHMARKS.md,
//! "session 20"): at ~75-90 ns a command, three commands are less than one of this VM's ~250 ns
//! misses. Much further apart, the lines the first stage fetched are gone or stale when used.
//!
//! The guess is carried from the second stage to the third instead of looked up again, so the
//! third stage costs no second index probe. The third stage and the second line of a straddling
//! order slot took a cancel's median latency on a 500k book from ~190 ns to ~54 ns (BENCHMARKS.md,
//! "Three prefetch stages, measured by latency"). Every stage is a hint: it changes no state and
//! no output, whatever the command (even one never applied) and however stale a guess.
//!
//! Ahead of all of them runs the command stage, on every book: the lines of the command
//! [`COMMAND_AHEAD`] after the one applied. A batch's commands sit in memory one after another,
//! yet the hardware's stream prefetch did not keep them cached: on a book that fits the caches
//! applying a command waited for the command itself, and on a big book the first stage did, as it
//! reads the command whose index lines it starts (BENCHMARKS.md, "session 19").

use crate::engine::Engine;
use crate::order_guess::OrderGuess;
use crate::Command;

/// The most stages a [`Prefetcher`] runs.
pub const PREFETCH_STAGES: usize = 3;

/// Commands between one stage and the next (and between the last and the command applied).
pub const PREFETCH_SPACING: usize = 5;

/// Commands between the one applied and the one whose lines the command stage starts: at least
/// one spacing beyond the first book stage (15 ahead with the defaults), which reads its command,
/// so that command has arrived by then. With the stages off (a book that fits the caches), 4 to 24
/// measured alike (BENCHMARKS.md, "session 19").
pub const COMMAND_AHEAD: usize = 24;

/// Guesses in flight from the second stage to the third: a ring indexed by the command's position,
/// a power of two above the most spacing a [`Prefetcher`] takes.
const GUESSES: usize = 8;

/// The most spacing a [`Prefetcher`] takes: the guesses of that many commands are in flight.
pub const MAX_PREFETCH_SPACING: usize = GUESSES - 1;

/// The pipeline's state between commands: the guesses in flight.
#[derive(Debug, Clone)]
pub struct Prefetcher {
    stages: usize,
    spacing: usize,
    /// Where the command stage runs (0: it does not).
    command_ahead: usize,
    guesses: [OrderGuess; GUESSES],
    /// (command position, guess) of every third stage run (the unit test checks the pairing).
    #[cfg(test)]
    third: Vec<(u64, OrderGuess)>,
}

impl Prefetcher {
    /// A pipeline of `stages` stages (at most [`PREFETCH_STAGES`]; 0 runs none),
    /// [`PREFETCH_SPACING`] commands apart.
    pub fn new(stages: usize) -> Self {
        Self::with_spacing(stages, PREFETCH_SPACING)
    }

    /// A pipeline of `stages` stages `spacing` commands apart (1 to [`MAX_PREFETCH_SPACING`]): the
    /// first runs `stages * spacing` commands ahead, each later one `spacing` nearer. The command
    /// stage runs [`COMMAND_AHEAD`] ahead, or one spacing beyond the first stage where that is
    /// further.
    pub fn with_spacing(stages: usize, spacing: usize) -> Self {
        let stages = stages.min(PREFETCH_STAGES);
        let spacing = spacing.clamp(1, MAX_PREFETCH_SPACING);
        Self {
            stages,
            spacing,
            command_ahead: COMMAND_AHEAD.max((stages + 1) * spacing),
            guesses: [OrderGuess::NONE; GUESSES],
            #[cfg(test)]
            third: Vec::new(),
        }
    }

    /// Stages it runs.
    pub fn stages(&self) -> usize {
        self.stages
    }

    /// Commands between its stages.
    pub fn spacing(&self) -> usize {
        self.spacing
    }

    /// The same pipeline with its command stage `ahead` commands ahead (0: no command stage), for
    /// measuring it.
    pub fn with_command_ahead(self, ahead: usize) -> Self {
        Self { command_ahead: ahead, ..self }
    }

    /// Where its command stage runs (0: it does not).
    pub fn command_ahead(&self) -> usize {
        self.command_ahead
    }

    /// Runs the stages before command `i` is applied: the command stage always, the book stages
    /// when `book` (the caller asks [`Engine::prefetch_pays`] once a batch: on a book that fits the
    /// caches they cost more than they save). `i` counts up by one from call to call (a caller's
    /// sequence or position); `ahead(k)` is the command `k` after it, if it may be read yet
    /// (within the batch), else `None`.
    #[inline(always)]
    pub fn before<'c>(&mut self, engine: &Engine, i: u64, book: bool, ahead: impl Fn(usize) -> Option<&'c Command>) {
        if self.command_ahead > 0 {
            if let Some(c) = ahead(self.command_ahead) {
                crate::prefetch::prefetch_lines_of(c);
            }
        }
        let (n, s) = (self.stages, self.spacing);
        if n == 0 || !book {
            return;
        }
        if let Some(c) = ahead(n * s) {
            engine.prefetch_index(c);
        }
        if n < 2 {
            return;
        }
        let guess = ahead((n - 1) * s).map_or(OrderGuess::NONE, |c| engine.prefetch_order(c));
        if n < 3 {
            return;
        }
        self.guesses[(i as usize + 2 * s) % GUESSES] = guess;
        // Kept by the call `s` before this one, for the command `s` after this one.
        let guess = std::mem::replace(&mut self.guesses[(i as usize + s) % GUESSES], OrderGuess::NONE);
        if ahead(s).is_some() {
            #[cfg(test)]
            self.third.push((i + s as u64, guess));
            engine.prefetch_neighbours(guess);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::btc_perp_spec;
    use crate::{Cancel, CommandKind, EngineConfig, NewOrder, OrderRef, Side};

    /// The command stage runs beyond the first book stage, which reads its command, at every
    /// spacing; `with_command_ahead` moves it, 0 turns it off.
    #[test]
    fn the_command_stage_runs_beyond_the_first_book_stage() {
        assert_eq!(Prefetcher::new(PREFETCH_STAGES).command_ahead(), COMMAND_AHEAD);
        assert_eq!(Prefetcher::new(0).command_ahead(), COMMAND_AHEAD);
        for stages in 0..=PREFETCH_STAGES {
            for spacing in 1..=MAX_PREFETCH_SPACING {
                let ahead = Prefetcher::with_spacing(stages, spacing).command_ahead();
                assert!(
                    ahead >= (stages + 1) * spacing && ahead >= COMMAND_AHEAD,
                    "{stages} stages {spacing} apart: {ahead}"
                );
            }
        }
        assert_eq!(Prefetcher::new(PREFETCH_STAGES).with_command_ahead(0).command_ahead(), 0);
    }

    /// The third stage gets the guess the second made for the same command, at every spacing, in
    /// batches of any length, however the batches cut the pipeline.
    #[test]
    fn the_third_stage_gets_its_own_commands_guess() {
        for spacing in 1..=MAX_PREFETCH_SPACING {
            third_stage_pairing(spacing);
        }
    }

    fn third_stage_pairing(spacing: usize) {
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
        let mut p = Prefetcher::with_spacing(PREFETCH_STAGES, spacing);
        assert_eq!(p.spacing(), spacing);
        let second_ahead = 2 * spacing;
        let mut batch_end = 0;
        // The second stage's guess for each command, as it ran (`NONE` where it did not).
        let mut second = vec![OrderGuess::NONE; cmds.len() + second_ahead];
        for (i, c) in cmds.iter().enumerate() {
            if i > batch_end {
                // Lengths 0 to about eight stages' spans: some batches cut the pipeline.
                batch_end = i + (i.wrapping_mul(0x9E37_79B9) >> 8) % (8 * spacing + 7);
            }
            let j = i + second_ahead;
            if j <= batch_end && j < cmds.len() {
                second[j] = e.prefetch_order(&cmds[j]);
            }
            p.before(&e, i as u64, true, |k| cmds.get(i + k).filter(|_| i + k <= batch_end));
            seq += 1;
            e.apply(seq, c, &mut out);
        }
        let expected: Vec<(u64, OrderGuess)> = p.third.iter().map(|&(j, _)| (j, second[j as usize])).collect();
        assert_eq!(p.third, expected, "spacing {spacing}");
        let cancels = expected.iter().filter(|(_, g)| *g != OrderGuess::NONE).count();
        assert!(cancels > 200, "spacing {spacing}: the batches left the third stage {cancels} cancels");
    }
}

//! Inter-thread ring benchmark: matchd's `ring` vs `crossbeam_queue::ArrayQueue` vs the crates.io
//! `disruptor` crate, in the same run, with 64-byte events.
//!
//! Cases:
//! - `1p1c`: one producer thread, one consumer thread.
//! - `pipeline3`: producer -> journaller-like stage -> matcher-like stage (the matcher only sees what
//!   the journaller released; for the queue, the journaller forwards into a second queue).
//!
//! Each case/impl reports throughput (median of interleaved rounds, producer publishing one event at a
//! time as fast as it can) and hop latency from a separate paced run (one event every
//! `PACE_NS`, stamped with a monotonic clock at publish and read at consume): `hop_*` is producer
//! -> first consumer, `e2e_*` (pipeline only) producer -> last consumer.
//!
//! The machine has 2 cores: `1p1c` busy-spins (2 threads), `pipeline3` has 3 threads and so uses
//! yielding (and our adaptive) waits everywhere, including the producer when the ring is full.
//!
//! Usage: `ring [--quick]`. Prints one JSON line per case/impl, then a summary line.

use std::hint::black_box;
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use hdrhistogram::Histogram;
use ring::{Adaptive, BusySpin, RingBuilder, RingError, WaitStrategy, Yielding};

const CAPACITY: usize = 4096;
const PACE_NS: u64 = 10_000;

/// A 64-byte event, like a decoded command.
#[repr(C, align(64))]
#[derive(Clone, Copy, Default)]
struct Event {
    seq: u64,
    t_ns: u64,
    payload: [u64; 6],
}

const _: () = assert!(std::mem::size_of::<Event>() == 64);

fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("bounds")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wait {
    Spin,
    Yield,
    Adaptive,
}

impl Wait {
    /// How a queue-based stage (or the disruptor producer) idles.
    #[inline]
    fn idle(self) {
        match self {
            Wait::Spin => std::hint::spin_loop(),
            Wait::Yield | Wait::Adaptive => thread::yield_now(),
        }
    }
}

/// What one consumer stage does with each event: check order, fold, optionally record latency.
struct Stage {
    expected: u64,
    sum: u64,
    latency: Option<Histogram<u64>>,
}

impl Stage {
    fn new(latency: bool) -> Self {
        Self { expected: 0, sum: 0, latency: latency.then(histogram) }
    }

    #[inline]
    fn on(&mut self, e: &Event) {
        assert_eq!(e.seq, self.expected, "out of order");
        self.expected += 1;
        self.sum = self.sum.wrapping_add(e.payload[0] ^ e.payload[5]);
        if let Some(h) = &mut self.latency {
            h.saturating_record(now_ns().saturating_sub(e.t_ns));
        }
    }

    fn finish(self) -> Option<Histogram<u64>> {
        black_box(self.sum);
        self.latency
    }
}

/// Producer side of a run: the event for `i`, stamping and pacing when measuring latency.
struct Source {
    paced: bool,
    wait: Wait,
    next_ns: u64,
}

impl Source {
    fn new(paced: bool, wait: Wait) -> Self {
        Self { paced, wait, next_ns: now_ns() }
    }

    #[inline]
    fn fill(&mut self, i: u64, e: &mut Event) {
        if self.paced {
            self.next_ns += PACE_NS;
            while now_ns() < self.next_ns {
                self.wait.idle();
            }
            e.t_ns = now_ns();
        }
        e.seq = i;
        e.payload[0] = i;
        e.payload[5] = i.rotate_left(17);
    }
}

struct RunResult {
    elapsed: Duration,
    hop: Option<Histogram<u64>>,
    e2e: Option<Histogram<u64>>,
}

// ---------------------------------------------------------------- ours

fn ours<W: WaitStrategy>(wait: W, mode: Wait, pipeline: bool, n: u64, paced: bool) -> RunResult {
    let mut builder = RingBuilder::<Event, W>::new(CAPACITY, wait);
    let first = builder.consumer(&[]);
    if pipeline {
        builder.consumer(&[first]);
    }
    let (mut producer, consumers) = builder.build();
    let handles: Vec<_> = consumers
        .into_iter()
        .map(|mut c| {
            thread::spawn(move || {
                let mut stage = Stage::new(paced);
                loop {
                    match c.wait() {
                        Ok(range) => {
                            let hi = *range.end();
                            for s in range {
                                stage.on(c.get(s));
                            }
                            c.release(hi);
                        }
                        Err(RingError::Closed) => break,
                        Err(e) => panic!("{e}"),
                    }
                }
                stage.finish()
            })
        })
        .collect();
    let mut src = Source::new(paced, mode);
    let start = Instant::now();
    for i in 0..n {
        producer.publish_with(|e| src.fill(i, e)).expect("not halted");
    }
    drop(producer);
    let mut hists: Vec<_> = handles.into_iter().map(|h| h.join().expect("consumer")).collect();
    let elapsed = start.elapsed();
    let e2e = if pipeline { hists.pop().flatten() } else { None };
    RunResult { elapsed, hop: hists.pop().flatten(), e2e }
}

// ---------------------------------------------------------------- crossbeam ArrayQueue

fn array_queue(mode: Wait, pipeline: bool, n: u64, paced: bool) -> RunResult {
    let q1 = Arc::new(ArrayQueue::<Event>::new(CAPACITY));
    let q2 = Arc::new(ArrayQueue::<Event>::new(CAPACITY));
    let first = {
        let (q1, q2) = (Arc::clone(&q1), Arc::clone(&q2));
        thread::spawn(move || {
            let mut stage = Stage::new(paced);
            let mut seen = 0;
            while seen < n {
                match q1.pop() {
                    Some(e) => {
                        stage.on(&e);
                        seen += 1;
                        if pipeline {
                            let mut e = e;
                            while let Err(back) = q2.push(e) {
                                e = back;
                                mode.idle();
                            }
                        }
                    }
                    None => mode.idle(),
                }
            }
            stage.finish()
        })
    };
    let second = pipeline.then(|| {
        let q2 = Arc::clone(&q2);
        thread::spawn(move || {
            let mut stage = Stage::new(paced);
            let mut seen = 0;
            while seen < n {
                match q2.pop() {
                    Some(e) => {
                        stage.on(&e);
                        seen += 1;
                    }
                    None => mode.idle(),
                }
            }
            stage.finish()
        })
    });
    let mut src = Source::new(paced, mode);
    let start = Instant::now();
    for i in 0..n {
        let mut e = Event::default();
        src.fill(i, &mut e);
        while let Err(back) = q1.push(e) {
            e = back;
            mode.idle();
        }
    }
    let hop = first.join().expect("first");
    let e2e = second.and_then(|h| h.join().expect("second"));
    RunResult { elapsed: start.elapsed(), hop, e2e }
}

// ---------------------------------------------------------------- disruptor crate

#[derive(Clone, Copy)]
struct YieldWait;

impl disruptor::wait_strategies::WaitStrategy for YieldWait {
    fn wait_for(&self, _sequence: disruptor::Sequence) {
        thread::yield_now();
    }
}

fn disruptor_handler(
    paced: bool,
    n: u64,
    tx: mpsc::Sender<Option<Histogram<u64>>>,
) -> impl FnMut(&Event, disruptor::Sequence, bool) + Send + 'static {
    let mut stage = Some(Stage::new(paced));
    move |e: &Event, _seq, _end| {
        let s = stage.as_mut().expect("stage");
        s.on(e);
        if s.expected == n {
            tx.send(stage.take().expect("stage").finish()).expect("send");
        }
    }
}

fn disruptor_run<W>(wait: W, mode: Wait, pipeline: bool, n: u64, paced: bool) -> RunResult
where
    W: disruptor::wait_strategies::WaitStrategy + 'static,
{
    let (tx1, rx1) = mpsc::channel();
    let (tx2, rx2) = mpsc::channel();
    let builder = disruptor::build_single_producer(CAPACITY, Event::default, wait)
        .handle_events_with(disruptor_handler(paced, n, tx1));
    let mut src = Source::new(paced, mode);
    let run = |src: &mut Source, producer: &mut dyn FnMut(&mut Source, u64)| {
        let start = Instant::now();
        for i in 0..n {
            producer(src, i);
        }
        start
    };
    let start;
    if pipeline {
        let mut producer = builder.and_then().handle_events_with(disruptor_handler(paced, n, tx2)).build();
        start = run(&mut src, &mut |src, i| publish_disruptor(&mut producer, mode, src, i));
        drop(producer); // joins the processors after they drain
    } else {
        drop(tx2);
        let mut producer = builder.build();
        start = run(&mut src, &mut |src, i| publish_disruptor(&mut producer, mode, src, i));
        drop(producer);
    }
    let elapsed = start.elapsed();
    let hop = rx1.recv().expect("first stage result");
    let e2e = if pipeline { rx2.recv().expect("second stage result") } else { None };
    RunResult { elapsed, hop, e2e }
}

#[inline]
fn publish_disruptor<P: disruptor::Producer<Event>>(producer: &mut P, mode: Wait, src: &mut Source, i: u64) {
    if mode == Wait::Spin {
        // The crate's blocking publish busy-spins while the ring is full.
        producer.publish(|e| src.fill(i, e));
    } else {
        // Yield while full, so three threads on two cores make progress.
        let mut e = Event::default();
        src.fill(i, &mut e);
        while producer.try_publish(|slot| *slot = e).is_err() {
            thread::yield_now();
        }
    }
}

// ---------------------------------------------------------------- harness

type Runner = Box<dyn FnMut(u64, bool) -> RunResult>;

struct Candidate {
    case: &'static str,
    imp: &'static str,
    events: u64,
    run: Runner,
    rates: Vec<f64>,
    hop: Histogram<u64>,
    e2e: Option<Histogram<u64>>,
}

impl Candidate {
    fn new(case: &'static str, imp: &'static str, events: u64, run: Runner) -> Self {
        Self { case, imp, events, run, rates: Vec::new(), hop: histogram(), e2e: None }
    }

    fn throughput_run(&mut self) {
        let elapsed = (self.run)(self.events, false).elapsed;
        self.rates.push(self.events as f64 / elapsed.as_secs_f64());
    }

    fn latency_run(&mut self, samples: u64) {
        let r = (self.run)(samples, true);
        self.hop.add(r.hop.expect("hop histogram")).expect("same bounds");
        if let Some(h) = r.e2e {
            self.e2e.get_or_insert_with(histogram).add(h).expect("same bounds");
        }
    }

    fn events_per_sec(&self) -> f64 {
        let mut rates = self.rates.clone();
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    }

    fn print(&self, samples: u64) {
        let e2e = self
            .e2e
            .as_ref()
            .map(|h| {
                format!(",\"e2e_p50_ns\":{},\"e2e_p99_ns\":{}", h.value_at_quantile(0.5), h.value_at_quantile(0.99))
            })
            .unwrap_or_default();
        let (min, max) = self.rates.iter().fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        println!(
            "{{\"bench\":\"ring\",\"case\":\"{}\",\"impl\":\"{}\",\"events_per_sec\":{:.0},\"hop_p50_ns\":{},\
             \"hop_p99_ns\":{}{},\"events_per_sec_min\":{:.0},\"events_per_sec_max\":{:.0},\"events\":{},\"runs\":{},\
             \"latency_samples\":{},\"pace_ns\":{},\"capacity\":{},\"event_bytes\":64}}",
            self.case,
            self.imp,
            self.events_per_sec(),
            self.hop.value_at_quantile(0.5),
            self.hop.value_at_quantile(0.99),
            e2e,
            min,
            max,
            self.events,
            self.rates.len(),
            samples,
            PACE_NS,
            CAPACITY
        );
    }
}

/// 1-minute load average, to tell a quiet run from one sharing the cores with a build.
fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(-1.0)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // The box is noisy (2 shared cores): implementations are interleaved round by round so that
    // noise hits all of them alike; throughput is the median round, latency histograms are merged.
    let (n1, n3, rounds, samples) =
        if quick { (4_000_000, 2_000_000, 5, 20_000) } else { (20_000_000, 10_000_000, 9, 100_000) };
    now_ns();
    let load_start = loadavg();
    let (spin, y, ad) = (Wait::Spin, Wait::Yield, Wait::Adaptive);
    let mut candidates = vec![
        // 1P1C: two threads, busy-spin for everyone (plus our default adaptive for reference).
        Candidate::new("1p1c", "ring-busy-spin", n1, Box::new(move |n, p| ours(BusySpin, spin, false, n, p))),
        Candidate::new(
            "1p1c",
            "disruptor-busy-spin",
            n1,
            Box::new(move |n, p| disruptor_run(disruptor::BusySpinWithSpinLoopHint, spin, false, n, p)),
        ),
        Candidate::new("1p1c", "arrayqueue-busy-spin", n1, Box::new(move |n, p| array_queue(spin, false, n, p))),
        Candidate::new("1p1c", "ring-adaptive", n1, Box::new(move |n, p| ours(Adaptive::default(), ad, false, n, p))),
        // Pipeline: three threads on two cores, so nobody busy-spins.
        Candidate::new(
            "pipeline3",
            "ring-yielding",
            n3,
            Box::new(move |n, p| ours(Yielding::default(), y, true, n, p)),
        ),
        Candidate::new(
            "pipeline3",
            "ring-adaptive",
            n3,
            Box::new(move |n, p| ours(Adaptive::default(), ad, true, n, p)),
        ),
        Candidate::new(
            "pipeline3",
            "disruptor-yielding",
            n3,
            Box::new(move |n, p| disruptor_run(YieldWait, y, true, n, p)),
        ),
        Candidate::new("pipeline3", "arrayqueue-yielding", n3, Box::new(move |n, p| array_queue(y, true, n, p))),
    ];
    for _ in 0..rounds {
        for c in &mut candidates {
            c.throughput_run();
        }
    }
    let per_round = samples / rounds as u64;
    for _ in 0..rounds {
        for c in &mut candidates {
            c.latency_run(per_round);
        }
    }
    for c in &candidates {
        c.print(per_round * rounds as u64);
    }

    let find = |case: &str, imp: &str| candidates.iter().find(|c| c.case == case && c.imp == imp).expect("result");
    let mut summary = String::from("{\"bench\":\"ring\",\"case\":\"summary\"");
    for (case, ours_imp, peers) in [
        ("1p1c", "ring-busy-spin", ["disruptor-busy-spin", "arrayqueue-busy-spin"]),
        ("pipeline3", "ring-yielding", ["disruptor-yielding", "arrayqueue-yielding"]),
        ("pipeline3", "ring-adaptive", ["disruptor-yielding", "arrayqueue-yielding"]),
    ] {
        let o = find(case, ours_imp);
        for peer in peers {
            let p = find(case, peer);
            let tag = format!("{case}_{}_vs_{}", ours_imp.trim_start_matches("ring-"), peer);
            summary.push_str(&format!(
                ",\"{tag}_throughput_ratio\":{:.2},\"{tag}_hop_p50_ratio\":{:.2},\"{tag}_hop_p99_ratio\":{:.2}",
                o.events_per_sec() / p.events_per_sec(),
                o.hop.value_at_quantile(0.5) as f64 / p.hop.value_at_quantile(0.5).max(1) as f64,
                o.hop.value_at_quantile(0.99) as f64 / p.hop.value_at_quantile(0.99).max(1) as f64,
            ));
        }
    }
    summary.push_str(&format!(
        ",\"cores\":{},\"loadavg_start\":{load_start},\"loadavg_end\":{},\"quick\":{quick}}}",
        thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    ));
    println!("{summary}");
}

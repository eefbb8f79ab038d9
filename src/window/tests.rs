//! The engine against plain reference evaluators, the contract's examples,
//! and its limits.

use std::collections::{BTreeMap, BTreeSet};

use super::sequence::Where;
use super::*;

const MIN: Ticks = 60 * TICKS_PER_SECOND;

/// A tiny deterministic PRNG (64-bit LCG, high bits out).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// An owned event, as a test builds it.
#[derive(Debug, Clone)]
struct Ev {
    time: Ticks,
    tie: TieKey,
    key: Vec<String>,
    distinct: Vec<Option<String>>,
    steps: u64,
    payload: u64,
}

impl Ev {
    fn new(time: Ticks, key: &str, payload: u64) -> Self {
        Self {
            time,
            tie: TieKey::from_hash(payload.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            key: vec![key.to_string()],
            distinct: Vec::new(),
            steps: 0,
            payload,
        }
    }

    fn values(mut self, values: &[Option<&str>]) -> Self {
        self.distinct = values.iter().map(|v| v.map(str::to_string)).collect();
        self
    }

    fn steps(mut self, steps: u64) -> Self {
        self.steps = steps;
        self
    }
}

/// Pushes an owned event into either state.
trait State {
    fn push_event(&mut self, event: Event<'_>) -> Result<Admission, LimitError>;
    fn advance_to(&mut self, watermark: Ticks) -> Vec<Episode>;
    fn finish_all(&mut self) -> Vec<Episode>;

    fn push_ev(&mut self, ev: &Ev) -> Result<Admission, LimitError> {
        let key = Key::new(ev.key.iter().map(String::as_str));
        let distinct: Vec<Option<&str>> = ev.distinct.iter().map(|v| v.as_deref()).collect();
        let event = Event::new(ev.time, ev.tie, &key, ev.payload)
            .with_distinct(&distinct)
            .with_steps(ev.steps);
        self.push_event(event)
    }
}

impl State for WindowState {
    fn push_event(&mut self, event: Event<'_>) -> Result<Admission, LimitError> {
        self.push(event)
    }
    fn advance_to(&mut self, watermark: Ticks) -> Vec<Episode> {
        self.advance(watermark)
    }
    fn finish_all(&mut self) -> Vec<Episode> {
        self.finish()
    }
}

/// A sequence state with its `where`.
struct Seq<'a> {
    state: SequenceState,
    holds: Where<'a>,
}

impl State for Seq<'_> {
    fn push_event(&mut self, event: Event<'_>) -> Result<Admission, LimitError> {
        self.state.push(event)
    }
    fn advance_to(&mut self, watermark: Ticks) -> Vec<Episode> {
        self.state.advance(watermark, self.holds)
    }
    fn finish_all(&mut self) -> Vec<Episode> {
        self.state.finish(self.holds)
    }
}

fn always(_: usize, _: u64, _: usize, _: u64) -> bool {
    true
}

/// All events at once, in the given order, then `finish`.
fn run_once(state: &mut dyn State, events: &[Ev]) -> Vec<Episode> {
    for ev in events {
        assert_eq!(state.push_ev(ev), Ok(Admission::Accepted));
    }
    state.finish_all()
}

/// Events shuffled and fed as a live stream: each watermark comes after
/// every event at or before it (and some later ones) was pushed.
fn run_stream(state: &mut dyn State, events: &[Ev], rng: &mut Lcg) -> Vec<Episode> {
    let mut order: Vec<Ev> = events.to_vec();
    rng.shuffle(&mut order);
    if order.is_empty() {
        return state.finish_all();
    }
    let (lo, hi) = events.iter().fold((Ticks::MAX, Ticks::MIN), |(lo, hi), e| {
        (lo.min(e.time), hi.max(e.time))
    });
    let mut marks: Vec<Ticks> = (0..rng.below(6))
        .map(|_| lo + rng.below((hi - lo + 1).max(1) as u64) as Ticks)
        .collect();
    marks.sort_unstable();
    let mut pushed = vec![false; order.len()];
    let mut out = Vec::new();
    for mark in marks {
        for (i, ev) in order.iter().enumerate() {
            if !pushed[i] && (ev.time <= mark || rng.below(4) == 0) {
                assert_eq!(state.push_ev(ev), Ok(Admission::Accepted));
                pushed[i] = true;
            }
        }
        out.extend(state.advance_to(mark));
    }
    for (i, ev) in order.iter().enumerate() {
        if !pushed[i] {
            assert_eq!(state.push_ev(ev), Ok(Admission::Accepted));
        }
    }
    out.extend(state.finish_all());
    out
}

/// The events with one record's repeats left out: of the events with the
/// same key, time and tie (one record delivered again), the one with the
/// lowest payload (the first pushed).
fn without_repeats(events: &[Ev]) -> Vec<Ev> {
    let mut sorted = events.to_vec();
    sorted.sort_by(|a, b| {
        (&a.key, a.time, a.tie, a.payload).cmp(&(&b.key, b.time, b.tie, b.payload))
    });
    sorted.dedup_by(|later, first| {
        (&later.key, later.time, later.tie) == (&first.key, first.time, first.tie)
    });
    sorted
}

fn key_of(parts: &[String]) -> Box<[Box<str>]> {
    parts.iter().map(|p| Box::from(p.as_str())).collect()
}

/// The window semantics written for clarity: per group, in `(time, tie)`
/// order, the window of each record is every unconsumed record of the group
/// within `span` before it; the first window where the condition holds is
/// an episode, and all its records are consumed.
fn reference_windows(spec: &WindowSpec, limits: &Limits, events: &[Ev]) -> Vec<Episode> {
    let mut groups: BTreeMap<Vec<String>, Vec<&Ev>> = BTreeMap::new();
    let events = without_repeats(events);
    for ev in &events {
        groups.entry(ev.key.clone()).or_default().push(ev);
    }
    let mut out = Vec::new();
    for (key, mut evs) in groups {
        evs.sort_by_key(|e| (e.time, e.tie, e.payload));
        let mut window: Vec<&Ev> = Vec::new();
        for ev in evs {
            window.retain(|w| w.time >= ev.time - spec.span);
            window.push(ev);
            let distinct: Vec<Vec<&str>> = (0..spec.distinct.len())
                .map(|f| {
                    let mut seen = Vec::new();
                    for w in &window {
                        if let Some(Some(v)) = w.distinct.get(f)
                            && !seen.contains(&v.as_str())
                        {
                            seen.push(v.as_str());
                        }
                    }
                    seen
                })
                .collect();
            let holds = spec.count.is_none_or(|t| t.holds(window.len() as u64))
                && spec
                    .distinct
                    .iter()
                    .zip(&distinct)
                    .all(|(t, seen)| t.holds(seen.len() as u64));
            if holds {
                out.push(Episode {
                    key: key_of(&key),
                    first: window[0].time,
                    last: ev.time,
                    count: window.len() as u64,
                    distinct: distinct
                        .iter()
                        .map(|seen| DistinctSummary {
                            values: seen
                                .iter()
                                .take(limits.max_values)
                                .map(|v| Box::from(*v))
                                .collect(),
                            total: seen.len() as u64,
                        })
                        .collect(),
                    contributors: Records {
                        payloads: window
                            .iter()
                            .take(limits.max_contributors)
                            .map(|w| w.payload)
                            .collect(),
                        total: window.len() as u64,
                    },
                    completed_by: ev.payload,
                    steps: Vec::new(),
                    completed_tie: ev.tie,
                });
                window.clear();
            }
        }
    }
    sort_episodes(&mut out);
    out
}

fn random_threshold(rng: &mut Lcg, typical: u64) -> Threshold {
    let cmp = match rng.below(8) {
        0 => Cmp::Gt,
        1 => Cmp::Lt,
        2 => Cmp::Lte,
        3 => Cmp::Eq,
        _ => Cmp::Gte,
    };
    Threshold {
        cmp,
        value: typical,
    }
}

/// Background noise, plus per group a burst that just meets the distinct
/// threshold, one a value short, one spread one tick past the span, and one
/// spread exactly over the span.
fn generate_windows(rng: &mut Lcg, spec: &WindowSpec, payload: &mut u64) -> Vec<Ev> {
    let width = spec.distinct.len();
    let need = spec.distinct.first().map_or(3, |t| t.value.max(1));
    let mut events = Vec::new();
    let mut ev = |rng: &mut Lcg, time: Ticks, key: &str, value: Option<String>| {
        *payload += 1;
        let values: Vec<Option<String>> = (0..width)
            .map(|f| {
                if f == 0 {
                    value.clone()
                } else if rng.below(5) == 0 {
                    None
                } else {
                    Some(format!("w{}", rng.below(4)))
                }
            })
            .collect();
        let mut e = Ev::new(time, key, *payload);
        e.distinct = values;
        if rng.below(3) == 0 {
            // A coarse tie key makes equal (time, tie) pairs too.
            e.tie = TieKey::from_hash(rng.below(3));
        }
        e
    };
    let keys = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
    for _ in 0..rng.below(40) {
        let key = keys[rng.below(3) as usize];
        let time = (rng.below(200) * 10) as Ticks;
        let value = (rng.below(6) > 0).then(|| format!("u{}", rng.below(8)));
        events.push(ev(rng, time, key, value));
    }
    let span = spec.span;
    for (k, key) in keys.iter().enumerate() {
        let base = 3000 + (k as Ticks) * 5000;
        // Just enough distinct values, spread within the span.
        let shapes: [(u64, Ticks); 4] = [
            (need, span),
            (need.saturating_sub(1), span),
            (need, span + 1),
            (need, span),
        ];
        for (s, (n, spread)) in shapes.iter().enumerate() {
            let start = base + (s as Ticks) * (4 * span + 100);
            for i in 0..*n {
                let time = if *n <= 1 {
                    start
                } else {
                    start + spread * i as Ticks / (*n as Ticks - 1)
                };
                events.push(ev(rng, time, key, Some(format!("b{s}-{i}"))));
            }
        }
    }
    events
}

fn random_window_spec(rng: &mut Lcg) -> WindowSpec {
    let span = [0, 10, 100, 250, 1000][rng.below(5) as usize];
    let count = (rng.below(3) == 0).then(|| {
        let value = 1 + rng.below(6);
        random_threshold(rng, value)
    });
    let distinct = (0..rng.below(3))
        .map(|_| {
            let value = 1 + rng.below(5);
            random_threshold(rng, value)
        })
        .collect();
    WindowSpec {
        span,
        count,
        distinct,
    }
}

#[test]
fn windows_equal_the_reference_whatever_the_order_and_split() {
    for seed in 0..300 {
        let mut rng = Lcg(seed);
        let spec = random_window_spec(&mut rng);
        let limits = Limits {
            max_contributors: 1 + rng.below(6) as usize,
            max_values: 1 + rng.below(4) as usize,
            ..Limits::default()
        };
        let mut payload = 0;
        let events = generate_windows(&mut rng, &spec, &mut payload);
        let expected = reference_windows(&spec, &limits, &events);

        let mut once = WindowState::new(spec.clone(), limits);
        let mut shuffled = events.clone();
        rng.shuffle(&mut shuffled);
        assert_eq!(
            run_once(&mut once, &shuffled),
            expected,
            "seed {seed}: {spec:?}"
        );
        assert_eq!(once.intake.retained, 0);
        assert_eq!(
            once.intake.keys.live() + once.values.live(),
            0,
            "seed {seed}"
        );

        let mut stream = WindowState::new(spec.clone(), limits);
        let got = run_stream(&mut stream, &events, &mut rng);
        assert_eq!(got, expected, "seed {seed} streamed: {spec:?}");
        assert_eq!(stream.intake.late, 0);
        assert_eq!(stream.intake.retained, 0);
    }
}

/// `n` failures for one address, one account a minute.
fn accounts(n: u64, ip: &str) -> Vec<Ev> {
    (0..n)
        .map(|i| {
            let account = format!("user{i}@contoso.com");
            Ev::new(i as Ticks * MIN, ip, i).values(&[Some(&account)])
        })
        .collect()
}

#[test]
fn a_burst_of_twelve_accounts_gives_two_episodes() {
    let spec = WindowSpec {
        span: 20 * MIN,
        count: None,
        distinct: vec![Threshold::gte(5)],
    };
    let mut state = WindowState::new(spec, Limits::default());
    let episodes = run_once(&mut state, &accounts(12, "203.0.113.7"));
    assert_eq!(episodes.len(), 2);
    assert_eq!(episodes[0].contributors.payloads, vec![0, 1, 2, 3, 4]);
    assert_eq!(episodes[0].completed_by, 4);
    assert_eq!((episodes[0].first, episodes[0].last), (0, 4 * MIN));
    assert_eq!(episodes[1].contributors.payloads, vec![5, 6, 7, 8, 9]);
    assert_eq!(episodes[1].distinct[0].total, 5);
    assert_eq!(&*episodes[1].distinct[0].values[0], "user5@contoso.com");
    assert_eq!(&*episodes[1].key[0], "203.0.113.7");
}

#[test]
fn a_password_spray_fires_per_address() {
    // 10 attempts on 6 accounts from one address within 20 minutes; the
    // other address tries 10 times but only 4 accounts.
    let spec = WindowSpec {
        span: 20 * MIN,
        count: Some(Threshold::gte(10)),
        distinct: vec![Threshold::gte(5)],
    };
    let mut events = Vec::new();
    for i in 0..10u64 {
        let a = format!("u{}", i % 6);
        let b = format!("u{}", i % 4);
        events.push(Ev::new(i as Ticks * MIN, "198.51.100.1", i).values(&[Some(&a)]));
        events.push(Ev::new(i as Ticks * MIN, "198.51.100.2", 100 + i).values(&[Some(&b)]));
    }
    let mut state = WindowState::new(spec, Limits::default());
    let episodes = run_once(&mut state, &events);
    assert_eq!(episodes.len(), 1);
    assert_eq!(&*episodes[0].key[0], "198.51.100.1");
    assert_eq!(episodes[0].count, 10);
    assert_eq!(episodes[0].distinct[0].total, 6);
}

#[test]
fn windows_are_inclusive_of_the_span() {
    let spec = WindowSpec {
        span: 20 * MIN,
        count: Some(Threshold::gte(2)),
        distinct: Vec::new(),
    };
    let pair = |gap| vec![Ev::new(0, "k", 1), Ev::new(gap, "k", 2)];
    let mut state = WindowState::new(spec.clone(), Limits::default());
    assert_eq!(run_once(&mut state, &pair(20 * MIN)).len(), 1);
    let mut state = WindowState::new(spec, Limits::default());
    assert!(run_once(&mut state, &pair(20 * MIN + 1)).is_empty());
}

#[test]
fn absent_values_count_for_count_but_not_distinct() {
    let spec = WindowSpec {
        span: 10,
        count: Some(Threshold::gte(3)),
        distinct: vec![Threshold::gte(2)],
    };
    let events = vec![
        Ev::new(0, "k", 1).values(&[None]),
        Ev::new(1, "k", 2).values(&[Some("a")]),
        Ev::new(2, "k", 3).values(&[None]),
        Ev::new(3, "k", 4).values(&[Some("b")]),
    ];
    let mut state = WindowState::new(spec, Limits::default());
    let episodes = run_once(&mut state, &events);
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].completed_by, 4);
    assert_eq!(episodes[0].count, 4);
}

#[test]
fn ties_in_time_break_by_tie_key_not_push_order() {
    let spec = WindowSpec {
        span: 0,
        count: Some(Threshold::gte(2)),
        distinct: Vec::new(),
    };
    let mk = |id: &str, payload| {
        let mut e = Ev::new(5, "k", payload);
        e.tie = TieKey::from_id(id);
        e
    };
    let events = vec![
        mk("00000000-0000-0000-0000-00000000000C", 3),
        mk("00000000-0000-0000-0000-00000000000a", 1),
        mk("00000000-0000-0000-0000-00000000000b", 2),
    ];
    for rotation in 0..3 {
        let mut evs = events.clone();
        evs.rotate_left(rotation);
        let mut state = WindowState::new(spec.clone(), Limits::default());
        let episodes = run_once(&mut state, &evs);
        assert_eq!(episodes.len(), 1);
        assert_eq!(episodes[0].contributors.payloads, vec![1, 2]);
        assert_eq!(episodes[0].completed_by, 2);
    }
}

#[test]
fn a_record_delivered_twice_is_used_once() {
    let spec = WindowSpec {
        span: 100,
        count: Some(Threshold::gte(2)),
        distinct: vec![Threshold::gte(1)],
    };
    let mut state = WindowState::new(spec.clone(), Limits::default());
    let mut first = Ev::new(5, "k", 1);
    first.distinct = vec![Some("a".into())];
    let mut again = first.clone();
    again.payload = 2;
    let mut other = first.clone();
    other.payload = 3;
    other.tie = TieKey::from_hash(77);
    // Twice the same record: not two records.
    assert!(run_once(&mut state, &[again.clone(), first.clone()]).is_empty());
    assert_eq!(state.take_repeats(), [2]);
    assert_eq!(state.intake.retained, 0);
    assert_eq!(state.intake.keys.live() + state.values.live(), 0);
    // Another record at the same time is one.
    let mut state = WindowState::new(spec, Limits::default());
    let episodes = run_once(&mut state, &[first, again, other]);
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].contributors.payloads.len(), 2);
    assert_eq!(state.take_repeats(), [2]);
}

#[test]
fn guid_tie_keys_order_like_their_text() {
    let a = TieKey::from_id("0a000000-0000-0000-0000-000000000000");
    let b = TieKey::from_id("0B000000-0000-0000-0000-000000000000");
    let c = TieKey::from_id("10000000-0000-0000-0000-000000000000");
    assert!(a < b && b < c);
    assert_eq!(TieKey::from_id("x-1"), TieKey::from_id("x-1"));
    assert_ne!(TieKey::from_id("x-1"), TieKey::from_id("x-2"));
}

#[test]
fn the_retained_limit_is_an_error_never_a_drop() {
    let limits = Limits {
        max_retained: 3,
        ..Limits::default()
    };
    let spec = WindowSpec {
        span: 10,
        count: Some(Threshold::gte(100)),
        distinct: Vec::new(),
    };
    let mut state = WindowState::new(spec, limits);
    for i in 0..3 {
        assert_eq!(
            state.push_ev(&Ev::new(i, "k", i as u64)),
            Ok(Admission::Accepted)
        );
    }
    let err = state.push_ev(&Ev::new(3, "k", 3)).unwrap_err();
    assert_eq!(err.max_retained, 3);
    assert_eq!(err.to_string(), "more than 3 records retained at once");
    // Once the watermark lets old events go, there is room again.
    assert!(state.advance(100).is_empty());
    assert_eq!(state.intake.retained, 0);
    assert_eq!(
        state.push_ev(&Ev::new(200, "k", 4)),
        Ok(Admission::Accepted)
    );

    let mut seq = SequenceState::new(
        SequenceSpec {
            span: 10,
            ordered: true,
            steps: vec![StepSpec::at_least(5), StepSpec::at_least(1)],
        },
        limits,
    );
    for i in 0..3 {
        let ev = Ev::new(i, "k", i as u64).steps(1);
        let key = Key::new(ev.key.iter().map(String::as_str));
        let event = Event::new(ev.time, ev.tie, &key, ev.payload).with_steps(ev.steps);
        assert_eq!(seq.push(event), Ok(Admission::Accepted));
    }
    let key = Key::new(["k"]);
    let event = Event::new(3, TieKey::default(), &key, 3).with_steps(1);
    assert!(seq.push(event).is_err());
}

#[test]
fn late_events_are_counted_and_not_used() {
    let spec = WindowSpec {
        span: 10,
        count: Some(Threshold::gte(2)),
        distinct: Vec::new(),
    };
    let mut state = WindowState::new(spec, Limits::default());
    assert_eq!(state.push_ev(&Ev::new(5, "k", 1)), Ok(Admission::Accepted));
    assert!(state.advance(10).is_empty());
    assert_eq!(state.push_ev(&Ev::new(10, "k", 2)), Ok(Admission::Late));
    assert_eq!(state.push_ev(&Ev::new(3, "k", 3)), Ok(Admission::Late));
    assert_eq!(state.intake.late, 2);
    // A watermark never moves back.
    assert!(state.advance(0).is_empty());
    assert_eq!(state.push_ev(&Ev::new(9, "k", 4)), Ok(Admission::Late));
    assert_eq!(state.push_ev(&Ev::new(11, "k", 5)), Ok(Admission::Accepted));
    let episodes = state.finish();
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].contributors.payloads, vec![1, 5]);
    assert_eq!(state.intake.late, 3);
    assert_eq!(state.push_ev(&Ev::new(50, "k", 6)), Ok(Admission::Late));
}

#[test]
fn memory_per_retained_event() {
    assert_eq!(size_of::<Pending>(), 40);
    assert_eq!(size_of::<sliding::Active>(), 16);
    assert_eq!(size_of::<sequence::SeqEvent>(), 24);
    // 100,000 buffered events over 1,000 keys and 5,000 values, then the
    // same kept in windows (nothing fires), one distinct field.
    let n = 100_000u64;
    let spec = WindowSpec {
        span: Ticks::MAX / 4,
        count: Some(Threshold::gte(u64::MAX)),
        distinct: vec![Threshold::gte(u64::MAX)],
    };
    let mut state = WindowState::new(spec, Limits::default());
    for i in 0..n {
        let key = format!("10.0.{}.{}", i % 1000 / 250, i % 250);
        let value = format!("user{}@contoso.com", i % 5000);
        let ev = Ev::new(i as Ticks, &key, i).values(&[Some(&value)]);
        state.push_ev(&ev).unwrap();
    }
    let buffered = state.retained_bytes() as f64 / n as f64;
    assert!(state.advance(n as Ticks).is_empty());
    assert_eq!(state.intake.retained, n as usize);
    let windowed = state.retained_bytes() as f64 / n as f64;
    eprintln!("window: {buffered:.1} bytes/event buffered, {windowed:.1} in windows");
    assert!(buffered < 2.0 * 44.0 + 10.0, "{buffered}");
    assert!(windowed < 2.0 * 20.0 + 20.0, "{windowed}");

    // The same for a sequence whose second step never comes.
    let spec = SequenceSpec {
        span: Ticks::MAX / 4,
        ordered: true,
        steps: vec![StepSpec::at_least(1), StepSpec::at_least(1)],
    };
    let mut state = SequenceState::new(spec, Limits::default());
    for i in 0..n {
        let key = format!("10.0.{}.{}", i % 1000 / 250, i % 250);
        let ev = Ev::new(i as Ticks, &key, i).steps(1);
        let key = Key::new([ev.key[0].as_str()]);
        let event = Event::new(ev.time, ev.tie, &key, ev.payload).with_steps(ev.steps);
        state.push(event).unwrap();
    }
    let buffered = state.retained_bytes() as f64 / n as f64;
    assert!(state.advance(n as Ticks, &always).is_empty());
    assert_eq!(state.intake.retained, n as usize);
    let grouped = state.retained_bytes() as f64 / n as f64;
    eprintln!("sequence: {buffered:.1} bytes/event buffered, {grouped:.1} in groups");
    assert!(buffered < 2.0 * 48.0 + 10.0, "{buffered}");
    assert!(grouped < 2.0 * 24.0 + 10.0, "{grouped}");
}

#[test]
fn a_hot_group_that_never_completes_stays_cheap() {
    // 200,000 failures for one account within the span, and no success
    // after them: no search runs, since a failure cannot complete the
    // ordered sequence and the only success came first.
    let mut state = SequenceState::new(brute_force_spec(), Limits::default());
    let key = Key::new(["frank"]);
    let success = Event::new(0, TieKey::from_hash(0), &key, 0).with_steps(0b10);
    state.push(success).unwrap();
    for i in 1..200_000u64 {
        let event = Event::new(i as Ticks, TieKey::from_hash(i), &key, i).with_steps(1);
        state.push(event).unwrap();
    }
    assert!(state.finish(&always).is_empty());
}

// ---------------------------------------------------------------- sequences

/// Payload → IP address, for `where`s.
fn ip_of(payload: u64) -> u64 {
    payload / 1000
}

fn same_ip(_: usize, later: u64, _: usize, earlier: u64) -> bool {
    ip_of(later) == ip_of(earlier)
}

fn brute_force_spec() -> SequenceSpec {
    SequenceSpec {
        span: 20 * MIN,
        ordered: true,
        steps: vec![StepSpec::at_least(10), StepSpec::at_least(1)],
    }
}

#[test]
fn brute_force_then_success_from_the_same_address() {
    // 12 failures from address 1 and 5 from address 2, a minute apart,
    // then a success from address 1.
    let mut events = Vec::new();
    for i in 0..12 {
        events.push(Ev::new(i * MIN, "frank", 1000 + i as u64).steps(0b01));
    }
    for i in 0..5 {
        events.push(Ev::new(i * MIN + 30, "frank", 2000 + i as u64).steps(0b01));
    }
    events.push(Ev::new(13 * MIN, "frank", 1999).steps(0b10));
    let mut rng = Lcg(7);
    rng.shuffle(&mut events);
    let mut state = Seq {
        state: SequenceState::new(brute_force_spec(), Limits::default()),
        holds: &same_ip,
    };
    let episodes = run_once(&mut state, &events);
    assert_eq!(episodes.len(), 1, "{episodes:?}");
    let e = &episodes[0];
    assert_eq!(e.completed_by, 1999);
    assert_eq!(e.steps[0].total, 12);
    assert!(e.steps[0].payloads.iter().all(|&p| ip_of(p) == 1));
    assert_eq!(e.steps[1].payloads, vec![1999]);
    assert_eq!((e.first, e.last, e.count), (0, 13 * MIN, 13));

    // From another address, or too few failures, or too late: nothing.
    let mut state = Seq {
        state: SequenceState::new(brute_force_spec(), Limits::default()),
        holds: &same_ip,
    };
    let mut other = events.clone();
    for e in &mut other {
        if e.payload == 1999 {
            e.payload = 3999;
        }
    }
    assert!(run_once(&mut state, &other).is_empty());

    let mut state = Seq {
        state: SequenceState::new(brute_force_spec(), Limits::default()),
        holds: &same_ip,
    };
    let mut late: Vec<Ev> = events.clone();
    for e in &mut late {
        if e.payload == 1999 {
            // 20 minutes after the third failure: only 9 within the span.
            e.time = 22 * MIN + 1;
        }
    }
    let few: Vec<Ev> = late.into_iter().filter(|e| ip_of(e.payload) != 2).collect();
    assert!(run_once(&mut state, &few).is_empty());
}

#[test]
fn ordered_steps_respect_time_and_allow_equal_times() {
    let spec = SequenceSpec {
        span: 100,
        ordered: true,
        steps: vec![StepSpec::at_least(1), StepSpec::at_least(1)],
    };
    // B before A: no sequence; A and B at the same time: in order, even
    // when B breaks the tie first.
    let mut state = Seq {
        state: SequenceState::new(spec.clone(), Limits::default()),
        holds: &always,
    };
    let before = vec![
        Ev::new(0, "k", 1).steps(0b10),
        Ev::new(5, "k", 2).steps(0b01),
    ];
    assert!(run_once(&mut state, &before).is_empty());
    let mut a = Ev::new(5, "k", 1).steps(0b01);
    a.tie = TieKey::from_hash(9);
    let mut b = Ev::new(5, "k", 2).steps(0b10);
    b.tie = TieKey::from_hash(1);
    let mut state = Seq {
        state: SequenceState::new(spec.clone(), Limits::default()),
        holds: &always,
    };
    let episodes = run_once(&mut state, &[a, b]);
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].completed_by, 1);
    // Unordered: B then A is fine.
    let mut state = Seq {
        state: SequenceState::new(
            SequenceSpec {
                ordered: false,
                ..spec
            },
            Limits::default(),
        ),
        holds: &always,
    };
    assert_eq!(run_once(&mut state, &before).len(), 1);
}

fn graph_spec() -> SequenceSpec {
    SequenceSpec {
        span: 60 * MIN,
        ordered: false,
        steps: vec![StepSpec::at_least(1), StepSpec::absent()],
    }
}

#[test]
fn a_graph_call_with_no_sign_in() {
    let call = |t, token: &str, p| Ev::new(t, token, p).steps(0b01);
    let sign_in = |t, token: &str, p| Ev::new(t, token, p).steps(0b10);
    let events = vec![
        call(100 * MIN, "t1", 1),
        sign_in(130 * MIN, "t1", 2), // after, within the span
        call(100 * MIN, "t2", 3),    // no sign-in at all
        call(100 * MIN, "t3", 4),
        sign_in(160 * MIN + 1, "t3", 5), // one tick past the span
        call(100 * MIN, "t4", 6),
        sign_in(160 * MIN, "t4", 7), // exactly at the span
        call(100 * MIN, "t5", 8),
        sign_in(40 * MIN, "t5", 9), // before, exactly at the span
        call(100 * MIN, "t6", 10),
        sign_in(40 * MIN - 1, "t6", 11), // before, past the span
    ];
    let fired = |episodes: &[Episode]| -> BTreeSet<u64> {
        episodes.iter().map(|e| e.completed_by).collect()
    };
    let mut state = Seq {
        state: SequenceState::new(graph_spec(), Limits::default()),
        holds: &always,
    };
    let episodes = run_once(&mut state, &events);
    assert_eq!(fired(&episodes), BTreeSet::from([3, 4, 10]));
    assert_eq!(episodes[0].steps[1], Records::default());

    // Live: a call is decided only once the watermark reaches the end of
    // its span, and a sign-in at that very end still counts.
    let mut live = Seq {
        state: SequenceState::new(graph_spec(), Limits::default()),
        holds: &always,
    };
    let push_upto = |live: &mut Seq<'_>, from: Ticks, upto: Ticks| {
        for e in events.iter().filter(|e| e.time > from && e.time <= upto) {
            assert_eq!(live.push_ev(e), Ok(Admission::Accepted));
        }
    };
    push_upto(&mut live, Ticks::MIN, 100 * MIN);
    assert!(live.advance_to(100 * MIN).is_empty());
    push_upto(&mut live, 100 * MIN, 160 * MIN - 1);
    assert!(live.advance_to(160 * MIN - 1).is_empty());
    push_upto(&mut live, 160 * MIN - 1, Ticks::MAX);
    assert_eq!(
        fired(&live.advance_to(160 * MIN)),
        BTreeSet::from([3, 4, 10])
    );
    assert!(live.finish_all().is_empty());
    assert_eq!(live.state.intake.late, 0);
}

/// Small random sequence inputs: a few groups, few steps, few events.
fn generate_sequences(rng: &mut Lcg, steps: usize) -> Vec<Ev> {
    let mut events = Vec::new();
    for g in 0..3 {
        for _ in 0..rng.below(8) {
            let payload = 1000 * rng.below(2) + events.len() as u64;
            let mut ev = Ev::new((rng.below(12) * 5) as Ticks, &format!("g{g}"), payload)
                .steps(1 << rng.below(steps as u64));
            if rng.below(4) == 0 {
                ev.tie = TieKey::from_hash(0);
            }
            events.push(ev);
        }
    }
    events
}

/// One present step and one absent step: each present record fires
/// exactly when no absent record of its key lies within the span before
/// or after it (what the query targets compile), however many present
/// records an earlier absent one blocked.
#[test]
fn each_present_record_is_judged_alone_against_absent_ones() {
    let call = |t, key: &str, p| Ev::new(t, key, p).steps(0b01);
    let sign_in = |t, key: &str, p| Ev::new(t, key, p).steps(0b10);
    // A sign-in, a call it covers (5 minutes later), a call 14 minutes
    // after it that nothing covers.
    let events = vec![
        sign_in(0, "u", 1),
        call(5 * MIN, "u", 2),
        call(14 * MIN, "u", 3),
    ];
    let spec = SequenceSpec {
        span: 10 * MIN,
        ordered: false,
        steps: vec![StepSpec::at_least(1), StepSpec::absent()],
    };
    let mut state = Seq {
        state: SequenceState::new(spec.clone(), Limits::default()),
        holds: &always,
    };
    let fired: BTreeSet<u64> = run_once(&mut state, &events)
        .iter()
        .map(|e| e.completed_by)
        .collect();
    assert_eq!(fired, BTreeSet::from([3]));

    for seed in 0..300 {
        let mut rng = Lcg(seed);
        let span = [0, 10, 20, 40][rng.below(4) as usize];
        let spec = SequenceSpec {
            span,
            ..spec.clone()
        };
        let events: Vec<Ev> = (0..rng.below(40))
            .map(|p| {
                let key = ["a", "b", "c"][rng.below(3) as usize];
                let ev = Ev::new(rng.below(200) as Ticks, key, p + 1);
                if rng.below(3) == 0 {
                    ev.steps(0b10)
                } else {
                    ev.steps(0b01)
                }
            })
            .collect();
        let expected: BTreeSet<u64> = events
            .iter()
            .filter(|e| e.steps == 0b01)
            .filter(|e| {
                !events
                    .iter()
                    .any(|a| a.steps == 0b10 && a.key == e.key && (a.time - e.time).abs() <= span)
            })
            .map(|e| e.payload)
            .collect();
        let mut state = Seq {
            state: SequenceState::new(spec, Limits::default()),
            holds: &always,
        };
        let fired: BTreeSet<u64> = run_once(&mut state, &events)
            .iter()
            .map(|e| e.completed_by)
            .collect();
        assert_eq!(fired, expected, "seed {seed}");
    }
}

fn random_sequence_spec(rng: &mut Lcg) -> SequenceSpec {
    let n = 1 + rng.below(3) as usize;
    let mut steps: Vec<StepSpec> = (0..n)
        .map(|_| StepSpec::at_least(1 + rng.below(2)))
        .collect();
    if n > 1 && rng.below(3) == 0 {
        let i = rng.below(n as u64) as usize;
        steps[i] = StepSpec::absent();
    }
    SequenceSpec {
        span: [0, 10, 20, 40][rng.below(4) as usize],
        ordered: rng.below(3) > 0,
        steps,
    }
}

#[test]
fn sequences_do_not_depend_on_order_or_split() {
    let mut total = 0;
    for seed in 0..400 {
        let mut rng = Lcg(seed);
        let spec = random_sequence_spec(&mut rng);
        let events = generate_sequences(&mut rng, spec.steps.len());
        let holds: Where<'_> = if rng.below(2) == 0 { &always } else { &same_ip };
        let limits = Limits {
            max_contributors: 1 + rng.below(4) as usize,
            ..Limits::default()
        };
        let mut once = Seq {
            state: SequenceState::new(spec.clone(), limits),
            holds,
        };
        let expected = run_once(&mut once, &events);
        total += expected.len();
        assert_eq!(once.state.intake.retained, 0);
        assert_eq!(once.state.intake.keys.live(), 0, "seed {seed}");
        for _ in 0..3 {
            let mut stream = Seq {
                state: SequenceState::new(spec.clone(), limits),
                holds,
            };
            let got = run_stream(&mut stream, &events, &mut rng);
            assert_eq!(got, expected, "seed {seed}: {spec:?}");
            assert_eq!(stream.state.intake.retained, 0);
        }
    }
    assert!(total > 300, "{total}");
}

/// Whether some assignment of `events` (at most a handful) to the present
/// steps satisfies the spec, by trying every assignment.
fn exists_assignment(spec: &SequenceSpec, events: &[&Ev], must: usize, holds: Where<'_>) -> bool {
    let n = events.len();
    let k = spec.steps.len();
    let mut choice = vec![0usize; n]; // 0 = none, s + 1 = step s
    loop {
        let ok = choice[must] != 0
            && (0..k).all(|s| {
                let step = spec.steps[s];
                let mine: Vec<&Ev> = (0..n)
                    .filter(|&i| choice[i] == s + 1)
                    .map(|i| events[i])
                    .collect();
                if step.absent {
                    mine.is_empty()
                } else {
                    mine.len() as u64 >= step.min
                        && mine.iter().all(|e| e.steps >> s & 1 == 1)
                        && (!spec.ordered
                            || (0..n).all(|j| {
                                choice[j] == 0
                                    || choice[j] > s
                                    || mine.iter().all(|e| events[j].time <= e.time)
                            }))
                }
            })
            && {
                let times = (0..n).filter(|&i| choice[i] != 0).map(|i| events[i].time);
                let (lo, hi) =
                    times.fold((Ticks::MAX, Ticks::MIN), |(l, h), t| (l.min(t), h.max(t)));
                hi - lo <= spec.span
            }
            && (0..n).all(|a| {
                (0..n).all(|b| {
                    choice[a] == 0
                        || choice[b] == 0
                        || choice[a] <= choice[b]
                        || holds(
                            choice[a] - 1,
                            events[a].payload,
                            choice[b] - 1,
                            events[b].payload,
                        )
                })
            });
        if ok {
            return true;
        }
        // Next assignment, as a number in base k + 1.
        let mut i = 0;
        loop {
            if i == n {
                return false;
            }
            choice[i] += 1;
            if choice[i] <= k {
                break;
            }
            choice[i] = 0;
            i += 1;
        }
    }
}

#[test]
fn the_first_sequence_of_a_group_completes_as_early_as_possible() {
    // Without absent steps or events matching several steps, and either
    // without `where` or with two steps, the second needing one event, the
    // greedy search is exact: the first episode of each group completes at
    // the first event that completes any assignment, by exhaustive search.
    let mut fired = 0;
    for seed in 0..300 {
        let mut rng = Lcg(1000 + seed);
        let mut spec = random_sequence_spec(&mut rng);
        for s in &mut spec.steps {
            s.absent = false;
            s.min = s.min.max(1);
        }
        let events = generate_sequences(&mut rng, spec.steps.len());
        let holds: Where<'_> = if spec.steps.len() == 2 && spec.steps[1].min == 1 {
            &same_ip
        } else {
            &always
        };
        let mut state = Seq {
            state: SequenceState::new(spec.clone(), Limits::default()),
            holds,
        };
        let episodes = run_once(&mut state, &events);
        for g in 0..3 {
            let key = format!("g{g}");
            let distinct = without_repeats(&events);
            let mut group: Vec<&Ev> = distinct.iter().filter(|e| e.key[0] == key).collect();
            group.sort_by_key(|e| (e.time, e.tie, e.payload));
            let earliest = (0..group.len()).find(|&i| {
                let window: Vec<&Ev> = group[..=i]
                    .iter()
                    .copied()
                    .filter(|e| e.time >= group[i].time - spec.span)
                    .collect();
                exists_assignment(&spec, &window, window.len() - 1, holds)
            });
            let first = episodes.iter().find(|e| &*e.key[0] == key.as_str());
            fired += usize::from(first.is_some());
            assert_eq!(
                first.map(|e| e.completed_by),
                earliest.map(|i| group[i].payload),
                "seed {seed} group {key}: {spec:?}"
            );
        }
    }
    assert!(fired > 150, "{fired}");
}

#[test]
fn an_event_serves_one_step_and_a_later_episode_needs_new_events() {
    let spec = SequenceSpec {
        span: 100,
        ordered: false,
        steps: vec![StepSpec::at_least(1), StepSpec::at_least(1)],
    };
    let run = |events: &[Ev]| {
        let mut state = Seq {
            state: SequenceState::new(spec.clone(), Limits::default()),
            holds: &always,
        };
        run_once(&mut state, events)
    };
    assert!(run(&[Ev::new(0, "k", 1).steps(0b11)]).is_empty());
    let episodes = run(&[
        Ev::new(0, "k", 1).steps(0b11),
        Ev::new(1, "k", 2).steps(0b11),
    ]);
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].count, 2);
    // Three events: the third has no partner left.
    let episodes = run(&[
        Ev::new(0, "k", 1).steps(0b01),
        Ev::new(1, "k", 2).steps(0b10),
        Ev::new(2, "k", 3).steps(0b10),
    ]);
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].completed_by, 2);

    // After a brute force episode, a second success needs new failures.
    let mut events: Vec<Ev> = (0..10)
        .map(|i| Ev::new(i * MIN, "frank", 1000 + i as u64).steps(0b01))
        .collect();
    events.push(Ev::new(10 * MIN, "frank", 1998).steps(0b10));
    events.push(Ev::new(11 * MIN, "frank", 1999).steps(0b10));
    let mut state = Seq {
        state: SequenceState::new(brute_force_spec(), Limits::default()),
        holds: &same_ip,
    };
    let episodes = run_once(&mut state, &events);
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].completed_by, 1998);
}

#[test]
fn an_unordered_where_relates_steps_in_list_order() {
    // The second step (a success) must share the address of the first
    // (a failure), whichever comes first in time.
    let spec = SequenceSpec {
        span: 100,
        ordered: false,
        steps: vec![StepSpec::at_least(1), StepSpec::at_least(1)],
    };
    let asked = std::cell::RefCell::new(Vec::new());
    let holds = |later: usize, lp: u64, earlier: usize, ep: u64| {
        asked.borrow_mut().push((later, earlier));
        same_ip(later, lp, earlier, ep)
    };
    let mut state = Seq {
        state: SequenceState::new(spec, Limits::default()),
        holds: &holds,
    };
    let events = vec![
        Ev::new(0, "k", 1001).steps(0b10),
        Ev::new(5, "k", 2002).steps(0b01),
        Ev::new(9, "k", 1003).steps(0b01),
    ];
    let episodes = run_once(&mut state, &events);
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].steps[0].payloads, vec![1003]);
    assert_eq!(episodes[0].steps[1].payloads, vec![1001]);
    assert!(
        asked
            .borrow()
            .iter()
            .all(|&(later, earlier)| (later, earlier) == (1, 0))
    );
}

#[test]
fn states_can_move_to_another_thread() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<WindowState>();
    send_sync::<SequenceState>();
    send_sync::<Episode>();
}

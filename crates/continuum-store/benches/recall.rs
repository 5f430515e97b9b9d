//! Memory recall at scale: one persona with 100,000 memories (plus another
//! persona's 2,000, which recall must skip), sentences of 8-20 words from a
//! 2,000-word vocabulary, queries of 3-6 words.
//!
//! `cargo bench -p continuum-store --bench recall`
//!
//! - `recall/zipf/limit5`: words drawn with natural-language (Zipf, s = 1)
//!   frequencies, so queries often hold very common words.
//! - `recall/uniform/limit5`: every word equally likely.
//!
//! Both go through `MemoryStore::recall` on the real SQLite store, blocking
//! pool included, exactly as the daemon calls it.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use continuum_store::{MemoryStore, NewMemory, SqliteMemories};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Instant;

const MEMORIES: usize = 100_000;
const OTHER_MEMORIES: usize = 2_000;
const VOCABULARY: usize = 2_000;

/// xorshift64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 2,000 distinct pronounceable words.
fn vocabulary(rng: &mut Rng) -> Vec<String> {
    const SYLLABLES: [&str; 24] = [
        "ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "ve", "da", "ri", "zo", "an", "el", "or",
        "us", "ber", "tin", "gal", "mon", "ste", "qua", "fen", "dor",
    ];
    let mut words = std::collections::BTreeSet::new();
    while words.len() < VOCABULARY {
        let syllables = 1 + rng.below(3);
        words.insert(
            (0..syllables)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect::<String>(),
        );
    }
    let mut words: Vec<String> = words.into_iter().collect();
    for i in (1..words.len()).rev() {
        words.swap(i, rng.below(i + 1));
    }
    words
}

/// Draws word ranks with probability proportional to `1 / rank^s`.
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(s);
                total
            })
            .collect();
        cdf.iter_mut().for_each(|c| *c /= total);
        Zipf(cdf)
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        self.0
            .partition_point(|&c| c < rng.unit())
            .min(self.0.len() - 1)
    }
}

fn sentence(rng: &mut Rng, words: &[String], zipf: &Zipf, len: usize) -> String {
    let mut text: Vec<&str> = (0..len).map(|_| words[zipf.sample(rng)].as_str()).collect();
    text.push(".");
    text.join(" ")
}

/// A store with the corpus, written through `remember` one memory (one
/// transaction) at a time, as the daemon writes it, and the queries.
fn corpus(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    name: &str,
    s: f64,
) -> (SqliteMemories, Vec<String>) {
    let mut rng = Rng(0x5eed ^ s.to_bits());
    let words = vocabulary(&mut rng);
    let zipf = Zipf::new(VOCABULARY, s);
    let store = SqliteMemories::open(&dir.join(format!("memories-{name}.sqlite"))).unwrap();
    let started = Instant::now();
    runtime.block_on(async {
        for n in 0..MEMORIES + OTHER_MEMORIES {
            // The other persona's memories are interleaved with the main one's.
            let persona_id = if n % 51 == 50 {
                "persona-other"
            } else {
                "persona-main"
            };
            let len = 8 + rng.below(13);
            let memory = NewMemory {
                persona_id: persona_id.into(),
                text: sentence(&mut rng, &words, &zipf, len),
                tags: Vec::new(),
            };
            store.remember(memory).await.unwrap();
        }
    });
    eprintln!(
        "{name}: {} memories written in {:.1?}",
        MEMORIES + OTHER_MEMORIES,
        started.elapsed()
    );
    let queries = (0..64)
        .map(|_| {
            let len = 3 + rng.below(4);
            sentence(&mut rng, &words, &zipf, len)
        })
        .collect();
    (store, queries)
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, s) in [("zipf", 1.0), ("uniform", 0.0)] {
        let (store, queries) = corpus(&runtime, dir.path(), name, s);
        let mut next = queries.iter().cycle();
        c.bench_function(&format!("recall/{name}/limit5"), |b| {
            b.iter(|| {
                let query = next.next().unwrap();
                let found = runtime
                    .block_on(store.recall("persona-main", query, 5))
                    .unwrap();
                black_box(found)
            })
        });
    }
}

criterion_group!(recall, benches);
criterion_main!(recall);

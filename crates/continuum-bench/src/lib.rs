//! Client code the `scripts/bench` bins share: the wire formats of the
//! servers under test ([`codec`]), one blocking line client that frames
//! every one of them ([`line`]), and the latency histogram they all record
//! into ([`new_histogram`]).

pub mod codec;
pub mod line;

use hdrhistogram::Histogram;

/// A latency histogram in nanoseconds: 1 ns .. 60 s at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Nanoseconds as microseconds, rounded to 2 decimals.
pub fn micros(nanos: f64) -> f64 {
    (nanos / 10.0).round() / 100.0
}

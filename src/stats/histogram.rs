//! Durations on a 1-2-5 log scale of milliseconds, and the approximate percentiles read from
//! them. A duration is stored as the upper bound of its bucket (`0.4 ms` → 1, `3 ms` → 5,
//! `120 ms` → 200); a percentile is the bound of the bucket that holds it, so the true value lies
//! between the bound below and the one answered, at most 2.5 times apart.

use std::collections::BTreeMap;

/// The bucket bounds in milliseconds, 1 ms to 1,000 s; a longer duration counts in the last one.
pub const BOUNDS: [i64; 19] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
    1_000_000,
];

/// The bucket (its upper bound) of a duration in milliseconds.
pub fn duration_bucket(ms: f64) -> i64 {
    BOUNDS.iter().copied().find(|bound| ms <= *bound as f64).unwrap_or(BOUNDS[BOUNDS.len() - 1])
}

/// Requests counted per duration bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram(BTreeMap<i64, i64>);

impl Histogram {
    pub fn add(&mut self, bucket: i64, requests: i64) {
        *self.0.entry(bucket).or_insert(0) += requests;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (bucket, requests) in &other.0 {
            self.add(*bucket, *requests);
        }
    }

    pub fn total(&self) -> i64 {
        self.0.values().sum()
    }

    /// The bucket that holds the request of rank ⌈q × total⌉ (q in 0–1), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<i64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
        let mut seen = 0;
        for (bucket, requests) in &self.0 {
            seen += requests;
            if seen >= rank {
                return Some(*bucket);
            }
        }
        self.0.keys().next_back().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_the_bucket_above_them() {
        assert_eq!(duration_bucket(0.0), 1);
        assert_eq!(duration_bucket(0.4), 1);
        assert_eq!(duration_bucket(1.0), 1);
        assert_eq!(duration_bucket(1.01), 2);
        assert_eq!(duration_bucket(3.0), 5);
        assert_eq!(duration_bucket(120.0), 200);
        assert_eq!(duration_bucket(15_000.0), 20_000);
        assert_eq!(duration_bucket(5_000_000.0), 1_000_000);
    }

    #[test]
    fn quantiles_are_the_bucket_of_their_rank() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        h.add(1, 98);
        h.add(50, 1);
        h.add(500, 1);
        assert_eq!(h.quantile(0.5), Some(1));
        assert_eq!(h.quantile(0.98), Some(1));
        assert_eq!(h.quantile(0.99), Some(50));
        assert_eq!(h.quantile(1.0), Some(500));
        let mut two = Histogram::default();
        two.add(5, 1);
        two.add(10, 1);
        // p50 of two requests is the first; p99 the second.
        assert_eq!((two.quantile(0.5), two.quantile(0.99)), (Some(5), Some(10)));
        h.merge(&two);
        assert_eq!(h.total(), 102);
    }
}

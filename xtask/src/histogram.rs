//! A fixed-size latency histogram: recording is a few instructions and no
//! allocation, so it costs the measured call nearly nothing and does not
//! grow the producer's memory with the record count.

/// Sub-buckets per power of two: 32 gives about 3% precision.
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;

/// Counts of nanosecond values in log-linear buckets.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; 64 * SUB],
            total: 0,
        }
    }
}

impl Histogram {
    /// Records one value.
    pub fn record(&mut self, ns: u64) {
        let i = index(ns);
        self.counts[i] += 1;
        self.total += 1;
    }

    /// The value at quantile `q` (0..=1), to the bucket's precision; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return midpoint(i);
            }
        }
        midpoint(self.counts.len() - 1)
    }
}

fn index(ns: u64) -> usize {
    if ns < SUB as u64 {
        return ns as usize;
    }
    let top = 63 - ns.leading_zeros(); // position of the highest bit, >= SUB_BITS
    let shift = top - SUB_BITS;
    let sub = ((ns >> shift) as usize) & (SUB - 1);
    ((shift + 1) as usize) * SUB + sub
}

fn midpoint(i: usize) -> u64 {
    let (group, sub) = (i / SUB, (i % SUB) as u64);
    if group == 0 {
        return sub;
    }
    let shift = (group - 1) as u32;
    let low = (SUB as u64 + sub) << shift;
    low + ((1u64 << shift) >> 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_the_bucket_precision() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 100); // 100ns .. 1ms, uniform
        }
        let p50 = h.quantile(0.5) as f64;
        let p99 = h.quantile(0.99) as f64;
        assert!((p50 / 500_000.0 - 1.0).abs() < 0.04, "{p50}");
        assert!((p99 / 990_000.0 - 1.0).abs() < 0.04, "{p99}");
    }

    #[test]
    fn small_values_are_exact_and_huge_ones_fit() {
        let mut a = Histogram::default();
        a.record(7);
        a.record(7);
        a.record(u64::MAX);
        assert_eq!(a.quantile(0.5), 7);
        assert!(a.quantile(1.0) > 1 << 62);
        assert_eq!(Histogram::default().quantile(0.5), 0);
    }
}

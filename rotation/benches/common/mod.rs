//! Shared by the benches: realistic JSON lines (~110 bytes each).

/// `n` distinct JSON lines.
pub fn lines(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            format!(
                "{{\"ts\":\"2026-11-22T10:00:{:02}.{:06}Z\",\"level\":\"INFO\",\"logger\":\"app.http\",\"msg\":\"request {i} served\",\"pid\":{}}}\n",
                i % 60,
                (i * 7919) % 1_000_000,
                1000 + i % 17
            )
            .into_bytes()
        })
        .collect()
}

//! What the test files of this crate share.

/// A deterministic xorshift generator for the mutation fuzzers that run on stable in every
/// test run (the same seed gives the same inputs, so a failure replays).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

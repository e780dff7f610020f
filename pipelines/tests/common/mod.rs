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

/// One mutation of `input` for the mutation fuzzers: up to 9 edits of bit flips, cuts, one of
/// `specials` inserted, a stretch repeated, a random byte appended, and (`sizes`) a 16-bit
/// length, count or size set to 0, 1, the largest or one off a boundary.
pub fn mutate(rng: &mut Rng, input: &[u8], specials: &[u8], sizes: bool) -> Vec<u8> {
    let mut bytes = input.to_vec();
    let kinds = if sizes { 6 } else { 5 };
    for _ in 0..=rng.below(8) {
        match rng.below(kinds) {
            0 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
            1 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes.truncate(at);
            }
            2 => {
                let at = rng.below(bytes.len() + 1);
                bytes.insert(at, specials[rng.below(specials.len())]);
            }
            3 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                let len = rng.below(64).min(bytes.len() - at);
                let chunk = bytes[at..at + len].to_vec();
                bytes.splice(at..at, chunk);
            }
            4 if sizes && bytes.len() >= 2 => {
                let at = rng.below(bytes.len() - 1);
                let values: [u16; 7] = [0, 1, 2, 0x7FFF, 0x8000, 0xFFFF, 0x0100];
                let value = values[rng.below(values.len())].to_be_bytes();
                bytes[at..at + 2].copy_from_slice(&value);
            }
            _ => bytes.push((rng.next() & 0xFF) as u8),
        }
    }
    bytes
}

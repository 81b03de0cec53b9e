//! Shared by the proptests of this crate.
#![allow(dead_code)] // Each test uses what it needs.

/// A small deterministic generator (xorshift64*), seeded by proptest.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

//! The host's randomness: the operating system's CSPRNG, for the engine's [`Random`] input.

use crate::engine::Random;

/// `getrandom`: what the HTTP server passes to the engine.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        // A machine without an entropy source cannot issue codes safely; failing loudly is right.
        getrandom::getrandom(buf).expect("the OS random source failed");
    }
}

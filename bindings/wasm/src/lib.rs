//! Placeholder for the wasm binding.

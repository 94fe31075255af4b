//! Placeholder for the uniffi binding.

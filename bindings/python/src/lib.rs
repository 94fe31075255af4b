//! Placeholder for the python binding.

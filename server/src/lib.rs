//! Placeholder: the server half is built under its own issue.

//! The wire format: building form requests and reading server replies.

pub(crate) mod fields;
pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod token;

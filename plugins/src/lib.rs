//! Built-in plugins.
/// Forces the linker to keep this crate, so its registrations reach the registry.
pub fn link() {}

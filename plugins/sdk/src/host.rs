//! What the host offers a running plugin: its call log and its attachment's config.
//!
//! Built for wasm32 these call the `switchboard:tools/host` imports. Built natively
//! (unit tests on the developer's machine) there is no host: log lines go to
//! stderr and settings come from [`testing::set_config`], so a plugin's hook can
//! be tested as a plain Rust function.

/// The severity of a log line.
pub use crate::bindings::params::switchboard::tools::host::Level;

/// Reads the setting `key` of this component's attachment (the `config` map the
/// tenant set on the tool's transform), or `None` if it is not set.
pub fn config(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::params::switchboard::tools::host::config(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        testing::config(key)
    }
}

/// Writing to the call log, which the tenant reads with the call.
pub mod log {
    use super::Level;

    /// Writes `message` to the call log at `level`.
    pub fn at(level: Level, message: impl AsRef<str>) {
        #[cfg(target_arch = "wasm32")]
        {
            crate::bindings::params::switchboard::tools::host::log(level, message.as_ref());
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            eprintln!("[{level:?}] {}", message.as_ref());
        }
    }

    /// Writes a debug line to the call log.
    pub fn debug(message: impl AsRef<str>) {
        at(Level::Debug, message);
    }

    /// Writes an info line to the call log.
    pub fn info(message: impl AsRef<str>) {
        at(Level::Info, message);
    }

    /// Writes a warning to the call log.
    pub fn warn(message: impl AsRef<str>) {
        at(Level::Warn, message);
    }

    /// Writes an error line to the call log.
    pub fn error(message: impl AsRef<str>) {
        at(Level::Error, message);
    }
}

/// Stand-ins for the host in native unit tests.
#[cfg(not(target_arch = "wasm32"))]
pub mod testing {
    use std::{cell::RefCell, collections::HashMap};

    thread_local! {
        static CONFIG: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
    }

    /// Sets the config [`config`](crate::config) returns on this thread,
    /// replacing whatever was set before.
    pub fn set_config(entries: &[(&str, &str)]) {
        CONFIG.with(|c| {
            *c.borrow_mut() = entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        });
    }

    pub(crate) fn config(key: &str) -> Option<String> {
        CONFIG.with(|c| c.borrow().get(key).cloned())
    }
}

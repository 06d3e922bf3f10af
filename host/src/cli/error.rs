//! The command-line client's one error type: a sentence for a person, optional detail lines
//! (one per field the server refused), and whether it was a usage mistake (exit code 2) or a
//! failure (exit code 1). Nothing here panics or prints a backtrace.

use std::fmt;

/// Why a command failed.
#[derive(Debug)]
pub struct CliError {
    /// One line saying what went wrong.
    pub message: String,
    /// Further lines, e.g. `url: is not a valid absolute URL` per refused field.
    pub details: Vec<String>,
    /// A usage mistake (bad argument, missing key): exit code 2 rather than 1.
    pub usage: bool,
}

impl CliError {
    /// A failure: the server said no, could not be reached, or the file is wrong (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            details: Vec::new(),
            usage: false,
        }
    }

    /// A usage mistake the user can fix on the command line (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            usage: true,
            ..Self::failed(message)
        }
    }

    /// Adds detail lines.
    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details.extend(details);
        self
    }

    /// Prefixes the message with what was being done, e.g. `creating lead_capture`.
    pub fn context(mut self, doing: impl fmt::Display) -> Self {
        self.message = format!("{doing}: {}", self.message);
        self
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        if self.usage { 2 } else { 1 }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        for line in &self.details {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

/// Result of a client command.
pub type CliResult<T> = Result<T, CliError>;

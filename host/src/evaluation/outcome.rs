//! What a plugin call's outcome means for its job: stored, retried, or stored as an error.

use ember_sandbox::SandboxError;

/// A failed call, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// May succeed later (the sandbox was at capacity, or the call ran out of wall-clock time on a
    /// loaded machine): retried with backoff, up to the attempt limit.
    Transient,
    /// Will fail the same way again (a trap, exhausted fuel or memory, a plugin-reported error):
    /// stored as the evaluation's error at once.
    Permanent,
}

/// Classifies a sandbox error for the job that made the call.
pub fn classify(error: &SandboxError) -> Classified {
    match error {
        SandboxError::Busy(_) | SandboxError::Deadline(_) => Classified::Transient,
        _ => Classified::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_and_deadlines_are_retried_traps_are_not() {
        assert_eq!(classify(&SandboxError::Busy("full".into())), Classified::Transient);
        assert_eq!(classify(&SandboxError::Deadline(std::time::Duration::from_secs(1))), Classified::Transient);
        assert_eq!(classify(&SandboxError::StackOverflow), Classified::Permanent);
        assert_eq!(classify(&SandboxError::Trap("unreachable".into())), Classified::Permanent);
    }
}

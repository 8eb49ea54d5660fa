//! What kind of storage failure an error is: the disk is full, the device failed, the database
//! is unreachable or busy. Logs, metrics, ingest admission and `/readyz` tell them apart.

use super::StoreError;

/// A storage failure, by what an operator would do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageFault {
    /// No space left: SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full` (53100), `ENOSPC`.
    DiskFull,
    /// The device failed a read, write or sync: `SQLITE_IOERR`, PostgreSQL's `io_error`
    /// (58030), `EIO`.
    Io,
    /// The database cannot be reached or is shutting down: lost connections, pool timeouts,
    /// PostgreSQL's connection and operator-intervention classes.
    Unavailable,
    /// The database is locked or the transaction lost a conflict; retrying resolves it.
    Busy,
    /// The database refused the data itself (a constraint, a value it cannot store): retrying
    /// the same rows fails again, so the writer isolates the offending span.
    Refused,
    /// Any other failure (PostgreSQL's internal errors, say, as when it cannot write its
    /// relation-cache file on a full disk). Not known to be the data's fault, so retried: a span
    /// is dropped only when the database refused *it*.
    Other,
}

impl StorageFault {
    /// A short stable name for metrics, logs and `/readyz`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DiskFull => "disk_full",
            Self::Io => "io_error",
            Self::Unavailable => "unavailable",
            Self::Busy => "busy",
            Self::Refused => "refused",
            Self::Other => "other",
        }
    }

    /// Whether new exports must be refused while the writer's writes fail this way: the disk is
    /// full, the device fails or the database is gone, so more acknowledged spans would only
    /// wait in memory. Contention (`Busy`) and statement errors (`Other`) do not stop ingest.
    pub fn refuses_ingest(self) -> bool {
        matches!(self, Self::DiskFull | Self::Io | Self::Unavailable)
    }

    /// What an exporter is told when its export is refused for this fault.
    pub fn refusal(self) -> &'static str {
        match self {
            Self::DiskFull => {
                "the database's disk is full: spans already received are kept and written once space returns; retry later"
            }
            Self::Io => {
                "the database's storage fails with I/O errors: spans already received are kept and written once it recovers; retry later"
            }
            _ => "the database is unreachable: spans already received are kept and written once it is back; retry later",
        }
    }

    /// The fault a SQLite (extended) result code stands for.
    fn of_sqlite(code: &str) -> Self {
        // The primary code is the low byte of the extended code.
        match code.parse::<u32>().map(|code| code & 0xff) {
            Ok(13) => Self::DiskFull,
            Ok(10 | 11 | 26) => Self::Io,
            // SQLITE_ERROR (a statement the data made fail), TOOBIG, CONSTRAINT, MISMATCH, RANGE.
            Ok(1 | 18 | 19 | 20 | 25) => Self::Refused,
            Ok(5 | 6) => Self::Busy,
            Ok(14 | 15) => Self::Unavailable,
            _ => Self::Other,
        }
    }

    /// The fault a PostgreSQL SQLSTATE stands for (all-digit ones too, so never parsed as SQLite's).
    fn of_sqlstate(code: &str) -> Self {
        match code {
            "53100" => Self::DiskFull,
            "58030" => Self::Io,
            "40001" | "40P01" => Self::Busy,
            "57014" | "25006" => Self::Unavailable,
            _ if code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") => Self::Unavailable,
            // Data exceptions, integrity constraints, program limits (a row too large).
            _ if code.starts_with("22") || code.starts_with("23") || code.starts_with("54") => Self::Refused,
            _ => Self::Other,
        }
    }

    fn of_io(err: &std::io::Error) -> Self {
        const ENOSPC: i32 = 28;
        const EIO: i32 = 5;
        match err.raw_os_error() {
            Some(ENOSPC) => Self::DiskFull,
            Some(EIO) => Self::Io,
            _ => Self::Unavailable,
        }
    }
}

impl StoreError {
    /// What kind of storage failure this is.
    pub fn fault(&self) -> StorageFault {
        let err = match self {
            StoreError::Database(err) => err,
            // A read that ran too long: another, or a narrower one, may run.
            StoreError::QueryTimeout { .. } | StoreError::Busy { .. } => return StorageFault::Busy,
            _ => return StorageFault::Refused,
        };
        match err {
            sqlx::Error::Io(io) => StorageFault::of_io(io),
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => StorageFault::Unavailable,
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    StorageFault::of_sqlite(&code)
                } else {
                    StorageFault::of_sqlstate(&code)
                }
            }
            sqlx::Error::Encode(_) => StorageFault::Refused,
            _ => StorageFault::Other,
        }
    }

    /// True unless the database refused the data itself: the database may come back, space may
    /// be freed, a lock released, and an unknown failure is not taken for the data's fault.
    pub fn is_transient(&self) -> bool {
        self.fault() != StorageFault::Refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_and_postgres_codes_map_to_faults() {
        assert_eq!(StorageFault::of_sqlite("13"), StorageFault::DiskFull);
        assert_eq!(StorageFault::of_sqlite("778"), StorageFault::Io, "SQLITE_IOERR_WRITE");
        assert_eq!(StorageFault::of_sqlite("1034"), StorageFault::Io, "SQLITE_IOERR_FSYNC");
        assert_eq!(StorageFault::of_sqlite("517"), StorageFault::Busy, "SQLITE_BUSY_SNAPSHOT");
        assert_eq!(StorageFault::of_sqlite("2067"), StorageFault::Refused, "SQLITE_CONSTRAINT_UNIQUE");
        assert_eq!(StorageFault::of_sqlstate("53100"), StorageFault::DiskFull);
        assert_eq!(StorageFault::of_sqlstate("58030"), StorageFault::Io);
        assert_eq!(StorageFault::of_sqlstate("40001"), StorageFault::Busy, "serialization failure");
        assert_eq!(StorageFault::of_sqlstate("57P01"), StorageFault::Unavailable, "admin shutdown");
        assert_eq!(StorageFault::of_sqlstate("08006"), StorageFault::Unavailable);
        assert_eq!(StorageFault::of_sqlstate("23505"), StorageFault::Refused, "unique violation");
        assert_eq!(StorageFault::of_sqlstate("22021"), StorageFault::Refused, "invalid byte sequence");
        assert_eq!(StorageFault::of_sqlstate("XX000"), StorageFault::Other, "could not write init file");
        assert!(StoreError::Database(sqlx::Error::RowNotFound).is_transient(), "unknown failures are retried");
    }

    #[test]
    fn os_errors_map_to_faults() {
        let full = StoreError::Database(sqlx::Error::Io(std::io::Error::from_raw_os_error(28)));
        assert_eq!(full.fault(), StorageFault::DiskFull);
        let eio = StoreError::Database(sqlx::Error::Io(std::io::Error::from_raw_os_error(5)));
        assert_eq!(eio.fault(), StorageFault::Io);
        assert!(eio.is_transient());
        assert!(!StoreError::RunExists.is_transient());
    }
}

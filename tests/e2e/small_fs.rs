//! A small filesystem mounted over a test's directory (tmpfs of a given size), so that a test can
//! fill the disk under the server and grow it back. Needs root (CI runs as root); elsewhere the
//! test is skipped loudly, and in CI it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted at `path`; unmounted on drop.
pub struct SmallFs {
    path: PathBuf,
}

impl SmallFs {
    /// Mounts a tmpfs of `mib` MiB over `path`. `None` where mounting is not allowed, outside CI.
    pub fn mount(path: &Path, mib: u64) -> Option<Self> {
        let options = format!("size={mib}m");
        let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", &options, "tmpfs"]).arg(path).status();
        match mounted {
            Ok(status) if status.success() => Some(Self { path: path.to_path_buf() }),
            other if std::env::var_os("CI").is_none() => {
                eprintln!("\n!!! SKIPPING this fault test: cannot mount a tmpfs at {} ({other:?}); it needs root. CI never skips\n", path.display());
                None
            }
            other => panic!("CI requires mounting a tmpfs at {}: {other:?}", path.display()),
        }
    }

    /// Resizes the filesystem to `mib` MiB, keeping its files.
    pub fn resize(&self, mib: u64) {
        let options = format!("remount,size={mib}m");
        let status = Command::new("mount").args(["-o", &options]).arg(&self.path).status().expect("run mount");
        assert!(status.success(), "remounting {} with {options}", self.path.display());
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

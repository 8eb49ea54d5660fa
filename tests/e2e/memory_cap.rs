//! Confines a running server to a memory cgroup, so that a test can show that nothing it does
//! pushes the server past a stated bound: past it, the kernel's OOM killer ends the server and
//! the test sees it die. Uses the cgroup v1 memory controller or cgroup v2, whichever is
//! writable; where neither is (not root, no controller), the test is skipped loudly outside CI
//! and fails in CI.

use std::path::{Path, PathBuf};

/// A memory cgroup holding one server process; its processes go back to the parent on drop.
pub struct MemoryCap {
    dir: PathBuf,
    parent: PathBuf,
    v2: bool,
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl MemoryCap {
    /// Moves `pid` into a new cgroup limited to what the group holds once it is there (the
    /// process's memory where the kernel moves charges, else nothing) plus `headroom` bytes. `None` where cgroups cannot be written, outside CI.
    pub fn confine(pid: i32, headroom: u64) -> Option<Self> {
        let name =
            format!("ember-test-{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let cap = match Self::create(&name) {
            Ok(cap) => cap,
            Err(err) if std::env::var_os("CI").is_none() => {
                eprintln!("\n!!! SKIPPING the memory-cgroup half of this test: {err}\n!!! run as root on a machine with a memory cgroup controller; CI never skips\n");
                return None;
            }
            Err(err) => panic!("CI requires a writable memory cgroup: {err}"),
        };
        if !cap.v2 {
            // Charge what the process already holds to the new group where the kernel still can;
            // where it cannot, only what the process allocates from now on counts, which makes the
            // limit stricter, not looser.
            let _ = std::fs::write(cap.dir.join("memory.move_charge_at_immigrate"), "3");
        }
        cap.write("cgroup.procs", &pid.to_string());
        let limit = cap.usage() + headroom;
        cap.write(if cap.v2 { "memory.max" } else { "memory.limit_in_bytes" }, &limit.to_string());
        if cap.v2 {
            cap.write("memory.swap.max", "0");
        }
        Some(cap)
    }

    fn create(name: &str) -> Result<Self, String> {
        let v1 = Path::new("/sys/fs/cgroup/memory");
        let v2 = Path::new("/sys/fs/cgroup");
        let (parent, is_v2) = if v1.join("memory.limit_in_bytes").exists() {
            (v1.to_path_buf(), false)
        } else if std::fs::read_to_string(v2.join("cgroup.controllers")).is_ok_and(|c| c.contains("memory")) {
            (v2.to_path_buf(), true)
        } else {
            return Err("no cgroup memory controller is mounted".into());
        };
        let dir = parent.join(name);
        std::fs::create_dir(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        Ok(Self { dir, parent, v2: is_v2 })
    }

    fn write(&self, file: &str, value: &str) {
        let path = self.dir.join(file);
        std::fs::write(&path, value).unwrap_or_else(|err| panic!("writing {value} to {}: {err}", path.display()));
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }

    /// Bytes the group holds now (resident memory and page cache).
    pub fn usage(&self) -> u64 {
        self.read(if self.v2 { "memory.current" } else { "memory.usage_in_bytes" }).trim().parse().unwrap_or(0)
    }

    /// The group's limit in bytes.
    pub fn limit(&self) -> u64 {
        self.read(if self.v2 { "memory.max" } else { "memory.limit_in_bytes" }).trim().parse().unwrap_or(u64::MAX)
    }

    /// Processes the kernel's OOM killer ended in this group.
    pub fn oom_kills(&self) -> u64 {
        let text = self.read(if self.v2 { "memory.events" } else { "memory.oom_control" });
        text.lines()
            .find_map(|line| line.strip_prefix("oom_kill "))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for MemoryCap {
    fn drop(&mut self) {
        for pid in self.read("cgroup.procs").lines() {
            let _ = std::fs::write(self.parent.join("cgroup.procs"), pid);
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

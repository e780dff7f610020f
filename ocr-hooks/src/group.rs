//! The child's process group, killed with SIGKILL when the guard is dropped.

/// Kills the process group `pgid` (the child's pid: it was spawned with `process_group(0)`)
/// when dropped, whatever the reason: normal end, error, timeout or the future being dropped.
///
/// Declared after the `Child` in the runner so it drops first, while the leader is not yet
/// reaped and the group id cannot have been reused.
#[derive(Debug)]
pub(crate) struct GroupKiller {
    pgid: Option<libc::pid_t>,
}

impl GroupKiller {
    pub fn new(pid: Option<u32>) -> Self {
        // pid 0 or values that do not fit would make kill(2) target our own group or
        // everything; never send those.
        let pgid = pid
            .and_then(|p| libc::pid_t::try_from(p).ok())
            .filter(|&p| p > 1);
        GroupKiller { pgid }
    }

    /// Sends SIGKILL to every process of the group. Idempotent; ESRCH (group already gone)
    /// is the normal case after a clean exit.
    pub fn kill(&self) {
        let Some(pgid) = self.pgid else { return };
        // SAFETY: kill(2) has no memory-safety preconditions; `-pgid` with pgid > 1 targets
        // exactly the group created for the child.
        let rc = unsafe { libc::kill(-pgid, libc::SIGKILL) };
        if rc == 0 {
            tracing::trace!(pgid, "killed hook process group");
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

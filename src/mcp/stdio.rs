//! The process's standard streams in MCP mode: stdout carries protocol messages
//! only, so it is taken for the server and file descriptor 1 is pointed at
//! stderr (a stray print anywhere in the process then lands in the log, never in
//! the protocol stream); logs go to stderr, or to a file.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

/// A handle on the original stdout for protocol messages; afterwards fd 1 is a
/// copy of stderr.
pub fn protocol_stdout() -> io::Result<File> {
    let out = io::stdout().as_fd().try_clone_to_owned()?;
    nix::unistd::dup2(io::stderr().as_raw_fd(), io::stdout().as_raw_fd())?;
    Ok(File::from(out))
}

/// Sends stderr (every log line of the process) to `path`, appended.
pub fn log_to_file(path: &Path) -> io::Result<()> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    nix::unistd::dup2(f.as_raw_fd(), io::stderr().as_raw_fd())?;
    Ok(())
}

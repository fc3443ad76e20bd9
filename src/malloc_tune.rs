//! One allocator setting for the whole process, made at start. glibc serves large
//! allocations with their own `mmap` and returns them to the kernel when freed, but
//! by default it raises that threshold each time such a block is freed (up to 32
//! MiB). A server that parses a large request body and frees it then grows its
//! vector arrays on the heap instead, and the copies left behind by each doubling
//! stay resident: on the 38k MiniLM set an int8 index held 1,097 anonymous bytes per
//! vector this way, 691 with the threshold fixed at glibc's default of 128 KiB and
//! 760 at 4 MiB. It is 4 MiB: at 128 KiB the embedder's and gemm's per-call buffers
//! each got a fresh map, and a 20-word recall over MCP took 28 ms instead of 15.
//! Fixing it also fixes glibc's trim threshold at 128 KiB, so that is raised too:
//! otherwise every large free hands the heap's top back and faults it in again.

/// Blocks of at least this many bytes get their own map.
pub const MMAP_THRESHOLD: usize = 4 << 20;

/// Free memory kept at the heap's top before it is handed back to the kernel.
pub const TRIM_THRESHOLD: usize = 64 << 20;

/// Fixes glibc's mmap threshold (a no-op elsewhere). Call before threads start.
pub fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a tunable of glibc's allocator; it takes plain
    // integers, touches no memory of ours, and is called at start, before other
    // threads allocate (glibc serializes it with its arena locks anyway).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int);
    }
}

//! One allocator setting for the whole process, made at start. glibc serves large
//! allocations with their own `mmap` and returns them to the kernel when freed, but
//! by default it raises that threshold each time such a block is freed (up to 32
//! MiB). A server that parses a large request body and frees it then grows its
//! vector arrays on the heap instead, and the copies left behind by each doubling
//! stay resident: on the 38k MiniLM set an int8 index held 1,097 anonymous bytes per
//! vector this way, 754 with the threshold fixed. Fixing it at glibc's default
//! (128 KiB) keeps large blocks in their own maps.

/// Fixes glibc's mmap threshold (a no-op elsewhere). Call before threads start.
pub fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a tunable of glibc's allocator; it takes plain
    // integers, touches no memory of ours, and is called at start, before other
    // threads allocate (glibc serializes it with its arena locks anyway).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

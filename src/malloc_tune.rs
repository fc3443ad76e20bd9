//! One allocator setting for the whole process, made at start. glibc serves large
//! allocations with their own `mmap` and returns them to the kernel when freed, but
//! by default it raises that threshold each time such a block is freed (up to 32
//! MiB). A server that parses a large request body and frees it then grows its
//! arrays on the heap instead, and the copies left behind by each doubling stay
//! resident. The threshold is fixed at 256 KiB. On the 38k MiniLM set (`ann`, one
//! shard, compact ids) an int8 index holds 607 anonymous bytes per vector and f32
//! 1,755 (34.6%); at 4 MiB they held 718 and 1,801 (a part's id arena, offsets, id
//! table, touch times and metadata slots, each a few hundred KiB, left their halved
//! copies on the heap); at 128 KiB int8 held 603 but searched at 9.1k instead of
//! 14–15k QPS (a per-search buffer got a fresh map each time), and an earlier
//! embedder's per-call gemm buffers did the same to MCP recalls (28 ms). At 256 KiB
//! search QPS and 20-word MCP recalls (6.7 ms p50) are as at 4 MiB.
//! Fixing it also fixes glibc's trim threshold at 128 KiB, so that is raised too:
//! otherwise every large free hands the heap's top back and faults it in again.

/// Blocks of at least this many bytes get their own map.
pub const MMAP_THRESHOLD: usize = 256 << 10;

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

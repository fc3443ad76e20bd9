//! Large arrays that a search reads at random (level-0 links, float32 and float16
//! rows) on transparent huge pages. A search touches a few hundred rows spread
//! over the whole array; with 4 KiB pages nearly every row costs a TLB miss and a
//! page walk, with 2 MiB pages the TLB covers the arrays of a few million rows
//! (`ann`, 38k x 384 f32, one shard, one thread, ef 64, three alternating runs
//! with and without the advice: 9,286 vs 8,711 QPS, +6.6%; build 5.9 vs 6.1 s;
//! resident memory +0.4-2%).
//!
//! Arrays of at least [`ADVISE_MIN_BYTES`] are allocated here (grown rows and
//! links, arrays read from a snapshot, arrays rebuilt by vacuum) and advised with
//! `madvise(MADV_HUGEPAGE)` before their pages are first touched, so the kernel
//! backs them with huge pages when THP is `madvise` or `always` (it ignores the
//! advice when THP is `never`). Growth copies into a fresh advised block (as
//! `Vec` would when `realloc` cannot grow in place), so rows written before and
//! after a growth sit on huge pages alike. The cost is at most one partly used
//! 2 MiB page at the end of an array that grows (arrays allocated at their exact
//! length have none). int8 codes grown by inserts stay on normal pages: int8 is
//! the precision chosen for memory, and its codes are a quarter of the size.
//!
//! The one `unsafe` here is the `madvise` call; what it may touch is in its note.

/// Size of an x86-64 / aarch64 transparent huge page.
pub const HUGE_PAGE: usize = 2 << 20;
/// Arrays smaller than this stay on normal pages: a huge page's unused tail would
/// be a large share of them (8 MiB put int8's 38k-row index at 679 instead of 627
/// resident bytes per vector, for no QPS), and the TLB covers them anyway.
pub const ADVISE_MIN_BYTES: usize = 16 << 20;

/// An empty array with room for `n` items, advised for huge pages when large.
pub fn with_capacity<T>(n: usize) -> Vec<T> {
    let v = Vec::with_capacity(n);
    if n.saturating_mul(std::mem::size_of::<T>()) >= ADVISE_MIN_BYTES {
        advise(&v);
    }
    v
}

/// Makes room for `additional` more items: `Vec`'s own amortized growth while
/// the array is small, a doubled advised array once it is large.
pub fn reserve<T: Copy>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() >= additional {
        return;
    }
    let need = v.len().checked_add(additional).expect("capacity overflow");
    let cap = need.max(v.capacity().saturating_mul(2));
    if cap.saturating_mul(std::mem::size_of::<T>()) < ADVISE_MIN_BYTES {
        v.reserve(additional);
        return;
    }
    let mut grown = with_capacity(cap);
    grown.extend_from_slice(v);
    *v = grown;
}

/// `v.extend_from_slice(extra)`, growing through [`reserve`].
pub fn extend_from_slice<T: Copy>(v: &mut Vec<T>, extra: &[T]) {
    reserve(v, extra.len());
    v.extend_from_slice(extra);
}

/// `v.resize(len, fill)`, growing through [`reserve`].
pub fn resize<T: Copy>(v: &mut Vec<T>, len: usize, fill: T) {
    reserve(v, len.saturating_sub(v.len()));
    v.resize(len, fill);
}

/// Advises the whole huge pages inside `v`'s allocation.
fn advise<T>(v: &Vec<T>) {
    let start = v.as_ptr() as usize;
    let end = start + v.capacity() * std::mem::size_of::<T>();
    let (from, to) = (
        start.next_multiple_of(HUGE_PAGE),
        end / HUGE_PAGE * HUGE_PAGE,
    );
    if to <= from {
        return;
    }
    // SAFETY: [from, to) lies inside the allocation `v` owns (rounded inwards to
    // whole huge pages), so no other object's memory is named. MADV_HUGEPAGE only
    // tells the kernel how it may back those pages: it changes neither their
    // contents nor the mapping, so no Rust-visible state changes. An error (THP
    // compiled out or disabled) leaves the pages as they were; it is advice only.
    unsafe {
        libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The VmFlags of the mapping that holds `addr`, from /proc/self/smaps.
    fn vm_flags(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((a, b)) = range.split_once('-') {
                    if let (Ok(a), Ok(b)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                    {
                        inside = (a..b).contains(&addr);
                        continue;
                    }
                }
            }
            if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return Some(flags.trim().to_owned());
                }
            }
        }
        None
    }

    #[test]
    fn growth_keeps_every_item_like_a_plain_vec() {
        let (mut ours, mut plain) = (Vec::<u32>::new(), Vec::<u32>::new());
        let chunk: Vec<u32> = (0..10_000).collect();
        // Past ADVISE_MIN_BYTES several times over, through both growth paths.
        for round in 0..1_500u32 {
            if round % 2 == 0 {
                extend_from_slice(&mut ours, &chunk);
                plain.extend_from_slice(&chunk);
            } else {
                let len = ours.len() + 9_999;
                resize(&mut ours, len, round);
                plain.resize(len, round);
            }
        }
        assert!(std::mem::size_of_val(ours.as_slice()) > 3 * ADVISE_MIN_BYTES);
        assert_eq!(ours, plain);
    }

    #[test]
    fn large_arrays_are_advised_for_huge_pages() {
        let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        let mut v: Vec<f32> = with_capacity(ADVISE_MIN_BYTES / 2); // 2x the threshold in bytes
        v.resize(v.capacity(), 1.0);
        let mid = v.as_ptr() as usize + std::mem::size_of_val(v.as_slice()) / 2;
        let flags = vm_flags(mid).expect("the array's mapping is in smaps");
        if thp.contains("[madvise]") || thp.contains("[always]") {
            assert!(
                flags.split_whitespace().any(|f| f == "hg"),
                "no hg in {flags}"
            );
        }
    }
}

//! The process's memory settings, applied first thing in `main`. Rust's allocations go through
//! mimalloc (`main.rs`), and so do SQLite's ([`crate::db::sqlite_memory`]). This module owns what
//! the kernel is told beyond that: no transparent huge pages for this process. On Linux mimalloc
//! commits its 1 GiB arena eagerly and marks it `MADV_HUGEPAGE` (its arena is mapped before `main`
//! runs, so mimalloc's own option comes too late), and every first touch of a 2 MiB stretch then
//! makes the whole stretch resident: a server whose live heap is a few megabytes was 40 MB
//! resident at rest and 65–73 MB under load, against 27 MB and 40–49 MB with this setting, at
//! the same throughput (`bench/README.md`, `docs/decisions.md`).

/// Turns transparent huge pages off for this process (`prctl(PR_SET_THP_DISABLE)`), also for
/// memory mapped before; pages already made huge stay so. Returns whether the kernel took it
/// (always false off Linux, where there is nothing to turn off).
pub fn no_transparent_huge_pages() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes an integer flag and touches no memory of ours.
        unsafe {
            libc::prctl(
                libc::PR_SET_THP_DISABLE,
                1 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            ) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_process_asks_the_kernel_for_regular_pages() {
        assert!(super::no_transparent_huge_pages());
        // SAFETY: PR_GET_THP_DISABLE reads the flag and touches no memory of ours.
        let flag = unsafe {
            libc::prctl(
                libc::PR_GET_THP_DISABLE,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        assert_eq!(flag, 1);
    }
}

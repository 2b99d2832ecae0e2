//! SQLite's own allocations through mimalloc. SQLite allocates and frees many small blocks per
//! statement (bound values, records, cursors); with the system allocator that was about a sixth
//! of the writer thread's time, much of it in the allocator's locks. Rust's allocations already go
//! through mimalloc (see `main.rs`).

use std::os::raw::{c_int, c_void};

use rusqlite::ffi;

unsafe extern "C" fn x_malloc(size: c_int) -> *mut c_void {
    libmimalloc_sys::mi_malloc(size.max(0) as usize)
}

unsafe extern "C" fn x_free(block: *mut c_void) {
    libmimalloc_sys::mi_free(block)
}

unsafe extern "C" fn x_realloc(block: *mut c_void, size: c_int) -> *mut c_void {
    libmimalloc_sys::mi_realloc(block, size.max(0) as usize)
}

unsafe extern "C" fn x_size(block: *mut c_void) -> c_int {
    if block.is_null() {
        0
    } else {
        c_int::try_from(libmimalloc_sys::mi_usable_size(block)).unwrap_or(c_int::MAX)
    }
}

unsafe extern "C" fn x_roundup(size: c_int) -> c_int {
    c_int::try_from(libmimalloc_sys::mi_good_size(size.max(0) as usize)).unwrap_or(size)
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Hands SQLite mimalloc's routines. It must run before SQLite is first used in the process
/// (before any connection opens); later, SQLite refuses the change and keeps its allocator, which
/// is only slower. Returns whether SQLite took it.
pub fn use_mimalloc() -> bool {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(x_malloc),
        xFree: Some(x_free),
        xRealloc: Some(x_realloc),
        xSize: Some(x_size),
        xRoundup: Some(x_roundup),
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to a sqlite3_mem_methods, which SQLite copies
    // before returning; the routines are mimalloc's, which are thread-safe and return blocks
    // aligned to at least 8 bytes, as SQLite requires. sqlite3_config is only refused (not
    // undefined) once SQLite is initialised.
    unsafe {
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const ffi::sqlite3_mem_methods) == ffi::SQLITE_OK
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn once_sqlite_is_in_use_the_allocator_stays_and_sqlite_keeps_working() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        // SQLite is initialised now: the change is refused, not applied halfway.
        assert!(!super::use_mimalloc());
        let text: String = conn.query_row("select upper('still fine')", [], |row| row.get(0)).unwrap();
        assert_eq!(text, "STILL FINE");
    }
}

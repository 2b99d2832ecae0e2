// Many small allocations are made on the request threads and freed on the SQLite writer thread;
// mimalloc handles that pattern with less locking than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    crm_webhooks::memory::no_transparent_huge_pages();
    // Before SQLite is first used, so that its own allocations go through mimalloc too.
    crm_webhooks::db::sqlite_memory::use_mimalloc();
    crm_webhooks::cli::main()
}

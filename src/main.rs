fn main() -> std::process::ExitCode {
    crm_webhooks::cli::main()
}

//! The test daemon: the product daemon plus the test-only commands
//! (`test/panic`, `test/sleep`, `test/compose`). Only the end-to-end suite
//! runs it; it is never installed.

fn main() -> std::process::ExitCode {
    continuum_daemon::launch(vec![Box::new(continuum_e2e::test_commands::TestCommands)])
}

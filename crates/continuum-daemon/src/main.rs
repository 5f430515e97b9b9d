//! The `continuum-core` daemon binary: the product catalog, nothing more.

fn main() -> std::process::ExitCode {
    continuum_daemon::launch(Vec::new())
}

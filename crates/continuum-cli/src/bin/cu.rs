//! `cu`: the Continuum client.
fn main() -> std::process::ExitCode {
    continuum_cli::main("cu")
}

//! `continuum`: the same client as `cu`, for systems where `cu` is UUCP's.
fn main() -> std::process::ExitCode {
    continuum_cli::main("continuum")
}

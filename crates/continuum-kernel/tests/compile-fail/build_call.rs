// A handler tries to build a dispatch call carrying a caller of its choosing.
use continuum_kernel::dispatch::Call;

fn main() {
    let _call: Option<Call> = None;
}

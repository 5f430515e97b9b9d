// A handler tries to make itself a caller mint (the right to say who calls).
use continuum_kernel::CallerMint;

fn main() {
    let _mint: CallerMint = CallerMint { dispatcher: todo!() };
}

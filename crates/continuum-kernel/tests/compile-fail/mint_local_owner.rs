// A handler tries to call as the machine's owner by building the caller.
use continuum_kernel::gate::Caller;

fn main() {
    let _owner = Caller::LocalOwner;
}

// A handler tries to impersonate a grid peer with a key it never proved.
use continuum_kernel::gate::{Caller, PeerCaller, Trust};

fn main() {
    let peer = PeerCaller::new("bob".into(), [0; 32], Some(Trust::Trusted));
    let _caller = Caller::Peer(peer);
}

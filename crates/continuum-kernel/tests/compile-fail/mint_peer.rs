// A handler tries to impersonate a grid peer with a key it never proved.
use continuum_kernel::gate::{Caller, PeerCaller, Trust};

fn main() {
    let peer = PeerCaller {
        peer_id: "bob".into(),
        key: [0; 32],
        registered_trust: Some(Trust::Trusted),
    };
    let _caller = Caller::Peer(peer);
}

// A handler tries to build a persona caller with any trust it likes.
use continuum_kernel::gate::{Caller, Trust};

fn main() {
    let _persona = Caller::Persona {
        persona_id: "me".into(),
        trust: Trust::Owner,
    };
}

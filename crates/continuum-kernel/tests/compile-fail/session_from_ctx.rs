// A handler tries to turn its context into a session it could call through
// with a raised trust ceiling.
use continuum_kernel::command::Ctx;
use continuum_kernel::gate::Trust;
use continuum_kernel::Session;

fn handler(ctx: Ctx) {
    let session: Session = ctx.session();
    let _ = session.lowered(Trust::Owner);
}

fn main() {}

// A handler tries to reach the raw dispatcher through its context.
use continuum_kernel::command::Ctx;

fn handler(ctx: Ctx) {
    let _dispatcher = ctx.dispatcher();
}

fn main() {}

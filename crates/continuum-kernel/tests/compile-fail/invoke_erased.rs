// A handler erases a command and tries to run it directly, skipping the gate,
// the audit log, validation and limits.
use continuum_kernel::command::{erase, Command, CommandError, Ctx, NoParams};
use continuum_wire::Access;

#[derive(Default)]
struct Wipe;

impl Command for Wipe {
    const NAME: &'static str = "x/wipe";
    const DESCRIPTION: &'static str = "owner-only";
    const ACCESS: Access = Access::OwnerOnly;
    type Params = NoParams;
    type Output = ();
    async fn run(&self, _: Ctx, _: NoParams) -> Result<(), CommandError> {
        Ok(())
    }
}

fn handler(ctx: Ctx) {
    let erased = erase(Wipe);
    let _ = erased.0.invoke(ctx, serde_json::json!({}));
}

fn main() {}

// A handler finds a registry entry and tries to run its command directly.
use continuum_kernel::command::{Ctx, Entry};

fn handler(ctx: Ctx, entry: &Entry) {
    let _ = entry.command.invoke(ctx, serde_json::json!({}));
}

fn main() {}

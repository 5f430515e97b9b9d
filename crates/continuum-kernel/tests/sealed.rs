//! The kernel's walls, proven by code that must not compile: outside the
//! kernel nobody can build a caller, reach the dispatcher from a handler, or
//! run a command except through dispatch. Each file in `compile-fail/` is
//! one attempt; its `.stderr` pins the reason it is refused.

#[test]
fn handlers_cannot_mint_a_caller_or_bypass_dispatch() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/*.rs");
}

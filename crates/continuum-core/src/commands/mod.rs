//! The command catalog: one file per command (or small family), in a folder per
//! family. Stateless commands register themselves with `register_command!`;
//! commands that hold dependencies are contributed by the module that owns
//! them. Adding a command means adding a file here and nothing else.

pub mod ai;
mod audit;
mod catalog;
pub mod data;
pub mod grid;
mod ping;
pub mod system;
#[cfg(feature = "test-commands")]
mod test;

//! Preparing a home on disk. The layout itself is [`continuum_wire::Home`],
//! shared with clients.

use continuum_wire::Home;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

/// Longest Unix socket path the kernel accepts (sun_path minus the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Creates the layout with owner-only permissions and checks that the socket
/// path fits the kernel's limit.
pub fn prepare(home: &Home) -> io::Result<()> {
    for dir in [
        home.root().to_owned(),
        home.run_dir(),
        home.data_dir(),
        home.log_dir(),
    ] {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
    }
    // An existing directory keeps its mode under DirBuilder; enforce it.
    std::fs::set_permissions(home.root(), std::fs::Permissions::from_mode(0o700))?;
    std::fs::set_permissions(home.run_dir(), std::fs::Permissions::from_mode(0o700))?;
    let socket = home.socket();
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "socket path {} is longer than {MAX_SOCKET_PATH} bytes; set CONTINUUM_HOME to a shorter path",
                socket.display()
            ),
        ));
    }
    Ok(())
}

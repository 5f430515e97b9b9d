//! The systemd user unit `cu service install` writes, rendered as plain text
//! from plain data so every quoting rule is tested without systemd.
//!
//! systemd reads each setting its own way, so each value is written the way
//! its setting parses it:
//! - `ExecStart=` and `Environment=` split on spaces and honour double quotes
//!   with C escapes: values are quoted, `\` and `"` escaped.
//! - `ReadWritePaths=` splits on spaces and honours double quotes: quoted.
//! - `EnvironmentFile=` takes the rest of the line as one path: not quoted.
//! - Every setting expands `%` specifiers: `%` is written `%%`.
//! - Command lines expand `$VAR`: `$` is written `$$` in arguments. The
//!   executable's own path is taken verbatim, `$$` included, yet expanded in
//!   argv[0]: a daemon path with `$` cannot be written faithfully.
//!
//! Control characters (a newline would end the setting), paths that are not
//! UTF-8 (a unit file is UTF-8) and a `$` in the daemon's path are refused.

use std::fmt;
use std::path::{Path, PathBuf};

/// The unit's file name (and so its name for `systemctl --user`).
pub const UNIT_NAME: &str = "continuum.service";

/// The first line of every unit `cu` writes: how `uninstall` tells its own
/// file from one written by hand.
pub const MARKER: &str = "# Written by `cu service install` (Continuum).";

/// The optional file of extra environment (provider keys, `CONTINUUM_LOG`,
/// ...) the unit loads from the home: a service does not inherit the shell's
/// exported variables.
pub const ENV_FILE: &str = "service.env";

/// Characters systemd refuses (or cannot pass through) in an executable path.
const UNSAFE_IN_EXECUTABLE: [char; 4] = ['"', '\'', '\\', '$'];

/// What the unit runs.
#[derive(Debug, Clone, Copy)]
pub struct UnitSpec<'a> {
    /// Absolute path of `continuum-core`.
    pub daemon: &'a Path,
    /// Absolute path of the daemon's home.
    pub home: &'a Path,
}

/// Why a path cannot be written into a unit file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitPathError {
    /// Not valid UTF-8: a unit file is UTF-8 text.
    NotUtf8 {
        /// Which path ("the daemon binary", "the home").
        what: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// Not absolute: systemd resolves nothing relative to a directory.
    Relative {
        /// Which path.
        what: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// Holds a control character (a newline would end the setting).
    ControlCharacter {
        /// Which path.
        what: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// The daemon's path holds a character systemd refuses or cannot pass
    /// through in an executable's path (`"`, `'`, `\`, `$`).
    UnsafeExecutable {
        /// The path.
        path: PathBuf,
        /// The offending character.
        character: char,
    },
}

impl fmt::Display for UnitPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitPathError::NotUtf8 { what, path } => write!(
                f,
                "{what} {} is not valid UTF-8, which a unit file cannot hold; use a UTF-8 path",
                path.display()
            ),
            UnitPathError::Relative { what, path } => {
                write!(f, "{what} {} is not an absolute path", path.display())
            }
            UnitPathError::ControlCharacter { what, path } => write!(
                f,
                "{what} {:?} contains a control character, which a unit file cannot hold; rename it",
                path
            ),
            UnitPathError::UnsafeExecutable { path, character } => write!(
                f,
                "the daemon binary {} has {character:?} in its path, which systemd cannot take in an executable's name; \
                 put continuum-core elsewhere (or point CONTINUUM_CORE_BIN at a link to it)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for UnitPathError {}

/// Whether `home` lies under a temporary directory, which `PrivateTmp=`
/// would hide from the service behind a fresh, empty one.
pub fn under_tmp(home: &Path) -> bool {
    home.starts_with("/tmp") || home.starts_with("/var/tmp")
}

/// The unit file's text.
pub fn render(spec: UnitSpec<'_>) -> Result<String, UnitPathError> {
    let daemon = checked("the daemon binary", spec.daemon)?;
    if let Some(character) = daemon.chars().find(|c| UNSAFE_IN_EXECUTABLE.contains(c)) {
        return Err(UnitPathError::UnsafeExecutable {
            path: spec.daemon.to_owned(),
            character,
        });
    }
    let home = checked("the home", spec.home)?;
    let env_file = format!("{}/{ENV_FILE}", home.trim_end_matches('/'));
    let private_tmp = if under_tmp(spec.home) {
        "# PrivateTmp= is off: the home is under a temporary directory, which a\n\
         # private /tmp would hide from the daemon.\n"
    } else {
        "PrivateTmp=yes\n"
    };
    Ok(format!(
        "{MARKER}
# `cu service install --force` rewrites it; `cu service uninstall` removes it.
[Unit]
Description=Continuum daemon (continuum-core)

[Service]
# The daemon stays in the foreground; it logs to its home (logs/core.log).
Type=exec
{environment}
# Provider keys and other variables, one NAME=value a line (optional; 0600).
EnvironmentFile=-{env_file}
ExecStart={exec}
# SIGTERM is a graceful stop: in-flight calls finish, stores close.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=20s
Restart=on-failure
RestartSec=2s
# 2: a refused command line; 3: another daemon holds the home (`cu start`).
# Restarting cannot help either.
RestartPreventExitStatus=2 3

# The sandbox: the daemon writes only its home. In a user unit, systemd
# needs PrivateUsers= (unprivileged user namespaces) for the mount options.
UMask=0077
NoNewPrivileges=yes
PrivateUsers=yes
{private_tmp}ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths={rw}
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

[Install]
WantedBy=default.target
",
        environment = environment_line(spec.home)?,
        env_file = specifiers_escaped(&env_file),
        exec = [
            quoted(daemon, Expand::SpecifiersAndVariables),
            quoted("--home", Expand::SpecifiersAndVariables),
            quoted(home, Expand::SpecifiersAndVariables),
        ]
        .join(" "),
        rw = quoted(home, Expand::Specifiers),
    ))
}

/// The `Environment=` line naming `home`: also how `cu start` recognises a
/// unit installed for the home it was asked to start.
pub fn environment_line(home: &Path) -> Result<String, UnitPathError> {
    let home = checked("the home", home)?;
    Ok(format!(
        "Environment={}",
        quoted(&format!("CONTINUUM_HOME={home}"), Expand::Specifiers)
    ))
}

fn checked<'a>(what: &'static str, path: &'a Path) -> Result<&'a str, UnitPathError> {
    let text = path.to_str().ok_or_else(|| UnitPathError::NotUtf8 {
        what,
        path: path.to_owned(),
    })?;
    if !path.is_absolute() {
        return Err(UnitPathError::Relative {
            what,
            path: path.to_owned(),
        });
    }
    if text.chars().any(char::is_control) {
        return Err(UnitPathError::ControlCharacter {
            what,
            path: path.to_owned(),
        });
    }
    Ok(text)
}

/// What a setting expands besides quotes and escapes.
#[derive(Clone, Copy)]
enum Expand {
    /// `%` specifiers only (`Environment=`, paths).
    Specifiers,
    /// `%` specifiers and `$VAR` (command lines).
    SpecifiersAndVariables,
}

/// `value` as one double-quoted word that systemd reads back unchanged.
fn quoted(value: &str, expand: Expand) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' if matches!(expand, Expand::SpecifiersAndVariables) => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `value` for a setting that takes the rest of the line verbatim.
fn specifiers_escaped(value: &str) -> String {
    value.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(daemon: &str, home: &str) -> String {
        render(UnitSpec {
            daemon: Path::new(daemon),
            home: Path::new(home),
        })
        .unwrap()
    }

    fn setting<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
        unit.lines()
            .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .collect()
    }

    #[test]
    fn a_plain_unit_runs_the_daemon_in_the_foreground_for_its_home() {
        let text = unit("/usr/local/bin/continuum-core", "/home/ada/.continuum");
        assert!(text.starts_with(MARKER), "{text}");
        assert_eq!(
            setting(&text, "ExecStart"),
            [r#""/usr/local/bin/continuum-core" "--home" "/home/ada/.continuum""#]
        );
        assert_eq!(
            setting(&text, "Environment"),
            [r#""CONTINUUM_HOME=/home/ada/.continuum""#]
        );
        assert_eq!(
            setting(&text, "ReadWritePaths"),
            [r#""/home/ada/.continuum""#]
        );
        assert_eq!(
            setting(&text, "EnvironmentFile"),
            ["-/home/ada/.continuum/service.env"]
        );
        assert_eq!(setting(&text, "Type"), ["exec"]);
        assert_eq!(setting(&text, "Restart"), ["on-failure"]);
        assert_eq!(setting(&text, "KillSignal"), ["SIGTERM"]);
        assert_eq!(setting(&text, "WantedBy"), ["default.target"]);
    }

    #[test]
    fn the_sandbox_lets_the_daemon_write_only_its_home() {
        let text = unit("/opt/c/continuum-core", "/home/ada/.continuum");
        for (key, value) in [
            ("NoNewPrivileges", "yes"),
            ("PrivateUsers", "yes"),
            ("PrivateTmp", "yes"),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "read-only"),
            ("UMask", "0077"),
        ] {
            assert_eq!(setting(&text, key), [value], "{key}");
        }
    }

    #[test]
    fn a_home_under_tmp_keeps_the_real_tmp_visible() {
        let text = unit("/opt/c/continuum-core", "/tmp/cu-e2e-x/home");
        assert!(setting(&text, "PrivateTmp").is_empty(), "{text}");
        assert_eq!(setting(&text, "ProtectSystem"), ["strict"]);
        assert!(under_tmp(Path::new("/var/tmp/h")));
        assert!(!under_tmp(Path::new("/tmpfoo/h")));
    }

    #[test]
    fn spaces_stay_inside_one_quoted_word() {
        let text = unit("/opt/my apps/continuum-core", "/home/ada/my home");
        assert_eq!(
            setting(&text, "ExecStart"),
            [r#""/opt/my apps/continuum-core" "--home" "/home/ada/my home""#]
        );
        assert_eq!(setting(&text, "ReadWritePaths"), [r#""/home/ada/my home""#]);
        assert_eq!(
            setting(&text, "Environment"),
            [r#""CONTINUUM_HOME=/home/ada/my home""#]
        );
        assert_eq!(
            setting(&text, "EnvironmentFile"),
            ["-/home/ada/my home/service.env"]
        );
    }

    #[test]
    fn percent_signs_are_doubled_everywhere() {
        let text = unit("/opt/100%/continuum-core", "/home/ada/50%h");
        assert_eq!(
            setting(&text, "ExecStart"),
            [r#""/opt/100%%/continuum-core" "--home" "/home/ada/50%%h""#]
        );
        assert_eq!(setting(&text, "ReadWritePaths"), [r#""/home/ada/50%%h""#]);
        assert_eq!(
            setting(&text, "Environment"),
            [r#""CONTINUUM_HOME=/home/ada/50%%h""#]
        );
        assert_eq!(
            setting(&text, "EnvironmentFile"),
            ["-/home/ada/50%%h/service.env"]
        );
    }

    #[test]
    fn dollars_are_doubled_only_where_variables_expand() {
        let text = unit("/opt/c/continuum-core", "/home/ada/$HOME");
        assert_eq!(
            setting(&text, "ExecStart"),
            [r#""/opt/c/continuum-core" "--home" "/home/ada/$$HOME""#]
        );
        assert_eq!(
            setting(&text, "Environment"),
            [r#""CONTINUUM_HOME=/home/ada/$HOME""#]
        );
        assert_eq!(setting(&text, "ReadWritePaths"), [r#""/home/ada/$HOME""#]);
    }

    #[test]
    fn quotes_backslashes_and_dollars_in_the_daemon_path_are_refused() {
        for (path, bad) in [
            ("/opt/$X/continuum-core", '$'),
            ("/opt/a\"b/continuum-core", '"'),
            ("/opt/it's/continuum-core", '\''),
            ("/opt/a\\b/continuum-core", '\\'),
        ] {
            let err = render(UnitSpec {
                daemon: Path::new(path),
                home: Path::new("/home/ada/.continuum"),
            })
            .unwrap_err();
            assert_eq!(
                err,
                UnitPathError::UnsafeExecutable {
                    path: PathBuf::from(path),
                    character: bad
                }
            );
        }
    }

    #[test]
    fn quotes_and_backslashes_are_escaped_inside_quotes() {
        let text = unit("/opt/c/continuum-core", r#"/home/ada/a"b\c"#);
        assert_eq!(
            setting(&text, "ExecStart"),
            [r#""/opt/c/continuum-core" "--home" "/home/ada/a\"b\\c""#]
        );
        assert_eq!(
            setting(&text, "Environment"),
            [r#""CONTINUUM_HOME=/home/ada/a\"b\\c""#]
        );
    }

    #[test]
    fn a_newline_in_a_path_is_refused() {
        let err = render(UnitSpec {
            daemon: Path::new("/opt/c/continuum-core"),
            home: Path::new("/home/ada/x\nExecStartPre=/bin/evil"),
        })
        .unwrap_err();
        assert!(
            matches!(
                err,
                UnitPathError::ControlCharacter {
                    what: "the home",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_relative_path_is_refused() {
        let err = render(UnitSpec {
            daemon: Path::new("bin/continuum-core"),
            home: Path::new("/home/ada/.continuum"),
        })
        .unwrap_err();
        assert!(
            matches!(
                err,
                UnitPathError::Relative {
                    what: "the daemon binary",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_path_that_is_not_utf8_is_refused() {
        use std::os::unix::ffi::OsStrExt;
        let home = Path::new(std::ffi::OsStr::from_bytes(b"/home/ada/\xff"));
        let err = render(UnitSpec {
            daemon: Path::new("/opt/c/continuum-core"),
            home,
        })
        .unwrap_err();
        assert!(matches!(err, UnitPathError::NotUtf8 { .. }), "{err:?}");
    }

    #[test]
    fn the_environment_line_is_the_one_the_unit_holds() {
        let home = Path::new("/home/ada/50% off");
        let text = unit("/opt/c/continuum-core", "/home/ada/50% off");
        let line = environment_line(home).unwrap();
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
}

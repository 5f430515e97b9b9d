//! `cu service install|uninstall|status`: arguments in, messages out; the
//! work is in the parent module.

use super::{
    Activation, InstallOptions, Installed, Manager, ServiceError, ServiceStatus, Uninstalled,
    Written, UNIT_NAME,
};
use crate::exit;
use crate::output::{print_result, stdout_is_tty};
use continuum_wire::Home;
use serde_json::{json, Value};

fn usage(bin: &str) -> String {
    format!(
        "Usage:\n  \
           {bin} service install [--no-start] [--force] [--print]\n      \
               write the systemd user unit ~/.config/systemd/user/{UNIT_NAME} for this home,\n      \
               then enable and start it (--no-start: only write it; --print: print it,\n      \
               write nothing; --force: replace a different unit)\n  \
           {bin} service uninstall [--force]\n      \
               stop and disable it, remove the file (never the home)\n  \
           {bin} service status\n      \
               is it installed, for which home, what systemd says\n"
    )
}

/// Runs `cu service ARGS`; returns the exit code.
pub(crate) fn run(bin: &str, home: &Home, args: &[String]) -> u8 {
    let Some((verb, flags)) = args.split_first() else {
        eprint!("{}", usage(bin));
        return exit::USAGE;
    };
    let allowed: &[&str] = match verb.as_str() {
        "install" => &["--no-start", "--force", "--print"],
        "uninstall" => &["--force"],
        "status" => &[],
        "-h" | "--help" | "help" => {
            print!("{}", usage(bin));
            return exit::OK;
        }
        other => {
            eprintln!("{bin} service: unknown verb '{other}'\n");
            eprint!("{}", usage(bin));
            return exit::USAGE;
        }
    };
    if flags.iter().any(|f| f == "-h" || f == "--help") {
        print!("{}", usage(bin));
        return exit::OK;
    }
    if let Some(bad) = flags.iter().find(|f| !allowed.contains(&f.as_str())) {
        let valid = if allowed.is_empty() {
            "none".to_owned()
        } else {
            allowed.join(", ")
        };
        eprintln!("{bin} service {verb}: unknown flag '{bad}' (valid: {valid})");
        return exit::USAGE;
    }
    let has = |flag: &str| flags.iter().any(|f| f == flag);
    let result = match verb.as_str() {
        "install" if has("--print") => super::render_for(home).map(|text| {
            print!("{text}");
            exit::OK
        }),
        "install" => super::install(
            home,
            InstallOptions {
                start: !has("--no-start"),
                force: has("--force"),
            },
        )
        .map(|installed| report_installed(bin, &installed)),
        "uninstall" => super::uninstall(has("--force")).map(|done| report_uninstalled(&done)),
        _ => super::status(home).map(|status| report_status(bin, &status)),
    };
    result.unwrap_or_else(|err: ServiceError| {
        eprintln!("{bin} service {verb}: {err}");
        err.exit_code()
    })
}

fn report_installed(bin: &str, installed: &Installed) -> u8 {
    let what = match installed.written {
        Written::Created => "wrote",
        Written::Replaced => "replaced",
        Written::Unchanged => "unchanged:",
    };
    println!(
        "{what} {} (home {})",
        installed.unit.display(),
        installed.home.display()
    );
    let start_commands =
        format!("  systemctl --user daemon-reload\n  systemctl --user enable --now {UNIT_NAME}");
    match &installed.activation {
        Activation::NotRequested => {
            println!(
                "not started (--no-start); to start it now and at every login:\n{start_commands}"
            );
        }
        Activation::Started(info) => {
            println!(
                "continuum-core runs under systemd (pid {}); it starts at every login.\n  \
                 systemctl --user status {UNIT_NAME}    journalctl --user -u {UNIT_NAME}",
                info["pid"]
            );
            eprintln!(
                "note: to keep it running while you are logged out: loginctl enable-linger \"$USER\""
            );
        }
        Activation::EnabledBesideRunning(pid) => {
            println!(
                "enabled, not started: a daemon started by `{bin} start` holds this home (pid {}).\n\
                 Move it under systemd with `{bin} stop && {bin} start`.",
                pid.map_or("?".into(), |p| p.to_string())
            );
        }
        Activation::NoManager(why) => {
            println!(
                "not started: {why}.\nWhere a systemd user manager runs (a login session), run:\n{start_commands}"
            );
        }
    }
    exit::OK
}

fn report_uninstalled(done: &Uninstalled) -> u8 {
    match done {
        Uninstalled::NotInstalled(unit) => {
            println!("not installed ({} does not exist)", unit.display());
        }
        Uninstalled::Removed {
            unit,
            no_manager: None,
        } => println!(
            "stopped, disabled and removed {} (the home is untouched)",
            unit.display()
        ),
        Uninstalled::Removed {
            unit,
            no_manager: Some(why),
        } => println!(
            "removed {} (the home is untouched); nothing to stop: {why}",
            unit.display()
        ),
    }
    exit::OK
}

fn report_status(bin: &str, status: &ServiceStatus) -> u8 {
    let (manager, manager_error) = match &status.manager {
        Manager::Running(state) => (Value::String(state.clone()), Value::Null),
        Manager::Absent(why) => (Value::Null, Value::String(why.clone())),
    };
    if !stdout_is_tty() {
        print_result(&json!({
            "unit": status.unit,
            "installed": status.installed,
            "writtenByCu": status.written_by_cu,
            "current": status.current,
            "forThisHome": status.for_this_home,
            "manager": manager,
            "managerError": manager_error,
            "active": status.active,
            "enabled": status.enabled,
        }));
        return exit::OK;
    }
    if !status.installed {
        println!(
            "{UNIT_NAME} is not installed ({} does not exist); `{bin} service install` writes it",
            status.unit.display()
        );
    } else {
        println!("{UNIT_NAME} is installed: {}", status.unit.display());
        if !status.written_by_cu {
            println!("  written by hand (not by `{bin} service install`)");
        } else if !status.for_this_home {
            println!("  for another home than this one (CONTINUUM_HOME)");
        } else if status.current == Some(false) {
            println!(
                "  differs from what `{bin} service install` writes now (another daemon binary?): \
                 `{bin} service install --force` updates it"
            );
        }
    }
    match &status.manager {
        Manager::Running(_) => println!(
            "  systemd: {}{}",
            status.active.as_deref().unwrap_or("unknown"),
            status
                .enabled
                .as_deref()
                .map_or_else(String::new, |enabled| format!(", {enabled}"))
        ),
        Manager::Absent(why) => println!("  systemd: {why}"),
    }
    exit::OK
}

//! The `cu` command line: built-in lifecycle verbs, then `cu <command> ...`
//! for every daemon command.

use crate::client::{Client, ClientError};
use crate::control::{self, Started, Status, Stopped};
use crate::exit;
use crate::flags::{self, FlagError};
use crate::output::{print_result, stderr_is_tty, stdout_is_tty};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use continuum_wire::{CommandDescriptor, Home, RpcError, Trust};
use serde_json::{json, Value};
use std::io::Write;
use std::process::ExitCode;

fn usage(bin: &str) -> String {
    format!(
        "{bin}: the Continuum client\n\n\
         Usage:\n  \
           {bin} start                 start the daemon (idempotent)\n  \
           {bin} stop                  stop the daemon (idempotent)\n  \
           {bin} status                is it running? pid, version, uptime\n  \
           {bin} chat ROOM             chat in a room: type to send, answers appear\n  \
           {bin} service install       run it as a systemd user service (also: uninstall, status)\n  \
           {bin} mcp [--as persona N]  serve the commands to an MCP client on stdio (--help for more)\n  \
           {bin} <command> [JSON]      call a command with a JSON params object\n  \
           {bin} <command> --flag ...  call a command with flags from its schema\n  \
           {bin} <command> --help      the command's flags, from its schema\n  \
           {bin} completions <shell>   shell completions (bash, zsh, fish, elvish, powershell)\n\n\
         Options (before the command):\n  \
           --max-trust <level>         call with at most this trust: blocked, provisional,\n  \
                                       trusted or owner (e.g. to see what an agent may do)\n\n\
         List commands: {bin} commands/list --schemas=false\n\
         Home: $CONTINUUM_HOME (default ~/.continuum)\n\
         Exit codes: 0 ok, 1 command failed, 2 usage, 3 daemon not running, 4 refused\n"
    )
}

/// Runs the client; `bin` is the name it was invoked as (`cu` or `continuum`).
pub fn main(bin: &str) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    ExitCode::from(run(bin, &args))
}

fn run(bin: &str, args: &[String]) -> u8 {
    let Some(home) = Home::from_env() else {
        eprintln!("{bin}: set CONTINUUM_HOME or HOME");
        return exit::USAGE;
    };
    let (max_trust, args) = match take_max_trust(args) {
        Ok(split) => split,
        Err(message) => {
            eprintln!("{bin}: {message}");
            return exit::USAGE;
        }
    };
    let Some(first) = args.first() else {
        eprint!("{}", usage(bin));
        return exit::USAGE;
    };
    match first.as_str() {
        "-h" | "--help" | "help" => {
            print!("{}", usage(bin));
            exit::OK
        }
        "-V" | "--version" => {
            println!("{bin} {}", env!("CARGO_PKG_VERSION"));
            exit::OK
        }
        "start" => cmd_start(bin, &home),
        "stop" => cmd_stop(bin, &home),
        "status" => cmd_status(&home),
        "service" => crate::service::command::run(bin, &home, &args[1..]),
        "mcp" => cmd_mcp(bin, &args[1..], max_trust),
        "completions" => cmd_completions(bin, &home, args.get(1).map(String::as_str)),
        "chat" => crate::chat::run(
            bin,
            &home,
            args.get(1).map(String::as_str),
            || {
                let mut client = Client::connect(&home.socket())?;
                if let Some(max) = max_trust {
                    client.limit_trust(max);
                }
                Ok(client)
            },
            |err| report_client_error(bin, err),
        ),
        flag if flag.starts_with('-') => {
            eprintln!("{bin}: unknown option '{flag}'\n");
            eprint!("{}", usage(bin));
            exit::USAGE
        }
        command => cmd_call(bin, &home, command, &args[1..], max_trust),
    }
}

/// `cu mcp ARGS`: becomes `continuum-mcp ARGS` (exec), so the MCP host's
/// pipes reach the server directly and `cu` stays small.
fn cmd_mcp(bin: &str, args: &[String], max_trust: Option<Trust>) -> u8 {
    use std::os::unix::process::CommandExt;
    let server = match control::find_companion(MCP_BIN, MCP_BIN_ENV) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("{bin}: {err}");
            return exit::FAILED;
        }
    };
    let mut command = std::process::Command::new(server);
    if let Some(max) = max_trust {
        command.arg("--max-trust").arg(max.as_str());
    }
    let err = command.args(args).exec();
    eprintln!("{bin}: cannot run {MCP_BIN}: {err}");
    exit::FAILED
}

/// The MCP server binary, and the variable that names it explicitly.
const MCP_BIN: &str = "continuum-mcp";
const MCP_BIN_ENV: &str = "CONTINUUM_MCP_BIN";

/// Splits a leading `--max-trust LEVEL` (or `--max-trust=LEVEL`) off `args`.
fn take_max_trust(args: &[String]) -> Result<(Option<Trust>, &[String]), String> {
    let (value, rest) = match args {
        [flag, value, rest @ ..] if flag == "--max-trust" => (value.as_str(), rest),
        [flag] if flag == "--max-trust" => {
            return Err("--max-trust needs a level: blocked, provisional, trusted or owner".into())
        }
        [flag, rest @ ..] if flag.starts_with("--max-trust=") => {
            (&flag["--max-trust=".len()..], rest)
        }
        _ => return Ok((None, args)),
    };
    let trust = Trust::parse(value).ok_or_else(|| {
        format!("--max-trust: '{value}' is not a level; use blocked, provisional, trusted or owner")
    })?;
    Ok((Some(trust), rest))
}

fn warn_if_shadowed() {
    if let Some(warning) = control::shadow_warning() {
        eprintln!("{warning}");
    }
}

fn cmd_start(bin: &str, home: &Home) -> u8 {
    warn_if_shadowed();
    // A home the installed user unit serves is started by systemd, so the
    // daemon runs (and restarts) where `systemctl --user` can see it.
    let (started, how) = match crate::service::start_through_systemd(home) {
        Some(result) => (
            result.map_err(|err| control::ControlError(err.to_string())),
            " under systemd",
        ),
        None => (control::start(home), ""),
    };
    match started {
        Ok(Started::AlreadyRunning(info)) => {
            println!("continuum-core already running (pid {})", info["pid"]);
            exit::OK
        }
        Ok(Started::Started { info, elapsed }) => {
            println!(
                "continuum-core started{how} (pid {}, ready in {} ms, socket {})",
                info["pid"],
                elapsed.as_millis(),
                home.socket().display()
            );
            exit::OK
        }
        Err(err) => {
            eprintln!("{bin} start: {err}");
            exit::FAILED
        }
    }
}

fn cmd_stop(bin: &str, home: &Home) -> u8 {
    if let Some(refused) = control::home_refused(home) {
        eprintln!("{bin} stop: {refused}");
        return exit::REFUSED;
    }
    // A daemon systemd runs is stopped through systemd: stopped behind its
    // back, systemd would call it failed (or restart it, if it had to be
    // killed).
    if let Some(result) = crate::service::stop_through_systemd(home) {
        return match result {
            Ok(_) => {
                println!(
                    "continuum-core stopped (systemctl --user stop {})",
                    crate::service::UNIT_NAME
                );
                if crate::service::enabled() {
                    eprintln!(
                        "note: the unit is enabled: it starts again at the next login (`{bin} service uninstall` removes it)"
                    );
                }
                exit::OK
            }
            Err(err) => {
                eprintln!("{bin} stop: {err}");
                err.exit_code()
            }
        };
    }
    match control::stop(home) {
        Ok(Stopped::NotRunning) => {
            println!("continuum-core was not running");
            exit::OK
        }
        Ok(Stopped::Graceful(pid)) => {
            println!(
                "continuum-core stopped (pid {})",
                pid.map_or("?".into(), |p| p.to_string())
            );
            exit::OK
        }
        Ok(Stopped::Signalled(pid)) => {
            println!("continuum-core stopped by signal (pid {pid})");
            exit::OK
        }
        Err(err) => {
            eprintln!("{bin} stop: {err}");
            exit::FAILED
        }
    }
}

fn cmd_status(home: &Home) -> u8 {
    warn_if_shadowed();
    let status = control::status(home);
    let pid_text = |pid: &Option<i32>| pid.map_or("?".to_owned(), |p| p.to_string());
    let (code, report, text) = match &status {
        Status::Running(info) => {
            let mut report = info.clone();
            report["running"] = Value::Bool(true);
            let text = format!(
                "continuum-core is running\n  pid:     {}\n  version: {}\n  uptime:  {}\n  socket:  {}\n  home:    {}",
                info["pid"],
                info["version"].as_str().unwrap_or("?"),
                control::human_duration(info["uptimeMs"].as_u64().unwrap_or(0)),
                info["socket"].as_str().unwrap_or("?"),
                info["home"].as_str().unwrap_or("?"),
            );
            (exit::OK, report, text)
        }
        Status::Unresponsive(pid) => (
            exit::FAILED,
            json!({"running": true, "answering": false, "pid": pid}),
            format!(
                "continuum-core (pid {}) holds {} but does not answer within {} s; `cu stop` stops it by signal",
                pid_text(pid),
                home.root().display(),
                control::PROBE_TIMEOUT.as_secs()
            ),
        ),
        Status::SocketGone(pid) => (
            exit::FAILED,
            json!({"running": true, "answering": false, "socket": false, "pid": pid}),
            format!(
                "continuum-core (pid {}) holds {} but its socket {} is gone; `cu stop` then `cu start` restores it",
                pid_text(pid),
                home.root().display(),
                home.socket().display()
            ),
        ),
        Status::Refused(why) => (
            exit::REFUSED,
            json!({"running": null, "refused": why}),
            why.clone(),
        ),
        Status::NotRunning => (
            exit::NOT_RUNNING,
            json!({"running": false}),
            format!(
                "continuum-core is not running (home {})",
                home.root().display()
            ),
        ),
    };
    if stdout_is_tty() {
        println!("{text}");
    } else {
        print_result(&report);
    }
    code
}

fn report_client_error(bin: &str, err: &ClientError) -> u8 {
    match err {
        ClientError::NotRunning(_) => {
            eprintln!("{bin}: the daemon is not running (start it with `{bin} start`)");
            exit::NOT_RUNNING
        }
        ClientError::Refused(_) => {
            eprintln!("{bin}: {err}");
            exit::REFUSED
        }
        ClientError::Unresponsive(_) => {
            eprintln!("{bin}: {err}");
            exit::NOT_RUNNING
        }
        ClientError::Io(err) => {
            eprintln!("{bin}: connection to the daemon failed: {err}");
            exit::NOT_RUNNING
        }
        ClientError::Rpc(err) => {
            report_rpc_error(bin, err);
            exit::for_error(err.error_code())
        }
    }
}

fn report_rpc_error(bin: &str, err: &RpcError) {
    eprintln!("{bin}: error: {}", err.message);
    if let Some(data) = &err.data {
        if let Some(field) = data.field.as_deref().filter(|f| !f.is_empty()) {
            eprintln!("  field: {field}");
        }
    }
}

fn fetch_descriptor(
    client: &mut Client,
    name: &str,
) -> Result<Option<CommandDescriptor>, ClientError> {
    let listed = client.call("commands/list", json!({"name": name}))?;
    let commands = listed.get("commands").cloned().unwrap_or(Value::Null);
    let mut descriptors: Vec<CommandDescriptor> =
        serde_json::from_value(commands).map_err(|err| ClientError::Io(err.into()))?;
    Ok(descriptors.pop())
}

fn cmd_call(
    bin: &str,
    home: &Home,
    command: &str,
    rest: &[String],
    max_trust: Option<Trust>,
) -> u8 {
    let wants_help = rest.iter().any(|arg| arg == "--help" || arg == "-h");
    let mut client = match Client::connect(&home.socket()) {
        Ok(client) => client,
        Err(ClientError::NotRunning(_)) if wants_help => {
            return offline_help(bin, home, command, rest);
        }
        Err(err) => return report_client_error(bin, &err),
    };
    if let Some(max) = max_trust {
        client.limit_trust(max);
    }
    let params = match rest {
        [] => json!({}),
        [dash] if dash == "-" => match params_from_stdin(bin) {
            Ok(params) => params,
            Err(code) => return code,
        },
        [only] if only.trim_start().starts_with('{') => match serde_json::from_str::<Value>(only) {
            Ok(value) => value,
            Err(err) => {
                eprintln!("{bin}: the params argument is not valid JSON: {err}");
                return exit::USAGE;
            }
        },
        _ => match params_from_flags(bin, &mut client, command, rest) {
            Ok(params) => params,
            Err(code) => return code,
        },
    };
    call_and_print(bin, &mut client, command, params)
}

/// `cu <command> --help` while the daemon is stopped: the flags of the
/// catalog it served when it last started.
fn offline_help(bin: &str, home: &Home, command: &str, rest: &[String]) -> u8 {
    let cached = std::fs::read(home.catalog_file())
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|catalog| {
            serde_json::from_value::<Vec<CommandDescriptor>>(catalog["commands"].clone()).ok()
        });
    let Some(descriptor) = cached
        .into_iter()
        .flatten()
        .find(|descriptor| descriptor.name == command)
    else {
        eprintln!(
            "{bin}: the daemon is not running and has no catalog naming '{command}'; start it with `{bin} start` to see its commands"
        );
        return exit::NOT_RUNNING;
    };
    eprintln!("(the daemon is not running: flags from the catalog it served when it last started)");
    match flags::params_from_args(bin, &descriptor, rest) {
        Ok(_) => exit::OK,
        Err(err) => report_flag_error(bin, &descriptor, err),
    }
}

/// `cu <command> -`: the params as one JSON object on stdin, for params too
/// large for a command line.
fn params_from_stdin(bin: &str) -> Result<Value, u8> {
    let mut text = String::new();
    if let Err(err) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
        eprintln!("{bin}: cannot read params from stdin: {err}");
        return Err(exit::USAGE);
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => {
            eprintln!("{bin}: the params on stdin must be one JSON object");
            Err(exit::USAGE)
        }
        Err(err) => {
            eprintln!("{bin}: the params on stdin are not valid JSON: {err}");
            Err(exit::USAGE)
        }
    }
}

fn params_from_flags(
    bin: &str,
    client: &mut Client,
    command: &str,
    rest: &[String],
) -> Result<Value, u8> {
    let descriptor = match fetch_descriptor(client, command) {
        Ok(Some(descriptor)) => descriptor,
        // Not listed for us: let the daemon say why (unknown, with
        // suggestions, or forbidden). Listed == callable, so nothing runs.
        Ok(None) => return Err(call_and_print(bin, client, command, json!({}))),
        Err(err) => return Err(report_client_error(bin, &err)),
    };
    flags::params_from_args(bin, &descriptor, rest)
        .and_then(|mut params| {
            flags::add_secrets(&descriptor, &mut params)?;
            Ok(params)
        })
        .map_err(|err| report_flag_error(bin, &descriptor, err))
}

fn report_flag_error(bin: &str, descriptor: &CommandDescriptor, err: FlagError) -> u8 {
    match err {
        FlagError::Clap(err) => match err.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                let _ = err.print();
                exit::OK
            }
            ErrorKind::UnknownArgument => {
                let offending = match err.get(ContextKind::InvalidArg) {
                    Some(ContextValue::String(flag)) => flag.clone(),
                    _ => "?".to_owned(),
                };
                let valid: Vec<String> = flags::flag_specs(&descriptor.params_schema)
                    .iter()
                    .filter(|spec| !spec.secret)
                    .map(|spec| format!("--{}", spec.flag))
                    .collect();
                eprintln!(
                    "{bin}: unknown flag '{offending}' for '{}'",
                    descriptor.name
                );
                if valid.is_empty() {
                    eprintln!("  '{}' takes no flags", descriptor.name);
                } else {
                    eprintln!("  valid flags: {}", valid.join(", "));
                }
                eprintln!("  see: {bin} {} --help", descriptor.name);
                exit::USAGE
            }
            _ => {
                let _ = err.print();
                exit::USAGE
            }
        },
        FlagError::BadValue {
            flag,
            expected,
            given,
        } => {
            eprintln!("{bin}: --{flag} expects {expected}, got '{given}'");
            exit::USAGE
        }
        FlagError::Secret(why) => {
            eprintln!("{bin}: {why}");
            exit::USAGE
        }
    }
}

fn call_and_print(bin: &str, client: &mut Client, command: &str, params: Value) -> u8 {
    let mut streamed_text = false;
    let show_reasoning = stderr_is_tty();
    let result = client.call_streaming(command, params, None, |event| {
        if let Some(text) = event.get("text").and_then(Value::as_str) {
            streamed_text = true;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        } else if let Some(reasoning) = event.get("reasoning").and_then(Value::as_str) {
            if show_reasoning {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\x1b[2m{reasoning}\x1b[0m");
                let _ = err.flush();
            }
        }
    });
    match result {
        Ok(value) => {
            if streamed_text {
                println!();
                if !stdout_is_tty() {
                    print_result(&value);
                }
            } else {
                print_result(&value);
            }
            exit::OK
        }
        Err(err) => {
            let code = report_client_error(bin, &err);
            if let ClientError::Rpc(rpc) = &err {
                suggest_builtin(bin, command, rpc);
            }
            code
        }
    }
}

/// `cu`'s own verbs are not daemon commands, so the daemon cannot suggest
/// them: `cu stat` should still hear about `cu status`.
fn suggest_builtin(bin: &str, command: &str, err: &RpcError) {
    let unknown = err.error_code() == Some(continuum_wire::ErrorCode::MethodNotFound);
    let daemon_suggested = err
        .data
        .as_ref()
        .is_some_and(|data| !data.suggestions.is_empty());
    if !unknown || daemon_suggested {
        return;
    }
    let close: Vec<&str> = BUILTINS
        .into_iter()
        .filter(|verb| verb.starts_with(command) || strsim::jaro_winkler(command, verb) >= 0.8)
        .collect();
    if !close.is_empty() {
        let close: Vec<String> = close.iter().map(|verb| format!("`{bin} {verb}`")).collect();
        eprintln!("  did you mean {}?", close.join(" or "));
    }
}

/// The verbs `cu` handles itself.
const BUILTINS: [&str; 6] = ["start", "stop", "status", "chat", "completions", "service"];

fn cmd_completions(bin: &str, home: &Home, shell: Option<&str>) -> u8 {
    let Some(shell) = shell.and_then(|s| s.parse::<clap_complete::Shell>().ok()) else {
        eprintln!("{bin} completions: name a shell: bash, zsh, fish, elvish or powershell");
        return exit::USAGE;
    };
    let mut command = clap::Command::new(bin.to_owned())
        .subcommand(clap::Command::new("start").about("Start the daemon"))
        .subcommand(clap::Command::new("stop").about("Stop the daemon"))
        .subcommand(clap::Command::new("status").about("Show whether the daemon runs"))
        .subcommand(
            clap::Command::new("service")
                .about("Run the daemon as a systemd user service")
                .subcommand(
                    clap::Command::new("install")
                        .about("Write, enable and start the user unit")
                        .arg(clap::Arg::new("no-start").long("no-start").num_args(0))
                        .arg(clap::Arg::new("force").long("force").num_args(0))
                        .arg(clap::Arg::new("print").long("print").num_args(0)),
                )
                .subcommand(
                    clap::Command::new("uninstall")
                        .about("Stop, disable and remove the user unit")
                        .arg(clap::Arg::new("force").long("force").num_args(0)),
                )
                .subcommand(clap::Command::new("status").about("Show the unit and its state")),
        )
        .subcommand(
            clap::Command::new("chat")
                .about("Chat in a room")
                .arg(clap::Arg::new("room")),
        )
        .subcommand(
            clap::Command::new("completions")
                .about("Print shell completions")
                .arg(clap::Arg::new("shell").value_parser([
                    "bash",
                    "zsh",
                    "fish",
                    "elvish",
                    "powershell",
                ])),
        );
    match Client::connect(&home.socket()).and_then(|mut c| c.call("commands/list", json!({}))) {
        Ok(listed) => {
            let descriptors: Vec<CommandDescriptor> =
                serde_json::from_value(listed["commands"].clone()).unwrap_or_default();
            for descriptor in &descriptors {
                command = command.subcommand(flags::clap_command(bin, descriptor));
            }
        }
        Err(_) => eprintln!(
            "{bin}: note: the daemon is not running, so only built-in verbs are completed"
        ),
    }
    clap_complete::generate(shell, &mut command, bin.to_owned(), &mut std::io::stdout());
    exit::OK
}

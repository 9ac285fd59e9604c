/**
 * The portable bundle's launcher (`kforge`, POSIX sh): unpacks the bundled Node on first use (xz, or
 * Python's lzma where xz is missing) into a cache outside the bundle, so the folder stays small enough to
 * copy or carry again after it has run; points kforge at its own folder and SQLite addon; runs the CLI.
 * `./kforge --node FILE.mjs ARGS...` runs another bundled program (e.g. scripted-server.mjs) on the same Node.
 */
export const LAUNCHER = `#!/bin/sh
# kforge portable launcher: unpacks the bundled Node on first use, then runs the CLI.
#   ./kforge search --problem softcap --budget 15m
#   ./kforge --node scripted-server.mjs --script FILE.json --port 8765   (another bundled program)
# Node is unpacked to $KFORGE_NODE_CACHE (default ~/.cache/kforge), or into this folder when that is not writable.
here=$(cd "$(dirname "$0")" && pwd)
node="$here/node"
if [ ! -x "$node" ]; then
  if [ ! -f "$here/node.xz" ]; then
    echo "kforge: $here/node.xz is missing: rebuild the bundle with \\\`npm run bundle\\\`" >&2; exit 1
  fi
  cache="\${KFORGE_NODE_CACHE:-\${XDG_CACHE_HOME:-\${HOME:-/nonexistent}/.cache}/kforge}"
  mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache="$here"
  node="$cache/node-$(wc -c < "$here/node.xz" | tr -d ' ')"
fi
if [ ! -x "$node" ]; then
  tmp="$node.tmp.$$"
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$here/node.xz" > "$tmp" || { rm -f "$tmp"; echo "kforge: xz could not unpack $here/node.xz to $tmp" >&2; exit 1; }
  else
    py="\${KFORGE_PYTHON:-python3}"
    "$py" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$here/node.xz" "$tmp" \\
      || { rm -f "$tmp"; echo "kforge: no xz, and $py could not unpack node.xz either (install xz-utils)" >&2; exit 1; }
  fi
  chmod +x "$tmp" && mv -f "$tmp" "$node" || { rm -f "$tmp"; echo "kforge: cannot write $node" >&2; exit 1; }
fi
export KFORGE_ROOT="$here" KFORGE_SQLITE_BINDING="$here/better_sqlite3.node"
if [ "$1" = "--node" ]; then
  shift
  case "$1" in /*) ;; ?*) [ -f "$here/$1" ] && { f="$here/$1"; shift; set -- "$f" "$@"; } ;; esac
  exec "$node" "$@"
fi
exec "$node" "$here/kforge.mjs" "$@"
`;

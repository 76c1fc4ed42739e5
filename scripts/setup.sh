#!/usr/bin/env bash
# Installs what the project needs on a Debian machine, only what is missing.
#   scripts/setup.sh run    Debian packages for running (nats-server, GStreamer, FFmpeg), npm ci, build
#   scripts/setup.sh test   the same plus Chromium for the browser tests
# Without root (and without password-less sudo) it prints the exact missing packages and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-run}"
packages=(
  nats-server
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  ffmpeg
  python3 make g++
)
if [[ "$mode" == "test" ]]; then
  packages+=(chromium iproute2)
fi

missing=()
for pkg in "${packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ "$(id -u)" == "0" ]]; then
    sudo_cmd=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo -n)
  else
    echo "setup: these Debian packages are missing: ${missing[*]}" >&2
    echo "setup: install them with:  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 20.19: ESLint 10 (make test's lint) needs it
if ! command -v node >/dev/null || ! node -e 'const [major, minor] = process.versions.node.split(".").map(Number); process.exit(major > 20 || (major === 20 && minor >= 19) ? 0 : 1)'; then
  echo "setup: Node.js 20.19 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm ci only when package-lock.json changed since the last install (medooze builds from source: minutes)
stamp=node_modules/.recstack-lock.sha
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: npm ci (builds medooze-media-server from source, takes a few minutes)"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

echo "setup: building"
npm run --silent build

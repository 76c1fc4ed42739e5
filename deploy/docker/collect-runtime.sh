#!/bin/sh
# Copies what a service needs at run time out of the build stage into OUT, keeping the repository layout
# so the workspace symlinks in node_modules/@recstack/* (../../packages/<name>) resolve:
#   each runtime workspace's package.json and dist/ (packages/contracts, service-kit, catalog and the service),
#   plus the service's static assets (public/) when it has them.
# The test kit is left out on purpose: the services only use it in tests.
# usage: collect-runtime.sh <service> <out-dir>   (run from the repository root of the build stage)
set -eu
service="$1"
out="$2"
mkdir -p "$out"
for dir in packages/contracts packages/service-kit packages/catalog "services/$service"; do
  [ -f "$dir/package.json" ] || { echo "collect-runtime: $dir/package.json is missing" >&2; exit 1; }
  [ -d "$dir/dist" ] || { echo "collect-runtime: $dir/dist is missing (did tsc -b run?)" >&2; exit 1; }
  mkdir -p "$out/$dir"
  cp "$dir/package.json" "$out/$dir/"
  # declaration files are for the compiler, not for node
  (cd "$dir" && find dist -type f ! -name '*.d.ts' ! -name '*.d.ts.map' -exec cp --parents {} "$out/$dir/" \;)
  # the build config leaves tests out of dist; a stale or hand-built dist must not smuggle them into the image
  if find "$out/$dir/dist" \( -name '*.test.js' -o -path '*/testing/*' -o -path '*/fixtures/*' \) | grep -q .; then
    echo "collect-runtime: $dir/dist holds test code" >&2; exit 1
  fi
done
if [ -d "services/$service/public" ]; then
  cp -R "services/$service/public" "$out/services/$service/public"
fi

#!/bin/sh
# The recorder tells media where to send RTP (RECORDER_HOST, in its "listening" reply). In a container that
# is the container's own address on the network it shares with media, which is only known at start:
# when RECORDER_HOST is not set, take the first non-loopback IPv4 address of this container.
# (Kubernetes sets RECORDER_HOST from the pod IP through the downward API, so this step is skipped there.)
set -eu
if [ -z "${RECORDER_HOST:-}" ]; then
  RECORDER_HOST="$(node -e '
    const all = Object.values(require("node:os").networkInterfaces()).flat();
    const own = all.find((a) => a && a.family === "IPv4" && !a.internal);
    if (!own) { console.error("recorder-entrypoint: no non-loopback IPv4 address"); process.exit(1); }
    console.log(own.address);
  ')"
  export RECORDER_HOST
fi
exec "$@"

#!/bin/sh
# Entry point of the drill's STAND-IN for the nginx:1.27 image (scripts/deploy_drill.sh): what the
# official image's entrypoint does with what the compose file gives it - every executable *.sh in
# /docker-entrypoint.d/ runs, in order, before nginx starts.
set -eu
for script in $(find /docker-entrypoint.d/ -follow -type f -name '*.sh' 2>/dev/null | sort); do
    if [ -x "$script" ]; then
        "$script"
    fi
done
exec "$@"

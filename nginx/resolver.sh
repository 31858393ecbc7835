#!/bin/sh
# Run by the nginx image's entrypoint before nginx starts (docker-compose.yml mounts it into
# /docker-entrypoint.d/): writes /etc/nginx/conf.d/resolver.conf, the `resolver` nginx.conf
# includes - the container network's own DNS server, which knows which containers are `app`
# right now (Docker: 127.0.0.11; Podman: aardvark-dns on the network's gateway). Only the first
# nameserver of /etc/resolv.conf: Podman lists the host's servers after it, which do not know
# `app`, and nginx would ask them in turn (the deploy drill saw 502 "app could not be resolved").
set -eu
resolv="${RESOLV_CONF:-/etc/resolv.conf}"
out="${RESOLVER_CONF:-/etc/nginx/conf.d/resolver.conf}"
ns=$(awk '$1 == "nameserver" { print $2; exit }' "$resolv")
if [ -z "$ns" ]; then
    echo "resolver.sh: no nameserver in ${resolv}" >&2
    exit 1
fi
case "$ns" in *:*) ns="[${ns}]" ;; esac
mkdir -p "$(dirname "$out")"
echo "resolver ${ns} valid=5s ipv6=off;" >"$out"
echo "resolver.sh: nginx resolves app through ${ns}"

#!/usr/bin/env bash
# Check that a release tag is exactly v<major>.<minor>.<patch> (no leading zeros, no suffix).
#
# Usage: scripts/validate_release_tag.sh TAG      (TAG may also be given as refs/tags/TAG)
#   v1.2.3 passes; v1.2, 1.2.3, v1.2.3-rc1 and v01.2.3 fail.
#   On success prints the version and, inside GitHub Actions, writes `tag` and `version` to
#   $GITHUB_OUTPUT.
set -euo pipefail

tag="${1:-}"
tag="${tag#refs/tags/}"
re='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$'

if [[ ! "$tag" =~ $re ]]; then
    echo "invalid release tag '${tag}': expected v<major>.<minor>.<patch>, for example v1.2.3" >&2
    exit 1
fi

version="${tag#v}"
echo "release tag ${tag} is valid: version ${version}"
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    {
        echo "tag=${tag}"
        echo "version=${version}"
    } >>"$GITHUB_OUTPUT"
fi

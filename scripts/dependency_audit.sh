#!/usr/bin/env bash
# Audit the pinned dependencies for known vulnerabilities with safety.
#
# Usage: scripts/dependency_audit.sh [REQUIREMENTS_FILE ...]   (default: requirements.txt,
#        requirements-dev.txt and requirements-ci.txt)
# Outcomes, each said plainly on the last line:
#   "dependency audit: PASSED ..."   safety checked every package and found nothing     exit 0
#   "dependency audit: FAILED ..."   safety found known vulnerabilities (listed above)  exit 1
#   "dependency audit: SKIPPED ..."  the vulnerability database (or safety itself) could not be
#                                    reached: NOTHING WAS CHECKED                        exit 0,
#                                    or exit 3 when AUDIT_REQUIRED=1 (set in GitHub Actions)
#   "dependency audit: ERROR ..."    safety failed for another reason                    exit 2
#
# safety pins typer<0.26, which clashes with the runtime's typer, so it lives in its own virtual
# environment: $AUDIT_VENV (default .venv/audit), created on first use with safety==$SAFETY_VERSION.
# SAFETY=/path/to/safety uses that command instead.
set -uo pipefail

SAFETY_VERSION="${SAFETY_VERSION:-3.8.1}"
AUDIT_VENV="${AUDIT_VENV:-.venv/audit}"
files=("$@")
((${#files[@]})) || files=(requirements.txt requirements-dev.txt requirements-ci.txt)

skipped() {
    echo "dependency audit: SKIPPED - $1. Dependencies were NOT checked for known vulnerabilities." >&2
    if [[ "${AUDIT_REQUIRED:-0}" == 1 ]]; then
        echo "AUDIT_REQUIRED=1: a skipped audit fails the build." >&2
        exit 3
    fi
    exit 0
}

safety_cmd="${SAFETY:-}"
if [[ -z "$safety_cmd" ]]; then
    safety_cmd="${AUDIT_VENV}/bin/safety"
    if [[ ! -x "$safety_cmd" ]] || ! "$safety_cmd" --version 2>/dev/null | grep -q "$SAFETY_VERSION"; then
        echo "installing safety==${SAFETY_VERSION} into ${AUDIT_VENV}" >&2
        install_log=$(mktemp)
        if ! { python3 -m venv "$AUDIT_VENV" &&
            "${AUDIT_VENV}/bin/python" -m pip install --quiet --disable-pip-version-check \
                "safety==${SAFETY_VERSION}"; } >"$install_log" 2>&1; then
            grep -v '^WARNING: Location' "$install_log" | tail -n 5 >&2
            rm -f "$install_log"
            skipped "safety==${SAFETY_VERSION} could not be installed"
        fi
        rm -f "$install_log"
    fi
fi

args=()
for f in "${files[@]}"; do
    [[ -f "$f" ]] || { echo "dependency audit: ERROR - no such requirements file: $f" >&2; exit 2; }
    args+=(-r "$f")
done

out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
echo "running: ${safety_cmd} check --output json ${args[*]}" >&2
"$safety_cmd" check --output json "${args[@]}" >"$out" 2>"$err"
rc=$?

# summary FIELD: read safety's JSON report (stdout may carry a banner before the JSON).
summary() {
    python3 - "$out" "$1" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
start = text.find("{")
report = json.loads(text[start:]) if start >= 0 else {}
if sys.argv[2] == "packages":
    meta = report.get("report_meta") or {}
    print(meta.get("packages_found", len(report.get("scanned_packages") or {})))
else:
    for v in report.get("vulnerabilities") or []:
        advisory = " ".join(str(v.get("advisory") or "").split())[:160]
        print(f"  {v.get('package_name')} {v.get('analyzed_version')}: "
              f"{v.get('vulnerability_id')} {v.get('CVE') or ''} {advisory}")
PY
}

case "$rc" in
    0)
        packages=$(summary packages 2>/dev/null || echo "?")
        echo "dependency audit: PASSED - safety found no known vulnerabilities in ${packages} packages (${files[*]})"
        ;;
    64)
        echo "known vulnerabilities:" >&2
        summary vulnerabilities >&2 || cat "$out" >&2
        echo "dependency audit: FAILED - safety found known vulnerabilities (${files[*]})" >&2
        exit 1
        ;;
    *)
        if [[ "$rc" == 66 || "$rc" == 68 ]] || grep -qiE \
            'ConnectError|NetworkConnectionError|unable to reach|Name or service not known|Temporary failure in name resolution|Connection refused|Network is unreachable|timed out|ProxyError|SSLCertificateError|DatabaseFetchError|Max retries' \
            "$err" "$out"; then
            reason=$(grep -hiE 'Error|unable' "$err" "$out" | tail -n 1 | cut -c1-200)
            skipped "the safety vulnerability database could not be reached (safety exit ${rc}: ${reason})"
        fi
        tail -n 20 "$err" >&2
        echo "dependency audit: ERROR - safety exited with ${rc}" >&2
        exit 2
        ;;
esac

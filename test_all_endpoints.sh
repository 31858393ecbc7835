#!/usr/bin/env bash
# Call every public endpoint of a running AlphaVelocity service and check the status code and the
# key fields of each answer (curl + jq). One line per check; stops at the first failure, exit 1.
#
# Usage: ./test_all_endpoints.sh [BASE_URL]          (default: $BASE_URL or http://127.0.0.1:8000)
#   CHECK_TIMEOUT  seconds allowed per request (default 30)
#   REQUIRE_ALL=1  endpoints planned by later issues (health, cache stats, categories, portfolio)
#                  must be served too. Without it, such an endpoint that is not yet in the service's
#                  /openapi.json is reported on a SKIP line and in the summary - never passed over.
#
# To add a check, add one `check` (or `later ISSUE ... check`) line below; docs/pipeline.md lists
# what is checked.
set -uo pipefail

base="${1:-${BASE_URL:-http://127.0.0.1:8000}}"
base="${base%/}"
timeout="${CHECK_TIMEOUT:-30}"
for tool in curl jq; do
    command -v "$tool" >/dev/null 2>&1 || { echo "FAIL  $tool is not installed" >&2; exit 2; }
done

body=$(mktemp)
openapi=$(mktemp)
trap 'rm -f "$body" "$openapi"' EXIT
passed=0
skipped=()

fail() {
    echo "FAIL  $*"
    if [[ -s "$body" ]]; then
        echo "      body: $(head -c 400 "$body")"
    fi
    echo "stopped at the first failure: ${passed} checks passed before it (${base})"
    exit 1
}

# check METHOD PATH STATUS JQ_FILTER DESCRIPTION [JSON_BODY]
#   STATUS may list alternatives ("404|503"); the filter sees the status received as $status.
check() {
    local method="$1" path="$2" want="$3" filter="$4" what="$5" data="${6:-}" got
    local args=(-sS -o "$body" -w '%{http_code}' --max-time "$timeout" -X "$method")
    [[ -z "$data" ]] || args+=(-H 'Content-Type: application/json' --data "$data")
    : >"$body"
    if ! got=$(curl "${args[@]}" "${base}${path}" 2>"$body.err"); then
        echo "FAIL  ${method} ${path}: no answer from ${base} ($(head -c 200 "$body.err"))"
        rm -f "$body.err"
        exit 1
    fi
    rm -f "$body.err"
    [[ "|${want}|" == *"|${got}|"* ]] || fail "${method} ${path}: status ${got}, expected ${want} (${what})"
    jq -e --arg status "$got" "$filter" "$body" >/dev/null 2>&1 ||
        fail "${method} ${path}: ${what}: not true of the body: ${filter}"
    passed=$((passed + 1))
    printf 'PASS  %-6s %-52s %s  %s\n' "$method" "$path" "$got" "$what"
}

# later ISSUE METHOD PATH_TEMPLATE -- check ARGS...: run the check when the service's OpenAPI schema
# lists PATH_TEMPLATE; otherwise a SKIP line (a FAIL with REQUIRE_ALL=1).
later() {
    local issue="$1" method="$2" template="$3"
    shift 4
    if jq -e --arg p "$template" --arg m "${method,,}" '.paths[$p][$m] != null' "$openapi" >/dev/null; then
        "$@"
    elif [[ "${REQUIRE_ALL:-0}" == 1 ]]; then
        fail "${method} ${template}: not served (REQUIRE_ALL=1; planned in issue ${issue})"
    else
        skipped+=("${method} ${template}")
        printf 'SKIP  %-6s %-52s not served by this build yet (issue %s)\n' "$method" "$template" "$issue"
    fi
}

check GET / 200 '(.name|type=="string") and (.version|type=="string") and .status == "ok"' \
    "name, version, status"
check GET /openapi.json 200 '.paths | type == "object" and length > 0' "OpenAPI schema"
cp "$body" "$openapi"

later 3 GET /health/live -- check GET /health/live 200 '.status == "alive"' "process up"
later 3 GET /health/ready -- check GET /health/ready 200 \
    '.status == "ready" and .checks.database.ok == true and (.checks.scores == null or .checks.scores.ok == true)' \
    "database (and Redis when set) ready, scores computed"

check GET /database/status 200 \
    '.reachable == true and (.engine == "sqlite" or .engine == "postgresql") and .migrated == true and .bars > 0' \
    "reachable, migrated, holds bars"

check GET /api/v1/momentum/AAPL 200 '.ticker == "AAPL"
    and (.overall_momentum_score | type == "number" and . >= 0 and . <= 100)
    and (.rating | type == "string")
    and (.price_momentum | type == "number") and (.technical_momentum | type == "number")
    and has("relative_momentum") and (.percentile_rank | type == "number")
    and (.as_of | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")) and has("data_source")
    and (.complete | type == "boolean") and (.model_version | type == "string")' \
    "score, sub-scores, rating, as_of, model_version"
as_of=$(jq -r '.as_of' "$body")
start=$(date -d "${as_of} -30 days" +%F)

check GET /api/v1/momentum/AAPL/breakdown 200 '.ticker == "AAPL" and (.returns | type == "object")
    and (.sma | type == "object") and (.overall_momentum_score | type == "number")' \
    "returns, SMAs, sub-scores"

check GET "/api/v1/momentum/AAPL/history?start=${start}&end=${as_of}" 200 ".ticker == \"AAPL\"
    and .count > 0 and .count == (.points | length)
    and ([.points[].date] | . == sort and .[0] >= \"${start}\" and .[-1] <= \"${as_of}\")
    and all(.points[]; .overall_momentum_score | type == \"number\")" \
    "daily series inside ${start}..${as_of}, in order"

check POST /api/v1/momentum/batch 200 '.count == 5 and .succeeded == 4 and .failed == 1
    and [.results[].ticker] == ["AAPL", "MSFT", "NVDA", "SPY", "ZZZZZ9"]
    and all(.results[0:4][]; .score.overall_momentum_score | type == "number")
    and (.results[4].error.code | type == "string")' \
    "one entry per ticker, the unknown one an error" \
    '{"tickers": ["AAPL", "MSFT", "NVDA", "SPY", "ZZZZZ9"]}'

check GET "/api/v1/momentum/top?limit=5" 200 '(.results | length) > 0 and (.results | length) <= 5
    and ([.results[].overall_momentum_score] | . == (sort | reverse))' \
    "at most 5, strongest first"

# Unknown here, so the live provider is asked: 404 when it has no such ticker, or the documented
# 503 provider_unavailable when it cannot be reached - a third party's outage must not fail (and
# roll back) a deploy. ($status is jq's, not the shell's.)
# shellcheck disable=SC2016
check GET /api/v1/momentum/ZZZZZ9 "404|503" '(.error.message | type == "string")
    and (($status == "404" and .error.code == "not_found")
    or ($status == "503" and .error.code == "provider_unavailable"))' \
    "unknown ticker: not_found, or provider_unavailable"
check GET '/api/v1/momentum/BAD!TICKER' 422 '(.error.code | type == "string") and (.error.message | type == "string")' \
    "malformed ticker: error body"
check GET "/api/v1/momentum/top?limit=0" 422 '(.error.code | type == "string")' "limit out of range: error body"

later 3 GET /api/v1/cache/stats -- check GET /api/v1/cache/stats 200 \
    '(.backend == "redis" or .backend == "memory") and (.reachable | type == "boolean")
    and (.hits | type == "number") and (.misses | type == "number")' "backend, reachable, hits, misses"
later 4 GET /api/v1/categories -- check GET /api/v1/categories 200 \
    '.count == 9 and (.categories | length) == 9 and (.targets_sum - 1 | fabs) <= 0.001
    and all(.categories[]; (.name | type == "string") and (.tickers | length) > 0)' \
    "nine categories, targets summing to 1"
later 4 GET /api/v1/portfolio/analysis -- check GET /api/v1/portfolio/analysis 200 \
    '(.analysis.holdings | length) > 0 and (.analysis.categories | length) == 9
    and (.analysis.total_value | type == "number") and (.analysis.momentum_score | type == "number")' \
    "holdings, categories, value, momentum score"

if ((${#skipped[@]})); then
    echo "all ${passed} checks passed; ${#skipped[@]} planned endpoints not served yet, so NOT checked: $(
        IFS=,
        echo "${skipped[*]}"
    ) (${base})"
else
    echo "all ${passed} checks passed (${base})"
fi

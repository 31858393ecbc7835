#!/usr/bin/env bash
# Post a deployment notification to Slack through an incoming webhook.
#
# Usage: scripts/notify_slack.sh STATUS MESSAGE      STATUS: success | failure | cancelled | ...
#   SLACK_WEBHOOK  the webhook URL; when it is empty the notification is skipped, and says so.
# A failed post is reported as a warning (a notification must not decide a deployment) but never
# hidden. In GitHub Actions the text links to the run.
set -euo pipefail

status="${1:?usage: notify_slack.sh STATUS MESSAGE}"
message="${2:?usage: notify_slack.sh STATUS MESSAGE}"

if [[ -z "${SLACK_WEBHOOK:-}" ]]; then
    echo "Slack notification skipped: SLACK_WEBHOOK is not set (${status}: ${message})"
    exit 0
fi

case "$status" in
    success) icon=":white_check_mark:" ;;
    failure) icon=":x:" ;;
    *) icon=":warning:" ;;
esac
text="${icon} AlphaVelocity ${status}: ${message}"
if [[ -n "${GITHUB_RUN_ID:-}" ]]; then
    text+=" (<${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/${GITHUB_RUN_ID}|run ${GITHUB_RUN_ID}>)"
fi
payload=$(jq -cn --arg text "$text" --arg status "$status" '{text: $text, status: $status}')

if curl -fsS --max-time 15 -H 'Content-Type: application/json' -d "$payload" "$SLACK_WEBHOOK" >/dev/null; then
    echo "Slack notified: ${text}"
else
    echo "::warning::Slack notification FAILED (${status}: ${message})"
fi

#!/usr/bin/env bash
# Renders a simulation report's index.html in headless Chromium (no network) and checks that
# the timelines are drawn: SVG charts with partition groups, ISR, high-watermark and
# log-end-offset lines. CI runs it on `cargo sim run scenarios/ --seeds 1..20 --report DIR`.
#   scripts/check-report.sh DIR
set -euo pipefail
dir=${1:?usage: scripts/check-report.sh REPORT_DIR}
page=$(cd "$dir" && pwd)/index.html
[ -f "$page" ] || { echo "FAIL: no $page"; exit 1; }
chromium=${SEEDLOG_CHROMIUM:-chromium}
command -v "$chromium" >/dev/null || { echo "FAIL: $chromium not found; run scripts/install-chromium.sh"; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
dom=$(timeout 180 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --dump-dom "file://$page" 2>/dev/null)
count() { { grep -o "$1" <<<"$dom" || true; } | wc -l; }
charts=$(count '<svg[^>]*class="timeline')
partitions=$(count 'class="partition')
isr=$(count 'class="isr')
hw=$(count 'class="hw')
leo=$(count 'class="leo')
echo "rendered $page: timelines=$charts partitions=$partitions isr=$isr hw=$hw leo=$leo"
if [ "$charts" -lt 1 ] || [ "$partitions" -lt 1 ] || [ "$isr" -lt 1 ] || [ "$hw" -lt 1 ] || [ "$leo" -lt 1 ]; then
  echo "FAIL: the report's timelines are not drawn"
  exit 1
fi
echo "PASS report renders"

#!/usr/bin/env sh
# Make sure Chromium is there for the report's browser test (tests/test_report_browser.py).
#
# The browser it looks for is $IAMG_CHROMIUM, or /usr/bin/chromium when that is unset. When it is
# missing and we run as root with apt-get, Debian's chromium is installed.
#
# Locally a missing browser is not an error here: the browser test then skips with a loud reason.
# In CI (CI=true) it is: the script exits 1, and the test itself fails instead of skipping, so a
# failed install can never turn into a green build without the only real-browser XSS test.
CHROMIUM="${IAMG_CHROMIUM:-/usr/bin/chromium}"
case "$(printf %s "${CI:-}" | tr '[:upper:]' '[:lower:]')" in
  true|1|yes) in_ci=1 ;;
  *) in_ci=0 ;;
esac

missing() {
  if [ "$in_ci" = 1 ]; then
    echo "error: $1; CI=true, so the report's browser test would not run: failing" >&2
    exit 1
  fi
  echo "note: $1; the browser test will be skipped (see its reason)"
  exit 0
}

if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing chromium and chromium-driver for the report browser test..."
  if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq chromium chromium-driver >/dev/null); then
    missing "could not install chromium with apt-get"
  fi
  [ -x "$CHROMIUM" ] || missing "$CHROMIUM is still missing after installing chromium"
else
  missing "$CHROMIUM is missing and cannot be installed here (needs root and apt-get)"
fi
exit 0

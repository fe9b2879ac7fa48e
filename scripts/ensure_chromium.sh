#!/usr/bin/env sh
# Install Debian's Chromium for the browser test when it is missing and we are allowed to.
# Never fails the build: the browser test itself skips loudly when Chromium is absent.
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing chromium and chromium-driver for the report browser test..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || echo "warning: could not install chromium; the browser test will be skipped (see its reason)"
else
  echo "note: /usr/bin/chromium missing and cannot apt-get install it here; the browser test will be skipped"
fi
exit 0

#!/bin/sh
# Install what the UI and its browser test need: Debian's chromium (driven by Playwright
# through executable_path, so Playwright never downloads a browser) and the npm assets
# bundled by esbuild into kartoteka/web/static/dist/ (axe-core, a dev dependency, is
# what the accessibility tests inject). Safe to run again: it skips what is already there.
set -eu

cd "$(dirname "$0")/.."

# chromium-l10n: without its locale files chromium draws every native date input the
# American way (11/21/2026), even on a page the tests and screenshots open in Russian.
if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/lib/chromium/locales/ru.pak ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-l10n
fi

# The exact versions pinned in package-lock.json; nothing is copied into the repository.
if [ ! -d node_modules/esbuild ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund
fi
npm run --silent build

#!/usr/bin/env bash
# Copy the pinned browser libraries (package.json / package-lock.json beside this script) into
# services/gateway/static/vendor/, with their licences: the pages are served with no CDN.
# Run after changing a version here; commit the copied files. tests/unit/test_pages_assets.py
# fails when the vendored copy and the pin disagree.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../../services/gateway/static/vendor/echarts"
cd "$here"
npm ci --ignore-scripts --no-audit --no-fund
mkdir -p "$dest"
cp node_modules/echarts/dist/echarts.min.js "$dest/"
cp node_modules/echarts/LICENSE node_modules/echarts/NOTICE "$dest/"
cp node_modules/echarts/licenses/LICENSE-d3 "$dest/LICENSE-d3"
# The minified bundle includes zrender (BSD-3-Clause) and tslib helpers (0BSD).
cp node_modules/zrender/LICENSE "$dest/LICENSE-zrender"
cp node_modules/tslib/LICENSE.txt "$dest/LICENSE-tslib"
echo "vendored echarts $(node -p 'require("./node_modules/echarts/package.json").version') into $dest"

# axe-core (MPL-2.0) is for the tests only: the page tests run it in the browser.
axe="$here/../../tests/system/vendor/axe-core"
mkdir -p "$axe"
cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE "$axe/"
echo "vendored axe-core $(node -p 'require("./node_modules/axe-core/package.json").version') into $axe"

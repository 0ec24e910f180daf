#!/usr/bin/env bash
# Re-vendors Swagger UI (third_party/swagger-ui/README.md): npm pack swagger-ui-dist@VERSION, checks the tarball's
# sha256, keeps the bundle and the CSS gzipped with the package's licence files. Then update the README's version.
#   tools/update_swagger_ui.sh 5.36.0 685a2b38b5d6eab2dbc096a8596db11cc7409cdb671d2e3bec8f9b017d0d566b
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:?usage: tools/update_swagger_ui.sh VERSION SHA256}
SHA=${2:?usage: tools/update_swagger_ui.sh VERSION SHA256}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
echo "$SHA  $tmp/swagger-ui-dist-$VERSION.tgz" | sha256sum -c -
tar xzf "$tmp/swagger-ui-dist-$VERSION.tgz" -C "$tmp"
d=third_party/swagger-ui
for f in swagger-ui-bundle.js swagger-ui.css; do gzip -9n -c "$tmp/package/$f" > "$d/$f.gz"; done
cp "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$tmp/package/swagger-ui-bundle.js.LICENSE.txt" "$d/"
echo "vendored swagger-ui-dist $VERSION into $d"

#!/usr/bin/env bash
# Re-vendor the pinned GraphiQL browser assets served under /graphql/assets/.
#
# Not run at build time: the files it copies are committed and embedded in the
# binary with include_bytes!. Run it by hand to restore or upgrade them:
#
#   bash api/assets/graphiql/vendor.sh            # re-download the pinned versions
#
# To upgrade: change a version below, set its INTEGRITY to the output of
#   npm view <pkg>@<version> dist.integrity
# run this script, test the page (see README.md), and update README.md
# (versions, integrities, sha256 table: `sha256sum *.js *.css` in this folder).
#
# Needs: node + npm, tar, sha256sum. Works in a throwaway temp dir;
# writes only into this folder.
set -euo pipefail

REACT_VERSION=18.3.1
REACT_INTEGRITY=sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==
REACT_DOM_VERSION=18.3.1
REACT_DOM_INTEGRITY=sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==
GRAPHIQL_VERSION=4.1.2
GRAPHIQL_INTEGRITY=sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg==

DEST="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# fetch NAME VERSION INTEGRITY: npm pack the exact version, check the tarball's
# sha512 against the pinned integrity, unpack it into $WORK/NAME.
fetch() {
  local name=$1 version=$2 integrity=$3 tgz actual
  tgz=$(cd "$WORK" && npm pack --silent "$name@$version" | tail -n1)
  actual=$(node -e 'const c=require("crypto"),f=require("fs");
    process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$WORK/$tgz")
  if [ "$actual" != "$integrity" ]; then
    echo "integrity mismatch for $name@$version:" >&2
    echo "  pinned: $integrity" >&2
    echo "  got:    $actual" >&2
    exit 1
  fi
  mkdir -p "$WORK/$name"
  tar -xzf "$WORK/$tgz" -C "$WORK/$name" --strip-components=1
  echo "ok $name@$version $integrity"
}

fetch react "$REACT_VERSION" "$REACT_INTEGRITY"
fetch react-dom "$REACT_DOM_VERSION" "$REACT_DOM_INTEGRITY"
fetch graphiql "$GRAPHIQL_VERSION" "$GRAPHIQL_INTEGRITY"

# Byte-for-byte copies of the packages' own files (no rewriting), flat names.
install -m 0644 "$WORK/react/umd/react.production.min.js"         "$DEST/react.production.min.js"
install -m 0644 "$WORK/react-dom/umd/react-dom.production.min.js" "$DEST/react-dom.production.min.js"
install -m 0644 "$WORK/graphiql/graphiql.min.js"                  "$DEST/graphiql.min.js"
install -m 0644 "$WORK/graphiql/graphiql.min.css"                 "$DEST/graphiql.min.css"

mkdir -p "$DEST/LICENSES"
install -m 0644 "$WORK/react/LICENSE"     "$DEST/LICENSES/react-LICENSE"
install -m 0644 "$WORK/react-dom/LICENSE" "$DEST/LICENSES/react-dom-LICENSE"
install -m 0644 "$WORK/graphiql/LICENSE"  "$DEST/LICENSES/graphiql-LICENSE"

echo
echo "copied into $DEST:"
(cd "$DEST" && sha256sum react.production.min.js react-dom.production.min.js graphiql.min.js graphiql.min.css)

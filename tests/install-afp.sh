#!/usr/bin/env bash
# Installs Apache FOP, which writes the AFP (MO:DCA) test fixtures and FOP's own PDF of the same
# XSL-FO, the oracle the AFP converter is compared against (samples/afp/make-afp.sh): Debian
# `fop` (2.8 on bookworm), a Java program, with a headless JRE (default-jre-headless, added when
# no java is found). Idempotent: apt runs only when something is missing. fop is a command-line
# tool: nothing is started. python3 writes the generated print runs (samples/afp/fo/run.py).
# Usage: tests/install-afp.sh   (as root, or with sudo available)
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v fop >/dev/null || missing+=(fop)
command -v java >/dev/null || missing+=(default-jre-headless)
command -v python3 >/dev/null || missing+=(python3)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v fop >/dev/null || { echo "fop is still missing" >&2; exit 1; }
command -v java >/dev/null || { echo "java (a headless JRE) is still missing" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is still missing" >&2; exit 1; }
# The Debian wrapper warns about optional jars (xalan2, xercesImpl) on stderr: harmless.
version=$(fop -version 2>/dev/null | grep -o 'FOP Version [^ ]*' || true)
package=$(dpkg-query -W -f='${Version}' fop 2>/dev/null || true)
echo "fop: $(command -v fop) (${version:-version unknown}${package:+, Debian package $package}); java: $(command -v java) ($(java -version 2>&1 | head -1)); python3: $(command -v python3)"

#!/usr/bin/env bash
# Makes the AFP test fixtures with Apache FOP: for each NAME, OUT_DIR/NAME.afp (FOP's AFP
# renderer, configured by fo/afp-cp1147.xconf: 240 dpi, code page T1001147 / CCSID 1147, 1-bit
# IOCA images) and OUT_DIR/NAME.fop.pdf (FOP's own PDF of the same FO: the oracle an AFP -> PDF
# conversion is compared against; same base-14 metrics, so same lines and pages).
#
#   NAME        a file samples/afp/fo/NAME.fo (invoices, landscape), or run-N: the FO printed
#               by `python3 fo/run.py N` (N invoices, one page group each).
#   default     every samples/afp/fo/*.fo, then run-50.
#
# Each fop call is timed. fop runs in samples/afp/fo so that logo.png resolves.
# Needs fop (tests/install-afp.sh installs Debian's) and python3 for run-N.
# Usage: samples/afp/make-afp.sh OUT_DIR [NAME...]
#   e.g. samples/afp/make-afp.sh /tmp/afp                 (invoices, landscape, run-50)
#        samples/afp/make-afp.sh /tmp/afp run-2000        (the benchmark run)
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [NAME...]   (NAME: a samples/afp/fo/NAME.fo, or run-N)" >&2
  exit 2
fi
fo_dir=$(cd "$(dirname "$0")/fo" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
shift

if ! command -v fop >/dev/null; then
  echo "$0: fop is missing: install it with tests/install-afp.sh (Debian package fop)" >&2
  exit 1
fi

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$fo_dir"/*.fo; do names+=("$(basename "$f" .fo)"); done
  names+=(run-50)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$fo_dir"
echo "$(fop -version 2>/dev/null | grep -i 'FOP Version' || echo 'FOP version unknown'), config $fo_dir/afp-cp1147.xconf, output in $out"

for name in "${names[@]}"; do
  if [[ $name =~ ^run-([0-9]+)$ ]]; then
    fo=$tmp/$name.fo
    python3 run.py "${BASH_REMATCH[1]}" > "$fo"
  elif [ -f "$name.fo" ]; then
    fo=$fo_dir/$name.fo
  else
    echo "$0: no $fo_dir/$name.fo (and $name is not run-N)" >&2
    exit 1
  fi
  for format in afp pdf; do
    if [ "$format" = afp ]; then target=$out/$name.afp; else target=$out/$name.fop.pdf; fi
    rm -f "$target"
    start=$(date +%s%N)
    if ! fop -c afp-cp1147.xconf -fo "$fo" "-$format" "$target" > "$tmp/fop.log" 2>&1; then
      cat "$tmp/fop.log" >&2
      echo "$0: fop -$format failed for $name" >&2
      exit 1
    fi
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ ! -s "$target" ] || grep -q -e SEVERE -e '\[ERROR\]' "$tmp/fop.log"; then
      cat "$tmp/fop.log" >&2
      echo "$0: fop -$format wrote no usable $target" >&2
      exit 1
    fi
    # FOP's chatter minus the known harmless lines (Debian wrapper, per-page progress).
    grep -v -e 'Unable to locate' -e 'JVM flavor' -e 'Rendered page' "$tmp/fop.log" >&2 || true
    pages=$(grep -c 'Rendered page' "$tmp/fop.log" || true)
    printf '%-12s fop -%s %6d.%03d s  %3s pages  %9d bytes  %s\n' "$name" "$format" \
      $((ms / 1000)) $((ms % 1000)) "$pages" "$(stat -c %s "$target")" "$target"
  done
done

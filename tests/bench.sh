#!/usr/bin/env bash
# Performance bench: Greffier's text spool → PDF converter against enscript | ps2pdf.
#
#   tests/bench.sh                 # from the repo root; not part of the test suite
#
# Environment:
#   BENCH_DIR        where spools, PDFs and timings go (default: target/bench, git-ignored)
#   BENCH_SIZES      spool sizes in pages, smallest first (default: "1000 10000"; the small
#                    one shows whether memory stays flat in the number of pages)
#   ENSCRIPT_LIMIT   seconds enscript | ps2pdf may take on one size (default: 600); above the
#                    projection from a smaller size, it runs on a prefix and extrapolates
#   ENSCRIPT_SAMPLE  pages of that prefix (default: 1000)
#
# It installs enscript, ghostscript, poppler-utils and time with apt-get when missing, builds
# the spool_bench example in release, generates each spool once with it, and runs both tools on
# the same file under /usr/bin/time -v. Wall times are measured around each run with
# nanosecond clocks; peak RSS is GNU time's "Maximum resident set size".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
BENCH_SIZES=${BENCH_SIZES:-"1000 10000"}
ENSCRIPT_LIMIT=${ENSCRIPT_LIMIT:-600}
ENSCRIPT_SAMPLE=${ENSCRIPT_SAMPLE:-1000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/examples/spool_bench

log() { printf '==> %s\n' "$*" >&2; }

# --- tools --------------------------------------------------------------------------------
missing=()
command -v enscript >/dev/null || missing+=(enscript)
command -v ps2pdf >/dev/null || missing+=(ghostscript)
command -v pdfinfo >/dev/null || missing+=(poppler-utils)
[[ -x /usr/bin/time ]] || missing+=(time)
command -v iconv >/dev/null || missing+=(libc-bin)
if ((${#missing[@]})); then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    log "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# --- build --------------------------------------------------------------------------------
log "building spool_bench (release)"
cargo build -j2 --release -p pipelines --example spool_bench >&2

mkdir -p "$BENCH_DIR"

now_ns() { date +%s%N; }
# Seconds between two nanosecond stamps.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
# Max RSS in MiB from a /usr/bin/time -v file.
rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
pdf_pages() { pdfinfo "$1" 2>/dev/null | awk '/^Pages:/ { print $2 }'; }
# The first N pages of an FCFC spool (a page starts at a record whose control is 1).
fcfc_prefix() { awk -v n="$1" '/^1/ { if (++p > n) exit } { print }' "$2"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else if (a / b >= 100) printf "%.0f", a / b; else printf "%.2f", a / b }'; }

run_enscript() { # latin1-input pdf-output time-file → prints wall seconds
    local start end
    start=$(now_ns)
    /usr/bin/time -v -o "$3" bash -c \
        'enscript -q -B -r -f Courier8 --encoding=latin1 -p - "$1" | ps2pdf - "$2"' _ "$1" "$2"
    end=$(now_ns)
    secs "$start" "$end"
}

rows=()
notes=()
checks=()
enscript_rate= # pages/s of enscript on the smallest size, to project the larger ones
greffier_rss=()

for size in $BENCH_SIZES; do
    dir=$BENCH_DIR/$size
    mkdir -p "$dir"
    log "$size pages: generating the spool"
    "$BIN" --pages "$size" --out "$dir" --only-generate
    spool=$dir/spool.txt

    # Greffier.
    log "$size pages: greffier"
    start=$(now_ns)
    /usr/bin/time -v -o "$dir/greffier.time" \
        "$BIN" --input "$spool" --out "$dir" >"$dir/greffier.out"
    end=$(now_ns)
    g_secs=$(secs "$start" "$end")
    g_rss=$(rss_mib "$dir/greffier.time")
    g_inner=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' "$dir/greffier.out")
    g_pdf_pages=$(pdf_pages "$dir/out.pdf")
    g_pages=$(sed -n 's/.*RESULT pages=\([0-9]*\).*/\1/p' "$dir/greffier.out")
    greffier_rss+=("$size:$g_rss")
    status=ok
    [[ "$g_pdf_pages" == "$size" && "$g_pages" == "$size" ]] || status="MISMATCH (expected $size)"
    checks+=("greffier $size pages: converter returned $g_pages, pdfinfo says ${g_pdf_pages:-unreadable} — $status ($(du -m "$dir/out.pdf" | cut -f1) MiB PDF, conversion alone ${g_inner} s)")

    # enscript | ps2pdf on the same content, converted to latin1 outside the timed part.
    iconv -f UTF-8 -t LATIN1//TRANSLIT "$spool" >"$dir/spool.latin1.txt"
    e_input=$dir/spool.latin1.txt
    e_pages=$size
    extrapolated=
    if [[ -n $enscript_rate ]]; then
        projected=$(awk -v n="$size" -v r="$enscript_rate" 'BEGIN { printf "%.0f", n / r }')
        if ((projected > ENSCRIPT_LIMIT)) && ((ENSCRIPT_SAMPLE < size)); then
            e_pages=$ENSCRIPT_SAMPLE
            fcfc_prefix "$e_pages" "$e_input" >"$dir/spool.latin1.sample.txt"
            e_input=$dir/spool.latin1.sample.txt
            extrapolated=yes
            notes+=("enscript on $size pages was projected at ${projected} s (> ${ENSCRIPT_LIMIT} s): it ran on the first $e_pages pages and its time is extrapolated linearly.")
        fi
    fi
    log "$size pages: enscript | ps2pdf on $e_pages pages"
    e_secs=$(run_enscript "$e_input" "$dir/enscript.pdf" "$dir/enscript.time")
    e_rss=$(rss_mib "$dir/enscript.time")
    e_pdf_pages=$(pdf_pages "$dir/enscript.pdf")
    checks+=("enscript $e_pages spool pages: pdfinfo says ${e_pdf_pages:-unreadable} PDF pages (enscript paginates by itself, ignoring FCFC) ($(du -m "$dir/enscript.pdf" | cut -f1) MiB PDF)")
    [[ -n $enscript_rate ]] || enscript_rate=$(awk -v n="$e_pages" -v s="$e_secs" 'BEGIN { print n / s }')

    if [[ -n $extrapolated ]]; then
        e_total=$(awk -v s="$e_secs" -v n="$size" -v m="$e_pages" 'BEGIN { printf "%.3f", s * n / m }')
        e_secs_cell="~$e_total (extrapolated from $e_pages pages: $e_secs s)"
        e_rss_cell="$e_rss (on $e_pages pages)"
    else
        e_total=$e_secs
        e_secs_cell=$e_secs
        e_rss_cell=$e_rss
    fi
    rows+=("| greffier | $size | $g_secs | $(div "$size" "$g_secs") | $g_rss | — |")
    rows+=("| enscript \\| ps2pdf | $size | $e_secs_cell | $(div "$size" "$e_total") | $e_rss_cell | $(div "$e_total" "$g_secs") |")
done

echo
echo "### Page counts (pdfinfo)"
echo
for line in "${checks[@]}"; do echo "- $line"; done
echo
echo "### Text spool → PDF, $(nproc) CPUs, $(uname -r)"
echo
echo "| tool | pages | seconds | pages/s | peak RSS MiB | ratio |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for row in "${rows[@]}"; do echo "$row"; done
echo
echo "- pages: spool pages in the input (FCFC, 60 records and 63 rows a page, French invoice text, UTF-8, up to 132 columns)."
echo "- seconds: wall clock of the whole process (greffier: the spool_bench example, which reads the spool, writes the PDF and the laid-out text, and fsyncs both); enscript: \`bash -c 'enscript -q -B -r -f Courier8 --encoding=latin1 -p - FILE | ps2pdf - out.pdf'\`."
echo "- ratio: enscript seconds / greffier seconds at the same size."
echo "- enscript input was converted with \`iconv -f UTF-8 -t LATIN1//TRANSLIT\` first, outside the timed part (€ becomes EUR, œ oe, — -); the FCFC control in column 1 is passed to enscript as plain text, so enscript shows it and paginates by its own line count, not by the '1' records."
echo "- peak RSS: GNU time's maximum resident set size; for the enscript pipeline it is the largest single process of the tree (enscript, gs), not their sum."
for note in "${notes[@]}"; do echo "- $note"; done

# Memory should not grow with the number of pages: compare the smallest and largest sizes.
if ((${#greffier_rss[@]} > 1)); then
    first=${greffier_rss[0]}
    last=${greffier_rss[-1]}
    awk -v a="${first#*:}" -v b="${last#*:}" -v na="${first%%:*}" -v nb="${last%%:*}" 'BEGIN {
        printf "- greffier peak RSS: %.1f MiB at %d pages, %.1f MiB at %d pages (%+.1f MiB for %dx the pages)%s\n",
            a, na, b, nb, b - a, nb / na, (b > a * 1.5 + 2 ? ": GROWS WITH PAGES" : ": flat")
    }'
fi

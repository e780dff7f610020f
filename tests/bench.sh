#!/usr/bin/env bash
# Performance bench (not part of the test suite), three parts:
#
#   text  Greffier's line spool → PDF converter against enscript | ps2pdf on generated FCFC
#         spools (the spool_bench example's own generator).
#   scs   Greffier's SCS → PDF converter (convert_run, Renderer::Scs, no burst) against
#         enscript | ps2pdf on the same pages' text, on SCS invoice runs written by IBM's own
#         writer (JTOpen SCS3812Writer through samples/scs/make-scs.sh --pages N).
#   file  end to end with the release binary on SQLite: a fresh data folder, the clients CSV
#         imported, then `greffier --rules samples/rules.toml ingest --json RUN.scs` on an
#         N-invoice print run (make-scs.sh --run N): burst, convert, text, extract, attach,
#         index, filed. Every document's keys and pages are checked against the run's manifest;
#         then the same run is ingested again (it must end as a duplicate). The burst
#         conversion alone (spool_bench --scs --burst) is timed beside it.
#
#   scan  a scanned batch end to end (BENCH_PARTS=scan; not in the default parts): a
#         BENCH_SCAN_PAGES-page CCITT G4 TIFF at 300 dpi (pdftoppm of samples/pdf, ImageMagick
#         -compress Group4, tiffcp) through `greffier ingest` (separator check, G4 kept as CCITT, OCR,
#         searchable PDF, rules, filed), against bare tesseract on the same one-page G4 TIFFs
#         run the same way: `xargs -P$(nproc)` of `OMP_THREAD_LIMIT=1 tesseract PAGE out -l
#         fra+eng tsv`. Overhead = greffier / tesseract - 1 (goal: at most 5 %).
#
#   tests/bench.sh                 # from the repo root
#   BENCH_PARTS=scs tests/bench.sh
#
# Environment:
#   BENCH_DIR        where spools, PDFs, data folders and timings go (default: target/bench,
#                    git-ignored); generated inputs are kept there and reused (cached by size).
#                    The file part's data folder and TMPDIR are there too: put it on the file
#                    system to measure (on ext4 without a journal, recent deletions slow file
#                    creation: the report says so)
#   BENCH_PARTS      which parts, in order (default: "text scs file")
#   BENCH_SIZES      text spool sizes in pages, smallest first (default: "1000 10000"; the small
#                    one shows whether memory stays flat in the number of pages)
#   BENCH_SCS_PAGES  SCS spool sizes in pages, smallest first (default: "1000 10000")
#   BENCH_INVOICES   invoice runs to burst and file, smallest first (default: "200 2000")
#   ENSCRIPT_LIMIT   seconds enscript | ps2pdf may take on one size (default: 600); above the
#                    projection from a smaller size, it runs on a prefix and extrapolates
#   ENSCRIPT_SAMPLE  pages of that prefix (default: 1000)
#
# It installs enscript, ghostscript, poppler-utils, time, python3 and (for the SCS inputs)
# libjt400-java and a JDK with apt-get when missing, builds the spool_bench example and greffier
# in release (CARGO_TARGET_DIR is honoured), and runs each tool under /usr/bin/time -v. Wall
# times are measured around each run with nanosecond clocks; peak RSS is GNU time's "Maximum
# resident set size".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
BENCH_PARTS=${BENCH_PARTS:-"text scs file"}
BENCH_SIZES=${BENCH_SIZES:-"1000 10000"}
BENCH_SCS_PAGES=${BENCH_SCS_PAGES:-"1000 10000"}
BENCH_INVOICES=${BENCH_INVOICES:-"200 2000"}
BENCH_SCAN_PAGES=${BENCH_SCAN_PAGES:-50}
ENSCRIPT_LIMIT=${ENSCRIPT_LIMIT:-600}
ENSCRIPT_SAMPLE=${ENSCRIPT_SAMPLE:-1000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/examples/spool_bench
GREFFIER=$TARGET_DIR/release/greffier
MAKE_SCS=$ROOT/samples/scs/make-scs.sh
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

log() { printf '==> %s\n' "$*" >&2; }
wants() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }

# --- tools --------------------------------------------------------------------------------
missing=()
if wants text || wants scs; then
    command -v enscript >/dev/null || missing+=(enscript)
    command -v ps2pdf >/dev/null || missing+=(ghostscript)
fi
command -v pdfinfo >/dev/null || missing+=(poppler-utils)
[[ -x /usr/bin/time ]] || missing+=(time)
command -v iconv >/dev/null || missing+=(libc-bin)
command -v python3 >/dev/null || missing+=(python3-minimal)
if wants scan; then
    command -v tesseract >/dev/null || missing+=(tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng tesseract-ocr-osd)
    [ -x /usr/bin/convert ] || missing+=(imagemagick)
fi
if wants scs || wants file; then
    [[ -f /usr/share/java/jt400.jar ]] || missing+=(libjt400-java)
    command -v javac >/dev/null || missing+=(default-jdk-headless)
fi
if ((${#missing[@]})); then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    log "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# --- build --------------------------------------------------------------------------------
log "building spool_bench and greffier (release)"
cargo build -j2 --release -p pipelines --example spool_bench >&2
if wants file || wants scan; then
    cargo build -j2 --release -p greffier >&2
fi

now_ns() { date +%s%N; }
# Seconds between two nanosecond stamps.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
# Max RSS in MiB from a /usr/bin/time -v file.
rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
pdf_pages() { pdfinfo "$1" 2>/dev/null | awk '/^Pages:/ { print $2 }'; }
# The first N pages of an FCFC spool (a page starts at a record whose control is 1).
fcfc_prefix() { awk -v n="$1" '/^1/ { if (++p > n) exit } { print }' "$2"; }
# The first N pages (all with 0) of an oracle (`----- page N -----` lines), form-feed separated.
oracle_text() {
    awk -v n="$1" '/^----- page [0-9]+ -----$/ { if (n && ++p > n) exit; if (started++) printf "\f"; next } { print }' "$2"
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else if (a / b >= 100) printf "%.0f", a / b; else printf "%.2f", a / b }'; }
# A RESULT field of the spool_bench output.
result() { sed -n "s/.*RESULT.* $1=\([^ ]*\).*/\1/p;s/.*RESULT $1=\([^ ]*\).*/\1/p" "$2" | head -1; }

run_enscript() { # latin1-input pdf-output time-file enscript-options... → prints wall seconds
    local input=$1 pdf=$2 timing=$3 start end
    shift 3
    start=$(now_ns)
    /usr/bin/time -v -o "$timing" bash -c \
        'in=$1 out=$2; shift 2; enscript -q -B "$@" --encoding=latin1 -p - "$in" | ps2pdf - "$out"' \
        _ "$input" "$pdf" "$@"
    end=$(now_ns)
    secs "$start" "$end"
}

# How fast the file system creates files right now in folder $1 (files/s, 1,000 empty files
# in a new subfolder, kept until the end of the part: deleting them slows later creations).
# On ext4 without a journal, inode allocation skips every inode freed in the last 60 s (360 s
# while its inode table block is dirty) and rescans them at each creation, so after a mass
# deletion (a cargo clean, an old data folder, another test) creating a file can cost ~0.5 ms
# instead of ~20 µs. The file part creates ~4 files a document: this is printed beside it.
fs_create_rate() {
    local dir
    dir=$1/fs-probe.$(now_ns)
    mkdir -p "$dir"
    python3 - "$dir" <<'PY'
import os, sys, time
d = sys.argv[1]
t = time.perf_counter()
for i in range(1000):
    os.close(os.open(os.path.join(d, str(i)), os.O_CREAT | os.O_WRONLY, 0o644))
print(f"{1000 / (time.perf_counter() - t):.0f}")
PY
}
# Whether the file system holding $1 is ext4 without a journal (see fs_create_rate).
fs_note() {
    local source fstype dev
    read -r source fstype < <(findmnt -n -o SOURCE,FSTYPE --target "$1" 2>/dev/null || true)
    dev=${source##*/}
    if [[ $fstype == ext4 && -r /sys/fs/ext4/$dev/journal_task ]] &&
        [[ $(cat "/sys/fs/ext4/$dev/journal_task") == "<none>" ]]; then
        echo "$1 is on $source, ext4 WITHOUT a journal: file creation there slows down for up to 6 minutes after files are deleted (any process), and the burst conversion and the blob store create ~4 files a document; BENCH_DIR on a journaled file system (ext4 with a journal, xfs) avoids it"
    fi
}

checks=()
notes=()

# --- text: FCFC line spools ----------------------------------------------------------------
text_rows=()
text_rss=()
bench_text() {
    local enscript_rate= size dir spool g_secs g_rss g_inner g_pdf_pages g_pages status
    local e_input e_pages extrapolated projected e_secs e_rss e_pdf_pages e_total e_secs_cell e_rss_cell
    for size in $BENCH_SIZES; do
        dir=$BENCH_DIR/$size
        mkdir -p "$dir"
        spool=$dir/spool.txt
        if [[ ! -s $spool || $(grep -c '^1' "$spool") != "$size" ]]; then
            log "text $size pages: generating the spool"
            "$BIN" --pages "$size" --out "$dir" --only-generate
        fi

        log "text $size pages: greffier"
        start=$(now_ns)
        /usr/bin/time -v -o "$dir/greffier.time" \
            "$BIN" --input "$spool" --out "$dir" >"$dir/greffier.out"
        end=$(now_ns)
        g_secs=$(secs "$start" "$end")
        g_rss=$(rss_mib "$dir/greffier.time")
        g_inner=$(result seconds "$dir/greffier.out")
        g_pdf_pages=$(pdf_pages "$dir/out.pdf")
        g_pages=$(result pages "$dir/greffier.out")
        text_rss+=("$size:$g_rss")
        status=ok
        [[ "$g_pdf_pages" == "$size" && "$g_pages" == "$size" ]] || status="MISMATCH (expected $size)"
        checks+=("text, greffier $size pages: converter returned $g_pages, pdfinfo says ${g_pdf_pages:-unreadable} — $status ($(du -m "$dir/out.pdf" | cut -f1) MiB PDF, conversion alone ${g_inner} s)")

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
                notes+=("text: enscript on $size pages was projected at ${projected} s (> ${ENSCRIPT_LIMIT} s): it ran on the first $e_pages pages and its time is extrapolated linearly.")
            fi
        fi
        log "text $size pages: enscript | ps2pdf on $e_pages pages"
        e_secs=$(run_enscript "$e_input" "$dir/enscript.pdf" "$dir/enscript.time" -r -f Courier8)
        e_rss=$(rss_mib "$dir/enscript.time")
        e_pdf_pages=$(pdf_pages "$dir/enscript.pdf")
        checks+=("text, enscript $e_pages spool pages: pdfinfo says ${e_pdf_pages:-unreadable} PDF pages (enscript paginates by itself, ignoring FCFC) ($(du -m "$dir/enscript.pdf" | cut -f1) MiB PDF)")
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
        text_rows+=("| greffier | $size | $g_secs | $(div "$size" "$g_secs") | $g_rss | — |")
        text_rows+=("| enscript \\| ps2pdf | $size | $e_secs_cell | $(div "$size" "$e_total") | $e_rss_cell | $(div "$e_total" "$g_secs") |")
    done
}

# --- scs: SCS spools from IBM's writer -----------------------------------------------------
scs_rows=()
scs_rss=()
# Makes (once) an SCS run in DIR with make-scs.sh: --pages N or --run N.
make_scs() { # dir option count
    local dir=$1 option=$2 count=$3
    mkdir -p "$dir"
    if [[ -s $dir/run.scs && -s $dir/run.manifest.json && -s $dir/run.expected.txt && -s $dir/clients.csv ]]; then
        return
    fi
    log "generating $dir/run.scs with IBM JTOpen ($option $count)"
    sh "$MAKE_SCS" "$option" "$count" --out "$dir/run.scs" --clients "$dir/clients.csv" \
        2> >(grep -v '^Note:' >&2) >&2
}
bench_scs() {
    local enscript_rate= size dir g_secs g_rss g_inner g_pages g_pdf_pages g_rate status same
    local e_input e_pages extrapolated projected e_secs e_rss e_pdf_pages e_total e_cell e_rss_cell
    for size in $BENCH_SCS_PAGES; do
        dir=$BENCH_DIR/scs-$size
        make_scs "$dir" --pages "$size"

        log "scs $size pages: greffier"
        start=$(now_ns)
        /usr/bin/time -v -o "$dir/greffier.time" \
            "$BIN" --scs "$dir/run.scs" --ccsid 1147 --out "$dir" >"$dir/greffier.out"
        end=$(now_ns)
        g_secs=$(secs "$start" "$end")
        g_rss=$(rss_mib "$dir/greffier.time")
        g_inner=$(result seconds "$dir/greffier.out")
        g_pages=$(result pages "$dir/greffier.out")
        g_rate=$(result pages_per_s "$dir/greffier.out")
        g_pdf_pages=$(pdf_pages "$dir/out.pdf")
        scs_rss+=("$size:$g_rss")
        status=ok
        [[ "$g_pdf_pages" == "$size" && "$g_pages" == "$size" ]] || status="MISMATCH (expected $size)"
        # Our laid-out text against the Java program's oracle, page by page, trailing blanks
        # and trailing blank rows ignored.
        same=$(python3 - "$dir/out.txt" "$dir/run.expected.txt" <<'PY'
import re, sys
ours = open(sys.argv[1], encoding="utf-8").read().split("\f")
oracle = re.split(r"^----- page \d+ -----\n", open(sys.argv[2], encoding="utf-8").read(), flags=re.M)[1:]
def norm(page):
    rows = [row.rstrip() for row in page.split("\n")]
    while rows and not rows[-1]:
        rows.pop()
    return rows
same = sum(norm(a) == norm(b) for a, b in zip(ours, oracle))
print(f"{same}/{len(oracle)} pages identical to the JTOpen oracle" + ("" if same == len(oracle) == len(ours) else f" (greffier made {len(ours)} pages): MISMATCH"))
PY
)
        checks+=("scs, greffier $size pages: converter returned $g_pages, pdfinfo says ${g_pdf_pages:-unreadable} — $status; text $same ($(du -m "$dir/out.pdf" | cut -f1) MiB PDF, conversion alone ${g_inner} s = $g_rate pages/s, $(result ccsid "$dir/greffier.out") from the SCG, $(result warnings "$dir/greffier.out") warnings)")

        # enscript | ps2pdf on the oracle's text (form feed between pages), Latin-1.
        oracle_text 0 "$dir/run.expected.txt" | iconv -f UTF-8 -t LATIN1//TRANSLIT >"$dir/pages.latin1.txt"
        e_input=$dir/pages.latin1.txt
        e_pages=$size
        extrapolated=
        if [[ -n $enscript_rate ]]; then
            projected=$(awk -v n="$size" -v r="$enscript_rate" 'BEGIN { printf "%.0f", n / r }')
            if ((projected > ENSCRIPT_LIMIT)) && ((ENSCRIPT_SAMPLE < size)); then
                e_pages=$ENSCRIPT_SAMPLE
                oracle_text "$e_pages" "$dir/run.expected.txt" | iconv -f UTF-8 -t LATIN1//TRANSLIT >"$dir/pages.latin1.sample.txt"
                e_input=$dir/pages.latin1.sample.txt
                extrapolated=yes
                notes+=("scs: enscript on $size pages was projected at ${projected} s (> ${ENSCRIPT_LIMIT} s): it ran on the first $e_pages pages and its time is extrapolated linearly.")
            fi
        fi
        log "scs $size pages: enscript | ps2pdf on $e_pages pages"
        e_secs=$(run_enscript "$e_input" "$dir/enscript.pdf" "$dir/enscript.time" -M A4 -f Courier10)
        e_rss=$(rss_mib "$dir/enscript.time")
        e_pdf_pages=$(pdf_pages "$dir/enscript.pdf")
        status=ok
        [[ "$e_pdf_pages" == "$e_pages" ]] || status="MISMATCH (expected $e_pages)"
        checks+=("scs, enscript $e_pages pages of text: pdfinfo says ${e_pdf_pages:-unreadable} PDF pages — $status ($(du -m "$dir/enscript.pdf" | cut -f1) MiB PDF)")
        [[ -n $enscript_rate ]] || enscript_rate=$(awk -v n="$e_pages" -v s="$e_secs" 'BEGIN { print n / s }')
        if [[ -n $extrapolated ]]; then
            e_total=$(awk -v s="$e_secs" -v n="$size" -v m="$e_pages" 'BEGIN { printf "%.3f", s * n / m }')
            e_cell="~$e_total (from $e_pages pages: $e_secs s)"
            e_rss_cell="$e_rss (on $e_pages pages)"
        else
            e_total=$e_secs
            e_cell=$e_secs
            e_rss_cell=$e_rss
        fi
        scs_rows+=("| $size | $g_secs | $(div "$size" "$g_secs") | $g_rss | $e_cell | $(div "$size" "$e_total") | $e_rss_cell | $(div "$e_total" "$g_secs") |")
    done
}

# --- file: burst + file an invoice run end to end --------------------------------------------
file_rows=()
file_rss=()
bench_file() {
    local n dir pages data run second secs1 rss1 filed rate check probe probe_after timeline
    local b_secs b_parts note
    declare -A kept=()
    note=$(fs_note "$BENCH_DIR")
    [[ -z $note ]] || notes+=("file: $note.")
    for n in $BENCH_INVOICES; do
        dir=$BENCH_DIR/file-$n
        make_scs "$dir" --run "$n"
        pages=$(grep -c '^----- page' "$dir/run.expected.txt")
        # A new data folder each time; the old ones are removed after the runs (deleting
        # thousands of files right before would slow the creations measured, see fs_note).
        run=$(now_ns)
        data=$dir/data.$run
        kept[$n]=$data
        mkdir -p "$dir/tmp"

        # The burst conversion alone (convert_run with the rules' [[burst]], one PDF and one
        # text per document in a scratch folder): what the convert stage does before it stores
        # the parts.
        log "file $n invoices: burst conversion alone"
        "$BIN" --scs "$dir/run.scs" --ccsid 1147 --burst "$ROOT/samples/rules.toml" \
            --out "$dir/tmp/burst.$run" >"$dir/burst.out"
        b_secs=$(awk -v s="$(result seconds "$dir/burst.out")" 'BEGIN { printf "%.3f", s }')
        b_parts=$(result parts "$dir/burst.out")

        log "file $n invoices: importing $dir/clients.csv"
        (cd "$dir" && "$GREFFIER" --data "$data" records import client clients.csv \
            --map code=CODE,name=RAISON_SOCIALE) >"$dir/import.out"

        probe=$(fs_create_rate "$dir/tmp")
        log "file $n invoices: ingest ($pages pages)"
        start=$(now_ns)
        (cd "$dir" && TMPDIR=$dir/tmp /usr/bin/time -v -o "$dir/ingest.time" \
            "$GREFFIER" --data "$data" --rules "$ROOT/samples/rules.toml" ingest --json run.scs) \
            >"$dir/ingest.jsonl" 2>"$dir/ingest.err"
        end=$(now_ns)
        secs1=$(secs "$start" "$end")
        rss1=$(rss_mib "$dir/ingest.time")
        probe_after=$(fs_create_rate "$dir/tmp")
        file_rss+=("$n:$rss1")
        filed=$(grep -c '"status":"filed"' "$dir/ingest.jsonl" || true)
        rate=$(div "$n" "$secs1")
        # Every document against the manifest: invoice, client, date, total, pages in the run.
        check=$(python3 - "$dir/ingest.jsonl" "$dir/run.manifest.json" <<'PY'
import json, sys
docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
manifest = json.load(open(sys.argv[2], encoding="utf-8"))
by_number = {d["keys"].get("invoice_number"): d for d in docs}
bad = []
for m in manifest:
    d = by_number.get(m["invoice"])
    day, month, year = m["date"].split("/")
    want = {"invoice_number": m["invoice"], "client_number": m["client"],
            "date": f"{year}-{month}-{day}", "total": f"{m['total_cents'] / 100:.2f}"}
    if d is None:
        bad.append(f"{m['invoice']}: missing")
        continue
    if d["keys"] != want or d["status"] != "filed" \
            or (d["page_first"], d["page_last"]) != (m["first_page"], m["last_page"]) \
            or sorted(d["attached"]) != sorted([f"client:{m['client']}", f"invoice:{m['invoice']}"]):
        bad.append(f"{m['invoice']}: {d['status']} {d['keys']} p{d['page_first']}-{d['page_last']} {d['attached']}")
statuses = {}
for d in docs:
    statuses[d["status"]] = statuses.get(d["status"], 0) + 1
print(f"{len(manifest) - len(bad)}/{len(manifest)} invoices match the manifest (keys, pages, attachments); statuses {statuses}"
      + ("" if not bad else "; MISMATCH: " + " | ".join(bad[:3])))
PY
)
        checks+=("file $n invoices ($pages pages): $filed filed lines of $(wc -l <"$dir/ingest.jsonl"); $check")
        checks+=("file $n invoices, burst conversion alone: $b_parts documents in $b_secs s ($(div "${b_parts:-0}" "${b_secs:-0}") documents/s)")

        # Stage timings from the audit trail (events table), ms after capture.
        timeline=$(python3 - "$data/greffier.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
t0 = db.execute("select min(at) from events").fetchone()[0]
rows = db.execute("select stage, min(at) - ?, max(at) - ?, count(distinct doc_id) from events group by stage order by min(at)", (t0, t0)).fetchall()
print("; ".join(f"{stage} {first}–{last} ms ({docs} docs)" for stage, first, last, docs in rows))
PY
)
        notes+=("file $n invoices, audit trail (ms after capture): $timeline")

        # The same run again: it must end as a duplicate of the first.
        log "file $n invoices: second ingest of the same run"
        start=$(now_ns)
        (cd "$dir" && TMPDIR=$dir/tmp /usr/bin/time -v -o "$dir/ingest2.time" \
            "$GREFFIER" --data "$data" --rules "$ROOT/samples/rules.toml" ingest --json run.scs) \
            >"$dir/ingest2.jsonl" 2>"$dir/ingest2.err"
        end=$(now_ns)
        second=$(python3 - "$dir/ingest2.jsonl" <<'PY'
import json, sys
docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
said = [f"{d['status']} of document {d['duplicate_of']}" if d["status"] == "duplicate" else d["status"] for d in docs]
print(", ".join(said) or "nothing", f"({len(docs)} line{'' if len(docs) == 1 else 's'})")
PY
)
        checks+=("file $n invoices, second ingest of the same file: $second in $(secs "$start" "$end") s")
        file_rows+=("| $n | $pages | $b_secs | $secs1 | $rate | $rss1 | $filed | $second | $probe / $probe_after |")
    done
    # Old data folders and scratch files go last (see above); the newest data folder stays.
    local old
    for n in $BENCH_INVOICES; do
        dir=$BENCH_DIR/file-$n
        for old in "$dir"/data.*; do
            [[ -d $old && $old != "${kept[$n]}" ]] && rm -rf "$old"
        done
        rm -rf "$dir/tmp"
    done
}

bench_scan() {
    local dir=$BENCH_DIR/scan-$BENCH_SCAN_PAGES n=$BENCH_SCAN_PAGES
    mkdir -p "$dir/pages"
    if [[ ! -s $dir/batch.tif ]]; then
        log "scan: making a $n-page G4 batch at 300 dpi"
        local pdf i=0 sources=()
        for pdf in "$ROOT"/samples/pdf/*.pdf; do
            pdftoppm -r 300 -gray -singlefile "$pdf" "$dir/src-$i"
            sources+=("$dir/src-$i.pgm")
            i=$((i + 1))
        done
        # One G4 page a source, then the batch (ImageMagick's memory policy refuses 50 pages at
        # once); bare tesseract reads the very same one-page G4 TIFFs.
        local g4=()
        for ((i = 0; i < ${#sources[@]}; i++)); do
            convert "${sources[$i]}" -units PixelsPerInch -density 300 -threshold 60% -compress Group4 "$dir/src-$i.tif"
        done
        rm -f "$dir"/pages/*
        for ((i = 0; i < n; i++)); do
            cp "$dir/src-$((i % ${#sources[@]})).tif" "$(printf '%s/pages/page-%04d.tif' "$dir" "$i")"
        done
        tiffcp "$dir"/pages/*.tif "$dir/batch.tif"
    fi
    log "scan: bare tesseract on $n pages, $(nproc) at a time"
    rm -rf "$dir/out" && mkdir -p "$dir/out"
    local start end bare_secs ours_secs data
    start=$(now_ns)
    ls "$dir"/pages/*.tif | xargs -P"$(nproc)" -I{} sh -c 'OMP_THREAD_LIMIT=1 tesseract "$1" "$2/$(basename "$1" .tif)" -l fra+eng tsv >/dev/null 2>&1' _ {} "$dir/out"
    end=$(now_ns)
    bare_secs=$(secs "$start" "$end")
    data=$dir/data
    rm -rf "$data"
    "$GREFFIER" --data "$data" records import client "$ROOT/samples/clients.csv" --map code=CODE,name=RAISON_SOCIALE >/dev/null
    log "scan: greffier ingest of the $n-page batch"
    start=$(now_ns)
    /usr/bin/time -v -o "$dir/greffier.time" "$GREFFIER" --data "$data" --rules "$ROOT/samples/rules.toml" ingest --json "$dir/batch.tif" >"$dir/ingest.json"
    end=$(now_ns)
    ours_secs=$(secs "$start" "$end")
    local overhead
    overhead=$(awk -v a="$ours_secs" -v b="$bare_secs" 'BEGIN { printf "%+.1f %%", (a / b - 1) * 100 }')
    scan_rows+=("| $n | $bare_secs | $(awk -v n="$n" -v s="$bare_secs" 'BEGIN { printf "%.1f", n * 60 / s }') | $ours_secs | $(awk -v n="$n" -v s="$ours_secs" 'BEGIN { printf "%.1f", n * 60 / s }') | $(rss_mib "$dir/greffier.time") | $overhead |")
}

scan_rows=()
for part in $BENCH_PARTS; do
    case $part in
        scan) bench_scan ;;
        text) bench_text ;;
        scs) bench_scs ;;
        file) bench_file ;;
        *) echo "unknown bench part: $part" >&2; exit 2 ;;
    esac
done

# --- report -----------------------------------------------------------------------------------
# Memory should not grow with the size: compare the smallest and largest.
flat() { # label entries...
    local label=$1
    shift
    (($# > 1)) || return 0
    local first=$1 last=${!#}
    awk -v a="${first#*:}" -v b="${last#*:}" -v na="${first%%:*}" -v nb="${last%%:*}" -v l="$label" 'BEGIN {
        printf "- %s peak RSS: %.1f MiB at %d, %.1f MiB at %d (%+.1f MiB for %dx the size)%s\n",
            l, a, na, b, nb, b - a, nb / na, (b > a * 1.5 + 2 ? ": GROWS WITH SIZE" : ": flat")
    }'
}

echo
echo "### Checks"
echo
for line in "${checks[@]}"; do echo "- $line"; done
echo
echo "Machine: $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d)."
if ((${#text_rows[@]})); then
    echo
    echo "### Text spool → PDF"
    echo
    echo "| tool | pages | seconds | pages/s | peak RSS MiB | ratio |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for row in "${text_rows[@]}"; do echo "$row"; done
    echo
    echo "- pages: spool pages in the input (FCFC, 60 records and 63 rows a page, French invoice text, UTF-8, up to 132 columns)."
    echo "- seconds: wall clock of the whole process (greffier: the spool_bench example, which reads the spool and writes the PDF and the laid-out text, no fsync); enscript: \`bash -c 'enscript -q -B -r -f Courier8 --encoding=latin1 -p - FILE | ps2pdf - out.pdf'\`."
    echo "- enscript input was converted with \`iconv -f UTF-8 -t LATIN1//TRANSLIT\` first, outside the timed part (€ becomes EUR, œ oe, — -); the FCFC control in column 1 is passed to enscript as plain text, so enscript shows it and paginates by its own line count, not by the '1' records."
    flat "text greffier" "${text_rss[@]}"
fi
if ((${#scs_rows[@]})); then
    echo
    echo "### SCS spool → PDF (IBM JTOpen SCS3812Writer invoice runs, CCSID 1147, A4 at 10 cpi / 6 lpi)"
    echo
    echo "| pages | greffier s | pages/s | MiB | enscript \\| ps2pdf s | pages/s | MiB | ratio |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for row in "${scs_rows[@]}"; do echo "$row"; done
    echo
    echo "- input: \`samples/scs/make-scs.sh --pages N\`, the layout of samples/scs/run-50-invoices-1147.scs (1–3 pages an invoice, bold, underline, overprint, AHPP/AVPP), ~730 bytes a page."
    echo "- greffier: wall clock of \`spool_bench --scs run.scs --ccsid 1147\` (process start to exit): \`convert_run\` with \`Renderer::Scs\`, no burst, writing the PDF and the laid-out text (no fsync). MiB: GNU time's maximum resident set size of the process."
    echo "- enscript: the same pages' text (the Java program's own oracle, pages separated by form feeds, \`iconv -t LATIN1//TRANSLIT\` outside the timing) through \`bash -c 'enscript -q -B -M A4 -f Courier10 --encoding=latin1 -p - FILE | ps2pdf - out.pdf'\`, one PDF page per spool page; MiB: the largest process of the pipeline (GNU time), not their sum. No bold, no underline."
    echo "- ratio: enscript seconds / greffier seconds."
    flat "scs greffier" "${scs_rss[@]}"
fi
if ((${#file_rows[@]})); then
    echo
    echo "### Burst + file end to end (release binary, SQLite, $(nproc) CPUs)"
    echo
    echo "| invoices | pages | burst convert alone s | ingest s | documents/s | peak RSS MiB | filed | same run again | fs files/s before / after |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
    for row in "${file_rows[@]}"; do echo "$row"; done
    echo
    echo "- input: \`samples/scs/make-scs.sh --run N --clients clients.csv\` (invoice i to client CL004711 + (i − 1) mod 8), one SCS print run; clients imported first with \`greffier records import client clients.csv --map code=CODE,name=RAISON_SOCIALE\` into a fresh data folder (not timed)."
    echo "- ingest s: wall clock of \`greffier --data DATA --rules samples/rules.toml ingest --json run.scs\` (capture, detect, dedupe, convert with the [[burst]] rule, extract, attach, index, until every document is settled); documents/s = invoices / ingest s; MiB: GNU time's maximum resident set size."
    echo "- burst convert alone: \`spool_bench --scs run.scs --ccsid 1147 --burst samples/rules.toml\` (convert_run cutting the run, one PDF and one text file per document, no blob store, no database)."
    echo "- same run again: what the second ingest of the same file prints (the run is an exact duplicate)."
    echo "- fs files/s: empty files the file system created per second in the ingest's TMPDIR just before and after the ingest (1,000 in a new folder); far below ~20,000 means inode allocation is slowed by recent deletions (see the note on ext4 without a journal) and the ingest, which creates ~4 files a document, pays for it."
    echo "- the latest data folder of each size is kept in BENCH_DIR/file-N/ (greffier --data … show ID, search)."
    flat "file greffier" "${file_rss[@]}"
fi
if ((${#scan_rows[@]})); then
    echo
    echo "### Scanned batch end to end (release binary, SQLite, $(nproc) CPUs)"
    echo
    echo "| pages | bare tesseract s | pages/min | greffier ingest s | pages/min | peak RSS MiB | overhead |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for row in "${scan_rows[@]}"; do echo "$row"; done
    echo
    echo "- input: the pages of samples/pdf rendered by \`pdftoppm -r 300 -gray\`, made CCITT G4 by ImageMagick, repeated and joined by \`tiffcp\` into one TIFF; bare tesseract reads the same one-page G4 TIFFs with \`xargs -P$(nproc)\` and \`OMP_THREAD_LIMIT=1 tesseract PAGE OUT -l fra+eng tsv\`."
    echo "- greffier: \`greffier --rules samples/rules.toml ingest --json batch.tif\` from capture to filed: separator check, G4 bitmaps, OCR (tesseract, same languages, $(nproc) at a time), orientation check of badly read pages, searchable PDF, rules, index."
fi
for note in "${notes[@]}"; do echo "- $note"; done

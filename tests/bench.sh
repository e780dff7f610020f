#!/usr/bin/env bash
# Performance bench (not part of the test suite), four parts by default:
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
#   afp   AFP print runs of N invoices written by Apache FOP (samples/afp/make-afp.sh DIR run-N:
#         one page group and four TLEs an invoice, 1–3 A4 pages, CCSID 1147; cached in
#         BENCH_DIR/afp with FOP's own PDF, the FO and run.py's expected page groups):
#         - the conversion alone on one core (`taskset -c 0`), the afp_bench example: the run as
#           one PDF (afp::render into one AfpPdfWriter) and cut into page groups (convert_afp,
#           parts dropped), pages/s and peak RSS; its pages and page groups (pages, TLEs) are
#           checked against `run.py N --expect`;
#         - end to end with the release binary on SQLite, as the file part: a fresh data folder,
#           samples/clients.csv imported, `greffier --rules samples/rules.toml ingest --json
#           run-N.afp`: documents/s = page groups / wall time, one JSON line per page group
#           (keys and pages checked against the TLEs), then the same run again (a duplicate);
#         - reference points, as ratios: Apache FOP making the same pages as PDF from the FO
#           (`fop -c afp-cp1147.xconf -fo run-N.fo -pdf`, layout included, the JVM on every
#           core), the goal (5,000 pages/s on one core) and Compart AFP2web's published
#           70 pages/s (a vendor's claim, not measured here). On the largest run, the
#           afp_bench phases alone (read, render, text, pdf) show where the time goes.
#         About 40 s on 2 cores once the runs are in BENCH_DIR/afp (FOP makes them once, in
#         about a minute more), so it is in the default parts.
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
#   BENCH_PARTS      which parts, in order (default: "text scs file afp")
#   BENCH_SIZES      text spool sizes in pages, smallest first (default: "1000 10000"; the small
#                    one shows whether memory stays flat in the number of pages)
#   BENCH_SCS_PAGES  SCS spool sizes in pages, smallest first (default: "1000 10000")
#   BENCH_INVOICES   invoice runs to burst and file, smallest first (default: "200 2000")
#   BENCH_AFP_INVOICES  AFP invoice runs, smallest first (default: "200 2000"; the small one
#                    shows whether memory stays flat in the run's size)
#   BENCH_AFP_REPEAT times afp_bench converts each run, the fastest kept (default: 3)
#   BENCH_SCS_REPEAT times greffier and enscript | ps2pdf each convert an SCS spool, the
#                    fastest of each kept (default: 3; both vary by 20-40 % run to run here)
#   ENSCRIPT_LIMIT   seconds enscript | ps2pdf may take on one size (default: 600); above the
#                    projection from a smaller size, it runs on a prefix and extrapolates
#   ENSCRIPT_SAMPLE  pages of that prefix (default: 1000)
#
# It installs enscript, ghostscript, poppler-utils, time, python3, (for the SCS inputs)
# libjt400-java and a JDK with apt-get, and (for the AFP inputs) Apache FOP with
# tests/install-afp.sh, when missing; builds the spool_bench and afp_bench examples and greffier
# in release (CARGO_TARGET_DIR is honoured), and runs each tool under /usr/bin/time -v. Wall
# times are measured around each run with nanosecond clocks; peak RSS is GNU time's "Maximum
# resident set size".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
BENCH_PARTS=${BENCH_PARTS:-"text scs file afp"}
BENCH_SIZES=${BENCH_SIZES:-"1000 10000"}
BENCH_SCS_PAGES=${BENCH_SCS_PAGES:-"1000 10000"}
BENCH_INVOICES=${BENCH_INVOICES:-"200 2000"}
BENCH_AFP_INVOICES=${BENCH_AFP_INVOICES:-"200 2000"}
BENCH_AFP_REPEAT=${BENCH_AFP_REPEAT:-3}
BENCH_SCS_REPEAT=${BENCH_SCS_REPEAT:-3}
BENCH_SCAN_PAGES=${BENCH_SCAN_PAGES:-50}
ENSCRIPT_LIMIT=${ENSCRIPT_LIMIT:-600}
ENSCRIPT_SAMPLE=${ENSCRIPT_SAMPLE:-1000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/examples/spool_bench
GREFFIER=$TARGET_DIR/release/greffier
AFP_BIN=$TARGET_DIR/release/examples/afp_bench
MAKE_SCS=$ROOT/samples/scs/make-scs.sh
MAKE_AFP=$ROOT/samples/afp/make-afp.sh
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
if wants afp && ! command -v fop >/dev/null; then
    log "installing Apache FOP (tests/install-afp.sh)"
    bash "$ROOT/tests/install-afp.sh" >&2
fi

# --- build --------------------------------------------------------------------------------
log "building spool_bench, afp_bench and greffier (release)"
examples=(--example spool_bench)
wants afp && examples+=(--example afp_bench)
cargo build -j2 --release -p pipelines "${examples[@]}" >&2
if wants file || wants scan || wants afp; then
    cargo build -j2 --release -p greffier >&2
fi

now_ns() { date +%s%N; }
# Seconds between two nanosecond stamps.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
# Max RSS in MiB from a /usr/bin/time -v file.
rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
# CPU seconds (user + system) from a /usr/bin/time -v file.
cpu_secs() { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$1"; }
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
    local enscript_rate= size dir try this g_secs g_rss g_inner g_pages g_pdf_pages g_rate status same
    local e_input e_pages extrapolated projected e_secs e_rss e_pdf_pages e_total e_cell e_rss_cell
    for size in $BENCH_SCS_PAGES; do
        dir=$BENCH_DIR/scs-$size
        make_scs "$dir" --pages "$size"

        log "scs $size pages: greffier (fastest of $BENCH_SCS_REPEAT)"
        g_secs=
        for ((try = 1; try <= BENCH_SCS_REPEAT; try++)); do
            start=$(now_ns)
            /usr/bin/time -v -o "$dir/greffier.time.$try" \
                "$BIN" --scs "$dir/run.scs" --ccsid 1147 --out "$dir" >"$dir/greffier.out"
            end=$(now_ns)
            this=$(secs "$start" "$end")
            if [[ -z $g_secs ]] || awk -v a="$this" -v b="$g_secs" 'BEGIN { exit !(a < b) }'; then
                g_secs=$this
                cp "$dir/greffier.time.$try" "$dir/greffier.time"
            fi
        done
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
        log "scs $size pages: enscript | ps2pdf on $e_pages pages (fastest of $BENCH_SCS_REPEAT)"
        e_secs=
        for ((try = 1; try <= BENCH_SCS_REPEAT; try++)); do
            this=$(run_enscript "$e_input" "$dir/enscript.pdf" "$dir/enscript.time.$try" -M A4 -f Courier10)
            if [[ -z $e_secs ]] || awk -v a="$this" -v b="$e_secs" 'BEGIN { exit !(a < b) }'; then
                e_secs=$this
                cp "$dir/enscript.time.$try" "$dir/enscript.time"
            fi
        done
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

        # After the ingests, since it deletes its scratch files (see fs_note): the burst
        # conversion alone (convert_run with the rules' [[burst]], one PDF and one
        # text per document in a scratch folder): what the convert stage does before it stores
        # the parts.
        log "file $n invoices: burst conversion alone"
        "$BIN" --scs "$dir/run.scs" --ccsid 1147 --burst "$ROOT/samples/rules.toml" \
            --out "$dir/tmp/burst.$run" >"$dir/burst.out"
        b_secs=$(awk -v s="$(result seconds "$dir/burst.out")" 'BEGIN { printf "%.3f", s }')
        b_parts=$(result parts "$dir/burst.out")
        checks+=("file $n invoices, burst conversion alone: $b_parts documents in $b_secs s ($(div "${b_parts:-0}" "${b_secs:-0}") documents/s)")
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

# --- afp: AFP print runs from Apache FOP -----------------------------------------------------
afp_rows=()
afp_e2e_rows=()
afp_whole_rss=()
afp_burst_rss=()
afp_e2e_rss=()
AFP_GOAL=5000     # pages/s on one core: the goal
AFP2WEB_CLAIM=70  # pages/s: Compart AFP2web's published figure (a claim, not measured here)
AFP_PIN_NOTE=
# Makes (once) BENCH_DIR/afp/run-N.afp and FOP's PDF with make-afp.sh, the FO and the expected
# page groups (run.py N --expect); kept while FOP's PDF has the expected number of pages.
make_afp() { # invoices
    local n=$1 dir=$BENCH_DIR/afp want
    local base=$dir/run-$n
    mkdir -p "$dir"
    if [[ -s $base.afp && -s $base.fo && -s $base.expect.json && -s $base.fop.pdf ]]; then
        want=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["pages"])' "$base.expect.json")
        [[ $(pdf_pages "$base.fop.pdf") == "$want" ]] && return
    fi
    log "generating $base.afp with Apache FOP (make-afp.sh run-$n)"
    bash "$MAKE_AFP" "$dir" "run-$n" >&2
    python3 "$ROOT/samples/afp/fo/run.py" "$n" >"$base.fo"
    python3 "$ROOT/samples/afp/fo/run.py" "$n" --expect >"$base.expect.json"
}
bench_afp() {
    local n dir out base pages groups mode secs rate rss status check fop_secs fop_rate fop_cpu fop_rss
    local cpu pin=() data run secs1 rss1 lines check_e2e second probe probe_after note largest timeline
    declare -A kept=()
    if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
        pin=(taskset -c 0)
    else
        AFP_PIN_NOTE="every core (taskset is missing or CPU 0 not allowed: not pinned)"
        notes+=("afp: taskset is missing or CPU 0 is not allowed: the conversion alone ran unpinned.")
    fi
    note=$(fs_note "$BENCH_DIR")
    [[ -z $note ]] || notes+=("afp: $note.")
    notes+=("afp: load average $(cut -d' ' -f1-3 /proc/loadavg) when the part started, on $(nproc) CPUs: other processes on CPU 0 lengthen the one-core wall clock (the CPU figure beside it does not count the waits).")
    for n in $BENCH_AFP_INVOICES; do largest=$n; done
    for n in $BENCH_AFP_INVOICES; do
        make_afp "$n"
        base=$BENCH_DIR/afp/run-$n
        dir=$BENCH_DIR/afp-$n
        out=$dir/out
        mkdir -p "$out" "$dir/tmp"
        read -r pages groups < <(python3 -c 'import json, sys; e = json.load(open(sys.argv[1])); print(e["pages"], len(e["documents"]))' "$base.expect.json")

        # Apache FOP making the same pages as PDF from the FO (the reference point), as
        # make-afp.sh runs it (in samples/afp/fo, with its configuration).
        log "afp $n invoices: Apache FOP -fo → -pdf ($pages pages)"
        start=$(now_ns)
        (cd "$ROOT/samples/afp/fo" && /usr/bin/time -v -o "$dir/fop.time" \
            fop -c afp-cp1147.xconf -fo "$base.fo" -pdf "$dir/fop.pdf") >"$dir/fop.log" 2>&1
        end=$(now_ns)
        fop_secs=$(secs "$start" "$end")
        fop_rate=$(div "$pages" "$fop_secs")
        fop_cpu=$(cpu_secs "$dir/fop.time")
        fop_rss=$(rss_mib "$dir/fop.time")
        status=ok
        [[ $(pdf_pages "$dir/fop.pdf") == "$pages" ]] || status="MISMATCH (expected $pages)"
        checks+=("afp, Apache FOP $n invoices: pdfinfo says $(pdf_pages "$dir/fop.pdf") pages — $status ($fop_secs s wall, $fop_cpu s CPU)")

        # The conversion alone, one core: the run as one PDF, then cut into page groups.
        for mode in whole burst; do
            log "afp $n invoices: afp_bench --mode $mode (${pin[*]:-unpinned}, fastest of $BENCH_AFP_REPEAT)"
            /usr/bin/time -v -o "$dir/$mode.time" "${pin[@]}" \
                "$AFP_BIN" --afp "$base.afp" --out "$out" --mode "$mode" --repeat "$BENCH_AFP_REPEAT" \
                >"$dir/$mode.out"
            secs=$(awk -v s="$(result seconds "$dir/$mode.out")" 'BEGIN { printf "%.3f", s }')
            rate=$(div "$pages" "$secs")
            rss=$(rss_mib "$dir/$mode.time")
            cpu=$(awk -v c="$(cpu_secs "$dir/$mode.time")" -v r="$BENCH_AFP_REPEAT" 'BEGIN { printf "%.3f", c / r }')
            status=ok
            [[ $(result pages "$dir/$mode.out") == "$pages" && $(result groups "$dir/$mode.out") == "$groups" ]] ||
                status="MISMATCH: $(result pages "$dir/$mode.out") pages, $(result groups "$dir/$mode.out") page groups (expected $pages, $groups)"
            if [[ $mode == whole ]]; then
                afp_whole_rss+=("$n:$rss")
                [[ $(pdf_pages "$out/out.pdf") == "$pages" ]] || status="MISMATCH: pdfinfo says $(pdf_pages "$out/out.pdf") pages"
                checks+=("afp, whole run $n invoices: $(result pages "$dir/$mode.out") pages, $(result groups "$dir/$mode.out") page groups, pdfinfo says $(pdf_pages "$out/out.pdf") pages — $status ($(du -m "$out/out.pdf" | cut -f1) MiB PDF, $(result pdf_bytes "$dir/$mode.out") B)")
                afp_rows+=("| $n | $pages | greffier, the run as one PDF | $secs (CPU $cpu) | $rate | $rss | $(div "$rate" "$AFP_GOAL") | $(div "$rate" "$AFP2WEB_CLAIM") | $(div "$rate" "$fop_rate") |")
            else
                afp_burst_rss+=("$n:$rss")
                check=$(python3 - "$out/parts.jsonl" "$base.expect.json" <<'PY'
import json, sys
parts = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
docs = json.load(open(sys.argv[2], encoding="utf-8"))["documents"]
bad = [f"part {i + 1}: pages {p['pages']} TLEs {p['tles']}" for i, (p, d) in enumerate(zip(parts, docs))
       if p["pages"] != [d["pages"][0], d["pages"][-1]] or p["tles"] != d["tles"]]
print(f"{len(parts) - len(bad)}/{len(docs)} parts match run.py's page groups (pages, TLEs)"
      + ("" if len(parts) == len(docs) else f"; {len(parts)} parts for {len(docs)} page groups")
      + ("" if not bad else "; MISMATCH: " + " | ".join(bad[:3])))
PY
)
                checks+=("afp, burst $n invoices: $(result parts "$dir/$mode.out") parts — $status; $check ($(awk -v b="$(result pdf_bytes "$dir/$mode.out")" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of PDFs)")
                afp_rows+=("| $n | $pages | greffier, one PDF per page group | $secs (CPU $cpu) | $rate | $rss | $(div "$rate" "$AFP_GOAL") | $(div "$rate" "$AFP2WEB_CLAIM") | $(div "$rate" "$fop_rate") |")
            fi
        done
        afp_rows+=("| $n | $pages | Apache FOP 2.8, FO → PDF (layout included; $fop_cpu s CPU) | $fop_secs | $fop_rate | $fop_rss | $(div "$fop_rate" "$AFP_GOAL") | $(div "$fop_rate" "$AFP2WEB_CLAIM") | 1.00 |")

        # Where one core's time goes, on the largest run: each phase alone.
        if [[ $n == "$largest" ]]; then
            local phases=() phase
            for phase in read render text pdf; do
                "${pin[@]}" "$AFP_BIN" --afp "$base.afp" --out "$out" --mode "$phase" \
                    --repeat "$BENCH_AFP_REPEAT" >"$dir/$phase.out"
                phases+=("$phase $(awk -v s="$(result seconds "$dir/$phase.out")" 'BEGIN { printf "%.3f", s }') s ($(div "$pages" "$(result seconds "$dir/$phase.out")") pages/s)")
            done
            notes+=("afp $n invoices, the conversion by phase on one core (afp_bench --mode, fastest of $BENCH_AFP_REPEAT; each includes the ones before): read = the structured fields alone; render = pages rendered and dropped; text = render + each page's text; pdf = render + the one PDF (to a byte counter, no text): $(IFS=';'; echo "${phases[*]}" | sed 's/;/; /g').")
        fi

        # End to end: a fresh data folder, the clients imported, the run ingested.
        run=$(now_ns)
        data=$dir/data.$run
        kept[$n]=$data
        log "afp $n invoices: importing samples/clients.csv"
        (cd "$dir" && "$GREFFIER" --data "$data" records import client "$ROOT/samples/clients.csv" \
            --map code=CODE,name=RAISON_SOCIALE) >"$dir/import.out"
        # The overlay the invoices name, from the samples' resource folder: they are filed.
        printf '[afp]\nresource_dir = "%s"\n' "$ROOT/samples/afp/overlay" >"$dir/greffier.toml"
        probe=$(fs_create_rate "$dir/tmp")
        log "afp $n invoices: ingest ($pages pages, $groups page groups)"
        start=$(now_ns)
        (cd "$BENCH_DIR/afp" && TMPDIR=$dir/tmp /usr/bin/time -v -o "$dir/ingest.time" \
            "$GREFFIER" --data "$data" --config "$dir/greffier.toml" --rules "$ROOT/samples/rules.toml" ingest --json "run-$n.afp") \
            >"$dir/ingest.jsonl" 2>"$dir/ingest.err"
        end=$(now_ns)
        secs1=$(secs "$start" "$end")
        rss1=$(rss_mib "$dir/ingest.time")
        probe_after=$(fs_create_rate "$dir/tmp")
        afp_e2e_rss+=("$n:$rss1")
        lines=$(grep -c . "$dir/ingest.jsonl" || true)
        # Every page group's document against run.py: keys from the text, pages in the run.
        check_e2e=$(python3 - "$dir/ingest.jsonl" "$base.expect.json" <<'PY'
import json, sys
docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
expect = json.load(open(sys.argv[2], encoding="utf-8"))["documents"]
by_number = {d["keys"].get("invoice_number"): d for d in docs}
bad = []
for e in expect:
    t = e["tles"]
    day, month, year = t["INVOICE_DATE"].split("/")
    want = {"invoice_number": t["INVOICE_NO"], "client_number": t["CLIENT_NO"],
            "date": f"{year}-{month}-{day}", "total": t["TOTAL"].replace(" ", "").replace(",", ".")}
    d = by_number.get(t["INVOICE_NO"])
    if d is None:
        bad.append(f"{t['INVOICE_NO']}: missing")
    elif d["keys"] != want or (d["page_first"], d["page_last"]) != (e["pages"][0], e["pages"][-1]):
        bad.append(f"{t['INVOICE_NO']}: {d['status']} {d['keys']} p{d['page_first']}-{d['page_last']}")
statuses, problems = {}, {}
for d in docs:
    statuses[d["status"]] = statuses.get(d["status"], 0) + 1
    for p in d.get("problems") or []:
        problems[p] = problems.get(p, 0) + 1
print(f"{len(expect) - len(bad)}/{len(expect)} page groups match run.py (keys, pages); statuses {statuses}"
      + ("" if not problems else "; problems " + ", ".join(f"{p!r} x{c}" for p, c in problems.items()))
      + ("" if not bad else "; MISMATCH: " + " | ".join(bad[:3])))
PY
)
        status=ok
        [[ $lines == "$groups" ]] || status="MISMATCH (expected $groups)"
        checks+=("afp ingest $n invoices ($pages pages): $lines JSON lines for $groups page groups — $status; $check_e2e")

        # Stage timings from the audit trail (events table), ms after capture.
        timeline=$(python3 - "$data/greffier.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
t0 = db.execute("select min(at) from events").fetchone()[0]
rows = db.execute("select stage, min(at) - ?, max(at) - ?, count(distinct doc_id) from events group by stage order by min(at)", (t0, t0)).fetchall()
print("; ".join(f"{stage} {first}–{last} ms ({docs} docs)" for stage, first, last, docs in rows))
PY
)
        notes+=("afp ingest $n invoices, audit trail (ms after capture): $timeline")

        # The same run again: it must end as a duplicate of the first.
        log "afp $n invoices: second ingest of the same run"
        start=$(now_ns)
        (cd "$BENCH_DIR/afp" && TMPDIR=$dir/tmp /usr/bin/time -v -o "$dir/ingest2.time" \
            "$GREFFIER" --data "$data" --config "$dir/greffier.toml" --rules "$ROOT/samples/rules.toml" ingest --json "run-$n.afp") \
            >"$dir/ingest2.jsonl" 2>"$dir/ingest2.err"
        end=$(now_ns)
        second=$(python3 - "$dir/ingest2.jsonl" <<'PY'
import json, sys
docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
said = [f"{d['status']} of document {d['duplicate_of']}" if d["status"] == "duplicate" else d["status"] for d in docs]
print(", ".join(said[:3]) + (f" … ({len(said) - 3} more)" if len(said) > 3 else "") or "nothing", f"({len(docs)} line{'' if len(docs) == 1 else 's'})")
PY
)
        checks+=("afp ingest $n invoices, second ingest of the same file: $second in $(secs "$start" "$end") s")
        afp_e2e_rows+=("| $n | $pages | $groups | $secs1 | $(div "$groups" "$secs1") | $rss1 | $lines | $second | $probe / $probe_after |")
    done
    # Old data folders and scratch files go last (see the file part); the newest stays.
    local old
    for n in $BENCH_AFP_INVOICES; do
        dir=$BENCH_DIR/afp-$n
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
        afp) bench_afp ;;
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
    echo "- greffier: wall clock of \`spool_bench --scs run.scs --ccsid 1147\` (process start to exit), the fastest of $BENCH_SCS_REPEAT runs: \`convert_run\` with \`Renderer::Scs\`, no burst, writing the PDF and the laid-out text (no fsync), the pages deflated on a second thread. MiB: GNU time's maximum resident set size of the process."
    echo "- enscript: the same pages' text (the Java program's own oracle, pages separated by form feeds, \`iconv -t LATIN1//TRANSLIT\` outside the timing) through \`bash -c 'enscript -q -B -M A4 -f Courier10 --encoding=latin1 -p - FILE | ps2pdf - out.pdf'\`, one PDF page per spool page, the fastest of $BENCH_SCS_REPEAT runs (the two processes of the pipe run on both cores too); MiB: the largest process of the pipeline (GNU time), not their sum. No bold, no underline."
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
if ((${#afp_rows[@]})); then
    echo
    echo "### AFP → PDF (Apache FOP 2.8 invoice runs, CCSID 1147, one page group and 4 TLEs an invoice)"
    echo
    echo "| invoices | pages | converter | seconds | pages/s | peak RSS MiB | ÷ goal $AFP_GOAL pages/s | ÷ AFP2web $AFP2WEB_CLAIM pages/s (claimed) | ÷ FOP |"
    echo "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for row in "${afp_rows[@]}"; do echo "$row"; done
    echo "| — | — | goal: one core (a target, not a measurement) | — | $AFP_GOAL | — | 1.00 | $(div "$AFP_GOAL" "$AFP2WEB_CLAIM") | — |"
    echo "| — | — | Compart AFP2web, AFP → PDF (the vendor's published figure, not measured here) | — | $AFP2WEB_CLAIM | — | $(div "$AFP2WEB_CLAIM" "$AFP_GOAL") | 1.00 | — |"
    echo
    echo "- input: \`samples/afp/make-afp.sh BENCH_DIR/afp run-N\` (\`samples/afp/fo/run.py N\` through \`fop -c afp-cp1147.xconf -afp\`): N invoices FA-2025-000001…, 1–3 A4 pages each (every 13th 3 pages, every other 7th 2), Courier and Helvetica, rules, a missing overlay (O1INVBG1) referenced on every page."
    echo "- greffier: the afp_bench example on ${AFP_PIN_NOTE:-one core (\`taskset -c 0\`)}, the input streamed from the file (in the page cache), default AfpOptions; seconds: the conversion inside the process, the fastest of $BENCH_AFP_REPEAT (CPU: the process's user + system seconds from GNU time / $BENCH_AFP_REPEAT, startup included); pages/s = pages / seconds; MiB: GNU time's maximum resident set size of the process (the $BENCH_AFP_REPEAT conversions). \"the run as one PDF\": \`afp::render\` into one \`AfpPdfWriter\` writing out.pdf, and each page's text to out.txt; \"one PDF per page group\": \`convert_afp\` (what the convert stage runs), each part (PDF and text) dropped as it comes, no file system."
    echo "- Apache FOP: wall clock of \`fop -c afp-cp1147.xconf -fo run-N.fo -pdf out.pdf\` (the Debian wrapper, one JVM started per run): the only open-source producer of the same pages at hand; it lays the FO out and writes the PDF, on every core (its CPU seconds in the converter column), so it is a reference point, not an AFP converter."
    echo "- ÷ columns: this row's pages/s divided by the goal ($AFP_GOAL pages/s on one core), by Compart's published $AFP2WEB_CLAIM pages/s for AFP2web, and by FOP's pages/s on the same run."
    flat "afp whole run" "${afp_whole_rss[@]}"
    flat "afp one PDF per page group" "${afp_burst_rss[@]}"
fi
if ((${#afp_e2e_rows[@]})); then
    echo
    echo "### AFP run end to end (release binary, SQLite, $(nproc) CPUs)"
    echo
    echo "| invoices | pages | page groups | ingest s | documents/s | peak RSS MiB | JSON lines | same run again | fs files/s before / after |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
    for row in "${afp_e2e_rows[@]}"; do echo "$row"; done
    echo
    echo "- ingest s: wall clock of \`greffier --data DATA --rules samples/rules.toml ingest --json run-N.afp\` (with \`[afp] resource_dir = samples/afp/overlay\`, so the invoices find their overlay and are filed) on a fresh data folder where \`greffier records import client samples/clients.csv --map code=CODE,name=RAISON_SOCIALE\` ran first (not timed): capture, detect, dedupe, convert (one document per page group, TLEs as afp.tle.* metadata), extract, attach, index, until every document is settled; documents/s = page groups / ingest s; MiB: GNU time's maximum resident set size."
    echo "- every document is filed when it finds its overlay (the statuses are in the checks); without \`resource_dir\`, the missing overlay O1INVBG1 would send each to review (\`[afp] review_missing_resources\`)."
    echo "- same run again: what the second ingest of the same file prints (the run is an exact duplicate). fs files/s: as in the file part."
    echo "- the latest data folder of each size is kept in BENCH_DIR/afp-N/."
    flat "afp ingest" "${afp_e2e_rss[@]}"
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

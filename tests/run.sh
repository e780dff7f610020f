#!/usr/bin/env bash
# Runs the whole Greffier test suite: unit tests, the queue/records conformance suite on
# SQLite and PostgreSQL, and the end-to-end tests through the binary.
#
# Installs what the tests need when it is missing (Debian packages: poppler-utils for
# pdftotext, qpdf; tesseract with fra/eng/osd, ImageMagick, libtiff-tools, ocrmypdf and img2pdf for the
# scans; rlpr and LPRng for the LPD tests; Dovecot for the IMAP tests; Apache FOP (fop, with
# a headless JRE) for the AFP fixtures; PostgreSQL when no server answers on 127.0.0.1:5432;
# cargo-fuzz for the brief fuzz run) and stops what it started.
# Usage: tests/run.sh   (from anywhere). FUZZ_SECONDS (default 15) is the brief fuzz run per
# target after the tests; tests/fuzz.sh 3600 hunts longer.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v pdftotext >/dev/null || missing+=(poppler-utils)
command -v qpdf >/dev/null || missing+=(qpdf)
command -v iconv >/dev/null || missing+=(libc-bin)
# OCR: tesseract with French, English and orientation data; ImageMagick and libtiff's tools
# make the rotated and compressed scans; ocrmypdf for its helper's test.
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
for lang in fra eng osd; do
  [ -e "/usr/share/tesseract-ocr/5/tessdata/$lang.traineddata" ] || missing+=("tesseract-ocr-$lang")
done
[ -x /usr/bin/convert ] || missing+=(imagemagick)   # the real one: a stand-in may sit in /usr/local/bin
command -v tiffcp >/dev/null || missing+=(libtiff-tools)
command -v ocrmypdf >/dev/null || missing+=(ocrmypdf)
command -v img2pdf >/dev/null || missing+=(img2pdf)   # a copier's scan-to-PDF for the scans test
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

# LPR clients nobody here wrote, for the LPD receiver's tests.
bash tests/install-lpr.sh
bash tests/install-mail.sh
bash tests/install-afp.sh

# PostgreSQL for the conformance suite: use the one on 127.0.0.1:5432, or start one.
started_pg=
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! pg_up; then
  echo "no PostgreSQL on 127.0.0.1:5432: installing and starting one"
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  started_pg="$version"
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
  as_root su postgres -c "psql -qc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'greffier') THEN CREATE ROLE greffier LOGIN SUPERUSER PASSWORD 'greffier'; END IF; END \\\$\\\$\""
  as_root su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'greffier_test'\" | grep -q 1 || createdb -O greffier greffier_test"
  export GREFFIER_TEST_POSTGRES="postgres://greffier:greffier@127.0.0.1:5432/greffier_test"
fi
cleanup() {
  if [ -n "$started_pg" ]; then as_root pg_ctlcluster --skip-systemctl-redirect "$started_pg" main stop || true; fi
}
trap cleanup EXIT

cargo build -j2 -p greffier
cargo test -j2 --workspace

# Every fuzz target (SCS interpreter, LPD protocol, spool paginator, detection, PDF text)
# briefly: any crash fails the run.
tests/fuzz.sh "${FUZZ_SECONDS:-15}"

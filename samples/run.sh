#!/usr/bin/env bash
# The main job on the shipped samples, embedded defaults (SQLite, local blobs and index in
# ./greffier-data): import the clients, ingest every sample spool and PDF, print the table
# and the summary. Run it again to see every document come back as a duplicate.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -j2 -q -p greffier
greffier=target/debug/greffier
$greffier records import client samples/clients.csv --map code=CODE,name=RAISON_SOCIALE
$greffier --rules samples/rules.toml ingest samples/spools samples/pdf
echo
echo "try: $greffier search client:CL004711    $greffier review    $greffier show 1    $greffier cat 1 --pdf > facture.pdf"

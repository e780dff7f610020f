#!/usr/bin/env bash
# The main job on the shipped samples, embedded defaults (SQLite, local blobs and index in
# ./greffier-data): import the clients, ingest every sample spool and PDF, print the table
# and the summary: the spools and PDFs, and one IBM i SCS print run of 50 invoices written
# by JTOpen, cut into one document per invoice by the burst rule of samples/rules.toml, and six
# mails (samples/mail) cut into their attachments, filed by their own text, the plus address or
# the subject, a stranger's sent to review by the sender policy; and an AFP print run of six
# invoices written by Apache FOP, one document per page group keyed by its TLE index tags, in
# review because their overlay O1INVBG1 is not in the run (with --config samples/greffier.toml,
# which points [afp] resource_dir at it, they are filed).
# Run it again to see every document come back as a duplicate.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -j2 -q -p greffier
greffier=target/debug/greffier
$greffier records import client samples/clients.csv --map code=CODE,name=RAISON_SOCIALE
$greffier --rules samples/rules.toml ingest samples/spools samples/pdf samples/scs/run-50-invoices-1147.scs samples/mail/*.eml samples/afp/invoices.afp
echo
echo "try: $greffier search client:CL004711    $greffier review    $greffier show 1    $greffier cat 1 --pdf > facture.pdf"

#!/usr/bin/env bash
# Regenerate the derived sample files of samples/. Idempotent; run from the repository root:
#     samples/make-samples.sh
#
# Hand-written sources (kept as is, never generated):
#     samples/spools/factures-2024-03-utf8.txt   UTF-8, CRLF, FCFC (CPYSPLF CTLCHAR(*FCFC) + CPYTOSTMF)
#     samples/spools/releve-2024-03-plain.txt    UTF-8, LF, pages separated by form feed
#     samples/src/factures-2024-04.txt           UTF-8, LF, FCFC, no euro sign (CCSID 297 has none)
#     samples/src/factures-2024-05.txt           UTF-8, LF, FCFC, with euro signs
#     samples/src/make_pdfs.py                   the PDF generator
#     samples/clients.csv, rules.toml, greffier.toml, README.md
#
# Derived files (rewritten by this script):
#     samples/spools/factures-2024-04-ebcdic297.txt    iconv -f UTF-8 -t IBM297
#     samples/spools/factures-2024-05-ebcdic1147.txt   iconv -f UTF-8 -t IBM1147
#     samples/spools/copie-factures-2024-03-utf8.txt   byte copy of factures-2024-03-utf8.txt (re-sent spool)
#     samples/pdf/*.pdf                                python3 samples/src/make_pdfs.py (ReportLab, a PyPI package)
#
# Needs: glibc iconv, python3 with reportlab (`pip install reportlab==5.1.0`; other versions
# work but give different PDF bytes). Optional check: pdftotext (poppler-utils).
set -euo pipefail

if [ ! -f samples/make-samples.sh ]; then
    echo "run me from the repository root: samples/make-samples.sh" >&2
    exit 2
fi

s=samples
mkdir -p "$s/spools" "$s/pdf"

# EBCDIC spools, as CPYTOSTMF would leave them with an EBCDIC STMFCCSID. LF (U+000A)
# becomes byte 0x25 in glibc's IBM297/IBM1147 tables.
iconv -f UTF-8 -t IBM297  "$s/src/factures-2024-04.txt" > "$s/spools/factures-2024-04-ebcdic297.txt.tmp"
mv "$s/spools/factures-2024-04-ebcdic297.txt.tmp" "$s/spools/factures-2024-04-ebcdic297.txt"
iconv -f UTF-8 -t IBM1147 "$s/src/factures-2024-05.txt" > "$s/spools/factures-2024-05-ebcdic1147.txt.tmp"
mv "$s/spools/factures-2024-05-ebcdic1147.txt.tmp" "$s/spools/factures-2024-05-ebcdic1147.txt"

# A re-sent spool: same bytes, other name -> must be detected as a duplicate.
cp "$s/spools/factures-2024-03-utf8.txt" "$s/spools/copie-factures-2024-03-utf8.txt"

# PDFs from a real third-party producer.
python3 -c 'import reportlab' 2>/dev/null || {
    echo "reportlab missing: pip install reportlab==5.1.0" >&2
    exit 1
}
rl_version="$(python3 -c 'import reportlab; print(reportlab.Version)')"
if [ "$rl_version" != "5.1.0" ]; then
    echo "note: reportlab $rl_version (samples were made with 5.1.0): PDF bytes will differ" >&2
fi
python3 "$s/src/make_pdfs.py" "$s/pdf"

# Self-checks.
cmp -s "$s/spools/factures-2024-03-utf8.txt" "$s/spools/copie-factures-2024-03-utf8.txt"
[ "$(iconv -f IBM297  -t UTF-8 "$s/spools/factures-2024-04-ebcdic297.txt")"  = "$(cat "$s/src/factures-2024-04.txt")" ]
[ "$(iconv -f IBM1147 -t UTF-8 "$s/spools/factures-2024-05-ebcdic1147.txt")" = "$(cat "$s/src/factures-2024-05.txt")" ]
if command -v pdftotext >/dev/null; then
    pdftotext -layout "$s/pdf/facture-FA-2024-000501.pdf" - | grep -q 'Total TTC : *1 342,68 €'
    pdftotext -layout "$s/pdf/avoir-AV-2024-000007.pdf" - | grep -q 'N° avoir : AV-2024-000007'
    pdftotext -layout "$s/pdf/courrier-divers.pdf" - | grep -q 'entrepôt à Vénissieux'
fi
echo "samples regenerated (iconv: $(iconv --version | head -n 1); reportlab $rl_version)"

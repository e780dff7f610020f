#!/usr/bin/env bash
# Regenerate the derived sample files of samples/. Idempotent; run from the repository root:
#     samples/make-samples.sh
#
# One spool file = one document (one invoice, possibly several pages): bursting a print run
# into one document per invoice is a later feature, so every sample spool holds ONE invoice.
#
# Hand-written sources (kept as is, never generated):
#     samples/spools/FA-2024-00020[1-4]-utf8.txt  UTF-8, CRLF, FCFC (CPYSPLF CTLCHAR(*FCFC) + CPYTOSTMF),
#                                                 one invoice each (000202 has 2 pages)
#     samples/spools/releve-2024-03-plain.txt     UTF-8, LF, pages separated by form feed
#     samples/src/FA-2024-00030[12].txt           UTF-8, LF, FCFC, no euro sign (CCSID 297 has none)
#     samples/src/FA-2024-00040[12].txt           UTF-8, LF, FCFC, with euro signs
#     samples/src/make_pdfs.py                    the PDF generator
#     samples/clients.csv, rules.toml, greffier.toml, expected.json, README.md
#
# Derived files (rewritten by this script):
#     samples/spools/FA-2024-00030[12]-ebcdic297.txt    iconv -f UTF-8 -t IBM297  of samples/src/FA-2024-00030[12].txt
#     samples/spools/FA-2024-00040[12]-ebcdic1147.txt   iconv -f UTF-8 -t IBM1147 of samples/src/FA-2024-00040[12].txt
#     samples/spools/copie-FA-2024-000201-utf8.txt      byte copy of FA-2024-000201-utf8.txt (re-sent spool;
#                                                       sorts after the original, so it is the duplicate)
#     samples/pdf/*.pdf                                 python3 samples/src/make_pdfs.py (ReportLab, a PyPI package)
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

# Spool files from before the one-invoice-per-file rework (several invoices per file): remove them,
# today only the first invoice of such a file would be filed.
rm -f "$s/spools/factures-2024-03-utf8.txt" "$s/spools/copie-factures-2024-03-utf8.txt" \
      "$s/spools/factures-2024-04-ebcdic297.txt" "$s/spools/factures-2024-05-ebcdic1147.txt"

# EBCDIC spools, as CPYTOSTMF would leave them with an EBCDIC STMFCCSID. LF (U+000A)
# becomes byte 0x25 in glibc's IBM297/IBM1147 tables. One source (one invoice) per file.
ebcdic() { # ebcdic <ccsid> <invoice number>
    local src="$s/src/$2.txt" out="$s/spools/$2-ebcdic$1.txt"
    iconv -f UTF-8 -t "IBM$1" "$src" > "$out.tmp"
    mv "$out.tmp" "$out"
    # Self-check: decodes back to the source, byte for byte.
    iconv -f "IBM$1" -t UTF-8 "$out" | cmp -s - "$src" || {
        echo "$out does not decode back to $src" >&2
        exit 1
    }
}
ebcdic 297  FA-2024-000301
ebcdic 297  FA-2024-000302
ebcdic 1147 FA-2024-000401
ebcdic 1147 FA-2024-000402

# A re-sent spool: same bytes, other name -> must be detected as a duplicate. Files are ingested in
# sorted path order (bytes: "FA-" < "copie-"), so FA-2024-000201-utf8.txt is the original.
cp "$s/spools/FA-2024-000201-utf8.txt" "$s/spools/copie-FA-2024-000201-utf8.txt"

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
cmp -s "$s/spools/FA-2024-000201-utf8.txt" "$s/spools/copie-FA-2024-000201-utf8.txt"
for f in "$s"/spools/*.txt; do
    # One document per spool file: exactly one invoice number per invoice spool.
    case "$(basename "$f")" in
        FA-*-utf8.txt | copie-FA-*-utf8.txt)
            [ "$(grep -o 'N° facture : FA-[0-9]*-[0-9]*' "$f" | sort -u | wc -l)" = 1 ] ;;
        FA-*-ebcdic297.txt)
            [ "$(iconv -f IBM297 -t UTF-8 "$f" | grep -o 'N° facture : FA-[0-9]*-[0-9]*' | sort -u | wc -l)" = 1 ] ;;
        FA-*-ebcdic1147.txt)
            [ "$(iconv -f IBM1147 -t UTF-8 "$f" | grep -o 'N° facture : FA-[0-9]*-[0-9]*' | sort -u | wc -l)" = 1 ] ;;
    esac
done
if command -v pdftotext >/dev/null; then
    pdftotext -layout "$s/pdf/facture-FA-2024-000501.pdf" - | grep -q 'Total TTC : *1 342,68 €'
    pdftotext -layout "$s/pdf/avoir-AV-2024-000007.pdf" - | grep -q 'N° avoir : AV-2024-000007'
    pdftotext -layout "$s/pdf/courrier-divers.pdf" - | grep -q 'entrepôt à Vénissieux'
fi
echo "samples regenerated (iconv: $(iconv --version | head -n 1); reportlab $rl_version)"

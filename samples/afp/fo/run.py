#!/usr/bin/env python3
"""Prints to stdout an XSL-FO print run of N French invoices for Apache FOP's AFP output
(samples/afp/make-afp.sh makes run-50 with it; `run.py 2000` is the benchmark run).

Deterministic: invoice i (1-based) is one fo:page-sequence (one AFP page group, BNG...ENG) with
the TLEs INVOICE_NO = FA-2025-%06d % i, CLIENT_NO = CL%06d % (4711 + (i - 1) % 8),
INVOICE_DATE = dd/mm/2025 (day 1 + (i - 1) % 28, month 1 + (i - 1) // 28 % 12) and TOTAL (the
total TTC, e.g. "1 234,56"). Every 13th invoice has 3 pages, every other 7th one 2 pages, the
rest 1 page; continuation pages are forced with break-before="page". Courier and Helvetica only,
no image (fast). `run.py N --expect` prints instead the JSON the run should give:
{"pages": <total>, "documents": [{"pages": [first..last], "tles": {...}}, ...]}.
Usage: run.py N [--expect] > run-N.fo"""
import json
import sys
from xml.sax.saxutils import escape

CATALOGUE = [
    ("FAR-T65", "Farine de blé T65 - sac 25 kg", 1890),
    ("BEU-AOP", "Beurre doux AOP 10 kg", 9240),
    ("CRE-5L", "Crème fraîche épaisse 5 L", 2385),
    ("CHO-64", "Chocolat noir pâtissier 64 %", 5820),
    ("LEV-500", "Levure fraîche boulangère 500 g", 273),
    ("HUI-15W", "Huile moteur 15W40 - bidon 5 L", 3150),
    ("CAB-6MM", "Câble acier galvanisé 6 mm", 8790),
    ("BAC-ECO", "Bâche de protection écologique", 4560),
    ("PAL-EUR", "Palette bois 120x80 réparée", 1150),
    ("MO-H", "Main-d'oeuvre qualifiée (heure)", 5200),
]


def fr(cents):
    """1234567 -> '12 345,67' (French grouping with a plain space)."""
    return f"{cents // 100:,}".replace(",", " ") + f",{cents % 100:02d}"


def page_count(i):
    return 3 if i % 13 == 0 else 2 if i % 7 == 0 else 1


def invoice(i):
    """The data of invoice i: number, client, date, pages, item lines per page, totals."""
    pages = page_count(i)
    first = [(i * 3 + k) % len(CATALOGUE) for k in range(4 + i % 4)]
    second = [(i * 5 + k) % len(CATALOGUE) for k in range(5 + i % 3)] if pages >= 2 else []
    items = [[(CATALOGUE[c], 1 + (i + 7 * k) % 9) for k, c in enumerate(part)] for part in (first, second)]
    ht = sum(pu * q for part in items for (_, _, pu), q in part)
    tva = (ht * 20 + 50) // 100
    return {
        "no": f"FA-2025-{i:06d}",
        "client": f"CL{4711 + (i - 1) % 8:06d}",
        "date": f"{1 + (i - 1) % 28:02d}/{1 + (i - 1) // 28 % 12:02d}/2025",
        "pages": pages,
        "items": items,
        "ht": ht,
        "tva": tva,
        "ttc": ht + tva,
    }


def item_lines(part):
    return "\n".join(
        escape(f"{ref:<9}{label:<34}{q:>4}{fr(pu):>11}{fr(pu * q):>13}") for (ref, label, pu), q in part)


def totals(inv):
    return (f'      <fo:block font-family="Courier" font-size="12pt" text-align="end" space-before="8pt">Total HT : {fr(inv["ht"])} €</fo:block>\n'
            f'      <fo:block font-family="Courier" font-size="12pt" text-align="end">TVA 20 % : {fr(inv["tva"])} €</fo:block>\n'
            f'      <fo:block font-family="Courier" font-weight="bold" font-size="12pt" text-align="end">Total TTC : {fr(inv["ttc"])} €</fo:block>\n'
            '      <fo:block font-weight="bold" color="red" space-before="8pt">Rappel : paiement à réception, aucun escompte pour paiement anticipé.</fo:block>\n')


PRE = 'white-space-collapse="false" white-space-treatment="preserve" linefeed-treatment="preserve" wrap-option="no-wrap"'
HEADER = f'{"Réf.":<9}{"Désignation":<34}{"Qté":>4}{"P.U. HT":>11}{"Montant HT":>13}'


def sequence(i):
    inv = invoice(i)
    no, cl = inv["no"], inv["client"]
    o = [f'  <fo:page-sequence master-reference="invoice" initial-page-number="1" force-page-count="no-force" font-family="Helvetica" font-size="10pt">\n'
         f'    <afp:tag-logical-element name="INVOICE_NO" value="{no}"/>\n'
         f'    <afp:tag-logical-element name="CLIENT_NO" value="{cl}"/>\n'
         f'    <afp:tag-logical-element name="INVOICE_DATE" value="{inv["date"]}"/>\n'
         f'    <afp:tag-logical-element name="TOTAL" value="{fr(inv["ttc"])}"/>\n'
         '    <fo:static-content flow-name="xsl-region-before">\n'
         '      <fo:block font-weight="bold" font-size="14pt">ÉTABLISSEMENTS DURAND &amp; FILS</fo:block>\n'
         '      <fo:block font-size="8pt">12, rue de la Forêt - 69003 Lyon - Tél. 04 72 10 20 30</fo:block>\n'
         '    </fo:static-content>\n'
         '    <fo:static-content flow-name="xsl-region-after">\n'
         f'      <fo:block font-size="8pt" text-align="center">Facture {no} - page <fo:page-number/></fo:block>\n'
         '    </fo:static-content>\n'
         '    <fo:flow flow-name="xsl-region-body">\n'
         '      <fo:block font-weight="bold" font-size="14pt" border-bottom="1pt solid black" space-after="4pt">FACTURE</fo:block>\n'
         f'      <fo:block>N° facture : {no}</fo:block>\n'
         f'      <fo:block>Client : {cl}</fo:block>\n'
         f'      <fo:block space-after="8pt">Date : {inv["date"]}</fo:block>\n'
         f'      <fo:block font-family="Courier" font-weight="bold" {PRE} border-bottom="0.5pt solid black">{escape(HEADER)}</fo:block>\n'
         f'      <fo:block font-family="Courier" {PRE}>{item_lines(inv["items"][0])}</fo:block>\n']
    if inv["pages"] == 1:
        o.append(totals(inv))
    else:
        o.append(f'      <fo:block break-before="page" font-weight="bold" space-after="8pt">Facture {no} (suite) - Client {cl}</fo:block>\n'
                 f'      <fo:block font-family="Courier" font-weight="bold" {PRE} border-bottom="0.5pt solid black">{escape(HEADER)}</fo:block>\n'
                 f'      <fo:block font-family="Courier" {PRE}>{item_lines(inv["items"][1])}</fo:block>\n')
        o.append(totals(inv))
    if inv["pages"] == 3:
        o.append('      <fo:block break-before="page" font-weight="bold" font-size="14pt" space-after="6pt">Conditions générales de vente</fo:block>\n'
                 '      <fo:block font-size="8pt">Paiement à réception par virement. Pénalités de retard : 3 fois le taux d\'intérêt légal ;\n'
                 '      indemnité forfaitaire pour frais de recouvrement : 40,00 €. Réserve de propriété jusqu\'au paiement intégral.</fo:block>\n')
    o.append('    </fo:flow>\n  </fo:page-sequence>\n')
    return "".join(o)


def fo(n):
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n'
           f'<!-- {n} invoices, made by samples/afp/fo/run.py {n} -->\n'
           '<fo:root xmlns:fo="http://www.w3.org/1999/XSL/Format"\n'
           '         xmlns:afp="http://xmlgraphics.apache.org/fop/extensions/afp">\n'
           '  <fo:layout-master-set>\n'
           '    <fo:simple-page-master master-name="invoice" page-height="29.7cm" page-width="21cm" margin="1.5cm">\n'
           '      <afp:include-page-overlay name="O1INVBG1" x="0mm" y="0mm"/>\n'
           '      <fo:region-body margin-top="2cm" margin-bottom="1.5cm"/>\n'
           '      <fo:region-before extent="2cm"/>\n'
           '      <fo:region-after extent="1cm"/>\n'
           '    </fo:simple-page-master>\n'
           '  </fo:layout-master-set>\n']
    out.extend(sequence(i) for i in range(1, n + 1))
    out.append('</fo:root>\n')
    return "".join(out)


def expect(n):
    docs, page = [], 1
    for i in range(1, n + 1):
        inv = invoice(i)
        docs.append({"pages": list(range(page, page + inv["pages"])),
                     "tles": {"INVOICE_NO": inv["no"], "CLIENT_NO": inv["client"],
                              "INVOICE_DATE": inv["date"], "TOTAL": fr(inv["ttc"])}})
        page += inv["pages"]
    return {"pages": page - 1, "documents": docs}


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or not sys.argv[1].isdigit() or sys.argv[2:] not in ([], ["--expect"]):
        sys.exit("usage: run.py N [--expect] > run-N.fo")
    n = int(sys.argv[1])
    if sys.argv[2:] == ["--expect"]:
        json.dump(expect(n), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(fo(n))

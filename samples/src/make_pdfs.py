#!/usr/bin/env python3
"""Build the sample PDFs of samples/pdf/ with ReportLab (a third-party PDF producer).

Called by samples/make-samples.sh; run from the repository root:
    python3 samples/src/make_pdfs.py samples/pdf

Uses the standard Helvetica/Courier fonts (WinAnsiEncoding: French accents and
the euro sign are available without embedding a font). `invariant=1` removes the
timestamps and random document id, so a rerun gives byte-identical files.
Producer string in the PDFs (invariant mode): "ReportLab PDF Library - (opensource)";
the ReportLab version is written in the Keywords entry. Made with reportlab==5.1.0.
"""
import os
import sys

import reportlab
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

out = sys.argv[1] if len(sys.argv) > 1 else "samples/pdf"
os.makedirs(out, exist_ok=True)
W, H = A4
LEFT, MID, RIGHT = 50, 300, W - 50
LH = 13  # line height in points


def new(name, title, subject):
    c = canvas.Canvas(os.path.join(out, name), pagesize=A4, invariant=1, pageCompression=1)
    c.setAuthor("ACME SARL")
    c.setTitle(title)
    c.setSubject(subject)
    c.setCreator("Greffier samples/src/make_pdfs.py")
    c.setKeywords(f"reportlab {reportlab.Version}")
    return c


def fr(x):
    s = f"{x:,.2f}"
    return s.replace(",", " ").replace(".", ",")


def lines(c, x, y, font, size, rows):
    c.setFont(font, size)
    for r in rows:
        c.drawString(x, y, r)
        y -= LH
    return y


def supplier_block(c, title):
    # Rows 1-5 of the page text: title line, number/client line, date line, addresses.
    y = H - 50
    c.setFont("Helvetica-Bold", 14)
    c.drawString(LEFT, y, "ACME SARL")
    c.drawString(MID, y, title)
    return y - 18


def doc_lines(c, y, items):
    c.setFont("Helvetica-Bold", 10)
    c.drawString(LEFT, y, "Qté")
    c.drawString(LEFT + 40, y, "Désignation")
    c.drawRightString(RIGHT - 90, y, "P.U. HT")
    c.drawRightString(RIGHT, y, "Montant HT")
    c.line(LEFT, y - 3, RIGHT, y - 3)
    y -= LH + 4
    c.setFont("Helvetica", 10)
    ht = 0.0
    for q, des, pu in items:
        m = round(q * pu, 2)
        ht += m
        c.drawRightString(LEFT + 20, y, str(q))
        c.drawString(LEFT + 40, y, des)
        c.drawRightString(RIGHT - 90, y, fr(pu))
        c.drawRightString(RIGHT, y, fr(m))
        y -= LH
    return y, round(ht, 2)


def totals(c, y, ht, label_ttc):
    tva = round(ht * 0.20 + 1e-9, 2)
    ttc = round(ht + tva, 2)
    y -= 8
    c.line(MID, y + 9, RIGHT, y + 9)
    for label, v, font in (("Total HT :", fr(ht), "Helvetica"), ("TVA 20 % :", fr(tva), "Helvetica"),
                           (label_ttc, fr(ttc) + " €", "Helvetica-Bold")):
        c.setFont(font, 10)
        c.drawString(MID, y, label)
        c.drawRightString(RIGHT, y, v)
        y -= LH
    return y, ttc


def footer(c):
    c.setFont("Helvetica", 8)
    c.drawString(LEFT, 40, "ACME SARL au capital de 50 000 € - 14 rue des Tanneurs, 69007 Lyon - SIRET 412 356 784 00022"
                 " - N° TVA FR70 412 356 784")


# 1. Invoice FA-2024-000501 for CL004713 ------------------------------------------------------
c = new("facture-FA-2024-000501.pdf", "Facture FA-2024-000501", "Facture client CL004713")
y = supplier_block(c, "FACTURE")
c.setFont("Helvetica", 10)
c.drawString(LEFT, y, "N° facture : FA-2024-000501")
c.drawString(MID, y, "Client : CL004713")
y -= LH
c.drawString(LEFT, y, "Date : 14/05/2024   Devise : EUR")
c.drawString(MID, y, "QUINCAILLERIE DUPONT-MOREAU")
y -= LH
c.drawString(LEFT, y, "14 rue des Tanneurs, 69007 Lyon")
c.drawString(MID, y, "27 quai de la Fosse, 44000 Nantes")
y -= 3 * LH
y, ht = doc_lines(c, y, [
    (10, "Sécateur de précision lame acier forgé", 24.90),
    (6, "Brouette renforcée 100 L roue gonflable", 68.50),
    (30, "Gants de jardinage taille 9 (paire)", 3.95),
    (4, "Tuyau d'arrosage 25 m Ø 15 mm", 29.90),
    (12, "Pelle bêche manche frêne", 18.40),
])
y, ttc = totals(c, y, ht, "Total TTC :")
y -= LH
c.setFont("Helvetica", 9)
c.drawString(LEFT, y, "Échéance : 30/06/2024 - Règlement par virement à 30 jours fin de mois.")
c.drawString(LEFT, y - LH, "Pénalités de retard : 3 fois le taux d'intérêt légal. Indemnité forfaitaire : 40,00 €.")
footer(c)
c.showPage()
c.save()
print(f"facture-FA-2024-000501.pdf  HT {fr(ht)}  TTC {fr(ttc)}")

# 2. Credit note AV-2024-000007 for CL004711 ---------------------------------------------------
c = new("avoir-AV-2024-000007.pdf", "Avoir AV-2024-000007", "Avoir client CL004711")
y = supplier_block(c, "AVOIR")
c.setFont("Helvetica", 10)
c.drawString(LEFT, y, "N° avoir : AV-2024-000007")
c.drawString(MID, y, "Client : CL004711")
y -= LH
c.drawString(LEFT, y, "Date : 20/05/2024   Devise : EUR")
c.drawString(MID, y, "BOULANGERIE MARTIN ET FILS")
y -= LH
c.drawString(LEFT, y, "Sur facture FA-2024-000204 du 22/03/2024")
c.drawString(MID, y, "8 place Bellecour, 69002 Lyon")
y -= 3 * LH
y, ht = doc_lines(c, y, [
    (4, "Farine de seigle T130 - sac 25 kg (sacs abîmés)", 24.60),
    (1, "Remise commerciale geste qualité", 20.00),
])
y, ttc = totals(c, y, ht, "Total avoir TTC :")
y -= LH
c.setFont("Helvetica", 9)
c.drawString(LEFT, y, "Montant à déduire de votre prochain règlement. Aucun paiement ne sera effectué.")
footer(c)
c.showPage()
c.save()
print(f"avoir-AV-2024-000007.pdf  HT {fr(ht)}  TTC {fr(ttc)}")

# 3. A plain letter: no document number, no client code -> review -------------------------------
c = new("courrier-divers.pdf", "Changement d'adresse de l'entrepôt", "Courrier")
y = lines(c, LEFT, H - 60, "Helvetica-Bold", 12, ["ACME SARL"])
y = lines(c, LEFT, y, "Helvetica", 10, ["14 rue des Tanneurs", "69007 Lyon", "Tél. 04 78 00 12 34"])
y = lines(c, MID, y - LH, "Helvetica", 10, ["À l'attention de nos partenaires", "et fournisseurs"])
y = lines(c, MID, y - LH, "Helvetica", 10, ["Lyon, le 2 avril 2024"])
y = lines(c, LEFT, y - 2 * LH, "Helvetica-Bold", 10, ["Objet : transfert de notre entrepôt à Vénissieux"])
y = lines(c, LEFT, y - LH, "Helvetica", 10, [
    "Madame, Monsieur,",
    "",
    "Nous avons le plaisir de vous informer qu'à compter du lundi 6 mai 2024, notre entrepôt",
    "déménage au 45 avenue de la Division Leclerc, 69200 Vénissieux. Les réceptions de",
    "marchandises y seront assurées du lundi au vendredi, de 7 h 30 à 16 h.",
    "",
    "Le siège social et le service comptabilité restent rue des Tanneurs. Les frais de",
    "manutention exceptionnels liés au déménagement (environ 1 200 € HT) sont à notre charge.",
    "",
    "Nous restons à votre disposition pour toute question et vous prions d'agréer, Madame,",
    "Monsieur, l'expression de nos salutations distinguées.",
    "",
    "",
    "Hélène Garnier",
    "Responsable logistique",
])
c.showPage()
c.save()
print("courrier-divers.pdf")
print(f"producer: ReportLab {reportlab.Version}")

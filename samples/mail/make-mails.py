#!/usr/bin/env python3
"""Writes the sample mails of samples/mail/ with Python's own `email` package (a MIME producer
nobody here wrote), from the sample PDFs. Run from anywhere: python3 samples/mail/make-mails.py

Each mail is what a capture address receives in real life:
  facture-octet-stream.eml  a supplier's invoice PDF sent as application/octet-stream, with a
                            small inline signature logo (left out) and a French subject
  courrier-plus.eml         a letter mailed to capture+CL004712@acme.fr: plus addressing names
                            the client the letter is filed under
  sujet-client.eml          the client named in the subject, "[CL004714] ...", sent by one of
                            that client's contacts (clients.csv EMAIL), RFC 2231 name
  inconnu.eml               the same invoice from a stranger: it must go to review, not to a client
  transfert.eml             a forwarded mail (message/rfc822) that carries the invoice, one level down
  recu-html.eml             an HTML-only receipt, no attachment: its body becomes the document
"""
import email.policy
import os
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
PDF = os.path.join(HERE, "..", "pdf")
DATE = datetime(2026, 11, 30, 9, 15, tzinfo=timezone.utc)
# A 1x1 PNG: a signature logo, under the inline-image threshold.
LOGO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def pdf(name):
    with open(os.path.join(PDF, name), "rb") as f:
        return f.read()


def base(sender, to, subject, n):
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(DATE)
    msg["Message-ID"] = f"<sample-{n}@mail.example>"
    msg["MIME-Version"] = "1.0"
    return msg


def write(name, msg):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(msg.as_bytes(policy=email.policy.SMTP))


def main():
    # The PDFs of samples/pdf with a trailing comment each (still valid PDFs): samples/run.sh
    # ingests both folders, and the same bytes twice would be a duplicate.
    invoice = pdf("facture-FA-2024-000501.pdf") + b"\n% mailed\n"
    letter = pdf("courrier-divers.pdf") + b"\n% mailed\n"

    msg = base("Service comptable <compta@quincaillerie-dupont.fr>", "factures@acme.fr",
               "Votre facture n° FA-2024-000501 – mai 2024", 1)
    msg.set_content("Bonjour,\n\nVeuillez trouver ci-joint notre facture.\n\nCordialement,\nLa comptabilité\n")
    msg.add_related(LOGO, maintype="image", subtype="png", cid="<logo@dupont>", filename="logo.png",
                    disposition="inline")
    msg.add_attachment(invoice, maintype="application", subtype="octet-stream",
                       filename="Facture FA-2024-000501.pdf")
    write("facture-octet-stream.eml", msg)

    msg = base("Claire Lefèvre <c.lefevre@transports-lefevre.fr>", "capture+CL004712@acme.fr",
               "Courrier signé", 2)
    msg.set_content("Ci-joint le courrier signé.\n")
    msg.add_attachment(letter, maintype="application", subtype="pdf", filename="courrier signé.pdf")
    write("courrier-plus.eml", msg)

    msg = base("Sophie Girard <direction@relais-des-cedres.fr>", "capture@acme.fr",
               "[CL004714] Attestation d'assurance 2026", 3)
    msg.set_content("Bonjour, voici l'attestation demandée.\n")
    msg.add_attachment(letter + b"\n% attestation\n", maintype="application", subtype="pdf",
                       filename="Attestation d'assurance – Relais des Cèdres été 2026.pdf")
    write("sujet-client.eml", msg)

    msg = base("Inconnu <factures@fournisseur-inconnu.example>", "factures@acme.fr",
               "Facture FA-2024-000501", 4)
    msg.set_content("Payez vite.\n")
    msg.add_attachment(invoice, maintype="application", subtype="pdf", filename="facture.pdf")
    # Not the same bytes as the first mail's invoice: a trailing comment keeps the PDF valid.
    payload = msg.get_payload()[-1]
    payload.set_content(invoice + b"\n% sent again by someone else\n", maintype="application",
                        subtype="pdf", filename="facture.pdf")
    write("inconnu.eml", msg)

    inner = base("compta@quincaillerie-dupont.fr", "marc@acme.fr", "Facture FA-2024-000501", 5)
    inner.set_content("Facture en pièce jointe.\n")
    inner.add_attachment(invoice + b"\n% forwarded\n", maintype="application", subtype="pdf",
                         filename="FA-2024-000501.pdf")
    msg = base("Marc Durand <marc@acme.fr>", "factures@acme.fr", "TR: Facture FA-2024-000501", 6)
    msg.set_content("Pour classement.\n")
    msg.add_attachment(inner)
    write("transfert.eml", msg)

    msg = base("Boutique en ligne <no-reply@boutique.example>", "capture+CL004711@acme.fr",
               "Votre reçu de commande 2026-1184", 7)
    msg.set_content(
        "<html><body><h1>Reçu de commande 2026-1184</h1>"
        "<p>Merci pour votre achat. Montant payé : <b>42,00 €</b> le 30/11/2026.</p>"
        "<p>Client : CL004711 – Boulangerie Martin et Fils SARL</p></body></html>",
        subtype="html")
    write("recu-html.eml", msg)


main()

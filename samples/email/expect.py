#!/usr/bin/env python3
"""Second opinion for pipelines/tests/mail_corpus.rs: what Python's email package takes as
attachments from every sample message, written to expected.json beside this script.

Run from the repository root:  python3 samples/email/expect.py > samples/email/expected.json

The rule is the one pipelines::mail applies:
- multipart/* and message/rfc822 (and any message/* that Python parses as a nested message)
  are containers: walked into, depth first, in message order;
- a leaf text/plain or text/html part (a part without Content-Type counts as text/plain) with
  no filename and a Content-Disposition other than "attachment" is body text, not taken;
- every other leaf part is taken: its decoded name (get_filename(), RFC 2047/2231 decoded) and
  its transfer-decoded bytes (get_payload(decode=True)): size and sha256.

When Debian's `tnef` tool (1.4.x) is installed, every application/ms-tnef part (winmail.dat) that
starts with the TNEF signature is also unpacked with `tnef --overwrite -C DIR -f winmail.dat` (names in `tnef -t` order) and
listed under "tnef" for that part: what pipelines::mail takes in its place.
"""
import email
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from email import policy

HERE = os.path.dirname(os.path.abspath(__file__))
MESSAGE_SUFFIXES = (".eml", ".msg", ".txt", "")
TNEF_SIGNATURE = bytes.fromhex("789f3e22")
SKIP = {"README.md", "MIME-tools-README.txt", "ARTISTIC-LICENSE.txt", "COPYING", "expect.py", "expected.json"}


def is_body(part):
    if part.get_content_type() not in ("text/plain", "text/html"):
        return False
    if part.get_content_disposition() == "attachment":
        return False
    return part.get_filename() is None


def tnef_contents(data):
    if shutil.which("tnef") is None:
        return None
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "winmail.dat")
        with open(source, "wb") as out:
            out.write(data)
        listing = subprocess.run(["tnef", "-t", "-f", source], capture_output=True, text=True)
        names = [line.split("\t|\t")[0] for line in listing.stdout.splitlines() if line.strip()]
        unpacked = os.path.join(work, "out")
        os.mkdir(unpacked)
        subprocess.run(["tnef", "--overwrite", "-C", unpacked, "-f", source], capture_output=True)
        contents = []
        for name in names:
            path = os.path.join(unpacked, name)
            if not os.path.exists(path):
                continue
            with open(path, "rb") as handle:
                data = handle.read()
            contents.append({"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        return contents


def attachments(message):
    taken = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if is_body(part):
            continue
        data = part.get_payload(decode=True) or b""
        entry = {
            "name": part.get_filename(),
            "content_type": part.get_content_type(),
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        if part.get_content_type() == "application/ms-tnef" and data[:4] == TNEF_SIGNATURE:
            unpacked = tnef_contents(data)
            if unpacked is not None:
                entry["tnef"] = unpacked
        taken.append(entry)
    return taken


def main():
    expected = {}
    for folder, _, files in sorted(os.walk(HERE)):
        if os.path.basename(folder) == "regressions":
            continue
        for file_name in sorted(files):
            if file_name in SKIP or os.path.splitext(file_name)[1] not in MESSAGE_SUFFIXES:
                continue
            path = os.path.join(folder, file_name)
            with open(path, "rb") as handle:
                message = email.message_from_binary_file(handle, policy=policy.default)
            expected[os.path.relpath(path, HERE)] = attachments(message)
    json.dump(expected, sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

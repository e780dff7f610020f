#!/usr/bin/env python3
"""What Debian's `tnef` tool (1.4.18) unpacks from every *.tnef file beside this script, written
as expected.json: per file, the attachments in `tnef -t` order with size and sha256, or
{"error": ...} when the tool refuses the file. pipelines/src/mail/tnef.rs is checked against it
by pipelines/tests/mail_corpus.rs (which does not need the tool).

Run from the repository root (apt-get install -y tnef):
    python3 samples/tnef/expect.py > samples/tnef/expected.json
Commands used per file: `tnef -t -f FILE` (names, in order) and
`tnef --overwrite -C DIR -f FILE` (the bytes).
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def unpack(path):
    listing = subprocess.run(["tnef", "-t", "-f", path], capture_output=True, text=True)
    if listing.returncode != 0:
        return {"error": (listing.stderr or listing.stdout).strip()}
    names = [line.split("\t|\t")[0] for line in listing.stdout.splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["tnef", "--overwrite", "-C", out, "-f", path], check=True, capture_output=True)
        files = []
        for name in names:
            with open(os.path.join(out, name), "rb") as handle:
                data = handle.read()
            files.append({"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return {"attachments": files}


def main():
    expected = {name: unpack(os.path.join(HERE, name)) for name in sorted(os.listdir(HERE)) if name.endswith(".tnef")}
    json.dump(expected, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Cross-check pipelines/src/ebcdic_tables.rs against reference TSV tables.

Usage:
    pipelines/tools/check-ebcdic-tables.py REF_DIR [TABLES_RS]

REF_DIR holds IBMnnn.tsv files (one line per byte: `byte<TAB>U+XXXX<TAB>char`,
'#' lines are comments). Each CCSID_n table in the Rust file is compared with
IBM{n:03d}.tsv byte by byte. Also checks the bulk call
`iconv -f IBMnnn -t UTF-32BE` over all 256 bytes maps 1:1 to the same chars.
Exit status 0 when everything agrees.
"""
import os
import re
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
ref_dir = sys.argv[1] if len(sys.argv) > 1 else None
if not ref_dir:
    sys.exit(__doc__)
rs_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "src", "ebcdic_tables.rs")
src = open(rs_path, encoding="utf-8").read()

lit = re.compile(r"'(\\u\{([0-9A-F]{4,6})\}|\\\\|\\'|[ -~])'")


def parse_char(m):
    if m.group(2):
        return int(m.group(2), 16)
    t = m.group(1)
    return ord({"\\\\": "\\", "\\'": "'"}.get(t, t))


tables = {}
for m in re.finditer(r"pub static CCSID_(\d+): \[char; 256\] = \[(.*?)\n\];", src, re.S):
    body = "\n".join(line.split("//")[0] if not line.strip().startswith("//") else "" for line in m.group(2).splitlines())
    chars = [parse_char(x) for x in lit.finditer(body)]
    tables[int(m.group(1))] = chars

supported = [int(x) for x in re.search(r"SUPPORTED: &\[u16\] = &\[(.*?)\]", src).group(1).split(",")]
bad = 0
if sorted(supported) != supported or set(supported) != set(tables):
    print("SUPPORTED list does not match the tables")
    bad += 1
for c in supported:
    if f"{c} => Some(&CCSID_{c})" not in src:
        print(f"table(): no arm for {c}")
        bad += 1

for ccsid, chars in sorted(tables.items()):
    name = f"IBM{ccsid:03d}"
    if len(chars) != 256:
        print(f"{name}: {len(chars)} entries in .rs")
        bad += 1
        continue
    ref = {}
    with open(os.path.join(ref_dir, name + ".tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            b, u = line.rstrip("\n").split("\t")[:2]
            ref[int(b, 16)] = int(u[2:], 16)
    diffs = [b for b in range(256) if ref.get(b) != chars[b]]
    bulk = subprocess.run(["iconv", "-f", name, "-t", "UTF-32BE"], input=bytes(range(256)), capture_output=True)
    bulk_cps = [int.from_bytes(bulk.stdout[i:i + 4], "big") for i in range(0, len(bulk.stdout), 4)]
    bulk_ok = bulk.returncode == 0 and bulk_cps == chars
    fffd = chars.count(0xFFFD)
    status = "OK" if not diffs and len(ref) == 256 and bulk_ok else "MISMATCH"
    if status != "OK":
        bad += 1
    print(f"{name:8} {status}  ref-diffs={len(diffs)} bulk-iconv-1:1={'yes' if bulk_ok else 'no'} U+FFFD={fffd}"
          + (f"  first diffs: {[hex(b) for b in diffs[:8]]}" if diffs else ""))

print(f"{len(tables)} tables checked, {bad} problem(s)")
sys.exit(1 if bad else 0)

#!/usr/bin/env python3
"""Turns the first page of an AFP document into an overlay resource (BMO ... EMO).

IBM i keeps overlays in libraries (*OVL objects); a spool only names them. To test the resource
folder with real AFP, FOP writes a one-page document (O1INVBG1.fo) and this script keeps its
page's active environment group and objects, renaming BPG/EPG to BMO/EMO with the overlay's name:
the structured fields themselves are FOP's, untouched.

Usage: make-overlay.py PAGE.afp NAME OUT.afp   (NAME: 8 characters, e.g. O1INVBG1)
"""
import struct
import sys


def fields(data):
    at = 0
    while at < len(data):
        if data[at] != 0x5A:
            at += 1
            continue
        length = struct.unpack(">H", data[at + 1:at + 3])[0]
        yield data[at:at + 1 + length]
        at += 1 + length


def main():
    source, name, out = sys.argv[1], sys.argv[2], sys.argv[3]
    if len(name) != 8:
        sys.exit("the overlay name must be 8 characters")
    ebcdic_name = name.encode("cp500")
    data = open(source, "rb").read()
    kept, in_page, done = [], False, False
    for field in fields(data):
        sf = field[3:6]
        if sf == b"\xD3\xA8\xAF" and not done:  # BPG -> BMO
            in_page = True
            kept.append(field[:9] + ebcdic_name + field[17:])
            kept[-1] = kept[-1][:3] + b"\xD3\xA8\xDF" + kept[-1][6:]
        elif sf == b"\xD3\xA9\xAF" and in_page:  # EPG -> EMO
            end = field[:9] + ebcdic_name + field[17:]
            kept.append(end[:3] + b"\xD3\xA9\xDF" + end[6:])
            in_page, done = False, True
        elif in_page:
            kept.append(field)
    if not done:
        sys.exit(f"{source}: no page")
    open(out, "wb").write(b"".join(kept))


if __name__ == "__main__":
    main()

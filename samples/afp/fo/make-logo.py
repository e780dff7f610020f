#!/usr/bin/env python3
"""Writes logo.png (160x48 RGB): the word DURAND in 5x7 block letters, dark blue on white,
over a red bar. Python stdlib only (zlib + struct), byte-for-byte deterministic.
Usage: python3 make-logo.py [OUT]   (default: logo.png beside this script)"""
import os
import struct
import sys
import zlib

W, H = 160, 48
GLYPHS = {  # 5 columns x 7 rows
    "D": ["11110", "10001", "10001", "10001", "10001", "10001", "11110"],
    "U": ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
    "R": ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
    "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "N": ["10001", "11001", "10101", "10011", "10001", "10001", "10001"],
}
BLUE, RED, WHITE = (0x10, 0x2A, 0x6B), (0xC8, 0x10, 0x2E), (0xFF, 0xFF, 0xFF)


def pixels():
    img = [[WHITE] * W for _ in range(H)]
    scale, x0, y0 = 4, 8, 4
    for i, ch in enumerate("DURAND"):
        for r, row in enumerate(GLYPHS[ch]):
            for c, bit in enumerate(row):
                if bit == "1":
                    for dy in range(scale):
                        for dx in range(scale):
                            img[y0 + r * scale + dy][x0 + i * 24 + c * scale + dx] = BLUE
    for y in range(38, 44):
        for x in range(8, 152):
            img[y][x] = RED
    return img


def png(img):
    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in img)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "logo.png")
    with open(out, "wb") as f:
        f.write(png(pixels()))

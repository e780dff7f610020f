#!/usr/bin/env bash
# Makes the separator-sheet samples of samples/separators/: A4 pages at 150 dpi (1240 x 1754,
# 8-bit grey PNG; 150 dpi keeps the files small, the tests scale one page to 300 dpi for the
# timing), the way a copier hands a batch over. Needs qrencode, zint (Code 128), imagemagick
# and poppler-utils (pdftoppm). The outputs are committed; run again only to change them (the
# bytes depend on the tool versions).
#
#   sep-qr.png          QR code "GREFFIER-SEP" (qrencode, 8 px = 1.35 mm a module), slight blur
#                       and scanner noise
#   sep-qr-client.png   QR code "CLIENT:CL004712", turned 1.5° (a sheet fed askew)
#   sep-code128.png     Code 128 "GREFFIER-SEP" (zint, 0.34 mm a module, 15 mm high)
#   blank-noisy.png     a blank sheet as scanned: grey paper noise, 40 dark specks, and a dark
#                       strip along the left edge where the scanner lid did not cover
#   text.png            page 1 of ../pdf/courrier-divers.pdf (pdftoppm -r 150 -gray)
#   photo.png           a photo-like page: a plasma fractal in grey, no barcode, lots of ink
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

page=(-size 1240x1754 xc:white)
# Gaussian noise as a scanner adds it (fixed seed: a rerun gives the same pixels), the paper
# then made white again above 85 % as scanners do, which keeps the PNGs small.
scanned=(-seed 7 -attenuate 0.4 +noise Gaussian -blur 0x0.6 -white-threshold 85%)
out=(-colorspace Gray -depth 8 -strip -define png:color-type=0)

qrencode -l M -s 8 -m 4 -o "$work/qr.png" 'GREFFIER-SEP'
convert "${page[@]}" "$work/qr.png" -gravity north -geometry +0+300 -composite \
  "${scanned[@]}" "${out[@]}" sep-qr.png

qrencode -l M -s 8 -m 4 -o "$work/qr-client.png" 'CLIENT:CL004712'
convert "${page[@]}" "$work/qr-client.png" -gravity center -geometry +200-300 -composite \
  -background white -rotate 1.5 -gravity center -extent 1240x1754 \
  "${scanned[@]}" "${out[@]}" sep-qr-client.png

zint -b CODE128 --scale=1 --height=44 --notext -o "$work/c128.png" -d 'GREFFIER-SEP'
convert "${page[@]}" "$work/c128.png" -gravity north -geometry +0+250 -composite \
  "${scanned[@]}" "${out[@]}" sep-code128.png

specks=()
for i in $(seq 0 39); do
  x=$(( (i * 397 + 61) % 1100 + 70 )); y=$(( (i * 733 + 89) % 1600 + 80 )); s=$(( i % 4 + 3 ))
  specks+=(-draw "rectangle $x,$y $((x + s)),$((y + s))")
done
convert "${page[@]}" -seed 11 -attenuate 0.6 +noise Gaussian -white-threshold 85% -fill 'gray15' "${specks[@]}" \
  -fill 'gray10' -draw 'rectangle 0,0 22,1753' "${out[@]}" blank-noisy.png

pdftoppm -r 150 -gray -png -f 1 -l 1 ../pdf/courrier-divers.pdf "$work/text"
convert "$work"/text*.png "${out[@]}" text.png

convert -size 310x439 -seed 5 plasma:grey20-grey85 -blur 0x1 -resize 1240x1754! -posterize 24 "${out[@]}" photo.png
ls -l ./*.png

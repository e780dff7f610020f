#!/usr/bin/env bash
# Makes the scan samples of samples/scans/ from the sample invoices of samples/pdf/, the way a
# copier would hand them over. Needs poppler-utils (pdftoppm) and libtiff-tools (tiffcp).
# The outputs are committed; run again only to change them (the bytes differ from run to run and
# with the tool versions).
#
#   invoices-g4.tif       3 pages, 300 dpi, 1-bit, CCITT G4, one strip per page (tiffcp -r: as
#                         copiers write them, embedded as they are)
#   invoices-g4-strips.tif the same pages in strips of 64 rows (libtiff's habit): re-encoded
#   facture-g4-lsb.tif    page 1, 300 dpi, CCITT G4, FillOrder 2 (bits least significant first)
#   facture-g3.tif        page 1, 300 dpi, 1-bit, CCITT G3 2-D with byte-aligned EOLs, one strip
#   facture-g3-strips.tif page 1, 200 dpi, CCITT G3 1-D, strips of 128 rows
#   facture-lzw.tif       page 1 top half, 150 dpi, 8-bit grey, LZW (150 dpi and the crop keep it small)
#   facture.jpg           page 1 top half, 150 dpi, 8-bit grey, JPEG quality 85, JFIF density 150 dpi
#   facture-rgb.jpg       page 1 top half, 100 dpi, RGB JPEG quality 85
#   facture-cmyk.jpg      page 1 top half, 50 dpi, CMYK JPEG (libjpeg's Adobe marker, inverted)
#   facture.png           page 1 top third, 150 dpi, 8-bit grey, pHYs 5906 px/m (150 dpi)
#   8071_093.3B.tif       copied from the tesseract test set (see README.md)
set -euo pipefail
cd "$(dirname "$0")"
pdf=../pdf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

page=1
for name in facture-FA-2024-000501 avoir-AV-2024-000007 courrier-divers; do
  pdftoppm -r 300 -mono -tiff -f 1 -l 1 "$pdf/$name.pdf" "$work/mono$page"
  page=$((page + 1))
done
tiffcp -c g4 -r 100000 "$work"/mono1*.tif "$work"/mono2*.tif "$work"/mono3*.tif invoices-g4.tif
tiffcp -c g4 -r 64 "$work"/mono1*.tif "$work"/mono2*.tif "$work"/mono3*.tif invoices-g4-strips.tif
tiffcp -c g4 -f lsb2msb -r 100000 "$work"/mono1*.tif facture-g4-lsb.tif
tiffcp -c g3:2d:fill -r 100000 "$work"/mono1*.tif facture-g3.tif

pdftoppm -r 200 -mono -tiff -f 1 -l 1 "$pdf/facture-FA-2024-000501.pdf" "$work/mono200"
tiffcp -c g3:1d -r 128 "$work"/mono200*.tif facture-g3-strips.tif

pdftoppm -r 150 -gray -tiff -tiffcompression lzw -f 1 -l 1 -x 0 -y 0 -W 1241 -H 877 "$pdf/facture-FA-2024-000501.pdf" "$work/lzw"
cp "$work"/lzw*.tif facture-lzw.tif

pdftoppm -r 150 -gray -jpeg -jpegopt quality=85 -f 1 -l 1 -x 0 -y 0 -W 1241 -H 877 "$pdf/facture-FA-2024-000501.pdf" "$work/jpg"
cp "$work"/jpg*.jpg facture.jpg
pdftoppm -r 100 -jpeg -jpegopt quality=85 -f 1 -l 1 -x 0 -y 0 -W 827 -H 585 \
  "$pdf/facture-FA-2024-000501.pdf" "$work/rgb"
cp "$work"/rgb*.jpg facture-rgb.jpg
pdftoppm -r 50 -jpegcmyk -f 1 -l 1 -x 0 -y 0 -W 414 -H 292 "$pdf/facture-FA-2024-000501.pdf" "$work/cmyk"
cp "$work"/cmyk*.jpg facture-cmyk.jpg

pdftoppm -r 150 -gray -png -f 1 -l 1 -x 0 -y 0 -W 1240 -H 585 "$pdf/facture-FA-2024-000501.pdf" "$work/png"
cp "$work"/png*.png facture.png

cp /work/shared/corpora/ocr/8071_093.3B.tif 8071_093.3B.tif
ls -l ./*.tif ./*.jpg ./*.png

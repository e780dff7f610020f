#!/bin/sh
# Regenerates the JTOpen SCS samples of this folder (*.scs, *.expected.txt, the manifest) with
# MakeScs.java and IBM JTOpen's SCS writers (Debian package libjt400-java, Java 17).
# CI does not run this: the tests read the committed files.
#   sh samples/scs/make-scs.sh
# With options, writes one invoice print run of any size instead (paths relative to the
# current directory; see MakeScs.java), as tests/bench.sh does:
#   sh samples/scs/make-scs.sh --run 2000 --out /tmp/run.scs --clients /tmp/clients.csv
#   sh samples/scs/make-scs.sh --pages 10000 --out /tmp/spool.scs
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
JAR=/usr/share/java/jt400.jar
packages=
[ -f "$JAR" ] || packages="libjt400-java"
command -v javac >/dev/null 2>&1 || packages="$packages default-jdk-headless"
if [ -n "$packages" ]; then
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages
fi
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
javac -nowarn -d "$BUILD" -cp "$JAR" "$HERE/MakeScs.java"
if [ $# -eq 0 ]; then
    cd "$HERE"
    java -cp "$JAR:$BUILD" MakeScs .
else
    java -cp "$JAR:$BUILD" MakeScs "$@"
fi

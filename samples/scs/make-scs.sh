#!/bin/sh
# Regenerates the JTOpen SCS samples of this folder (*.scs, *.expected.txt, the manifest) with
# MakeScs.java and IBM JTOpen's SCS writers (Debian package libjt400-java, Java 17).
# CI does not run this: the tests read the committed files.
#   sh samples/scs/make-scs.sh
set -eu
cd "$(dirname "$0")"
JAR=/usr/share/java/jt400.jar
if [ ! -f "$JAR" ]; then
    apt-get update -qq
    apt-get install -y --no-install-recommends libjt400-java
fi
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
javac -nowarn -d "$BUILD" -cp "$JAR" MakeScs.java
java -cp "$JAR:$BUILD" MakeScs .

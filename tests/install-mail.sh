#!/usr/bin/env bash
# Installs the mail server the IMAP capture tests run privately (tests/dovecot.rs): Debian
# `dovecot-imapd`. Idempotent: apt runs only when something is missing. The package's own
# daemon is never started (a policy-rc.d denies it during the install, and it is stopped if a
# previous install left it running); every test starts its own Dovecot on 127.0.0.1 in a temp
# folder. The tests' IMAP client is Python's imaplib; openssl makes the TLS tests' certificates.
# Usage: tests/install-mail.sh   (as root, or with sudo available)
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v dovecot >/dev/null || missing+=(dovecot-imapd)
command -v python3 >/dev/null || missing+=(python3)
command -v openssl >/dev/null || missing+=(openssl)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    own_policy=1
  fi
  remove_policy() { if [ -n "$own_policy" ]; then as_root rm -f "$policy"; fi; }
  trap remove_policy EXIT
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  remove_policy
  trap - EXIT
fi

# The system-wide daemon (if the package started one anyway) would hold ports 143/993; the
# tests use their own free ports, but nothing of the package should run.
if [ -f /run/dovecot/master.pid ]; then
  pid=$(cat /run/dovecot/master.pid)
  if [ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$(command -v dovecot)")" ]; then
    echo "stopping the system dovecot (pid $pid)"
    as_root kill "$pid" || true
  fi
fi

command -v dovecot >/dev/null || { echo "dovecot is still missing" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is still missing" >&2; exit 1; }
command -v openssl >/dev/null || { echo "openssl is still missing" >&2; exit 1; }
echo "dovecot: $(command -v dovecot) ($(dovecot --version)); python3: $(command -v python3)"

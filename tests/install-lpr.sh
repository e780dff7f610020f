#!/usr/bin/env bash
# Installs the LPR clients the LPD capture tests send with (capture/tests/lpd.rs): Debian
# `rlpr` and LPRng's `lpr`. Idempotent: installs only what is missing, creates an empty
# /etc/printcap (LPRng refuses to run without one) and makes sure LPRng's own lpd daemon is
# neither running nor bound to port 515, so it never competes with the receiver under test.
# Usage: tests/install-lpr.sh   (as root, or with sudo available)
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v rlpr >/dev/null || missing+=(rlpr)
# LPRng's lpr is the one that understands QUEUE@HOST%PORT; cups-bsd's lpr speaks IPP.
if ! command -v lpr >/dev/null || ! dpkg-query -W -f='${Status}' lprng 2>/dev/null | grep -q 'install ok installed'; then
  missing+=(lprng)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  # Keep the package's lpd from starting during the install: a policy-rc.d that denies every
  # start, only for the time of the install and only when the machine has none of its own.
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

if [ ! -e /etc/printcap ]; then
  as_root touch /etc/printcap
fi

# Never let LPRng's lpd start at boot or hold port 515.
if [ -f /etc/default/lprng ] && grep -q '^START_LPD=yes' /etc/default/lprng; then
  as_root sed -i 's/^START_LPD=yes/START_LPD=no/' /etc/default/lprng
fi
if command -v lpd >/dev/null; then
  for pid in $(pgrep -x lpd || true); do
    # Only LPRng's daemon: the binary this package installed.
    if [ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$(command -v lpd)")" ]; then
      echo "stopping lprng lpd (pid $pid)"
      as_root kill "$pid" || true
    fi
  done
fi

command -v rlpr >/dev/null || { echo "rlpr is still missing" >&2; exit 1; }
command -v lpr >/dev/null || { echo "lpr (lprng) is still missing" >&2; exit 1; }
echo "rlpr: $(command -v rlpr); lpr: $(command -v lpr) (lprng); /etc/printcap present"

#!/usr/bin/env bash
# Installs the system packages the test suite needs on a Debian 12 host and
# configures podman for this kind of VM (see shared/HARNESS.md for why each
# containers.conf setting is there). Safe to run repeatedly.
set -euo pipefail

pkgs=(postfix postfix-pcre podman runc catatonit debootstrap uidmap slirp4netns
      iproute2 make git rsync swaks shellcheck chromium chromium-driver)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # "No configuration" keeps the host's Postfix from starting: the tests use
  # their own config directories and never need a running host MTA.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

conf=/etc/containers/containers.conf
if ! grep -q 'securemail.gateway' "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  cat >>"$conf" <<'CONF'
# securemail.gateway: crun cannot run in this kernel's hybrid cgroup mode, and
# the VM lacks CAP_SYS_RESOURCE for podman's default rlimits.
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]
[engine]
runtime = "runc"
CONF
fi

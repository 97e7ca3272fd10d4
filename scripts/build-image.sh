#!/usr/bin/env bash
# Builds a local Debian image the Molecule scenarios run in (no registry is
# reachable, see docs/molecule.md):
#   debootstrap --variant=minbase SUITE -> python3, python3-apt, iproute2,
#   procps, ca-certificates, openssl -> apt sources + resolv.conf -> podman import.
# Runs once per suite: if the image exists and carries the label with this
# script's checksum, it exits at once. FORCE=1 rebuilds. Needs root, podman,
# debootstrap.
#
# Environment:
#   SUITE   Debian suite: bookworm (12) or trixie (13)   (default bookworm)
#   IMAGE   image name      (default localhost/securemail-SUITE:latest)
#   MIRROR  Debian mirror   (default: the host's apt sources, else deb.debian.org)
#   FORCE   1 = rebuild even if the image is current
set -euo pipefail

SUITE=${SUITE:-bookworm}
case $SUITE in
  bookworm | trixie) ;;
  *) printf 'build-image: SUITE=%s is not supported (bookworm, trixie)\n' "$SUITE" >&2; exit 2 ;;
esac
IMAGE=${IMAGE:-localhost/securemail-$SUITE:latest}
PACKAGES=(python3 python3-apt iproute2 procps ca-certificates openssl)
LABEL_KEY=org.securemail.build-script
FALLBACK_MIRROR=http://deb.debian.org/debian

script_path=$(readlink -f "${BASH_SOURCE[0]}")
# The checksum covers this script and the package list it installs.
script_sum=$(sha256sum "$script_path" | cut -c1-16)
start=$SECONDS

log() { printf 'build-image: %s\n' "$*" >&2; }

if [ "${FORCE:-0}" != 1 ] && podman image exists "$IMAGE"; then
  have=$(podman image inspect --format "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$IMAGE" 2>/dev/null || true)
  if [ "$have" = "$script_sum" ]; then
    log "$IMAGE is current (script $script_sum); FORCE=1 rebuilds"
    exit 0
  fi
  log "$IMAGE was built by another script version (${have:-none}); rebuilding"
fi

[ "$(id -u)" -eq 0 ] || { log "must run as root (debootstrap, chroot)"; exit 1; }

# Print "URI suite" pairs for every deb source on the host: one-line
# sources.list format and deb822 *.sources files.
host_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [opts] URI suite components...
    sed -E -n 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+([^[:space:]]+).*/\2 \3/p' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush(  i, j, nu, ns, u, s) {
        if (types ~ /(^|[[:space:]])deb([[:space:]]|$)/ && enabled !~ /^[[:space:]]*no/) {
          nu = split(uris, u, /[[:space:]]+/); ns = split(suites, s, /[[:space:]]+/)
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) if (u[i] != "" && s[j] != "") print u[i], s[j]
        }
        types = ""; uris = ""; suites = ""; enabled = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      tolower($1) == "types:"   { sub(/^[^:]*:[[:space:]]*/, ""); types = $0;   next }
      tolower($1) == "uris:"    { sub(/^[^:]*:[[:space:]]*/, ""); uris = $0;    next }
      tolower($1) == "suites:"  { sub(/^[^:]*:[[:space:]]*/, ""); suites = $0;  next }
      tolower($1) == "enabled:" { sub(/^[^:]*:[[:space:]]*/, ""); enabled = $0; next }
      END { flush() }
    ' "$f"
  done
}

sources=$(host_sources || true)
# A host on another release than SUITE: its mirrors serve every suite of the
# archive, so take the URIs it uses for its own release.
host_suite=$(. /etc/os-release 2>/dev/null && printf '%s' "${VERSION_CODENAME:-}")
uri_for() { # uri_for SUITE...: the first host URI serving one of them
  local s u
  for s in "$@"; do
    u=$(awk -v s="$s" '$2 == s || $2 == s "/updates" { print $1; exit }' <<<"$sources")
    if [ -n "$u" ]; then printf '%s' "$u"; return; fi
  done
}
mirror=${MIRROR:-$(uri_for "$SUITE" ${host_suite:+"$host_suite"})}
mirror=${mirror:-$FALLBACK_MIRROR}
mirror=${mirror%/}
security=$(uri_for "$SUITE-security" ${host_suite:+"$host_suite-security"})
security=${security%/}
log "mirror $mirror${security:+, security $security}"

workdir=$(mktemp -d /var/tmp/securemail-image.XXXXXX)
rootfs=$workdir/rootfs
cleanup() {
  local m
  for m in "$rootfs/dev/pts" "$rootfs/sys" "$rootfs/proc"; do
    if mountpoint -q "$m" 2>/dev/null; then umount -l "$m" || true; fi
  done
  # Never delete through a mount that is still there.
  if ! grep -q " $workdir/" /proc/mounts; then rm -rf "$workdir"; fi
}
trap cleanup EXIT

log "debootstrap $SUITE into $rootfs"
debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$workdir/debootstrap.log" 2>&1 || {
  tail -n 30 "$workdir/debootstrap.log" >&2
  exit 1
}

# apt sources inside the image (deb822, like the host), and the host's resolver.
rm -f "$rootfs/etc/apt/sources.list"
{
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$mirror" "$SUITE" "$SUITE"
  printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
  if [ -n "$security" ]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security" "$SUITE"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
  fi
} >"$rootfs/etc/apt/sources.list.d/debian.sources"
rm -f "$rootfs/etc/resolv.conf"
cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf"

mount -t proc proc "$rootfs/proc"
mount -t sysfs sysfs "$rootfs/sys"

log "installing ${PACKAGES[*]}"
in_chroot() {
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"
}
{
  in_chroot apt-get update -qq &&
    in_chroot apt-get -y -qq -o Dpkg::Use-Pty=0 dist-upgrade &&
    in_chroot apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${PACKAGES[@]}"
} >"$workdir/apt.log" 2>&1 || {
  tail -n 30 "$workdir/apt.log" >&2
  exit 1
}
# Drop downloaded .debs only. The package lists stay: an empty
# /var/lib/apt/lists with a fresh mtime makes apt's cache_valid_time skip the
# update, and apt then finds no packages.
in_chroot apt-get clean
# A policy-rc.d that refuses service starts during package installation, as
# in Debian's official container images. Some maintainer scripts (amavisd-new)
# otherwise call systemctl in a container without systemd and fail the
# install; the roles start their services themselves with `service`, which
# does not consult policy-rc.d.
printf '#!/bin/sh\n# securemail.gateway image: no service starts from maintainer scripts\nexit 101\n' \
  >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"

umount "$rootfs/sys" "$rootfs/proc"

log "importing as $IMAGE"
old_id=$(podman image inspect --format '{{ .Id }}' "$IMAGE" 2>/dev/null || true)
tar --numeric-owner -C "$rootfs" -c . |
  podman import --quiet \
    --change "LABEL $LABEL_KEY=$script_sum" \
    --change 'CMD ["sleep", "infinity"]' \
    --message "securemail.gateway test image ($script_sum)" \
    - "$IMAGE" >/dev/null
# Drop the replaced image unless a container still uses it.
if [ -n "$old_id" ] && [ "$old_id" != "$(podman image inspect --format '{{ .Id }}' "$IMAGE")" ]; then
  podman image rm "$old_id" >/dev/null 2>&1 || log "kept old image ${old_id:0:12} (still in use)"
fi

log "built $IMAGE in $((SECONDS - start)) s"

#!/usr/bin/env bash
# Debian roots for testing streamview on other PostgreSQL majors (issue 12).
#
#   bash test/root.sh path MAJOR             print the root's directory
#   bash test/root.sh build MAJOR            build the root unless it is ready
#   bash test/root.sh run MAJOR CMD [ARG...] run CMD inside the root, as root,
#                                            in a fresh copy of this checkout
#   bash test/root.sh mount MAJOR            mount /proc, /dev, /dev/shm in the
#   bash test/root.sh umount MAJOR           root (and undo it, killing what
#                                            still runs there): for servers
#                                            that outlive one command
#
# MAJOR is a PostgreSQL major version; each lives in the Debian release that
# packages it: 15 in bookworm (Debian 12), 17 in trixie (Debian 13), 18 in sid
# (unstable). No Debian release packages 16.
#
# A root is made once with `debootstrap --variant=minbase` under
# $SV_ROOTS (default /var/tmp/streamview-roots) and reused afterwards; a root
# whose build did not finish is made again. Packages inside it come from
# Debian's mirror only, installed by test/setup.sh when a command runs there.
# In a root, services never start on install (policy-rc.d) and no default
# cluster is created: the tests make their own.
#
# `run` copies the checkout's working tree (tracked and untracked files that
# git does not ignore, i.e. what a commit of it would hold, plus uncommitted
# edits) to /build/streamview in the root, mounts /proc, /dev and a fresh
# /dev/shm there, runs the command with SV_PG=MAJOR in that copy, and
# unmounts whatever happens. The copy's log/ directory (kept logs of failed
# suites) is copied back to this checkout's log/root-MAJOR/. One command at a
# time per root (a lock). Needs root privileges and debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)

MIRROR=${SV_MIRROR:-http://deb.debian.org/debian}
ROOTS=${SV_ROOTS:-/var/tmp/streamview-roots}

usage()
{
	sed -n '4,11p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# The Debian release that packages PostgreSQL major $1.
release_of()
{
	case "$1" in
		15) echo bookworm ;;
		17) echo trixie ;;
		18) echo sid ;;
		*)
			echo "root.sh: no Debian release packages PostgreSQL $1 (15, 17 and 18 are tested)" >&2
			exit 2
			;;
	esac
}

# Makes the root for major $1 unless it is ready (its marker file exists).
build_root()
{
	local major=$1 release root
	release=$(release_of "$major")
	root="$ROOTS/$release"
	[ -f "$root/.streamview-root-ready" ] && return 0
	command -v debootstrap >/dev/null || {
		echo "root.sh: debootstrap is missing (apt-get install debootstrap)" >&2
		exit 1
	}
	echo "root.sh: building the $release root in $root" >&2
	rm -rf "$root"
	mkdir -p "$ROOTS"
	debootstrap --variant=minbase "$release" "$root" "$MIRROR" >"$ROOTS/$release.debootstrap.log" 2>&1 || {
		tail -20 "$ROOTS/$release.debootstrap.log" >&2
		exit 1
	}
	# no service starts on package install, and no default cluster is made
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	mkdir -p "$root/etc/postgresql-common"
	echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.conf"
	# sid's Release file may be past its Valid-Until date on the mirror;
	# keep the root small (no documentation, no recommended packages)
	cat >"$root/etc/apt/apt.conf.d/90streamview" <<-'EOF'
		Acquire::Check-Valid-Until "false";
		APT::Install-Recommends "false";
		Dpkg::Options { "--force-confold"; };
	EOF
	touch "$root/.streamview-root-ready"
}

# Mounts what a command in root $1 needs (what is not mounted yet);
# unmount_root undoes it.
mount_root()
{
	local root=$1
	mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
	mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
	mountpoint -q "$root/dev/pts" || mount --bind /dev/pts "$root/dev/pts"
	mountpoint -q "$root/dev/shm" || mount -t tmpfs -o mode=1777,size=2g shm "$root/dev/shm"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
}

# Kills whatever still runs inside root $1 (a server or a test an
# interrupted command left behind), so that nothing holds its mounts.
kill_in_root()
{
	local root=$1 p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	return 0
}

unmount_root()
{
	local root=$1 m
	for m in dev/shm dev/pts dev proc; do
		mountpoint -q "$root/$m" && umount -l "$root/$m"
	done
	return 0
}

# Runs "$@" in root for major $1 in a fresh copy of this checkout.
run_in_root()
{
	local major=$1 release root rc=0
	shift
	[ $# -gt 0 ] || usage
	[ "$(id -u)" -eq 0 ] || { echo "root.sh: run needs root (chroot, mount)" >&2; exit 1; }
	build_root "$major"
	release=$(release_of "$major")
	root="$ROOTS/$release"
	exec 9>"$ROOTS/$release.lock"
	flock 9
	rm -rf "$root/build/streamview"
	mkdir -p "$root/build/streamview"
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$root/build/streamview"
	mounted_root=$root
	trap 'kill_in_root "$mounted_root"; unmount_root "$mounted_root"' EXIT
	trap 'exit 130' INT TERM
	mount_root "$root"
	chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 SV_PG="$major" FUZZ_SECONDS="${FUZZ_SECONDS:-10}" \
		PROVE_FLAGS="${PROVE_FLAGS:-}" \
		/bin/bash -c 'cd /build/streamview && exec "$@"' bash "$@" || rc=$?
	if [ -d "$root/build/streamview/log" ]; then
		mkdir -p "$checkout/log/root-$major"
		cp -r "$root/build/streamview/log/." "$checkout/log/root-$major/"
		echo "root.sh: logs kept in $checkout/log/root-$major" >&2
	fi
	return $rc
}

[ $# -ge 2 ] || usage
cmd=$1 major=$2
shift 2
case "$cmd" in
	path) echo "$ROOTS/$(release_of "$major")" ;;
	mount) build_root "$major" && mount_root "$ROOTS/$(release_of "$major")" ;;
	umount)
		kill_in_root "$ROOTS/$(release_of "$major")"
		unmount_root "$ROOTS/$(release_of "$major")"
		;;
	build) build_root "$major" ;;
	run) run_in_root "$major" "$@" ;;
	*) usage ;;
esac

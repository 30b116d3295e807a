#!/usr/bin/env bash
# Builds streamview's Debian package from a clean copy of the committed tree
# (git archive HEAD) and tests it on a machine without the source tree:
#
#   1. a build root (debootstrap --variant=minbase of the Debian release that
#      has PostgreSQL N) gets build-essential and the package's own
#      Build-Depends (apt-get build-dep), and builds the source and binary
#      packages with dpkg-buildpackage (debian/rules: pg_buildext);
#   2. the .deb must hold the library, the control file and every
#      sql/streamview--*.sql script, and depend on postgresql-N and librdkafka;
#   3. a second, clean root of the same release with only postgresql-N and
#      postgresql-N-pgtap (no compiler, no headers, no source) installs the
#      .deb with apt-get, which pulls its dependencies; every streamview file
#      there must belong to the package;
#   4. pg_regress runs the Makefile's REGRESS tests against the installed
#      files (a private cluster with test/regress.conf, as the root's postgres
#      user), with only the test scripts and expected outputs copied in;
#   5. the package is purged again and must leave no file behind.
#
# Run as root (debootstrap, chroot, mount):
#
#   bash test/package.sh [--pg N]
#
# --pg N   the PostgreSQL major to package and test (default: this machine's,
#          from pg_config). It picks the Debian release: 15 bookworm,
#          17 trixie, 18 sid (unstable).
#
# Environment:
#   SV_PKG_ROOT=DIR   keep the Debian roots in DIR (DIR/<release>-build,
#                     DIR/<release>-test) and reuse them on later runs; without
#                     it they are made in a temporary directory and removed.
#   SV_PKG_OUT=DIR    copy the built source and binary packages to DIR.
#   SV_PKG_MIRROR=URL the Debian mirror (default http://deb.debian.org/debian).
#
# The last line says "package test: PASS ..." or "package test: FAIL ...";
# the exit status is 0 only for PASS.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)
started=$SECONDS

major=""
while [ $# -gt 0 ]; do
	case "$1" in
		--pg) major="${2:-}"; shift 2 ;;
		--pg=*) major="${1#--pg=}"; shift ;;
		-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		*) echo "usage: $0 [--pg N]" >&2; exit 2 ;;
	esac
done

reported=""
fail() { reported=1; echo "package test: FAIL: $*" >&2; exit 1; }
step() { printf '== %s (%d s)\n' "$*" $((SECONDS - started)); }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap, chroot and mount need it)"
if [ -z "$major" ]; then
	major=$(pg_config --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9][0-9]*\).*/\1/p')
	[ -n "$major" ] || fail "no pg_config here: give the major with --pg N"
fi
case "$major" in
	15) release=bookworm ;;
	17) release=trixie ;;
	18) release=sid ;;
	*) fail "no Debian release with PostgreSQL $major is known (15, 17 or 18)" ;;
esac
mirror=${SV_PKG_MIRROR:-http://deb.debian.org/debian}
pkg=postgresql-$major-streamview

git rev-parse --verify -q HEAD >/dev/null || fail "$checkout is not a git checkout with a commit"
command -v debootstrap >/dev/null || {
	echo "package: installing debootstrap"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

work=$(realpath "$(mktemp -d /tmp/streamview-pkg.XXXXXX)")
if [ -n "${SV_PKG_ROOT:-}" ]; then
	mkdir -p "$SV_PKG_ROOT"
	roots=$(realpath "$SV_PKG_ROOT")
else
	roots="$work/roots"
	mkdir -p "$roots"
fi
broot="$roots/$release-build"
troot="$roots/$release-test"
jobs_running=""
# One run at a time per release and root directory (a second would unmount
# the first's roots when it ends).
exec 9>"$roots/.$release.lock"
flock -n 9 || { echo "package: waiting for another run that uses $roots for $release"; flock 9; }

# Everything mounted under DIR (deepest first).
mounts_under() { awk -v d="$1/" 'index($2 "/", d) == 1 { print $2 }' /proc/mounts | sort -r; }

# Stops what still runs inside a root (a postmaster left by an interrupted
# pg_regress, say): only processes whose root directory is one of ours,
# which this script started.
kill_in_root()
{
	local r=$1 p pids="" i
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$r" ] && pids="$pids ${p#/proc/}"
	done
	[ -n "$pids" ] || return 0
	kill $pids 2>/dev/null || true
	for i in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 $pids 2>/dev/null || return 0
		sleep 0.5
	done
	kill -KILL $pids 2>/dev/null || true
}

unmount_root()
{
	local m
	for m in $(mounts_under "$1"); do umount "$m" 2>/dev/null || umount -l "$m"; done
}

# Removes a root; refuses while anything is still mounted in it (a bound
# /dev would otherwise lose the host's device nodes), and never crosses into
# another file system.
remove_root()
{
	[ -d "$1" ] || return 0
	kill_in_root "$1"
	unmount_root "$1"
	if [ -n "$(mounts_under "$1")" ]; then
		echo "package: still mounted under $1; not removing it" >&2
		return 1
	fi
	rm -rf --one-file-system "$1"
}

# Stops a background job of this script and everything it started.
kill_tree()
{
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
	kill "$1" 2>/dev/null || true
}

finish()
{
	local status=$? p r
	for p in $jobs_running; do kill_tree "$p"; wait "$p" 2>/dev/null || true; done
	for r in "$broot" "$troot"; do
		[ -d "$r" ] || continue
		kill_in_root "$r"
		unmount_root "$r"
	done
	if [ -z "${SV_PKG_ROOT:-}" ]; then
		remove_root "$broot" || true; remove_root "$troot" || true
	fi
	[ -n "$(mounts_under "$work")" ] || rm -rf --one-file-system "$work"
	if [ "$status" -eq 130 ]; then
		echo "package test: FAIL (interrupted)" >&2
	elif [ "$status" -ne 0 ] && [ -z "$reported" ]; then
		echo "package test: FAIL (a command failed, exit status $status; see above)" >&2
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# The kernel file systems a root needs: /proc, the host's /dev, and a
# private /dev/shm (PostgreSQL's dynamic shared memory). Each only once, so
# a root that a killed run left mounted is used as it is.
mount_root()
{
	local r=$1
	mountpoint -q "$r/proc" || mount -t proc proc "$r/proc"
	mountpoint -q "$r/dev" || mount --bind /dev "$r/dev"
	mountpoint -q "$r/dev/shm" || mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/dev/shm"
}

# Runs a command in a root with a clean environment.
in_root()
{
	local r=$1; shift
	chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# apt-get install in a root; when the package lists are stale (a reused
# root, a mirror that moved on), they are updated and the install retried.
apt_install()
{
	local r=$1; shift
	in_root "$r" apt-get install -y -q --no-install-recommends "$@" ||
		{ in_root "$r" apt-get update -q && in_root "$r" apt-get install -y -q --no-install-recommends "$@"; }
}

# Makes a minimal root of $release at DIR with the given packages, unless
# DIR holds a finished one already (then only the packages are checked).
# The marker .sv-ready is written last, so a root whose making was
# interrupted is made again.
make_root()
{
	local r=$1; shift
	if [ ! -f "$r/.sv-ready" ]; then
		remove_root "$r"
		echo "making a $release root in $r"
		debootstrap --variant=minbase "$release" "$r" "$mirror" ||
			{ tail -20 "$r/debootstrap/debootstrap.log" 2>/dev/null; return 1; }
		{
			echo "deb $mirror $release main"
			if [ "$release" != sid ]; then
				# like an installed Debian: the point and security updates
				echo "deb $mirror $release-updates main"
				echo "deb ${mirror%/debian}/debian-security $release-security main"
			fi
		} > "$r/etc/apt/sources.list"
		# the mirror's Release file for unstable can be past its Valid-Until
		echo 'Acquire::Check-Valid-Until "false";' > "$r/etc/apt/apt.conf.d/90no-valid-until"
		# no daemons start inside the root (postgresql's postinst would try)
		printf '#!/bin/sh\nexit 101\n' > "$r/usr/sbin/policy-rc.d"
		chmod 755 "$r/usr/sbin/policy-rc.d"
		mount_root "$r"
		in_root "$r" apt-get update -q
		in_root "$r" apt-get upgrade -y -q
	fi
	mount_root "$r"
	[ $# -eq 0 ] || apt_install "$r" "$@"
	in_root "$r" apt-get clean    # the downloaded .debs: a root is kept, they are not
	touch "$r/.sv-ready"
}

git cat-file -e HEAD:debian/changelog 2>/dev/null || fail "debian/ is not committed: the package is built from HEAD"
commit=$(git rev-parse --short HEAD)
version=$(git show HEAD:debian/changelog | sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p')
upstream=${version%-*}
[ -n "$upstream" ] || fail "no version in debian/changelog at HEAD"
echo "package test: $pkg $version from commit $commit, Debian $release, roots in $roots"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	echo "note: the working tree has uncommitted changes; the package is built from HEAD without them"
fi

# The two roots are made (or checked) at the same time. Each is a job of
# its own, not part of a `||` list, so that `set -e` holds inside it.
step "making the build root and the test root (in parallel)"
( make_root "$broot" build-essential ) >"$work/build-root.log" 2>&1 &
broot_pid=$!
( make_root "$troot" "postgresql-$major" "postgresql-$major-pgtap" ) >"$work/test-root.log" 2>&1 &
troot_pid=$!
jobs_running="$broot_pid $troot_pid"
rc=0; wait "$broot_pid" || rc=$?
jobs_running="$troot_pid"
[ "$rc" -eq 0 ] || { tail -30 "$work/build-root.log"; fail "could not make the build root ($broot)"; }

# 1. Build: the committed tree, with an orig tarball of everything but debian/
step "building from git archive of $commit"
src="/build/streamview-$upstream"
rm -rf "$broot/build"
mkdir -p "$broot$src"
git archive HEAD | tar -x -C "$broot$src"
git archive --format=tar --prefix="streamview-$upstream/" HEAD -- . ':(exclude)debian' |
	gzip -n >"$broot/build/streamview_$upstream.orig.tar.gz"
# the package's own Build-Depends, as a build daemon would install them
in_root "$broot" sh -c "cd $src && apt-get build-dep -y -q --no-install-recommends ./" >>"$work/build-root.log" 2>&1 ||
	in_root "$broot" sh -c "apt-get update -q && cd $src && apt-get build-dep -y -q --no-install-recommends ./" \
		>>"$work/build-root.log" 2>&1 ||
	{ tail -30 "$work/build-root.log"; fail "could not install the Build-Depends"; }
# debian/control lists the majors of the release it was generated on:
# generate it for this release's (pg_buildext supported-versions)
if ! in_root "$broot" sh -c "cd $src && pg_buildext updatecontrol && dpkg-buildpackage -us -uc" \
	>"$work/build.log" 2>&1; then
	# the compiler's command lines are long: the diagnostics are what matters
	grep -v -E '^(\S*-)?(gcc|clang)(-[0-9]+)? |^/usr/(bin|lib)/(clang|llvm)' "$work/build.log" | tail -40
	fail "dpkg-buildpackage failed"
fi
# debian/control as committed is generated on Debian 12: there, it must be
# what pg_buildext makes of control.in (else a Debian build daemon stops)
if git show HEAD:debian/control | grep -qx "Package: $pkg" &&
	! git show HEAD:debian/control | cmp -s - "$broot$src/debian/control"; then
	git show HEAD:debian/control | diff -u - "$broot$src/debian/control" || true
	fail "debian/control is out of date: run pg_buildext updatecontrol and commit it"
fi
deb=$(cd "$broot/build" && ls ${pkg}_"$version"_*.deb 2>/dev/null | head -1 || true)
[ -n "$deb" ] || fail "the build made no $pkg package, only: $(cd "$broot/build" && echo *.deb)"
mkdir -p "$work/debs"
cp "$broot/build/$deb" "$work/debs/"
if [ -n "${SV_PKG_OUT:-}" ]; then
	mkdir -p "$SV_PKG_OUT"
	cp "$broot/build"/*.deb "$broot/build"/*.dsc "$broot/build"/*.tar.* \
		"$broot/build"/*.changes "$broot/build"/*.buildinfo "$SV_PKG_OUT/"
fi

# 2. What the package holds and depends on
step "checking $deb"
contents=$(dpkg-deb -c "$work/debs/$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
# the library, the control file, and every install and upgrade script of the tree
want="/usr/lib/postgresql/$major/lib/streamview.so /usr/share/postgresql/$major/extension/streamview.control"
for f in $(git ls-tree --name-only HEAD sql/ | grep '^sql/streamview--.*\.sql$'); do
	want="$want /usr/share/postgresql/$major/extension/${f#sql/}"
done
for f in $want; do
	grep -qxF "$f" <<<"$contents" || fail "$deb lacks $f"
done
depends=$(dpkg-deb -f "$work/debs/$deb" Depends)
echo "Depends: $depends"
grep -qE "(^|, )postgresql-$major( |,|$)" <<<"$depends" || fail "$deb does not depend on postgresql-$major"
grep -qE "(^|, )librdkafka1( |,|$)" <<<"$depends" || fail "$deb does not depend on librdkafka1"

step "waiting for the test root"
rc=0; wait "$troot_pid" || rc=$?
jobs_running=""
[ "$rc" -eq 0 ] || { tail -30 "$work/test-root.log"; fail "could not make the test root ($troot)"; }

# 3. Install on the clean root
bindir=/usr/lib/postgresql/$major/bin
pkglibdir=$(in_root "$troot" "$bindir/pg_config" --pkglibdir)
sharedir=$(in_root "$troot" "$bindir/pg_config" --sharedir)
# a reused root must be as clean as a new one (an interrupted run may have
# left the package installed)
if in_root "$troot" dpkg-query -W -f='${db:Status-Status}\n' "$pkg" 2>/dev/null | grep -qx installed; then
	echo "note: $pkg was left installed in the reused test root; purging it first"
	in_root "$troot" apt-get purge -y -q --autoremove "$pkg" >/dev/null
fi
[ ! -e "$troot$pkglibdir/streamview.so" ] && [ ! -e "$troot$sharedir/extension/streamview.control" ] ||
	fail "the test root has streamview files before the package is installed"
for tool in gcc cc make; do
	! in_root "$troot" sh -c "command -v $tool" >/dev/null || fail "the test root has $tool: it must not be a build machine"
done
[ ! -d "$troot/usr/include/postgresql/$major/server" ] || fail "the test root has PostgreSQL's server headers"

step "installing $deb in the test root"
rm -rf "$troot/tmp/sv-pkg" "$troot/tmp/sv-regress"
mkdir -p "$troot/tmp/sv-pkg"
cp "$work/debs/$deb" "$troot/tmp/sv-pkg/"
apt_install "$troot" "/tmp/sv-pkg/$deb" >"$work/install.log" 2>&1 ||
	{ tail -30 "$work/install.log"; fail "apt-get install of $deb failed"; }
echo "apt-get installed: $(sed -n 's/^Setting up \([^ :]*\).*/\1/p' "$work/install.log" | tr '\n' ' ')"
owner=$(in_root "$troot" dpkg -S "$pkglibdir/streamview.so" | cut -d: -f1)
[ "$owner" = "$pkg" ] || fail "$pkglibdir/streamview.so belongs to '$owner', not $pkg"
echo "dpkg -S $pkglibdir/streamview.so: $owner"
# every file named streamview* on the root's system directories is the package's
stray=$(in_root "$troot" sh -c 'find /usr /etc /var/lib/postgresql -name "*streamview*" \
	-not -path "/usr/share/doc/*" -type f 2>/dev/null | while read -r f; do
	dpkg -S "$f" >/dev/null 2>&1 || echo "$f"; done')
[ -z "$stray" ] || fail "files not from the package in the test root: $stray"

# 4. The regression tests, against the installed files. Only the scripts
# and expected outputs the Makefile names are copied in (its sql/ also holds
# the extension's own scripts, which must come from the package).
step "pg_regress against the installed package"
tests=$(git show HEAD:Makefile | sed -n 's/^REGRESS = //p')
[ -n "$tests" ] || fail "no REGRESS line in the Makefile"
mkdir -p "$work/src" "$troot/tmp/sv-regress/sql" "$troot/tmp/sv-regress/expected"
git archive HEAD sql expected test/regress.conf | tar -x -C "$work/src"
for t in $tests; do
	cp "$work/src/sql/$t.sql" "$troot/tmp/sv-regress/sql/"
	cp "$work/src/expected/$t".out "$troot/tmp/sv-regress/expected/"
	# alternative outputs (name_1.out, ...), if any
	find "$work/src/expected" -name "${t}_[0-9].out" -exec cp {} "$troot/tmp/sv-regress/expected/" \;
done
cp "$work/src/test/regress.conf" "$troot/tmp/sv-regress/"
in_root "$troot" chown -R postgres: /tmp/sv-regress
# PostgreSQL will not run as root: the private cluster runs as the root's
# postgres user
rc=0
in_root "$troot" sh -c "cd /tmp/sv-regress && runuser -u postgres -- \
	$pkglibdir/pgxs/src/test/regress/pg_regress --inputdir=/tmp/sv-regress \
	--bindir=$bindir --temp-instance=/tmp/sv-regress/instance \
	--temp-config=/tmp/sv-regress/regress.conf --outputdir=/tmp/sv-regress/out \
	--dbname=contrib_regression $tests" >"$work/regress.log" 2>&1 || rc=$?
grep -v -E '^(ALTER|CREATE) DATABASE$' "$work/regress.log"
if [ "$rc" -ne 0 ]; then
	head -100 "$troot/tmp/sv-regress/out/regression.diffs" 2>/dev/null || true
	[ -f "$troot/tmp/sv-regress/out/log/postmaster.log" ] && tail -20 "$troot/tmp/sv-regress/out/log/postmaster.log"
	fail "pg_regress against the installed $pkg failed"
fi
ntests=$(wc -w <<<"$tests")

# 5. Removal leaves nothing behind (and the root is clean for the next run)
step "purging $pkg"
in_root "$troot" apt-get purge -y -q --autoremove "$pkg" >"$work/purge.log" 2>&1 ||
	{ tail -20 "$work/purge.log"; fail "apt-get purge $pkg failed"; }
[ ! -e "$troot$pkglibdir/streamview.so" ] && [ ! -e "$troot$sharedir/extension/streamview.control" ] ||
	fail "purging $pkg left its files behind"
rm -rf "$troot/tmp/sv-pkg" "$troot/tmp/sv-regress"
if [ -z "${SV_PKG_ROOT:-}" ]; then
	step "removing the roots"
	remove_root "$broot" && remove_root "$troot" || fail "could not remove the roots under $roots"
fi

echo "package test: PASS ($deb: installed with its dependencies on a clean $release root," \
	"$ntests regression tests passed against it, purged cleanly; $((SECONDS - started)) s)"

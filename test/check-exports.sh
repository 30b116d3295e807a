#!/usr/bin/env bash
# Checks what the installed library exports (the Makefile builds it with
# hidden visibility): exactly what PostgreSQL looks up by name, and nothing
# of ours besides, so that our internal names can neither clash with nor be
# taken over by another library's (PostgreSQL loads libraries RTLD_GLOBAL).
#
#   - Pg_magic_func and _PG_init;
#   - sv_launcher_main and sv_worker_main, the workers' bgw_function_name;
#   - every C function that an SQL script names (AS 'MODULE_PATHNAME',
#     'name'), with its pg_finfo_ record;
#   - nothing else.
#
#   bash test/check-exports.sh [LIBRARY]   (default: the installed one)
#
# Prints "exports: ok (N symbols)" and exits 0, or lists what is missing or
# extra and exits 1.
set -euo pipefail
lib=$(realpath "${1:-$(pg_config --pkglibdir)/streamview.so}")
cd "$(dirname "$0")/.."
want=$(
	{
		printf '%s\n' Pg_magic_func _PG_init sv_launcher_main sv_worker_main
		grep -ho "MODULE_PATHNAME', *'[A-Za-z_0-9]*'" sql/*.sql |
			sed "s/.*, *'//; s/'\$//" | while read -r f; do
				printf '%s\npg_finfo_%s\n' "$f" "$f"
			done
	} | sort -u
)
have=$(nm -D --defined-only "$lib" | awk '{ print $NF }' | sort -u)
missing=$(comm -23 <(echo "$want") <(echo "$have"))
extra=$(comm -13 <(echo "$want") <(echo "$have"))
if [ -z "$missing" ] && [ -z "$extra" ]; then
	echo "exports: ok ($(echo "$have" | wc -l) symbols)"
	exit 0
fi
[ -z "$missing" ] || echo "exports: missing from $lib:" $missing
[ -z "$extra" ] || echo "exports: exported by $lib but internal:" $extra
exit 1

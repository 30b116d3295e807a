#!/bin/bash
#
# selftest.sh
#	Self-test of the test broker tools: builds sv_broker and sv_produce,
#	starts a mock cluster, produces to it and reads back with kcat, and
#	checks --port (fixed listener ports).
#
# Usage: test/broker/selftest.sh
#	Environment: CC (default gcc), KCAT (default kcat), KEEP=1 keeps the
#	work directory.  Prints "ok N - ..." / "not ok N - ..." lines and exits
#	non-zero if any check failed.
#
# IDENTIFICATION
#	test/broker/selftest.sh

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-gcc}
KCAT=${KCAT:-kcat}
CFLAGS="-std=gnu99 -O2 -Wall -Wextra -Werror"
LIBS="-lrdkafka -lpthread"

WORK=$(mktemp -d /tmp/sv_selftest.XXXXXX)
BROKER_PID=
PRODUCER_PID=
FIXED_PID=
n=0
failed=0

cleanup()
{
	[ -n "$PRODUCER_PID" ] && kill "$PRODUCER_PID" 2>/dev/null
	if [ -n "$FIXED_PID" ]; then
		kill "$FIXED_PID" 2>/dev/null
		wait "$FIXED_PID" 2>/dev/null
	fi
	if [ -n "$BROKER_PID" ]; then
		kill "$BROKER_PID" 2>/dev/null
		wait "$BROKER_PID" 2>/dev/null
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "# work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()		# ok DESCRIPTION -- record a pass
{
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok()	# not_ok DESCRIPTION [DETAIL] -- record a failure
{
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	[ $# -gt 1 ] && echo "#   $2"
}

check()		# check DESCRIPTION GOT EXPECTED
{
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got '$2', expected '$3'"
	fi
}

bail()		# bail REASON -- stop here
{
	not_ok "$1"
	echo "Bail out! $1"
	[ -f "$WORK/broker.err" ] && sed 's/^/# broker: /' "$WORK/broker.err"
	exit 1
}

replies()	# number of command replies the broker has written so far
{
	grep -c -E '^(OK|ERR)' "$WORK/broker.out"
}

ctl()		# ctl COMMAND... -- send a command through the FIFO, wait for
{			# its reply, and succeed if the reply is OK
	local before i
	before=$(replies)
	echo "$*" > "$WORK/ctl"
	for i in $(seq 100); do
		[ "$(replies)" -gt "$before" ] && break
		sleep 0.05
	done
	[ "$(grep -E '^(OK|ERR)' "$WORK/broker.out" | tail -n 1)" = OK ]
}

consume()	# consume TOPIC [kcat args...] -- read a topic from the beginning
{
	local topic=$1
	shift
	timeout 60 "$KCAT" -C -b "$BOOTSTRAP" -t "$topic" -o beginning -e -q "$@"
}

# --- build -----------------------------------------------------------------

$CC $CFLAGS -o "$WORK/sv_broker" "$HERE/sv_broker.c" $LIBS 2> "$WORK/cc.err" ||
	{ cat "$WORK/cc.err"; bail "sv_broker builds without warnings"; }
ok "sv_broker builds without warnings"
$CC $CFLAGS -o "$WORK/sv_produce" "$HERE/sv_produce.c" $LIBS 2> "$WORK/cc.err" ||
	{ cat "$WORK/cc.err"; bail "sv_produce builds without warnings"; }
ok "sv_produce builds without warnings"
PRODUCE="$WORK/sv_produce"

# --- start the broker ------------------------------------------------------

"$WORK/sv_broker" --bootstrap-file "$WORK/bootstrap" --control "$WORK/ctl" \
	t1:4 t3:2 t4:2 < /dev/null > "$WORK/broker.out" 2> "$WORK/broker.err" &
BROKER_PID=$!
for i in $(seq 100); do
	[ -f "$WORK/bootstrap" ] && break
	sleep 0.05
done
[ -f "$WORK/bootstrap" ] || bail "broker writes its bootstrap file"
BOOTSTRAP=$(cat "$WORK/bootstrap")
ok "broker is up at $BOOTSTRAP"
check "broker prints BOOTSTRAP line" "$(head -n 1 "$WORK/broker.out")" \
	"BOOTSTRAP $BOOTSTRAP"

# --- 200000 rides over 4 partitions ----------------------------------------

"$PRODUCE" --brokers "$BOOTSTRAP" --topic t1 --rides 200000 --seed 42 \
	--out "$WORK/x.tsv" 2> "$WORK/produce.err"
rc=$?
sed 's/^/# /' "$WORK/produce.err"
check "sv_produce --rides 200000 exits 0" "$rc" 0
check "--out has 200000 lines" "$(wc -l < "$WORK/x.tsv")" 200000

consume t1 -f '%p\t%o\t%k\t%s\n' > "$WORK/kcat.tsv"
check "kcat reads 200000 messages back" "$(wc -l < "$WORK/kcat.tsv")" 200000
check "per-partition counts match --out" \
	"$(cut -f1 "$WORK/kcat.tsv" | sort | uniq -c | tr -s ' ')" \
	"$(cut -f1 "$WORK/x.tsv" | sort | uniq -c | tr -s ' ')"
check "partition, offset, key and value match --out line for line" \
	"$(sort "$WORK/kcat.tsv" | md5sum)" "$(sort "$WORK/x.tsv" | md5sum)"
check "partitions get equal shares" \
	"$(cut -f1 "$WORK/x.tsv" | sort | uniq -c | awk '{print $1}' | sort -u)" \
	50000

# the value format, and pickups out of time order
line=$(head -n 1 "$WORK/x.tsv" | cut -f4)
if echo "$line" | grep -qE '^[12], 2020-07-01 [0-2][0-9]:[0-5][0-9]:[0-5][0-9], 2020-07-01 [0-9:]{8}, [1-6], [0-9]+\.[0-9]{2}, [1-4], [0-9]+\.[0-9]{1,2}$'; then
	ok "ride value has the zoomcamp format ($line)"
else
	not_ok "ride value has the zoomcamp format" "$line"
fi
unordered=$(cut -f4 "$WORK/x.tsv" | awk -F', ' 'NR > 1 && $2 < prev { c++ } { prev = $2 } END { print c + 0 }')
if [ "$unordered" -gt 1000 ]; then
	ok "pickup times arrive out of order ($unordered steps back)"
else
	not_ok "pickup times arrive out of order" "$unordered steps back"
fi

# --- determinism -----------------------------------------------------------

"$PRODUCE" --brokers "$BOOTSTRAP" --topic d1 --rides 1000 --seed 7 \
	--partitions 1 --out "$WORK/d1.tsv" 2> /dev/null
"$PRODUCE" --brokers "$BOOTSTRAP" --topic d2 --rides 1000 --seed 7 \
	--partitions 1 --out "$WORK/d2.tsv" 2> /dev/null
check "same seed gives the same rides" \
	"$(cut -f3- "$WORK/d1.tsv" | md5sum)" "$(cut -f3- "$WORK/d2.tsv" | md5sum)"
"$PRODUCE" --brokers "$BOOTSTRAP" --topic d3 --rides 1000 --seed 7 \
	--partitions 1 --keys 50 --out "$WORK/d3.tsv" 2> /dev/null
check "--keys 50 gives payment types 1..50" \
	"$(cut -f4 "$WORK/d3.tsv" | awk -F', ' '{print $6}' | sort -n | uniq | sed -n '1p;$p' | tr '\n' ' ')$(cut -f4 "$WORK/d3.tsv" | awk -F', ' '{print $6}' | sort -u | wc -l)" \
	"1 50 50"

# --- --stdin --unescape ----------------------------------------------------

printf '%s\n' 'k1|a\x00b' 'k2|\N' 'k3|back\\slash\xff' |
	"$PRODUCE" --brokers "$BOOTSTRAP" --topic t2 --stdin --unescape \
		--null-value --key-delim '|' --out "$WORK/s.tsv" 2> /dev/null
check "sv_produce --stdin exits 0" "$?" 0
check "--out escapes NUL, backslash and shows NULL as \\N" \
	"$(cut -f3- "$WORK/s.tsv")" \
	"$(printf 'k1\ta\\x00b\nk2\t\\N\nk3\tback\\x5cslash\xff')"
# kcat: %S is the value length, -1 for NULL; NUL bytes made visible as @
check "kcat sees a NUL byte inside the value" \
	"$(consume t2 -f '%k %S %s\n' | head -n 1 | tr '\0' '@')" "k1 3 a@b"
check "kcat sees a NULL value" \
	"$(consume t2 -f '%k %S\n' | sed -n 2p)" "k2 -1"
check "kcat sees raw bytes after \\\\ and \\xff" \
	"$(printf '%s' "$(consume t2 -f '%s\n' | sed -n 3p)" | od -An -tx1 | tr -d ' \n')" \
	"$(printf 'back\\slash\xff' | od -An -tx1 | tr -d ' \n')"
printf 'bad\\q\n' | "$PRODUCE" --brokers "$BOOTSTRAP" --topic t2 --stdin \
	--unescape 2> /dev/null
check "a bad escape is an error" "$?" 1

# --- fault injection through the FIFO ---------------------------------------

if ctl rtt 1 0 && ! ctl down 7; then
	ok "FIFO commands are answered (OK, and ERR for an unknown broker)"
else
	not_ok "FIFO commands are answered"
fi

# down before producing: nothing can be delivered until the broker is up
ctl down 1 || not_ok "down 1 answered OK"
"$PRODUCE" --brokers "$BOOTSTRAP" --topic t3 --rides 1000 --partitions 2 \
	-X reconnect.backoff.max.ms=500 --out "$WORK/t3.tsv" \
	2> "$WORK/t3.err" &
PRODUCER_PID=$!
sleep 2
if kill -0 "$PRODUCER_PID" 2>/dev/null; then
	ok "while broker 1 is down the producer waits"
else
	not_ok "while broker 1 is down the producer waits" "it exited early"
fi
ctl up 1 || not_ok "up 1 answered OK"
wait "$PRODUCER_PID"
rc=$?
PRODUCER_PID=
check "after up 1 the producer delivers everything and exits 0" "$rc" 0
check "kcat reads the 1000 messages sent during the outage" \
	"$(consume t3 -f '%s\n' | wc -l)" 1000

# down in the middle of a throttled run: retries, no loss
"$PRODUCE" --brokers "$BOOTSTRAP" --topic t4 --rides 2000 --partitions 2 \
	--rate 1000 -X reconnect.backoff.max.ms=500 --out "$WORK/t4.tsv" \
	2> "$WORK/t4.err" &
PRODUCER_PID=$!
sleep 0.7
ctl down 1 || not_ok "down 1 answered OK"
sleep 1
ctl up 1 || not_ok "up 1 answered OK"
wait "$PRODUCER_PID"
rc=$?
PRODUCER_PID=
check "producer survives an outage mid-run and exits 0" "$rc" 0
consume t4 -f '%s\n' | sort -u > "$WORK/t4.kcat"
check "every message of the mid-run outage arrives (duplicates allowed)" \
	"$(md5sum < "$WORK/t4.kcat")" "$(cut -f4 "$WORK/t4.tsv" | sort -u | md5sum)"
echo "# mid-run outage: $(consume t4 -f '%s\n' | wc -l) messages stored for 2000 sent"

# --- --port: fixed listener ports -------------------------------------------

start_fixed()	# start_fixed PORT ARGS... -- start a broker with --port PORT
{				# in the background; succeed once it printed BOOTSTRAP
	local port=$1 i
	shift
	rm -f "$WORK/fixed.out" "$WORK/fixed.err"
	"$WORK/sv_broker" --port "$port" "$@" < /dev/null \
		> "$WORK/fixed.out" 2> "$WORK/fixed.err" &
	FIXED_PID=$!
	for i in $(seq 100); do
		grep -q '^BOOTSTRAP ' "$WORK/fixed.out" 2>/dev/null && return 0
		kill -0 "$FIXED_PID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$FIXED_PID" 2>/dev/null
	FIXED_PID=
	return 1
}

stop_fixed()	# stop the --port broker
{
	kill "$FIXED_PID" 2>/dev/null
	wait "$FIXED_PID" 2>/dev/null
	FIXED_PID=
}

# a free pair of ports: try a few at random (another program may hold one)
PORT=
for i in 1 2 3 4 5 6 7 8; do
	p=$((20000 + RANDOM % 20000))
	if start_fixed "$p" --brokers 2 --control "$WORK/fixed.ctl" tp:2; then
		PORT=$p
		break
	fi
done
[ -n "$PORT" ] || bail "sv_broker --port starts (last: $(cat "$WORK/fixed.err"))"
ok "sv_broker --port $PORT --brokers 2 starts"
check "--port: BOOTSTRAP lists the fixed ports" "$(head -n 1 "$WORK/fixed.out")" \
	"BOOTSTRAP 127.0.0.1:$PORT,127.0.0.1:$((PORT + 1))"
check "--port: kcat -b localhost:PORT -L sees both brokers at their fixed ports" \
	"$(timeout 30 "$KCAT" -b "localhost:$PORT" -L 2>&1 | grep -E '^ +broker ' | sed 's/^ *//' | sort)" \
	"$(printf 'broker 1 at 127.0.0.1:%d\nbroker 2 at 127.0.0.1:%d' "$PORT" $((PORT + 1)))"
printf '1|one\n2|two\n' |
	timeout 30 "$KCAT" -P -b "localhost:$PORT" -t tp -K '|' 2> "$WORK/kcat.err"
check "--port: kcat produces to localhost:PORT" "$?" 0
check "--port: kcat reads the keys and values back" \
	"$(timeout 30 "$KCAT" -C -b "localhost:$PORT" -t tp -o beginning -e -q -f '%k=%s\n' | sort | tr '\n' ' ')" \
	"1=one 2=two "

# a broker taken down and up listens on its fixed port again
echo "down 1" > "$WORK/fixed.ctl"
sleep 0.5
if timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
	not_ok "--port: broker 1 down refuses connections on $PORT"
else
	ok "--port: broker 1 down refuses connections on $PORT"
fi
echo "up 1" > "$WORK/fixed.ctl"
sleep 0.5
if timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
	ok "--port: broker 1 up listens on $PORT again"
else
	not_ok "--port: broker 1 up listens on $PORT again"
fi

# a port in use is a clear error, and nothing starts
"$WORK/sv_broker" --port "$PORT" t:1 < /dev/null > "$WORK/busy.out" 2> "$WORK/busy.err"
check "--port: a port in use makes sv_broker exit 1" "$?" 1
check "--port: ... saying which port and why" "$(cat "$WORK/busy.err")" \
	"sv_broker: could not listen on 127.0.0.1:$PORT: Address already in use"
check "--port: ... without printing BOOTSTRAP" "$(cat "$WORK/busy.out")" ""
"$WORK/sv_broker" --port 0 < /dev/null > /dev/null 2>&1
check "--port 0 is refused (exit 2)" "$?" 2
"$WORK/sv_broker" --port 65535 --brokers 2 < /dev/null > /dev/null 2>&1
check "--port 65535 --brokers 2 is refused (exit 2)" "$?" 2
stop_fixed

# the port is free again at once for a new broker
if start_fixed "$PORT" tp:1; then
	ok "--port: a new broker takes the port of one that just exited"
	stop_fixed
else
	not_ok "--port: a new broker takes the port of one that just exited" \
		"$(cat "$WORK/fixed.err")"
fi

# --- shutdown ----------------------------------------------------------------

kill -TERM "$BROKER_PID"
for i in $(seq 100); do
	kill -0 "$BROKER_PID" 2>/dev/null || break
	sleep 0.05
done
if kill -0 "$BROKER_PID" 2>/dev/null; then
	not_ok "broker exits on SIGTERM"
else
	wait "$BROKER_PID"
	check "broker exits 0 on SIGTERM" "$?" 0
	BROKER_PID=
fi

# --- sv_produce --marker: a COMMIT control record ---------------------------
# A broker of its own (the one above is gone); FIXED_PID has the cleanup
# trap stop it should anything fail on the way.

"$WORK/sv_broker" --bootstrap-file "$WORK/mk.bootstrap" mk:2 < /dev/null \
	> "$WORK/mk.out" 2> "$WORK/mk.err" &
FIXED_PID=$!
for i in $(seq 100); do
	[ -s "$WORK/mk.bootstrap" ] && break
	sleep 0.05
done
if [ -s "$WORK/mk.bootstrap" ]; then
	MK=$(cat "$WORK/mk.bootstrap")
	printf 'r1\nr2\nr3\n' | "$PRODUCE" --brokers "$MK" --topic mk --stdin \
		--partition 0 2> /dev/null
	check "--marker: 3 messages to partition 0 first" "$?" 0
	"$PRODUCE" --brokers "$MK" --topic mk --marker --partition 0 \
		> "$WORK/marker.out" 2> "$WORK/marker.err"
	rc=$?
	sed 's/^/# /' "$WORK/marker.err"
	check "sv_produce --marker --partition 0 exits 0" "$rc" 0
	check "--marker prints the marker's offset, 3" \
		"$(cat "$WORK/marker.out")" "marker at offset 3"
	check "--marker: kcat gets exactly the 3 messages, the marker skipped" \
		"$(timeout 60 "$KCAT" -C -b "$MK" -t mk -p 0 -o beginning -e -q \
			-f '%o %s\n' | tr '\n' ' ')" "0 r1 1 r2 2 r3 "
	check "--marker: the high watermark of partition 0 is 4" \
		"$(timeout 30 "$KCAT" -Q -b "$MK" -t mk:0:-1 2> /dev/null)" \
		"mk [0] offset 4"
	printf 'r4\n' | "$PRODUCE" --brokers "$MK" --topic mk --stdin \
		--partition 0 --out "$WORK/mk.tsv" 2> /dev/null
	check "--marker: the next message gets offset 4" \
		"$(cut -f2,4 "$WORK/mk.tsv")" "$(printf '4\tr4')"
	"$PRODUCE" --brokers "$MK" --topic mk --marker --partition 2 \
		> /dev/null 2> "$WORK/marker.err"
	check "--marker to a partition the topic lacks exits 1" "$?" 1
	check "--marker: ... saying why" "$(cat "$WORK/marker.err")" \
		"sv_produce: cannot find the leader of partition 2 of topic \"mk\": the topic has 2 partitions"
	"$PRODUCE" --brokers "$MK" --topic mk --marker --out "$WORK/mk.x" \
		> /dev/null 2>&1
	check "--marker with --out is refused (exit 2)" "$?" 2
else
	not_ok "--marker: a broker for the marker checks starts" \
		"$(cat "$WORK/mk.err")"
fi
stop_fixed

# --- sv_produce --rides --format, --pickup-timestamps, --header ------------
# The same 5 rides (--seed 11) as delimited, csv and json, with timestamps
# and headers, to a broker of its own (FIXED_PID again, for the cleanup
# trap).  kcat -J gives each payload as a JSON string that python3 decodes;
# formats.py parses the csv (csv module) and json values and checks them
# against the delimited ride of the same seed.

cat > "$WORK/formats.py" <<'EOF'
import calendar, csv, decimal, io, json, re, sys, time

def envelopes(path):		# kcat -J output: one JSON envelope a line
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]

def rides(path):			# the delimited values, split into fields
    return [e['payload'].split(', ') for e in envelopes(path)]

def csv_record(payload):	# the one record of a value, or None
    recs = list(csv.reader(io.StringIO(payload, newline='')))
    return recs[0] if len(recs) == 1 else None

def json_value(payload):
    return json.loads(payload, parse_float=decimal.Decimal)

def json_fields(o):			# the documented paths, as delimited writes them
    return [str(o['vendor_id']), o['trip']['pickup']['at'],
            o['trip']['dropoff'], str(o['passenger_count']),
            o['trip']['distance'], str(o['payment_type']),
            o['total_amount'], o['items'][0]['price']]

def expected_json(f):
    D = decimal.Decimal
    return f[:4] + [D(f[4]), f[5], D(f[6]), D(f[6])]

mode, args = sys.argv[1], sys.argv[2:]
if mode == 'delimited':		# FILE
    d = rides(args[0])
    print('%d values of %s fields' %
          (len(d), ','.join(sorted({str(len(f)) for f in d}))))
elif mode == 'csv':			# DELIMITED CSV
    good = 0
    for f, e in zip(rides(args[0]), envelopes(args[1])):
        r = csv_record(e['payload'])
        if r is not None and len(r) == 8 and r[:7] == f:
            good += 1
        else:
            print('bad record %r for %r;' % (e['payload'], f), end=' ')
    print('%d records of 8 fields, the first 7 equal to delimited' % good)
elif mode == 'json':		# DELIMITED JSON
    good = 0
    for f, e in zip(rides(args[0]), envelopes(args[1])):
        o = json_value(e['payload'])
        if json_fields(o) == expected_json(f):
            good += 1
        else:
            print('bad object %r for %r;' % (e['payload'], f), end=' ')
    print('%d objects, their 8 paths equal to delimited' % good)
elif mode == 'expect':		# DELIMITED: what kcat -f '%T %k %h\n' should show
    for e in envelopes(args[0]):
        f = e['payload'].split(', ')
        t = calendar.timegm(time.strptime(f[1], '%Y-%m-%d %H:%M:%S'))
        print('%d %s src=selftest,x=a=b,vendor=%s' % (t * 1000, e['key'], f[0]))
elif mode == 'cover-csv':	# CSV: which kinds of note and quoting occur
    recs = [(e['payload'], csv_record(e['payload'])) for e in envelopes(args[0])]
    ok = [(p, r) for p, r in recs if r is not None and len(r) == 8]
    kinds = [('NULL', lambda p, r: p.endswith(',')),
             ('empty', lambda p, r: p.endswith(',""')),
             ('LF', lambda p, r: '\n' in r[7].replace('\r\n', '')),
             ('CR LF', lambda p, r: '\r\n' in r[7]),
             ('quotes', lambda p, r: '"' in r[7]),
             ('commas', lambda p, r: ',' in r[7]),
             ('quoted numbers', lambda p, r: p.startswith('"')),
             ('bare numbers', lambda p, r: p[0].isdigit())]
    print('%d of %d records of 8 fields; %s' % (len(ok), len(recs), ', '.join(
        k for k, t in kinds if any(t(p, r) for p, r in ok))))
elif mode == 'cover-json':	# JSON: which variations occur
    vals = [(e['payload'], json_value(e['payload'])) for e in envelopes(args[0])]
    kinds = [('null notes', lambda p, o: o['note'] is None),
             ('\\u escapes', lambda p, o: '\\u' in p),
             ('surrogate pairs', lambda p, o: re.search(r'\\u[dD][89abAB]', p)),
             ('raw UTF-8', lambda p, o: any(ord(c) > 127 for c in p)),
             ('extra members', lambda p, o: len(o) > 7),
             ('line breaks', lambda p, o: '\n' in p)]
    firsts = {next(iter(o)) for p, o in vals} & {
        'vendor_id', 'trip', 'passenger_count', 'payment_type', 'items',
        'total_amount', 'note'}
    print('%d objects, %d of the 7 members come first; %s' % (
        len(vals), len(firsts), ', '.join(
            k for k, t in kinds if any(t(p, o) for p, o in vals))))
elif mode == 'notes':		# CSV JSON: the same note in both
    same = 0
    es = list(zip(envelopes(args[0]), envelopes(args[1])))
    for c, j in es:
        r = csv_record(c['payload'])
        if (None if c['payload'].endswith(',') else r[7]) == \
                json_value(j['payload'])['note']:
            same += 1
    print('%d of %d notes equal' % (same, len(es)))
elif mode == 'same':		# A B: the same payloads
    pa = [e['payload'] for e in envelopes(args[0])]
    pb = [e['payload'] for e in envelopes(args[1])]
    print('%d payloads, %s' % (len(pa), 'the same' if pa == pb else 'different'))
EOF

"$WORK/sv_broker" --bootstrap-file "$WORK/fm.bootstrap" f_delimited:1 \
	f_csv:1 f_json:1 f_stdin:1 c_csv:1 c_json:1 c_json2:1 < /dev/null \
	> "$WORK/fm.out" 2> "$WORK/fm.err" &
FIXED_PID=$!
for i in $(seq 100); do
	[ -s "$WORK/fm.bootstrap" ] && break
	sleep 0.05
done
if [ -s "$WORK/fm.bootstrap" ]; then
	FM=$(cat "$WORK/fm.bootstrap")
	FORMATS="python3 $WORK/formats.py"

	for f in delimited csv json; do
		"$PRODUCE" --brokers "$FM" --topic "f_$f" --rides 5 --seed 11 \
			--format "$f" --pickup-timestamps --header src=selftest \
			--header x=a=b --vendor-header vendor 2> "$WORK/f.err"
		check "--format $f: 5 rides with --pickup-timestamps, --header and --vendor-header exit 0" "$?" 0
		timeout 60 "$KCAT" -C -b "$FM" -t "f_$f" -o beginning -e -q -J \
			> "$WORK/f_$f.json"
		timeout 60 "$KCAT" -C -b "$FM" -t "f_$f" -o beginning -e -q \
			-f '%T %k %h\n' > "$WORK/f_$f.th"
	done
	check "--format delimited: kcat reads 5 values of 7 fields" \
		"$($FORMATS delimited "$WORK/f_delimited.json")" "5 values of 7 fields"
	check "--format csv: each value is one CSV record of the same ride, plus a note" \
		"$($FORMATS csv "$WORK/f_delimited.json" "$WORK/f_csv.json")" \
		"5 records of 8 fields, the first 7 equal to delimited"
	check "--format json: each value is a JSON object of the same ride at the documented paths" \
		"$($FORMATS json "$WORK/f_delimited.json" "$WORK/f_json.json")" \
		"5 objects, their 8 paths equal to delimited"
	expected=$($FORMATS expect "$WORK/f_delimited.json")
	echo "# kcat %T %k %h: $(head -n 1 "$WORK/f_delimited.th")"
	for f in delimited csv json; do
		check "--format $f: kcat's %T is the pickup time in ms, %h has the --header and --vendor-header headers" \
			"$(cat "$WORK/f_$f.th")" "$expected"
	done

	printf 'a\nb\n' | "$PRODUCE" --brokers "$FM" --topic f_stdin --stdin \
		--header src=stdin --header empty= 2> /dev/null
	check "--stdin --header: kcat's %h shows the headers on every message" \
		"$(timeout 60 "$KCAT" -C -b "$FM" -t f_stdin -o beginning -e -q \
			-f '%h %s\n' | tr '\n' ' ')" "src=stdin,empty= a src=stdin,empty= b "

	# more rides: every kind of note and variation shows up
	for t in c_csv:csv c_json:json c_json2:json; do
		"$PRODUCE" --brokers "$FM" --topic "${t%%:*}" --rides 300 --seed 11 \
			--format "${t#*:}" 2> /dev/null
		timeout 60 "$KCAT" -C -b "$FM" -t "${t%%:*}" -o beginning -e -q -J \
			> "$WORK/${t%%:*}.json"
	done
	check "--format csv, 300 rides: notes NULL, empty, with LF, CR LF, quotes, commas; numbers quoted or not" \
		"$($FORMATS cover-csv "$WORK/c_csv.json")" \
		"300 of 300 records of 8 fields; NULL, empty, LF, CR LF, quotes, commas, quoted numbers, bare numbers"
	check "--format json, 300 rides: member order, null notes, escapes, extra members, whitespace vary" \
		"$($FORMATS cover-json "$WORK/c_json.json")" \
		"300 objects, 7 of the 7 members come first; null notes, \\u escapes, surrogate pairs, raw UTF-8, extra members, line breaks"
	check "--format csv and json of one seed have the same notes" \
		"$($FORMATS notes "$WORK/c_csv.json" "$WORK/c_json.json")" \
		"300 of 300 notes equal"
	check "--format json: the same seed gives the same bytes" \
		"$($FORMATS same "$WORK/c_json.json" "$WORK/c_json2.json")" \
		"300 payloads, the same"

	"$PRODUCE" --brokers "$FM" --topic f_stdin --rides 1 --format xml \
		> /dev/null 2>&1
	check "--format xml is refused (exit 2)" "$?" 2
	"$PRODUCE" --brokers "$FM" --topic f_stdin --stdin --format csv \
		< /dev/null > /dev/null 2>&1
	check "--format with --stdin is refused (exit 2)" "$?" 2
else
	not_ok "--format: a broker for the format checks starts" \
		"$(cat "$WORK/fm.err")"
fi
stop_fixed

echo "1..$n"
if [ "$failed" -eq 0 ]; then
	echo "# all $n passed"
else
	echo "# $failed of $n failed"
	exit 1
fi

/*-------------------------------------------------------------------------
 *
 * sv_broker.c
 *		A Kafka-protocol broker for streamview's tests and demo, built on
 *		librdkafka's mock cluster.
 *
 * The mock cluster listens on 127.0.0.1 only and speaks the real wire
 * protocol, so kcat, librdkafka clients and the extension itself can use
 * it.  This program creates the cluster and the requested topics, prints
 * the bootstrap address, and then serves until SIGINT or SIGTERM (or a
 * "quit" command).  While it serves, it reads fault-injection commands one
 * per line from stdin and, with --control, from a FIFO:
 *
 *		down <broker_id>			take a broker down (connections are refused)
 *		up <broker_id>				bring it back
 *		rtt <broker_id> <ms>		set a broker's round-trip time
 *		create <topic> <parts>		create a topic (replication factor 1)
 *		topic_error <topic> <err>	error returned in metadata for a topic
 *									(name like UNKNOWN_TOPIC_OR_PART, or a
 *									code; 0 clears it)
 *		push_errors <apikey> <count> <err>
 *									the next <count> requests of that API
 *									(number or name, e.g. 0 or Produce) fail
 *		leader <topic> <part> <id>	move a partition's leadership (the mock
 *									never fails over by itself)
 *		quit						exit
 *
 * Each command is answered on stdout with "OK" or "ERR <why>".
 *
 * Mock limits seen with librdkafka 2.0.2: each partition keeps about 5 MB
 * (or 100,000 produce batches), older batches are dropped; a broker that is
 * down refuses connections but stays in metadata, and its partitions stay
 * leaderless-in-effect until it is up again (or "leader" moves them);
 * with several brokers, leaders are chosen at random at topic creation.
 * Mock calls issued in quick succession can stall for the mock thread's 1 s
 * poll timeout; the waker thread (see waker_main) works around it.
 *
 * Usage: sv_broker [--brokers N] [--port P] [--bootstrap-file PATH]
 *					[--control FIFO] [topic:partitions ...]
 *
 * Without --port, each broker listens on a port the kernel picks; with
 * --port P, broker 1 listens on 127.0.0.1:P, broker 2 on P + 1, and so on
 * (see take_fixed_port), so a fixed address such as localhost:9092 works.
 *
 * Build:
 *		gcc -std=gnu99 -O2 -Wall -Wextra -Werror -o sv_broker sv_broker.c \
 *			-lrdkafka -lpthread
 *		(with a C library older than glibc 2.34, add -ldl for dlsym)
 *
 * IDENTIFICATION
 *		test/broker/sv_broker.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* RTLD_NEXT */

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define LINE_MAX_LEN	4096
#define MAX_BROKERS		64
#define WAKER_TICK_MS	5		/* how often the waker looks, and how long a
								 * mock call may take before it is helped */
#define CALL_SPACING_MS	5		/* least time between two mock calls */

/* A line-oriented input: stdin or the control FIFO */
typedef struct LineSource
{
	int			fd;				/* -1 when closed */
	size_t		len;			/* bytes buffered in buf */
	bool		overflow;		/* current line too long, being skipped */
	char		buf[LINE_MAX_LEN];
} LineSource;

/* Kafka API keys that push_errors accepts by name */
typedef struct ApiKeyName
{
	const char *name;
	int16_t		key;
} ApiKeyName;

static const ApiKeyName api_key_names[] = {
	{"Produce", 0},
	{"Fetch", 1},
	{"ListOffsets", 2},
	{"Metadata", 3},
	{"OffsetCommit", 8},
	{"OffsetFetch", 9},
	{"FindCoordinator", 10},
	{"JoinGroup", 11},
	{"Heartbeat", 12},
	{"LeaveGroup", 13},
	{"SyncGroup", 14},
	{"DescribeGroups", 15},
	{"ListGroups", 16},
	{"SaslHandshake", 17},
	{"ApiVersions", 18},
	{"CreateTopics", 19},
	{"DeleteTopics", 20},
	{"DeleteRecords", 21},
	{"InitProducerId", 22},
	{"OffsetForLeaderEpoch", 23},
	{"AddPartitionsToTxn", 24},
	{"AddOffsetsToTxn", 25},
	{"EndTxn", 26},
	{"TxnOffsetCommit", 28},
	{"DescribeConfigs", 32},
	{"AlterConfigs", 33},
	{"CreatePartitions", 37},
	{"DeleteGroups", 42},
	{NULL, 0}
};

static volatile sig_atomic_t stop_requested = 0;
static rd_kafka_mock_cluster_t *mcluster = NULL;
static bool quit_requested = false;

/*
 * State shared with the waker thread (see waker_main), under call_lock.
 */
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;
static bool call_active = false;	/* a mock API call is in progress */
static struct timespec call_start;	/* when it began */
static struct timespec call_finish;	/* when the last one ended (main
									 * thread only) */
static bool waker_stop = false;
static int	broker_ports[MAX_BROKERS];	/* listener ports of the brokers */
static int	nbroker_ports = 0;

/*
 * With --port: listener sockets bound to the fixed ports before the mock
 * cluster exists, handed to its brokers in order (see bind below).
 */
static int	fixed_fds[MAX_BROKERS];
static int	nfixed_fds = 0;		/* how many were bound */
static int	next_fixed_fd = 0;	/* the next one to hand out */

/*
 * Signal handler for SIGINT and SIGTERM: ask the main loop to stop.
 */
static void
handle_stop_signal(int signo)
{
	(void) signo;
	stop_requested = 1;
}

/*
 * Milliseconds elapsed since *t (CLOCK_MONOTONIC).
 */
static long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long) (now.tv_sec - t->tv_sec) * 1000 +
		(now.tv_nsec - t->tv_nsec) / 1000000;
}

/*
 * Mark the start of a mock API call, for the waker.
 *
 * A call that follows the previous one closely is the one that risks
 * losing its wake-up (see waker_main), and the waker cannot help when
 * every broker is down; so first let the mock thread settle a moment.
 */
static void
call_begin(void)
{
	long		since = ms_since(&call_finish);

	if (since >= 0 && since < CALL_SPACING_MS)
	{
		struct timespec pause = {0, (CALL_SPACING_MS - since) * 1000000L};

		nanosleep(&pause, NULL);
	}

	pthread_mutex_lock(&call_lock);
	call_active = true;
	clock_gettime(CLOCK_MONOTONIC, &call_start);
	pthread_mutex_unlock(&call_lock);
}

/*
 * Mark the end of a mock API call.
 */
static void
call_end(void)
{
	pthread_mutex_lock(&call_lock);
	call_active = false;
	pthread_mutex_unlock(&call_lock);
	clock_gettime(CLOCK_MONOTONIC, &call_finish);
}

/*
 * Wake the mock cluster's thread by connecting to a broker's listener (and
 * closing the connection at once): the listener becomes readable, the
 * thread leaves poll() and serves its op queue first.  A broker that is
 * down has no listener, so try each in turn.
 */
static void
poke_mock_thread(void)
{
	int			i;

	for (i = 0; i < nbroker_ports; i++)
	{
		struct sockaddr_in sin;
		int			fd;
		int			rc;

		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t) broker_ports[i]);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		rc = connect(fd, (struct sockaddr *) &sin, sizeof(sin));
		close(fd);
		if (rc == 0 || errno == EINPROGRESS)
			return;
	}
}

/*
 * The waker thread.
 *
 * Each mock API call is an op queued to the mock cluster's thread, which
 * serves its op queue and only then drains its wake-up socket.  In
 * librdkafka 2.0.2 an op queued between those two steps (typically our next
 * command, sent right after the previous reply) loses its wake-up and waits
 * for the thread's 1 s poll timeout.  This thread notices calls that take
 * longer than a few milliseconds and wakes the mock thread.
 */
static void *
waker_main(void *arg)
{
	(void) arg;

	for (;;)
	{
		struct timespec tick = {0, WAKER_TICK_MS * 1000000L};
		bool		stuck;

		nanosleep(&tick, NULL);

		pthread_mutex_lock(&call_lock);
		if (waker_stop)
		{
			pthread_mutex_unlock(&call_lock);
			break;
		}
		stuck = call_active && ms_since(&call_start) >= WAKER_TICK_MS;
		pthread_mutex_unlock(&call_lock);

		if (stuck)
			poke_mock_thread();
	}
	return NULL;
}

/*
 * Bind a listener socket to 127.0.0.1:port for a mock broker (--port).
 * Returns the socket, or -1 with a message when the port cannot be had
 * (typically because another process listens on it).
 *
 * The mock sets SO_REUSEADDR on its own listeners, so that a broker taken
 * down and up again gets its port back; so do we, which also lets a new
 * sv_broker take the port of one that just exited.
 */
static int
take_fixed_port(int port)
{
	struct sockaddr_in sin;
	int			fd;
	int			on = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
	{
		fprintf(stderr, "sv_broker: could not create a socket: %s\n",
				strerror(errno));
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t) port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
		bind(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0)
	{
		fprintf(stderr, "sv_broker: could not listen on 127.0.0.1:%d: %s\n",
				port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Close the fixed-port sockets that no mock broker took.
 */
static void
release_fixed_ports(void)
{
	while (next_fixed_fd < nfixed_fds)
		close(fixed_fds[next_fixed_fd++]);
}

/*
 * bind(2), as librdkafka sees it.
 *
 * librdkafka 2.0.2's mock cluster binds every broker's listener to
 * 127.0.0.1 port 0 (a port the kernel picks) and has no setting for the
 * port.  Symbols of the executable come before the C library's when
 * librdkafka's calls are resolved, so this function receives those calls.
 * While sockets bound by take_fixed_port are waiting, a bind to port 0 on
 * IPv4 gets the next of them instead: it replaces the mock's socket (same
 * descriptor number, same file status flags).  The mock then reads the
 * port back with getsockname(), advertises it in metadata, and binds to it
 * again when the broker is taken down and up.  Every other call goes to
 * the C library's bind.
 */
int
bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen)
{
	static int	(*libc_bind) (int, const struct sockaddr *, socklen_t) = NULL;

	if (next_fixed_fd < nfixed_fds && addr != NULL &&
		addrlen >= sizeof(struct sockaddr_in) && addr->sa_family == AF_INET &&
		((const struct sockaddr_in *) addr)->sin_port == 0)
	{
		int			fd = fixed_fds[next_fixed_fd];
		int			flags = fcntl(sockfd, F_GETFL);

		if (flags < 0 || fcntl(fd, F_SETFL, flags) != 0 ||
			dup3(fd, sockfd, O_CLOEXEC) < 0)
			return -1;
		close(fd);
		next_fixed_fd++;
		return 0;
	}

	if (libc_bind == NULL)
	{
		*(void **) (&libc_bind) = dlsym(RTLD_NEXT, "bind");
		if (libc_bind == NULL)
		{
			errno = ENOSYS;
			return -1;
		}
	}
	return libc_bind(sockfd, addr, addrlen);
}

/*
 * Remember the listener ports from the bootstrap list ("127.0.0.1:p,...").
 */
static void
parse_broker_ports(const char *bootstraps)
{
	const char *p = bootstraps;

	nbroker_ports = 0;
	while (*p != '\0' && nbroker_ports < MAX_BROKERS)
	{
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *colon = NULL;
		const char *q;

		for (q = p; q < end; q++)
			if (*q == ':')
				colon = q;
		if (colon != NULL)
			broker_ports[nbroker_ports++] = atoi(colon + 1);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

/*
 * Print usage and exit with the given status.
 */
static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
			"Usage: sv_broker [--brokers N] [--port P] [--bootstrap-file PATH]\n"
			"                 [--control FIFO] [topic:partitions ...]\n"
			"  --port P: broker 1 listens on 127.0.0.1:P, broker 2 on P + 1, ...\n"
			"            (default: ports the kernel picks)\n"
			"Commands (stdin or FIFO): down ID | up ID | rtt ID MS | "
			"create TOPIC PARTS |\n"
			"  topic_error TOPIC ERR | push_errors APIKEY COUNT ERR |\n"
			"  leader TOPIC PARTITION ID | quit\n");
	exit(status);
}

/*
 * Parse a decimal integer within [min, max].  Returns false on junk.
 */
static bool
parse_int(const char *s, long min, long max, long *result)
{
	char	   *end;
	long		v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*result = v;
	return true;
}

/*
 * Translate an error name (UNKNOWN_TOPIC_OR_PART, with or without the
 * RD_KAFKA_RESP_ERR_ prefix, any case) or a numeric code to an error code.
 */
static bool
parse_error_code(const char *s, rd_kafka_resp_err_t *err)
{
	const struct rd_kafka_err_desc *descs;
	size_t		cnt;
	size_t		i;
	long		v;

	if (parse_int(s, INT_MIN, INT_MAX, &v))
	{
		*err = (rd_kafka_resp_err_t) v;
		return true;
	}

	if (strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0)
		s += 18;

	rd_kafka_get_err_descs(&descs, &cnt);
	for (i = 0; i < cnt; i++)
	{
		if (descs[i].name != NULL && strcasecmp(descs[i].name, s) == 0)
		{
			*err = descs[i].code;
			return true;
		}
	}
	return false;
}

/*
 * Translate an API key given as number or name (e.g. "Produce").
 */
static bool
parse_api_key(const char *s, int16_t *key)
{
	const ApiKeyName *a;
	long		v;

	if (parse_int(s, 0, INT16_MAX, &v))
	{
		*key = (int16_t) v;
		return true;
	}
	for (a = api_key_names; a->name != NULL; a++)
	{
		if (strcasecmp(a->name, s) == 0)
		{
			*key = a->key;
			return true;
		}
	}
	return false;
}

/*
 * Write one reply line to stdout and flush it.
 */
static void reply(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static void
reply(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/*
 * Reply OK, or ERR with librdkafka's error name.
 */
static void
reply_err(rd_kafka_resp_err_t err)
{
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		reply("OK");
	else
		reply("ERR %s", rd_kafka_err2name(err));
}

/*
 * Create a topic in the mock cluster.  Returns the librdkafka error.
 */
static rd_kafka_resp_err_t
create_topic(const char *name, int partitions)
{
	return rd_kafka_mock_topic_create(mcluster, name, partitions, 1);
}

/*
 * Execute one command line and write its reply (see run_command).
 */
static void
run_command_internal(char *line)
{
	char	   *argv[8];
	int			argc = 0;
	char	   *save = NULL;
	char	   *tok;
	long		id;
	long		n;
	rd_kafka_resp_err_t err;

	for (tok = strtok_r(line, " \t\r", &save);
		 tok != NULL && argc < 8;
		 tok = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = tok;

	if (argc == 0)
		return;					/* blank line: no reply */

	if (strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0)
	{
		if (argc != 2 || !parse_int(argv[1], 0, INT32_MAX, &id))
		{
			reply("ERR usage: %s <broker_id>", argv[0]);
			return;
		}
		if (argv[0][0] == 'd')
			err = rd_kafka_mock_broker_set_down(mcluster, (int32_t) id);
		else
			err = rd_kafka_mock_broker_set_up(mcluster, (int32_t) id);
		reply_err(err);
	}
	else if (strcmp(argv[0], "rtt") == 0)
	{
		if (argc != 3 || !parse_int(argv[1], 0, INT32_MAX, &id) ||
			!parse_int(argv[2], 0, INT_MAX, &n))
		{
			reply("ERR usage: rtt <broker_id> <ms>");
			return;
		}
		reply_err(rd_kafka_mock_broker_set_rtt(mcluster, (int32_t) id,
											   (int) n));
	}
	else if (strcmp(argv[0], "create") == 0)
	{
		if (argc != 3 || !parse_int(argv[2], 1, 100000, &n))
		{
			reply("ERR usage: create <topic> <partitions>");
			return;
		}
		reply_err(create_topic(argv[1], (int) n));
	}
	else if (strcmp(argv[0], "topic_error") == 0)
	{
		if (argc != 3)
		{
			reply("ERR usage: topic_error <topic> <errname|code>");
			return;
		}
		if (!parse_error_code(argv[2], &err))
		{
			reply("ERR unknown error \"%s\"", argv[2]);
			return;
		}
		rd_kafka_mock_topic_set_error(mcluster, argv[1], err);
		reply("OK");
	}
	else if (strcmp(argv[0], "push_errors") == 0)
	{
		int16_t		apikey;
		rd_kafka_resp_err_t *errs;
		long		i;

		if (argc != 4 || !parse_int(argv[2], 1, 1000000, &n))
		{
			reply("ERR usage: push_errors <apikey> <count> <errname|code>");
			return;
		}
		if (!parse_api_key(argv[1], &apikey))
		{
			reply("ERR unknown API key \"%s\"", argv[1]);
			return;
		}
		if (!parse_error_code(argv[3], &err))
		{
			reply("ERR unknown error \"%s\"", argv[3]);
			return;
		}
		errs = malloc(sizeof(*errs) * (size_t) n);
		if (errs == NULL)
		{
			reply("ERR out of memory");
			return;
		}
		for (i = 0; i < n; i++)
			errs[i] = err;
		rd_kafka_mock_push_request_errors_array(mcluster, apikey, (size_t) n,
												errs);
		free(errs);
		reply("OK");
	}
	else if (strcmp(argv[0], "leader") == 0)
	{
		long		part;

		if (argc != 4 || !parse_int(argv[2], 0, INT32_MAX, &part) ||
			!parse_int(argv[3], -1, INT32_MAX, &id))
		{
			reply("ERR usage: leader <topic> <partition> <broker_id>");
			return;
		}
		reply_err(rd_kafka_mock_partition_set_leader(mcluster, argv[1],
													 (int32_t) part,
													 (int32_t) id));
	}
	else if (strcmp(argv[0], "quit") == 0)
	{
		quit_requested = true;
		reply("OK");
	}
	else
		reply("ERR unknown command \"%s\"", argv[0]);
}

/*
 * Execute one command line, with the waker watching the mock calls.
 */
static void
run_command(char *line)
{
	call_begin();
	run_command_internal(line);
	call_end();
}

/*
 * Read what is available from a line source and run each complete line.
 * Returns false when the writer side reached EOF or the read failed.
 */
static bool
source_read(LineSource *src)
{
	ssize_t		r;
	char	   *nl;

	r = read(src->fd, src->buf + src->len, sizeof(src->buf) - src->len - 1);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (r <= 0)
	{
		/* EOF: run a last unterminated line, if any */
		if (src->len > 0 && !src->overflow)
		{
			src->buf[src->len] = '\0';
			run_command(src->buf);
		}
		src->len = 0;
		src->overflow = false;
		return false;
	}
	src->len += (size_t) r;

	while (!quit_requested &&
		   (nl = memchr(src->buf, '\n', src->len)) != NULL)
	{
		size_t		linelen = (size_t) (nl - src->buf);

		*nl = '\0';
		if (src->overflow)
			src->overflow = false;
		else
			run_command(src->buf);
		memmove(src->buf, nl + 1, src->len - linelen - 1);
		src->len -= linelen + 1;
	}

	/* A line that does not fit: reject it and skip to its end */
	if (src->len == sizeof(src->buf) - 1)
	{
		if (!src->overflow)
			reply("ERR line too long");
		src->overflow = true;
		src->len = 0;
	}
	return true;
}

/*
 * Open the control FIFO for reading without blocking for a writer.
 */
static int
open_fifo(const char *path)
{
	int			fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "sv_broker: could not open \"%s\": %s\n",
				path, strerror(errno));
	return fd;
}

/*
 * Write the bootstrap address to path atomically (temporary file, rename).
 */
static bool
write_bootstrap_file(const char *path, const char *bootstraps)
{
	char		tmp[PATH_MAX];
	FILE	   *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int) getpid()) >=
		(int) sizeof(tmp))
	{
		fprintf(stderr, "sv_broker: path too long: %s\n", path);
		return false;
	}
	f = fopen(tmp, "w");
	if (f == NULL)
	{
		fprintf(stderr, "sv_broker: could not create \"%s\": %s\n",
				tmp, strerror(errno));
		return false;
	}
	fprintf(f, "%s\n", bootstraps);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
	{
		fprintf(stderr, "sv_broker: could not write \"%s\": %s\n",
				tmp, strerror(errno));
		unlink(tmp);
		return false;
	}
	if (rename(tmp, path) != 0)
	{
		fprintf(stderr, "sv_broker: could not rename \"%s\": %s\n",
				tmp, strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

/*
 * Check that the brokers listen on port, port + 1, ... (--port): they do
 * unless this program's bind() was bypassed (see bind above).
 */
static bool
check_fixed_ports(int port)
{
	int			i;

	for (i = 0; i < nbroker_ports; i++)
	{
		if (broker_ports[i] != port + i)
		{
			fprintf(stderr, "sv_broker: the mock cluster did not take the "
					"requested ports (it listens on %s)\n",
					rd_kafka_mock_cluster_bootstraps(mcluster));
			return false;
		}
	}
	return true;
}

/*
 * Create the handle that hosts the mock cluster, the cluster itself, and
 * the waker thread.  With port > 0 (--port), the brokers listen on port,
 * port + 1, ...; a port that cannot be had is reported and nothing starts.
 *
 * SIGINT and SIGTERM are blocked meanwhile, so that the new threads
 * (librdkafka's and the waker) inherit a mask that leaves those signals to
 * the main thread, whose poll() they then interrupt.
 */
static rd_kafka_t *
create_cluster(int nbrokers, int port, pthread_t *waker)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	int			rc;
	char		errstr[512];
	sigset_t	block;
	sigset_t	old;

	if (port > 0)
	{
		for (nfixed_fds = 0; nfixed_fds < nbrokers; nfixed_fds++)
		{
			fixed_fds[nfixed_fds] = take_fixed_port(port + nfixed_fds);
			if (fixed_fds[nfixed_fds] < 0)
			{
				release_fixed_ports();
				rd_kafka_conf_destroy(conf);
				return NULL;
			}
		}
	}

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	/* The host handle has no brokers of its own: keep it quiet */
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));

	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
	{
		fprintf(stderr, "sv_broker: rd_kafka_new failed: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
	}
	else
	{
		mcluster = rd_kafka_mock_cluster_new(rk, nbrokers);
		release_fixed_ports();
		if (mcluster == NULL)
		{
			fprintf(stderr, "sv_broker: could not create mock cluster\n");
			rd_kafka_destroy(rk);
			rk = NULL;
		}
		else
		{
			parse_broker_ports(rd_kafka_mock_cluster_bootstraps(mcluster));
			if (port > 0 && !check_fixed_ports(port))
				rc = -1;
			else if ((rc = pthread_create(waker, NULL, waker_main,
										  NULL)) != 0)
				fprintf(stderr, "sv_broker: could not start thread: %s\n",
						strerror(rc));
			if (rc != 0)
			{
				rd_kafka_mock_cluster_destroy(mcluster);
				rd_kafka_destroy(rk);
				rk = NULL;
			}
		}
	}

	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rk;
}

int
main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"port", required_argument, NULL, 'p'},
		{"bootstrap-file", required_argument, NULL, 'f'},
		{"control", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	long		nbrokers = 1;
	long		port = 0;
	const char *bootstrap_file = NULL;
	const char *control_path = NULL;
	rd_kafka_t *rk;
	pthread_t	waker;
	const char *bootstraps;
	struct sigaction sa;
	LineSource	in;
	LineSource	ctl;
	int			c;
	int			i;
	int			status = 0;

	while ((c = getopt_long(argc, argv, "b:p:f:c:h", long_opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'b':
				if (!parse_int(optarg, 1, 64, &nbrokers))
				{
					fprintf(stderr, "sv_broker: bad --brokers \"%s\"\n",
							optarg);
					usage(2);
				}
				break;
			case 'p':
				if (!parse_int(optarg, 1, 65535, &port))
				{
					fprintf(stderr, "sv_broker: bad --port \"%s\" "
							"(want 1-65535)\n", optarg);
					usage(2);
				}
				break;
			case 'f':
				bootstrap_file = optarg;
				break;
			case 'c':
				control_path = optarg;
				break;
			case 'h':
				usage(0);
				break;
			default:
				usage(2);
		}
	}

	if (port > 0 && port + nbrokers - 1 > 65535)
	{
		fprintf(stderr, "sv_broker: --port %ld leaves no room for %ld "
				"brokers (ports %ld-%ld)\n", port, nbrokers, port,
				port + nbrokers - 1);
		usage(2);
	}

	/* Validate topic arguments before starting anything */
	for (i = optind; i < argc; i++)
	{
		char	   *colon = strrchr(argv[i], ':');
		long		parts;

		if (colon == NULL || colon == argv[i] ||
			!parse_int(colon + 1, 1, 100000, &parts))
		{
			fprintf(stderr, "sv_broker: bad topic spec \"%s\" "
					"(want name:partitions)\n", argv[i]);
			usage(2);
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;			/* no SA_RESTART: poll() must see EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (control_path != NULL)
	{
		struct stat st;

		if (mkfifo(control_path, 0600) != 0 && errno != EEXIST)
		{
			fprintf(stderr, "sv_broker: could not create FIFO \"%s\": %s\n",
					control_path, strerror(errno));
			return 1;
		}
		if (stat(control_path, &st) != 0 || !S_ISFIFO(st.st_mode))
		{
			fprintf(stderr, "sv_broker: \"%s\" is not a FIFO\n",
					control_path);
			return 1;
		}
	}

	rk = create_cluster((int) nbrokers, (int) port, &waker);
	if (rk == NULL)
		return 1;

	for (i = optind; i < argc; i++)
	{
		char	   *colon = strrchr(argv[i], ':');
		char	   *name = strndup(argv[i], (size_t) (colon - argv[i]));
		long		parts = 0;
		rd_kafka_resp_err_t err;

		parse_int(colon + 1, 1, 100000, &parts);
		call_begin();
		err = create_topic(name, (int) parts);
		call_end();
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			fprintf(stderr, "sv_broker: could not create topic \"%s\": %s\n",
					name, rd_kafka_err2str(err));
			free(name);
			status = 1;
			goto done;
		}
		free(name);
	}

	bootstraps = rd_kafka_mock_cluster_bootstraps(mcluster);
	printf("BOOTSTRAP %s\n", bootstraps);
	fflush(stdout);
	if (bootstrap_file != NULL &&
		!write_bootstrap_file(bootstrap_file, bootstraps))
	{
		status = 1;
		goto done;
	}

	memset(&in, 0, sizeof(in));
	in.fd = STDIN_FILENO;
	memset(&ctl, 0, sizeof(ctl));
	ctl.fd = -1;
	if (control_path != NULL && (ctl.fd = open_fifo(control_path)) < 0)
	{
		status = 1;
		goto done;
	}

	while (!stop_requested && !quit_requested)
	{
		struct pollfd pfd[2];
		int			rc;

		pfd[0].fd = in.fd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = ctl.fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;

		rc = poll(pfd, 2, 1000);
		if (rc < 0)
		{
			if (errno == EINTR)
				continue;
			fprintf(stderr, "sv_broker: poll failed: %s\n", strerror(errno));
			status = 1;
			break;
		}
		if (rc == 0)
			continue;

		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
		{
			/* On EOF stop reading stdin but keep serving */
			if (!source_read(&in))
				in.fd = -1;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
		{
			if (!source_read(&ctl))
			{
				/*
				 * The writer closed.  Open a new descriptor before closing
				 * the old one, so that the pipe (and anything a next writer
				 * already put in it) survives the switch.
				 */
				int			newfd = open_fifo(control_path);

				close(ctl.fd);
				ctl.fd = newfd;
				if (newfd < 0)
				{
					status = 1;
					break;
				}
			}
		}
	}

	if (ctl.fd >= 0)
		close(ctl.fd);

done:
	call_begin();
	rd_kafka_mock_cluster_destroy(mcluster);
	call_end();

	pthread_mutex_lock(&call_lock);
	waker_stop = true;
	pthread_mutex_unlock(&call_lock);
	pthread_join(waker, NULL);

	rd_kafka_destroy(rk);
	return status;
}

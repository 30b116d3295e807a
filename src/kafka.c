/*
 * kafka.c - librdkafka: checking options, the consumer handle, batch fetch
 *
 * Options are librdkafka properties passed through from the stream's
 * `options`. Some act the moment they are set (plugin.library.paths loads a
 * shared library), so every key is judged before anything is handed to
 * librdkafka: keys streamview owns are refused, keys that load code, run
 * commands or name server files are for superusers only.
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "kafka.h"

/* Keys streamview sets itself; a user setting them would break exactly-once. */
static const char *const sv_owned_keys[] = {
	"bootstrap.servers", "metadata.broker.list", "enable.auto.commit",
	"enable.auto.offset.store", "auto.offset.reset", "group.id",
	"enable.partition.eof", "log.queue", "group.instance.id", NULL
};

/* Keys that load code, run commands or name files on the server. */
static const char *const sv_superuser_keys[] = {
	"plugin.library.paths", "sasl.kerberos.kinit.cmd", "sasl.kerberos.keytab",
	"ssl.ca.certificate.stores", NULL
};

/* Keys whose values are secrets: never shown to roles that are not superusers. */
static const char *const sv_secret_keys[] = {
	"sasl.password", "ssl.key.password", "ssl.keystore.password",
	"sasl.oauthbearer.client.secret", "ssl.key.pem", "ssl_key",
	"sasl.oauthbearer.config", NULL
};

/* Whether key is one of a NULL-terminated list. */
static bool
sv_key_in(const char *key, const char *const *list)
{
	for (int i = 0; list[i] != NULL; i++)
	{
		if (strcmp(key, list[i]) == 0)
			return true;
	}
	return false;
}

/* Whether a key ends with the given suffix. */
static bool
sv_key_ends_with(const char *key, const char *suffix)
{
	size_t		klen = strlen(key);
	size_t		slen = strlen(suffix);

	return klen >= slen && strcmp(key + klen - slen, suffix) == 0;
}

/*
 * Returns the key itself when its value must be hidden from roles that are
 * not superusers (passwords, secrets, private keys), else NULL.
 */
char *
sv_kafka_is_secret_option(const char *key)
{
	if (sv_key_in(key, sv_secret_keys) || sv_key_ends_with(key, ".password") ||
		sv_key_ends_with(key, ".secret"))
		return (char *) key;
	return NULL;
}

/* Refuses a key the current role may not set, before librdkafka sees it. */
static void
sv_kafka_check_key(const char *key)
{
	if (sv_key_in(key, sv_owned_keys))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" is set by streamview and cannot be changed",
						key),
				 strcmp(key, "bootstrap.servers") == 0 ||
				 strcmp(key, "metadata.broker.list") == 0 ?
				 errhint("Use the brokers argument.") :
				 errhint("streamview keeps consumed offsets in streamview.offsets for exactly-once counting.")));
	if ((sv_key_in(key, sv_superuser_keys) ||
		 sv_key_ends_with(key, ".location") ||
		 strncmp(key, "ssl.engine.", 11) == 0) && !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may set option \"%s\"", key),
				 errdetail("This option loads code, runs a command or names a file on the database server.")));
}

/*
 * Returns an option's value as text: strings as they are, numbers and
 * booleans in their JSON form. Objects, arrays and null are refused.
 */
static char *
sv_kafka_option_value(const char *key, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" must be a string, number or boolean", key)));
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * Calls fn(key, value, arg) for every option of a jsonb object, after
 * refusing keys the current role may not set.
 */
static void
sv_kafka_foreach_option(Jsonb *options,
						void (*fn) (const char *key, const char *value, void *arg),
						void *arg)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object"),
				 errhint("For example '{\"security.protocol\": \"ssl\"}'.")));
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			sv_kafka_check_key(key);
		}
		else if (tok == WJB_VALUE)
			fn(key, sv_kafka_option_value(key, &v), arg);
	}
}

/* Hands one option to librdkafka during validation; errors name the key. */
static void
sv_kafka_check_one(const char *key, const char *value, void *arg)
{
	rd_kafka_conf_t *conf = arg;
	char		errstr[512];

	/* Loading a plugin is a side effect; validation must not have one. */
	if (strcmp(key, "plugin.library.paths") == 0)
		return;
	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
	{
		rd_kafka_conf_destroy(conf);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid Kafka option \"%s\"", key),
				 errdetail("librdkafka says: %s", errstr),
				 errhint("options are librdkafka configuration properties, see its CONFIGURATION.md.")));
	}
}

/*
 * Checks a stream's options as librdkafka would take them, without creating
 * a handle (no thread, no connection).
 */
void
sv_kafka_check_options(Jsonb *options)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	sv_kafka_foreach_option(options, sv_kafka_check_one, conf);
	rd_kafka_conf_destroy(conf);
}

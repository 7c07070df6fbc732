/*
 * notify_cfg.c — notify-keyspace-events: Redis 7.0.15's flag string
 * (keyspaceEventsStringToFlags / keyspaceEventsFlagsToString) and the flag
 * word every command reads (notify.h). Apart from notify.c so that the
 * config table links without the event machinery (tests/unit/server).
 */
#include "server/notify.h"
#include "server/config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* notify.h explains the flag word's ordering. */
_Atomic int ntf_flags_g;

int ntf_parse(const char *s, size_t len)
{
	int f = 0;

	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case 'A':
			f |= NTF_ALL;
			break;
		case 'g':
			f |= NTF_GENERIC;
			break;
		case '$':
			f |= NTF_STRING;
			break;
		case 'l':
			f |= NTF_LIST;
			break;
		case 's':
			f |= NTF_SET;
			break;
		case 'h':
			f |= NTF_HASH;
			break;
		case 'z':
			f |= NTF_ZSET;
			break;
		case 'x':
			f |= NTF_EXPIRED;
			break;
		case 'e':
			f |= NTF_EVICTED;
			break;
		case 'K':
			f |= NTF_KEYSPACE;
			break;
		case 'E':
			f |= NTF_KEYEVENT;
			break;
		case 't':
			f |= NTF_STREAM;
			break;
		case 'm':
			f |= NTF_KEY_MISS;
			break;
		case 'd':
			f |= NTF_MODULE;
			break;
		case 'n':
			f |= NTF_NEW;
			break;
		default:
			return -1;
		}
	}
	return f;
}

size_t ntf_format(int f, char *out)
{
	size_t n = 0;

	if ((f & NTF_ALL) == NTF_ALL) {
		out[n++] = 'A';
	} else {
		static const struct {
			int bit;
			char c;
		} order[] = {{NTF_GENERIC, 'g'}, {NTF_STRING, '$'},  {NTF_LIST, 'l'},
			     {NTF_SET, 's'},	 {NTF_HASH, 'h'},    {NTF_ZSET, 'z'},
			     {NTF_EXPIRED, 'x'}, {NTF_EVICTED, 'e'}, {NTF_STREAM, 't'},
			     {NTF_MODULE, 'd'},	 {NTF_NEW, 'n'}};

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
			if (f & order[i].bit)
				out[n++] = order[i].c;
	}
	if (f & NTF_KEYSPACE)
		out[n++] = 'K';
	if (f & NTF_KEYEVENT)
		out[n++] = 'E';
	if (f & NTF_KEY_MISS)
		out[n++] = 'm';
	out[n] = '\0';
	return n;
}

/*
 * The flags of the value last parsed (ntf_config_parse). Redis prints "A"
 * without the "n" it holds ("KEAn" reads back as "AKE"), so the stored
 * canonical string alone loses n; the apply that follows a parse takes the
 * parsed flags when the string is theirs. Written and read by the thread
 * doing CONFIG SET or loading the file (serialised by config.c); atomic
 * only so that no lock is assumed. Relaxed: publishes nothing.
 */
static _Atomic int parsed_g = -1;

size_t ntf_config_parse(const char *s, size_t len, char *out)
{
	int f = ntf_parse(s, len);

	if (f < 0)
		return (size_t)-1;
	atomic_store_explicit(&parsed_g, f, memory_order_relaxed);
	return ntf_format(f, out);
}

int ntf_apply(char *why, size_t whylen)
{
	char *s = cfg_str_dup(CFG_NOTIFY_KEYSPACE_EVENTS);
	int f = s ? ntf_parse(s, strlen(s)) : 0;
	int p = atomic_load_explicit(&parsed_g, memory_order_relaxed);

	free(s);
	if (f < 0) {
		snprintf(why, whylen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
		return -1;
	}
	if (p >= 0 && (p & ~NTF_NEW) == f)
		f = p; /* the value just parsed, with its n */
	/* relaxed: see ntf_flags_g */
	atomic_store_explicit(&ntf_flags_g, f, memory_order_relaxed);
	return 0;
}

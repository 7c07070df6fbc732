/*
 * hr_show.h — printable forms of hiredis replies for failure messages, shared by
 * the Criterion tests (hr_test.h) and the plain stress programs (the torture
 * client), which cannot include Criterion (it aborts under TSan).
 */
#ifndef KVSD_HR_SHOW_H
#define KVSD_HR_SHOW_H

#include <stdio.h>

#include <hiredis/hiredis.h>

static inline const char *hr_type_name(int type)
{
	switch (type) {
	case REDIS_REPLY_STRING:
		return "bulk";
	case REDIS_REPLY_ARRAY:
		return "array";
	case REDIS_REPLY_INTEGER:
		return "integer";
	case REDIS_REPLY_NIL:
		return "nil";
	case REDIS_REPLY_STATUS:
		return "status";
	case REDIS_REPLY_ERROR:
		return "error";
	default:
		return "?";
	}
}

/* A printable form of a reply for failure messages (first 200 bytes of strings). */
static inline const char *hr_show(const redisReply *r)
{
	static __thread char buf[300];

	switch (r->type) {
	case REDIS_REPLY_INTEGER:
		snprintf(buf, sizeof(buf), "(integer) %lld", r->integer);
		break;
	case REDIS_REPLY_ARRAY:
		snprintf(buf, sizeof(buf), "(array of %zu)", r->elements);
		break;
	case REDIS_REPLY_NIL:
		snprintf(buf, sizeof(buf), "(nil)");
		break;
	default:
		snprintf(buf, sizeof(buf), "(%s, %zu bytes) \"%.*s\"", hr_type_name(r->type),
			 r->len, (int)(r->len > 200 ? 200 : r->len), r->str);
	}
	return buf;
}

#endif

/*
 * conn_attr.c — the attributes of a connection the server reads and sets
 * through conn.h. Orderings: see conn.h (relaxed words, one writer: the
 * runner).
 */
#include "net/conn.h"
#include "net/net_internal.h"
#include "net/task.h"

uint64_t conn_id(const struct conn *c)
{
	return c->id;
}

bool conn_killed(struct conn *c)
{
	/* relaxed: under conn_foreach, whose lock CLIENT KILL holds to set it */
	return atomic_load_explicit(&c->kill, memory_order_relaxed) != 0;
}

const char *conn_addr(const struct conn *c)
{
	return c->addr;
}

const char *conn_name(const struct conn *c)
{
	return c->name; /* the runner is its only writer */
}

int conn_resp(const struct conn *c)
{
	/* relaxed: see conn.h */
	return atomic_load_explicit(&c->resp, memory_order_relaxed);
}

void conn_set_resp(struct conn *c, int resp)
{
	/* relaxed: see conn.h */
	atomic_store_explicit(&c->resp, resp, memory_order_relaxed);
}

int conn_db(const struct conn *c)
{
	/* relaxed: see conn.h */
	return atomic_load_explicit(&c->db, memory_order_relaxed);
}

void conn_set_db(struct conn *c, int db)
{
	/* relaxed: see conn.h */
	atomic_store_explicit(&c->db, db, memory_order_relaxed);
}

const char *conn_last_cmd(const struct conn *c)
{
	/* relaxed: see conn.h */
	return atomic_load_explicit(&c->last_cmd, memory_order_relaxed);
}

void conn_set_last_cmd(struct conn *c, const char *name)
{
	/* relaxed: see conn.h */
	atomic_store_explicit(&c->last_cmd, name, memory_order_relaxed);
}

bool conn_authenticated(const struct conn *c)
{
	return c->authenticated;
}

void conn_set_authenticated(struct conn *c, bool on)
{
	c->authenticated = on;
}

void *conn_session(const struct conn *c)
{
	return c->session;
}

void conn_close_after_reply(struct conn *c)
{
	c->flags |= CONN_F_CLOSE_AFTER_REPLY;
}

void conn_close_asap(struct conn *c)
{
	c->flags |= CONN_F_CLOSE_ASAP;
}

bool conn_is_monitor(const struct conn *c)
{
	return (c->flags & CONN_F_MONITOR) != 0;
}

void conn_block(struct conn *c)
{
	/* relaxed: see conn.blocked */
	atomic_store_explicit(&c->blocked, 1, memory_order_relaxed);
}

bool conn_blocked(const struct conn *c)
{
	/* relaxed: see conn.blocked */
	return atomic_load_explicit(&c->blocked, memory_order_relaxed) != 0;
}

void conn_wake(struct conn *c)
{
	conn_schedule(c);
}

void conn_wake_fair(struct conn *c)
{
	conn_schedule_back(c);
}

void conn_kill(struct conn *c)
{
	/* relaxed: conn_schedule's acq_rel CAS (or the runner's NOTIFIED round)
	 * publishes it to the runner, as CLIENT KILL's store */
	atomic_store_explicit(&c->kill, 1, memory_order_relaxed);
	conn_schedule(c);
}

/*
 * cmd_debug.h — what the rest of the server asks of DEBUG's state: whether a
 * client may run protected commands (enable-debug-command), and whether
 * DEBUG SET-ACTIVE-EXPIRE left active expiry on.
 *
 * Threads: any.
 */
#ifndef KVSD_CMD_DEBUG_H
#define KVSD_CMD_DEBUG_H

#include <stdbool.h>

struct conn;

/* enable-debug-command allows DEBUG for this client: "yes", or "local" and
 * the client is on the loopback or the unix socket (Redis's
 * allowProtectedAction). */
bool debug_allowed(const struct conn *c);
/* Active expiry runs (DEBUG SET-ACTIVE-EXPIRE 1, the default). */
bool debug_active_expire_enabled(void);

#endif

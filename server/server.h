/*
 * server.h — the kvsd server's life cycle: set-up in dependency order
 * (config → log → storage → commands → net), the run loop, and teardown in
 * reverse. main() is three calls.
 *
 * Threads: server_setup / server_run / server_teardown on the main thread.
 * server_request_shutdown() from any thread.
 * Errors: server_setup returns 0, 1 (exit 0 at once: --help / --version) or
 * -1 (message already printed; exit status 1).
 */
#ifndef KVSD_SERVER_H
#define KVSD_SERVER_H

#include <stdint.h>

int server_setup(int argc, char **argv);
void server_run(void);
/* Returns the process exit status. */
int server_teardown(void);

void server_request_shutdown(const char *why);

/* Read-only facts about this process, for INFO and HELLO. */
struct server_info {
	char run_id[41];
	int64_t start_ms;
	const char *executable;
	const char *config_file;
};
const struct server_info *server_info(void);

#endif

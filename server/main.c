/*
 * main.c — kvsd's entry point: set up, run, tear down.
 */
#include "server/server.h"

#include <locale.h>

int main(int argc, char **argv)
{
	int rc;

	/* as redis-server: SORT ... ALPHA compares with strcoll() in the
	 * environment's collation */
	setlocale(LC_COLLATE, "");
	rc = server_setup(argc, argv);

	if (rc != 0)
		return rc > 0 ? 0 : 1;
	server_run();
	return server_teardown();
}

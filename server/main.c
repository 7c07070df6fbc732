/*
 * main.c — kvsd's entry point: set up, run, tear down.
 */
#include "server/server.h"

int main(int argc, char **argv)
{
	int rc = server_setup(argc, argv);

	if (rc != 0)
		return rc > 0 ? 0 : 1;
	server_run();
	return server_teardown();
}

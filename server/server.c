/*
 * server.c — set-up and teardown of the whole server, signals, and the glue
 * between net/ (which parses) and the command table (which executes).
 *
 * Order: config (file + argv) → log → storage (hash seed, reclamation, map)
 * → command table → net (listeners, workers). Teardown runs in reverse:
 * listeners close first, workers finish and join, then the map and every
 * entry are freed and reclamation drains, so LeakSanitizer sees nothing.
 */
#include "server/script.h"
#include "server/server.h"
#include "server/cluster.h"
#include "server/aof.h"
#include "server/bitpool.h"
#include "concurrency/clock.h"
#include "concurrency/wctx.h"
#include "concurrency/mem.h"
#include "kvsd_build.h"
#include "net/conn.h"
#include "net/net.h"
#include "server/cmd.h"
#include "server/blocking.h"
#include "server/pubsub.h"
#include "server/tracking.h"
#include "server/cmd_debug.h"
#include "server/config.h"
#include "server/latency.h"
#include "server/info.h"
#include "server/loading.h"
#include "server/log.h"
#include "server/multi.h"
#include "server/persist_srv.h"
#include "server/prefetch.h"
#include "server/session.h"
#include "storage/coll.h"
#include "storage/thash.h"
#include "server/sha1.h"
#include "storage/db.h"
#include "storage/tset.h"
#include "storage/tzset.h"
#include "storage/tlist.h"
#include "concurrency/util.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static struct server_info info;
static void server_teardown_nosave(void);
static struct db *the_db;
static struct event *sigterm_ev, *sigint_ev, *sighup_ev;
static _Atomic int shutting_down;
static char *bind_str, *unix_str, *pid_path;

const struct server_info *server_info(void)
{
	return &info;
}

static void usage(void)
{
	const struct cfg_def *t = cfg_table();

	printf("Usage: kvsd [/path/to/kvsd.conf] [options]\n"
	       "       kvsd - (read config from stdin)\n"
	       "       kvsd -v or --version\n"
	       "       kvsd -h or --help\n\n"
	       "Examples:\n"
	       "       kvsd (run the server with default config)\n"
	       "       kvsd conf/kvsd.conf\n"
	       "       kvsd --port 7777 --threads 4\n"
	       "       kvsd conf/kvsd.conf --loglevel verbose\n\n"
	       "Options (every config file directive, as --name value):\n");
	for (int i = 0; i < CFG_COUNT_; i++)
		printf("  --%-28s %s (default: \"%s\")\n", t[i].name, t[i].desc, t[i].def);
}

static void on_thread_start(int idx)
{
	(void)idx;
	kvmap_thread_register();
	aof_qs_register();
}

/* net's boundaries: the storage's epochs, and the AOF's domain of command
 * boundaries that switching appendonly on waits for (aof.h, "Switching") */
static KV_HOT void on_quiescent(void)
{
	kvmap_quiescent();
	aof_qs_quiescent();
}

static void on_offline(void)
{
	kvmap_thread_offline();
	aof_qs_offline();
}

static void on_online(void)
{
	kvmap_thread_online();
	aof_qs_online();
}

static void on_thread_stop(int idx)
{
	(void)idx;
	blk_cmd_thread_exit();
	blk_thread_exit();
	script_thread_exit();
	db_coll_thread_exit();
	aof_qs_unregister();
	kvmap_thread_unregister();
}

/* Set by worker 0's hz tick; its next slice begins a new expiry cycle. */
static bool expire_tick;

static void on_thread_cron(int idx)
{
	if (idx == 0) {
		info_cron();
		pubsub_cron(); /* soft output limits of subscribers nobody publishes to */
		/* as Redis, whose serverCron does not run while it loads: no
		 * active expiry, no save rules until the dataset is complete */
		if (loading_active())
			return;
		expire_tick = true;
		db_cron(the_db, clock_wall_ms());
		db_evict_cron(the_db, clock_wall_ms());
		/* shrink, help a resize in progress, free garbage parked threads left */
		kvmap_maintain(db_map(the_db));
		bitpool_cron();		    /* idle bitmaps keep no recycled buffers */
		psrv_cron(clock_wall_ms()); /* save rules, BGSAVE's thread */
	}
}

/*
 * Active expiry runs in slices of EXPIRE_SLICE_US on worker 0's loop (net
 * polls the loop between them), not as one cycle inside the cron: a cycle may
 * take a quarter of the hz period (250 ms at hz 1, and more at a higher
 * active-expire-effort) when few of many keys have a TTL, and the worker's own
 * clients waited that long in the torture test. Each slice is one latency
 * sample ("expire-cycle"): what a client can wait behind it.
 */
#define EXPIRE_SLICE_US 1000

static bool on_thread_slice(int idx)
{
	int64_t t0;
	bool more;

	if (idx != 0)
		return false;
	if (!debug_active_expire_enabled()) {
		expire_tick = false;
		return false;
	}
	t0 = clock_mono_us();
	if (expire_tick) {
		expire_tick = false;
		more = db_active_expire(the_db, (int)cfg_int(CFG_HZ),
					(int)cfg_int(CFG_ACTIVE_EXPIRE_EFFORT), EXPIRE_SLICE_US);
	} else {
		more = db_active_expire_more(the_db, EXPIRE_SLICE_US);
	}
	latency_sample_if_needed("expire-cycle", (uint64_t)(clock_mono_us() - t0) / 1000);
	return more;
}

/* net's deliver hook: Pub/Sub messages, then tracking invalidations. */
static bool on_deliver(struct conn *c, size_t max_bytes)
{
	bool more = pubsub_deliver(c, max_bytes);

	return trk_deliver(c, max_bytes) || more;
}

static void *on_conn_init(struct conn *c)
{
	/* the AOF loader replays what authenticated clients sent */
	struct session *s = mem_calloc(1, sizeof(struct session));

	conn_set_authenticated(c, cfg_str_equal(CFG_REQUIREPASS, "", 0) || aof_is_loader(c));
	trk_conn_init(c, s); /* a REDIRECT target from now on */
	return s;
}

static void on_conn_close(struct conn *c, void *session)
{
	if (session == NULL)
		return; /* closed before it was attached */
	multi_conn_close(c);
	blk_conn_close(c, session);    /* no conn_wake(c) after this */
	aof_conn_close(c, session);    /* nor from the AOF thread */
	pubsub_conn_close(c, session); /* nor from a publisher */
	trk_conn_close(c, session);    /* nor from a tracking sender */
	mem_free(session);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (atomic_exchange_explicit(&shutting_down, 1, memory_order_relaxed)) {
		LOG(LOG_WARNING, "You insist... exiting now.");
		_exit(1);
	}
	if (loading_active())
		LOG(LOG_WARNING, "Received shutdown signal during loading, scheduling shutdown.");
	else
		LOG(LOG_WARNING, "Received %s scheduling shutdown...",
		    sig == SIGINT ? "SIGINT" : "SIGTERM");
	net_stop();
}

/* SIGHUP: reopen the log file (logrotate moved it away). */
static void sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	log_reopen();
}

void server_request_shutdown(const char *why)
{
	/* relaxed: a flag for the second-signal check only; net_stop() synchronises */
	atomic_store_explicit(&shutting_down, 1, memory_order_relaxed);
	LOG(LOG_VERBOSE, "shutdown requested: %s", why);
	net_stop();
}

/*
 * As Redis's adjustOpenFilesLimit() at start-up: raise the soft
 * RLIMIT_NOFILE to fit maxclients plus kvsd's own descriptors (up to the
 * hard limit); where it cannot, lower maxclients so that clients beyond it
 * get "max number of clients reached" instead of hanging in the accept
 * queue, and refuse to start when not even one client fits. At run time
 * CONFIG SET maxclients refuses such a value instead (config_table.c).
 * 0, or -1 after printing why.
 */
static int adjust_open_files(void)
{
	long long asked = cfg_int(CFG_MAXCLIENTS);
	int threads = (int)cfg_int(CFG_THREADS);
	long long maxc = net_fd_limit_clients(asked, threads);
	long long need = asked + NET_RESERVED_FDS + (long long)NET_FDS_PER_WORKER * threads;
	char err[256], val[32];

	if (maxc >= asked)
		return 0;
	if (maxc < 1) {
		LOG(LOG_WARNING,
		    "Your current 'ulimit -n' of %lld is not enough for the server to start. "
		    "Please increase your open file limit to at least %lld. Exiting.",
		    maxc + need - asked, need);
		fprintf(stderr,
			"kvsd: the open files limit (%lld) leaves no room for clients; at least "
			"%lld are needed for maxclients %lld\n",
			maxc + need - asked, need, asked);
		return -1;
	}
	snprintf(val, sizeof(val), "%lld", maxc);
	if (cfg_set("maxclients", val, strlen(val), err, sizeof(err)) != 0)
		return 0; /* cannot happen: maxc is within the row's bounds */
	LOG(LOG_WARNING,
	    "You requested maxclients of %lld requiring at least %lld max file descriptors.", asked,
	    need);
	LOG(LOG_WARNING,
	    "Current maximum open files is %lld. maxclients has been reduced to %lld to "
	    "compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
	    maxc + need - asked, maxc);
	return 0;
}

static void make_run_id(void)
{
	unsigned char r[20];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 0x5a, sizeof(r));
	for (int i = 0; i < 20; i++) {
		info.run_id[2 * i] = hex[r[i] >> 4];
		info.run_id[2 * i + 1] = hex[r[i] & 15];
	}
	info.run_id[40] = '\0';
}

/* Start-up stops after storage and commands were set up, before net: frees
 * them (LeakSanitizer clean) and saves nothing. */
static void setup_abort_storage(void)
{
	blk_teardown();
	cmd_teardown();
	cluster_teardown();
	db_destroy(&the_db);
	db_coll_thread_exit();
	kvmap_thread_unregister();
	kvmap_teardown();
	coll_teardown();
	cfg_deinit();
	log_teardown();
}

/* The loading thread's work: the AOF (appendonly yes: Redis loads it
 * instead of dump.rdb) or the RDB file, then the AOF is opened for writing
 * (aof_start also settles appendonly with it off). */
static int load_dataset(char *err, size_t errlen)
{
	int rc;

	if (!cfg_int(CFG_APPENDONLY)) {
		rc = psrv_load(err, errlen);
		if (rc != 0)
			return rc;
	}
	return aof_start(err, errlen);
}

static void load_failed(void)
{
	server_request_shutdown("the dataset failed to load");
}

int server_setup(int argc, char **argv)
{
	char err[512];
	struct net_opts o = {0};
	sigset_t sigs;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cfg_init();
			usage();
			cfg_deinit();
			return 1;
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("kvsd v=%s (redis_version compatible: 7.0.15) malloc=%s\n",
			       KVSD_VERSION, mem_allocator_name());
			return 1;
		}
	}
	cfg_init();
	if (cfg_load_args(argc, argv, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		cfg_deinit();
		return -1;
	}
	{
		char *lf = cfg_str_dup(CFG_LOGFILE);

		rc = log_setup(lf, (int)cfg_int(CFG_LOGLEVEL));
		if (rc < 0) {
			fprintf(stderr, "kvsd: can't open the log file '%s': %s\n", lf,
				strerror(-rc));
			free(lf);
			cfg_deinit();
			return -1;
		}
		free(lf);
	}
	/* the slot map: a bad one stops the start before anything is built */
	if (cluster_setup(err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		LOG(LOG_WARNING, "%s", err);
		cfg_deinit();
		log_teardown();
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (adjust_open_files() != 0) {
		cfg_deinit();
		log_teardown();
		return -1;
	}
	make_run_id();
	info.start_ms = clock_wall_ms();
	info.executable = argv[0];
	info.config_file = cfg_file();
	LOG(LOG_NOTICE, "kvsd %s starting, pid=%d, threads=%lld, map=%s", KVSD_VERSION,
	    (int)getpid(), cfg_int(CFG_THREADS), cfg_enum_name(CFG_MAP));

	wctx_register(-1); /* the main thread's context: listener, cron, teardown */
	kvmap_setup();
	coll_setup();
	thash_setup(sha1);
	tset_setup(sha1);
	tzset_setup(sha1);
	tlist_setup(sha1);
	kvmap_thread_register();
	the_db = db_create(cfg_int(CFG_MAP) == 0 ? KVMAP_KVSD : KVMAP_URCU);
	if (the_db)
		(void)db_set_databases(the_db, (int)cfg_int(CFG_DATABASES));
	if (the_db == NULL) {
		fprintf(stderr, "kvsd: cannot create the keyspace\n");
		return -1;
	}
	cmd_setup(the_db);
	prefetch_setup(the_db);
	psrv_setup(the_db);
	blk_setup(the_db);
	pubsub_setup();
	trk_setup();
	/* the drop hooks: keyspace notifications of expiry and eviction
	 * (notify.h), and the AOF's DELs once it starts */
	aof_drop_install(the_db);
	blk_cmd_setup(the_db);
	/* Every mutable row reaches its module the way CONFIG SET's values do. */
	if (cfg_apply_start(the_db, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		LOG(LOG_WARNING, "%s", err);
		server_teardown_nosave();
		return -1;
	}

	/* appendonly yes: the AOF directory and its manifest are opened here
	 * (a missing or unreadable manifest stops start-up); the dataset itself
	 * loads on the loading thread once clients are served (load_dataset) */
	if (aof_setup(the_db, err, sizeof(err)) != 0) {
		LOG(LOG_WARNING, "%s", err);
		LOG(LOG_WARNING, "Fatal error loading the DB, exiting now.");
		fprintf(stderr, "kvsd: %s\n", err);
		setup_abort_storage();
		return -1;
	}

	bind_str = cfg_str_dup(CFG_BIND);
	unix_str = cfg_str_dup(CFG_UNIXSOCKET);
	o.bind = bind_str;
	o.port = (int)cfg_int(CFG_PORT);
	o.unixsocket = unix_str;
	o.unixsocketperm = (int)cfg_int(CFG_UNIXSOCKETPERM);
	o.tcp_backlog = (int)cfg_int(CFG_TCP_BACKLOG);
	o.threads = (int)cfg_int(CFG_THREADS);
	o.io_uring = cfg_int(CFG_IO_URING) != 0;
	o.dispatch = cmd_dispatch;
	o.thread_start = on_thread_start;
	o.thread_stop = on_thread_stop;
	o.thread_cron = on_thread_cron;
	o.thread_slice = on_thread_slice;
	o.quiescent = on_quiescent;
	o.offline = on_offline;
	o.online = on_online;
	o.conn_init = on_conn_init;
	o.conn_close = on_conn_close;
	o.resume = cmd_resume;
	o.deliver = on_deliver;
	o.before_write = aof_before_write;
	o.prefetch = prefetch_batch;
	/* The main thread touches the map only at teardown: keep it offline so it
	 * never holds up reclamation. */
	kvmap_thread_offline();
	/* Listeners open inside net_setup() but the signal events exist only
	 * after it: hold SIGTERM/SIGINT/SIGHUP until then (a signal arriving in
	 * between is delivered at the unblock, to the handler). Workers inherit
	 * the blocked mask, so signals always reach the main thread's loop. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/* before the first client can run a command; the size is the files'
	 * that load_dataset will read */
	if (cfg_int(CFG_APPENDONLY))
		loading_begin(aof_load_size(), 0); /* the base's field: aof_load.c */
	else
		loading_begin(psrv_load_size(), psrv_load_used_mem());
	rc = net_setup(&o, err, sizeof(err));
	if (rc < 0) {
		LOG(LOG_WARNING, "%s", err);
		fprintf(stderr, "kvsd: %s\n", err);
		server_teardown_nosave();
		return -1;
	}
	sigterm_ev = evsignal_new(net_main_base(), SIGTERM, signal_cb, NULL);
	sigint_ev = evsignal_new(net_main_base(), SIGINT, signal_cb, NULL);
	event_add(sigterm_ev, NULL);
	event_add(sigint_ev, NULL);
	sighup_ev = evsignal_new(net_main_base(), SIGHUP, sighup_cb, NULL);
	event_add(sighup_ev, NULL);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	pid_path = cfg_str_dup(CFG_PIDFILE);
	if (pid_path && pid_path[0]) {
		FILE *f = fopen(pid_path, "w");

		if (f == NULL) {
			LOG(LOG_WARNING, "Failed to write PID file '%s': %s", pid_path,
			    strerror(errno));
		} else {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	LOG(LOG_NOTICE, "Server initialized");
	if (cfg_str_equal(CFG_SAVE, "", 0))
		LOG(LOG_NOTICE, "No save rules configured (save \"\"): the dataset is saved only "
				"by SAVE, BGSAVE or SHUTDOWN SAVE");
	if (!aof_enabled())
		LOG(LOG_NOTICE, "appendonly no: writes since the last save are lost at a crash");
	/* The dataset loads while clients are served: they get -LOADING until
	 * it is complete (loading.h), and the loading thread logs "Ready to
	 * accept connections" then; a file that does not load stops the server
	 * (exit status 1) */
	if (loading_start(load_dataset, load_failed, net_tcp_port(), err, sizeof(err)) != 0) {
		LOG(LOG_WARNING, "%s", err);
		fprintf(stderr, "kvsd: %s\n", err);
		server_teardown_nosave();
		return -1;
	}
	return 0;
}

void server_run(void)
{
	net_run();
}

/*
 * Shutdown, in the order issue 6 asks: listeners close first (new
 * connections are refused); then net_drain() stops reading, lets every
 * client finish the commands already read and flushes their replies, for at
 * most shutdown-timeout seconds, while the signal events stay armed (a
 * second SIGTERM/SIGINT exits at once); then workers are joined and every
 * remaining connection closed (net_teardown), reclamation drains and
 * everything is freed.
 */
/* Start-up failed after the keyspace existed: nothing of it may be saved
 * (a half-loaded dataset must never overwrite the file). */
static bool teardown_nosave;

static void server_teardown_nosave(void)
{
	teardown_nosave = true;
	(void)server_teardown();
}

int server_teardown(void)
{
	struct net_stats st;
	int status = 0, lr;

	/* a load still running stops first (SHUTDOWN or a signal meanwhile):
	 * nothing of a partial dataset may be saved; a failed load exits 1 */
	lr = loading_stop();
	if (lr != 0)
		teardown_nosave = true;
	if (lr < 0)
		status = 1;
	LOG(LOG_WARNING, "User requested shutdown...");
	if (net_main_base()) {
		struct net_drain_stats ds;

		net_close_listeners();
		net_drain((long)cfg_int(CFG_SHUTDOWN_TIMEOUT) * 1000, &ds);
		net_get_stats(&st);
		LOG(LOG_WARNING,
		    "Shutdown: flushed %ld of %ld clients%s; %llu commands completed and %llu "
		    "reply bytes written while draining; %llu commands completed in total",
		    ds.clients_flushed, ds.clients,
		    ds.timed_out ? " (shutdown-timeout reached, the rest are closed)" : "",
		    (unsigned long long)ds.commands, (unsigned long long)ds.bytes,
		    (unsigned long long)st.commands_processed);
	}
	net_get_stats(&st);
	if (sigterm_ev) {
		event_free(sigterm_ev);
		event_free(sigint_ev);
		sigterm_ev = sigint_ev = NULL;
	}
	if (sighup_ev) {
		event_free(sighup_ev);
		sighup_ev = NULL;
	}
	blk_stop(); /* no timeout wakes a connection of a stopped worker */
	net_teardown();
	aof_teardown(); /* after the last worker appended its last record */
	script_thread_exit();
	script_teardown();
	blk_teardown(); /* after every connection (and its waiter) is gone */
	pubsub_teardown();
	trk_teardown();
	kvmap_thread_online();
	if (!teardown_nosave && psrv_teardown() != 0)
		status = 1;
	cmd_teardown();
	cluster_teardown();
	db_destroy(&the_db);
	db_coll_thread_exit();
	kvmap_thread_unregister();
	kvmap_teardown();
	coll_teardown(); /* after the last retired entry handed it its trees */
	LOG(LOG_WARNING, "kvsd is now ready to exit, bye bye... (%llu commands served)",
	    (unsigned long long)st.commands_processed);
	if (pid_path && pid_path[0])
		unlink(pid_path);
	free(pid_path);
	pid_path = NULL;
	free(bind_str);
	free(unix_str);
	bind_str = unix_str = NULL;
	cfg_deinit();
	log_teardown();
	return status;
}

#include "tests/lib/hl_testpg.h"
#include "tests/lib/hl_testrelay.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_MS 60000
#define STOP_MS 30000

static int
find_bindir(char *out, size_t n)
{
	glob_t g;
	memset(&g, 0, sizeof g);
	int rc = glob("/usr/lib/postgresql/*/bin/postgres", 0, NULL, &g);
	if (rc != 0 || g.gl_pathc == 0) {
		globfree(&g);
		return -1;
	}
	/* The newest version: glob sorts, and versions are whole numbers
	 * of the same width in one Debian release. */
	snprintf(out, n, "%s", g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	char *slash = strrchr(out, '/');
	if (slash != NULL)
		*slash = '\0';
	return 0;
}

int
hl_test_pg_available(void)
{
	char dir[128];
	return find_bindir(dir, sizeof dir) == 0;
}

/* The user the cluster runs as: postgres when we are root, else us. */
static int
cluster_user(uid_t *uid, gid_t *gid)
{
	if (geteuid() != 0) {
		*uid = geteuid();
		*gid = getegid();
		return 0;
	}
	struct passwd *pw = getpwnam("postgres");
	if (pw == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* Forks argv as the cluster's user, output to log. */
static int
spawn_as(const char *const *argv, const char *log, pid_t *out)
{
	uid_t uid;
	gid_t gid;
	if (cluster_user(&uid, &gid) != 0)
		return -1;
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fchown(fd, uid, gid) != 0 && geteuid() == 0) {
		close(fd);
		return -1;
	}
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) != 0 ||
		    setgid(gid) != 0 || setuid(uid) != 0))
			_exit(126);
		/* After setuid, which clears it: the server dies with the
		 * test (SIGQUIT: an immediate shutdown). */
		prctl(PR_SET_PDEATHSIG, SIGQUIT);
		if (getppid() != parent)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int in = open("/dev/null", O_RDONLY);
		dup2(in, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd);
	if (child < 0)
		return -1;
	*out = child;
	return 0;
}

static int
run_as(const char *const *argv, const char *log, int timeout_ms)
{
	pid_t pid;
	int status = 0;
	if (spawn_as(argv, log, &pid) != 0)
		return -1;
	if (hl_test_wait(pid, timeout_ms, &status) != 0) {
		kill(pid, SIGKILL);
		hl_test_wait(pid, 5000, NULL);
		return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void
print_log(struct hl_test_pg *pg)
{
	char path[192], text[4096];
	snprintf(path, sizeof path, "%s/pg.log", pg->dir);
	if (hl_test_read_file(path, text, sizeof text) == 0)
		fprintf(stderr, "--- %s ---\n%s\n", path, text);
}

static int
make_cluster(struct hl_test_pg *pg)
{
	if (find_bindir(pg->bindir, sizeof pg->bindir) != 0) {
		fprintf(stderr, "hl_test_pg: PostgreSQL's server is not "
		    "installed (make deps)\n");
		return -1;
	}
	if (hl_test_tempdir(pg->dir, sizeof pg->dir) != 0)
		return -1;
	uid_t uid;
	gid_t gid;
	if (cluster_user(&uid, &gid) != 0 ||
	    (geteuid() == 0 && chown(pg->dir, uid, gid) != 0)) {
		fprintf(stderr, "hl_test_pg: no postgres user to run as\n");
		return -1;
	}
	chmod(pg->dir, 0700);
	char initdb[192], data[192], log[192];
	snprintf(initdb, sizeof initdb, "%s/initdb", pg->bindir);
	snprintf(data, sizeof data, "%s/data", pg->dir);
	snprintf(log, sizeof log, "%s/pg.log", pg->dir);
	const char *argv[] = { initdb, "-D", data, "-U", "hotline", "-A",
	    "trust", "-E", "UTF8", "--no-locale", "--no-sync", NULL };
	if (run_as(argv, log, 120000) != 0) {
		fprintf(stderr, "hl_test_pg: initdb failed\n");
		print_log(pg);
		return -1;
	}
	pg->made = 1;
	return 0;
}

static int
ready(struct hl_test_pg *pg)
{
	char isready[192], log[192];
	snprintf(isready, sizeof isready, "%s/pg_isready", pg->bindir);
	snprintf(log, sizeof log, "%s/isready.log", pg->dir);
	const char *argv[] = { isready, "-q", "-h", pg->dir, "-U", "hotline",
	    "-d", "postgres", NULL };
	pid_t pid;
	int status = 0;
	if (hl_test_spawn(argv, log, log, &pid) != 0 ||
	    hl_test_wait(pid, 10000, &status) != 0)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
hl_test_pg_start(struct hl_test_pg *pg)
{
	if (pg->pid > 0)
		return 0;
	if (!pg->made && make_cluster(pg) != 0)
		return -1;
	char postgres[192], data[192], log[192];
	snprintf(postgres, sizeof postgres, "%s/postgres", pg->bindir);
	snprintf(data, sizeof data, "%s/data", pg->dir);
	snprintf(log, sizeof log, "%s/pg.log", pg->dir);
	/* fsync off: a test cluster never outlives a crash of the machine;
	 * what a test checks is the relay's COMMIT, not the disk's. A
	 * benchmark measures the disk too. */
	const char *argv[] = { postgres, "-D", data, "-k", pg->dir,
	    "-c", "listen_addresses=",
	    "-c", pg->durable ? "fsync=on" : "fsync=off",
	    "-c", pg->durable ? "full_page_writes=on" : "full_page_writes=off",
	    "-c", "max_connections=300",
	    "-c", "shared_buffers=32MB", "-c", "deadlock_timeout=100ms",
	    NULL };
	if (spawn_as(argv, log, &pg->pid) != 0) {
		fprintf(stderr, "hl_test_pg: cannot start postgres\n");
		return -1;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (ready(pg))
			return 0;
		int status;
		if (waitpid(pg->pid, &status, WNOHANG) == pg->pid) {
			pg->pid = 0;
			fprintf(stderr, "hl_test_pg: postgres exited\n");
			print_log(pg);
			return -1;
		}
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 > READY_MS) {
			fprintf(stderr, "hl_test_pg: postgres is not ready\n");
			print_log(pg);
			hl_test_pg_stop(pg);
			return -1;
		}
		struct timespec d = { 0, 100 * 1000000L };
		nanosleep(&d, NULL);
	}
}

int
hl_test_pg_stop(struct hl_test_pg *pg)
{
	if (pg->pid <= 0)
		return 0;
	kill(pg->pid, SIGINT);
	int rc = hl_test_wait(pg->pid, STOP_MS, NULL);
	if (rc != 0) {
		kill(pg->pid, SIGKILL);
		hl_test_wait(pg->pid, 5000, NULL);
	}
	pg->pid = 0;
	return rc;
}

int
hl_test_pg_createdb(struct hl_test_pg *pg, const char *name, char *url,
    size_t n)
{
	char createdb[192], log[192];
	snprintf(createdb, sizeof createdb, "%s/createdb", pg->bindir);
	snprintf(log, sizeof log, "%s/createdb.log", pg->dir);
	const char *argv[] = { createdb, "-h", pg->dir, "-U", "hotline",
	    name, NULL };
	pid_t pid;
	int status = 0;
	if (hl_test_spawn(argv, log, log, &pid) != 0 ||
	    hl_test_wait(pid, 30000, &status) != 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		char text[2048];
		fprintf(stderr, "hl_test_pg: createdb %s failed\n", name);
		if (hl_test_read_file(log, text, sizeof text) == 0)
			fprintf(stderr, "%s\n", text);
		return -1;
	}
	snprintf(url, n, "postgresql:host=%s dbname=%s user=hotline", pg->dir,
	    name);
	return 0;
}

static void
remove_dir(const char *dir)
{
	if (dir[0] == '\0')
		return;
	const char *argv[] = { "rm", "-rf", dir, NULL };
	pid_t pid;
	if (hl_test_spawn(argv, "/dev/null", "/dev/null", &pid) == 0)
		hl_test_wait(pid, 30000, NULL);
}

void
hl_test_pg_free(struct hl_test_pg *pg)
{
	if (pg == NULL)
		return;
	hl_test_pg_stop(pg);
	remove_dir(pg->dir);
	pg->dir[0] = '\0';
	pg->made = 0;
}

static struct hl_test_pg shared;
static int shared_state;        /* 0 untried, 1 running, -1 failed */

static void
shared_free(void)
{
	hl_test_pg_free(&shared);
}

struct hl_test_pg *
hl_test_pg_shared(void)
{
	if (shared_state == 0) {
		shared_state = -1;
		atexit(shared_free);
		if (hl_test_pg_start(&shared) == 0)
			shared_state = 1;
	}
	return shared_state == 1 ? &shared : NULL;
}

int
hl_test_pg_fresh_url(char *url, size_t n)
{
	static unsigned counter;
	struct hl_test_pg *pg = hl_test_pg_shared();
	if (pg == NULL)
		return -1;
	char name[64];
	snprintf(name, sizeof name, "relay%u", ++counter);
	return hl_test_pg_createdb(pg, name, url, n);
}

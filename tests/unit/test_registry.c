// SPDX-License-Identifier: MIT
/*
 * The pin registry's file format and its rules, natively: what a writer
 * publishes a reader lists field by field; a reader never sees a slot
 * mid-update (a writer thread rewrites one while the reader scans, its path
 * now in the slot, now in its path cell, and copies torn as the kernel's
 * copy tears them are refused); a record of version 1 is listed; slots that
 * never come to rest cost a bounded number of reads; a dead process's
 * record is not listed and is removed; a per-user directory that is not
 * private makes the writer publish nothing; a process that is not dumpable
 * is listed all the same; a record that a user forged for root's process is
 * neither listed nor printed by pinls -t. The writer takes pin values, so no
 * MR is needed here (guest tests publish real ones).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fake_pin.h"
#include "lib.h"
#include "proc.h"
#include "registry.h"
#include "registry_read.h"

struct seen {
	int n, torn;
	uint32_t lkeys;
	bool fields_ok;
};

/* Too long for a slot: it goes to the slot's path cell. */
static char long_path[300];

static int collect(const struct rdmapin_pin_record *r, void *arg)
{
	const struct rdmapin_registry_pin *p = r->pin;
	struct seen *s = arg;
	bool a = !strcmp(p->path, "/a") && p->length == 1;
	bool b = !strcmp(p->path, long_path) && p->length == 2;

	s->n++;
	s->lkeys |= p->lkey;
	s->torn += p->lkey == 4 && !a && !b;
	s->fields_ok &= r->pid == getpid() && r->uid == geteuid() && !strcmp(p->device, "fake0") &&
			p->backing == RDMAPIN_BACKING_FSDAX && p->mode == RDMAPIN_MODE_ODP &&
			p->quirks == RDMAPIN_QUIRK_RXE_ODP_OFFSET && r->comm[0];
	return 0;
}

static struct seen scan(const char *dir)
{
	struct seen s = { .fields_ok = true };

	rdmapin_registry_scan(dir, collect, NULL, &s);
	return s;
}

static struct rdmapin_registry_pin pin(const char *path, uint64_t len, uint32_t lkey)
{
	struct rdmapin_registry_pin v;

	fake_pin_init(&v, path, len, lkey);
	return v;
}

static atomic_bool stop;

/*
 * pread as the kernel's copy can make it: the reader's preads (linked with
 * --wrap=pread) that cover a scripted range get its scripted copies in turn,
 * the file's own after them.
 */
ssize_t __real_pread(int fd, void *buf, size_t len, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t len, off_t off);

static struct script {
	off_t off;
	size_t size;
	const char *copies;
	int ncopies;
} script[2];

/* The reader's preads so far. */
static unsigned long preads;

ssize_t __wrap_pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t got = __real_pread(fd, buf, len, off);
	struct script *c;

	preads++;
	for (c = script; c < script + 2; c++) {
		if (c->ncopies && got > 0 && off <= c->off && c->off + (off_t)c->size <= off + got) {
			memcpy((char *)buf + (c->off - off), c->copies, c->size);
			c->copies += c->size;
			c->ncopies--;
		}
	}
	return got;
}

/*
 * Rewrites one slot between two whole contents, yielding after each: under
 * valgrind, which runs one thread at a time, a writer that never yields
 * starves the reader of whole reads (each slot takes three or four preads).
 */
static void *rewriter(void *arg)
{
	const uint32_t *slot = arg;
	struct rdmapin_registry_pin v[] = { pin("/a", 1, 4), pin(long_path, 2, 4) };
	unsigned long i;

	for (i = 0; !atomic_load(&stop); i++) {
		rdmapin_registry_update(*slot, &v[i & 1]);
		sched_yield();
	}
	return NULL;
}

/*
 * Bounded by time as well as count: under valgrind the threads take turns
 * and a scan racing a spinning writer gets few of them.
 */
static void check_consistent_reads(const char *dir, uint32_t slot)
{
	struct seen s, all = { 0 };
	struct timespec t0, t1;
	int scans = 0;
	pthread_t t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	t1 = t0;
	pthread_create(&t, NULL, rewriter, &slot);
	while (scans < 2000 && t1.tv_sec - t0.tv_sec < 6) {
		s = scan(dir);
		all.n += s.n;
		all.torn += s.torn;
		scans++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	check(all.torn == 0 && scans >= 10, "%d scans during rewrites: %d records, %d torn", scans,
	      all.n, all.torn);
}

/* The group of our record's @slot, as the writer published it. */
static struct rdmapin_registry_group *published(uint32_t slot)
{
	return (struct rdmapin_registry_group *)(rdmapin_lib.registry.hdr + 1) +
	       (slot - 1) / RDMAPIN_REGISTRY_GROUP;
}

static off_t offset_in_record(const void *p)
{
	return (const char *)p - (const char *)rdmapin_lib.registry.hdr;
}

/*
 * One pread's copy loads a slot's cache lines in any order (rep movsb did on
 * an AMD EPYC: 894 of 6.96M copies whose counts agreed and were even held
 * fields of two writes). The counts are copied before the slot and after it:
 * a copy of X's length and Y's path, made between a write to X (counts c)
 * and one to Y (c + 2), is not believed. The writes are real; the copies are
 * what the kernel can give.
 */
static void check_torn_copies(const char *dir, uint32_t slot)
{
	struct rdmapin_registry_pin x = pin("/a", 1, 4), y = pin(long_path, 2, 4);
	uint32_t k = (slot - 1) % RDMAPIN_REGISTRY_GROUP;
	struct rdmapin_registry_group *g = published(slot);
	struct rdmapin_registry_seq counts[2];
	struct rdmapin_registry_slot torn;
	struct seen s;
	int taken;

	rdmapin_registry_update(slot, &y);
	torn = g->slot[k];
	rdmapin_registry_update(slot, &x);
	memcpy(torn.head, g->slot[k].head, sizeof(torn.head));
	counts[0] = g->seq[k];
	counts[1].begin = counts[1].end = counts[0].begin + 2;
	rdmapin_registry_update(slot, &y);
	script[0] = (struct script){ offset_in_record(&g->seq[k]), sizeof(counts[0]),
				     (const char *)counts, 2 };
	script[1] = (struct script){ offset_in_record(&g->slot[k]), sizeof(torn),
				     (const char *)&torn, 1 };
	s = scan(dir);
	taken = 3 - script[0].ncopies - script[1].ncopies;
	memset(script, 0, sizeof(script));
	check(taken == 3 && s.torn == 0 && s.n == 2 && (s.lkeys & 4),
	      "a slot copied between two writes is not believed (%d scripted copies read, "
	      "%d records, %d torn)", taken, s.n, s.torn);
}

static int count_files(const char *dir)
{
	char cmd[PATH_MAX + 64];
	int n = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A '%s/uid-%u' 2>/dev/null | wc -l", dir, geteuid());
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

/* A child publishes a pin and dies without cleaning up, as a crash would. */
static void check_dead_process(const char *dir)
{
	struct rdmapin_registry_pin v = pin("/dead", 1, 8);
	int before = count_files(dir), after;
	struct seen s;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		rdmapin_registry_open();
		_exit(rdmapin_registry_add(&v) ? 0 : 1);
	}
	waitpid(pid, NULL, 0);
	check(count_files(dir) == before + 1, "a dead child's record is on disk");
	s = scan(dir);
	after = count_files(dir);
	check(!(s.lkeys & 8), "the dead child's pin is not listed");
	check(after == before, "the reader removed the stale record (%d files)", after);
}

/* Someone else's (or a non-private) uid directory: publish nothing there. */
static void check_foreign_user_dir(const char *dir)
{
	struct rdmapin_registry_pin v = pin("/x", 1, 16);
	char top[PATH_MAX], user[PATH_MAX + 32];
	int status = -1;
	pid_t pid;

	snprintf(top, sizeof(top), "%s/other", dir);
	snprintf(user, sizeof(user), "%s/uid-%u", top, geteuid());
	mkdir(top, 01777);
	mkdir(user, 0755);
	pid = fork();
	if (pid == 0) {
		setenv("RDMAPIN_RUNTIME_DIR", top, 1);
		rdmapin_registry_open();
		_exit(rdmapin_registry_add(&v) ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && !WEXITSTATUS(status) && count_files(top) == 0,
	      "a uid directory that is not 0700 gets no record");
	rmdir(user);
	rmdir(top);
}

/* The reader's warnings; its callbacks share one context, collect()'s. */
static int warnings;

static void count_warning(const char *msg, void *arg)
{
	warnings++;
	printf("# warning: %s\n", msg);
}

#define NOBODY 65534

/*
 * A record of @version (1 or the current one) for @pid, of @groups groups
 * whose slots' counts are all @count, holding the short pin @v in its first
 * slot as its writer would and locked as a live one's: its fd, which keeps
 * the lock, or -1.
 */
static int write_record(const char *dir, uid_t uid, pid_t pid, uint32_t version,
			const struct rdmapin_registry_pin *v, uint32_t groups, uint64_t count)
{
	static union {
		struct rdmapin_registry_group g;
		struct rdmapin_registry_slot_v1 v1[RDMAPIN_REGISTRY_GROUP];
	} group;
	struct rdmapin_registry_header h = {
		.magic = RDMAPIN_REGISTRY_MAGIC,
		.version = version,
		.header_size = sizeof(h),
		.slot_size = version == 1 ? sizeof(group.v1[0]) : sizeof(group.g.slot[0]),
		.nslots = groups * RDMAPIN_REGISTRY_GROUP,
		.pid = pid,
		.uid = uid,
		.start_time = rdmapin_proc_start_time(pid),
		.comm = "written",
	};
	ssize_t len = version == 1 ? sizeof(group.v1) : sizeof(group.g);
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX + 64];
	uint32_t i;
	int fd;

	memset(&group, 0, sizeof(group));
	for (i = 0; i < RDMAPIN_REGISTRY_GROUP; i++) {
		if (version == 1)
			group.v1[i].seq_begin = group.v1[i].seq_end = count;
		else
			group.g.seq[i].begin = group.g.seq[i].end = count;
	}
	if (version == 1) {
		memcpy(group.v1[0].head, v, sizeof(group.v1[0].head));
		snprintf(group.v1[0].path, sizeof(group.v1[0].path), "%s", v->path);
	} else {
		/* A short path: it fits the slot. */
		memcpy(group.g.slot[0].head, v, sizeof(group.g.slot[0].head));
		group.g.slot[0].path_len = strnlen(v->path, sizeof(group.g.slot[0].path) - 1);
		memcpy(group.g.slot[0].path, v->path, group.g.slot[0].path_len);
	}
	snprintf(path, sizeof(path), "%s/uid-%u/%d-%llu", dir, uid, pid,
		 (unsigned long long)h.start_time);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, &h, sizeof(h)) != sizeof(h))
		goto fail;
	for (i = 0; i < groups; i++)
		if (write(fd, &group, len) != len)
			goto fail;
	if (!fcntl(fd, F_OFD_SETLK, &lk))
		return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* As nobody: a record named after root's process @pid. */
static int forge(const char *dir, pid_t pid)
{
	struct rdmapin_registry_pin v = pin("/forged", 1, 32);
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/uid-%u", dir, NOBODY);
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY) ||
	    (mkdir(path, 0700) && errno != EEXIST))
		return -1;
	return write_record(dir, NOBODY, pid, RDMAPIN_REGISTRY_VERSION, &v, 1, 0) < 0 ? -1 : 0;
}

struct v1_seen {
	pid_t pid;
	bool listed;
};

static int find_v1(const struct rdmapin_pin_record *r, void *arg)
{
	struct v1_seen *s = arg;

	s->listed |= r->pid == s->pid && r->pin->lkey == 64 && !strcmp(r->pin->path, "/v1") &&
		     r->pin->length == 3 && !strcmp(r->pin->device, "fake0") &&
		     !strcmp(r->comm, "written");
	return 0;
}

static int count_restless(const struct rdmapin_pin_record *r, void *arg)
{
	*(int *)arg += r->pin->lkey == 256;
	return 0;
}

/*
 * A writer that leaves every count odd, in a record of 4096 slots: the
 * reader gives up on them after its record's rereads, with one warning,
 * instead of reading each a hundred times (1.2M preads).
 */
static void check_restless_record(const char *dir)
{
	struct rdmapin_registry_pin v = pin("/restless", 1, 256);
	int ready[2], hold[2], ok = -1, listed = 0;
	unsigned long before;
	pid_t pid;

	if (pipe(ready) || pipe(hold))
		return;
	pid = fork();
	if (pid == 0) {
		close(hold[1]);
		ok = write_record(dir, geteuid(), getpid(), RDMAPIN_REGISTRY_VERSION, &v, 64, 1) < 0;
		write(ready[1], &ok, sizeof(ok));
		read(hold[0], &ok, 1);
		_exit(0);
	}
	warnings = 0;
	before = preads;
	if (read(ready[0], &ok, sizeof(ok)) == sizeof(ok) && !ok)
		rdmapin_registry_scan(dir, count_restless, count_warning, &listed);
	check(!ok && !listed && warnings == 1 && preads - before < 5000,
	      "a record whose 4096 slots never come to rest: %d listed, %d warning, %lu preads",
	      listed, warnings, preads - before);
	warnings = 0;
	close(hold[1]);
	waitpid(pid, NULL, 0);
	scan(dir);	/* which removes its record, now stale */
	close(hold[0]);
	close(ready[0]);
	close(ready[1]);
}

/*
 * A process keeps the library it started with across an upgrade: a record
 * it writes in version 1 is listed, field by field.
 */
static void check_version_1(const char *dir)
{
	struct rdmapin_registry_pin v = pin("/v1", 3, 64);
	struct v1_seen s = { 0 };
	int ready[2], hold[2], ok = -1;

	if (pipe(ready) || pipe(hold))
		return;
	s.pid = fork();
	if (s.pid == 0) {
		close(hold[1]);
		ok = write_record(dir, geteuid(), getpid(), 1, &v, 1, 0) < 0;
		write(ready[1], &ok, sizeof(ok));
		read(hold[0], &ok, 1);
		_exit(0);
	}
	if (read(ready[0], &ok, sizeof(ok)) == sizeof(ok) && !ok)
		rdmapin_registry_scan(dir, find_v1, NULL, &s);
	check(!ok && s.listed, "a version 1 record's pin is listed with its fields");
	close(hold[1]);
	waitpid(s.pid, NULL, 0);
	scan(dir);	/* which removes its record, now stale */
	close(hold[0]);
	close(ready[0]);
	close(ready[1]);
}

/* What pinls -t prints with the forged record present: its pids, and its warnings. */
static void check_pinls_t(pid_t victim)
{
	char cmd[PATH_MAX], line[256];
	int pids = 0, warned = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s -t 2>&1", PINLS_PATH);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		pids += atoi(line) == victim;
		warned += !!strstr(line, "not its uid's process");
	}
	if (p)
		pclose(p);
	check(!pids && warned == 1, "pinls -t prints no pid of the forged record, and warns "
	      "once (%d pids, %d warnings)", pids, warned);
}

/*
 * nobody names a record after root's process (its start time is public): the
 * reader believes it not, says so once, and pinls -t does not print the pid,
 * which kill $(pinls -t) would take.
 */
static void check_spoofed_record(const char *dir)
{
	int ready[2], victim_hold[2], ok = -1;
	struct seen s = { .fields_ok = true };
	pid_t victim, forger;

	if (pipe(ready) || pipe(victim_hold) || chmod(dir, 01777))
		return;
	victim = fork();
	if (victim == 0) {
		close(victim_hold[1]);
		read(victim_hold[0], &ok, 1);
		_exit(0);
	}
	forger = fork();
	if (forger == 0) {
		close(victim_hold[1]);
		ok = forge(dir, victim);
		write(ready[1], &ok, sizeof(ok));
		read(victim_hold[0], &ok, 1);
		_exit(0);
	}
	if (read(ready[0], &ok, sizeof(ok)) != sizeof(ok) || ok) {
		check(0, "nobody forges a record for root's pid %d", victim);
	} else {
		rdmapin_registry_scan(dir, collect, count_warning, &s);
		check(!(s.lkeys & 32) && warnings == 1, "a record nobody forged for root's pid "
		      "%d is not listed, with one warning (%d)", victim, warnings);
		check_pinls_t(victim);
	}
	close(victim_hold[1]);
	waitpid(victim, NULL, 0);
	waitpid(forger, NULL, 0);
	close(victim_hold[0]);
	close(ready[0]);
	close(ready[1]);
	chmod(dir, 0700);
}

static int find_nobody(const struct rdmapin_pin_record *r, void *arg)
{
	*(bool *)arg |= r->uid == NOBODY && r->pin->lkey == 128;
	return 0;
}

/*
 * A process that is not dumpable (nobody, after setuid) still owns
 * /proc/PID, though root owns /proc/PID/stat: its record is listed.
 */
static void check_not_dumpable(const char *dir)
{
	struct rdmapin_registry_pin v = pin("/nd", 1, 128);
	int ready[2], hold[2], ok = -1;
	bool listed = false;
	pid_t pid;

	if (pipe(ready) || pipe(hold) || chmod(dir, 01777))
		return;
	pid = fork();
	if (pid == 0) {
		close(hold[1]);
		ok = setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY) ||
		     prctl(PR_GET_DUMPABLE) != 0;
		if (!ok) {
			rdmapin_registry_open();
			ok = !rdmapin_registry_add(&v);
		}
		write(ready[1], &ok, sizeof(ok));
		read(hold[0], &ok, 1);
		_exit(0);
	}
	if (read(ready[0], &ok, sizeof(ok)) == sizeof(ok) && !ok)
		rdmapin_registry_scan(dir, find_nobody, NULL, &listed);
	check(!ok && listed, "the record of a process that is not dumpable is listed");
	close(hold[1]);
	waitpid(pid, NULL, 0);
	close(hold[0]);
	close(ready[0]);
	close(ready[1]);
	chmod(dir, 0700);
}

int main(void)
{
	char dir[] = "/tmp/rdmapin-registry-XXXXXX", cmd[64];
	struct rdmapin_registry_pin va, vb;
	uint32_t a, b;
	struct seen s;

	memset(long_path, 'b', sizeof(long_path) - 1);
	long_path[0] = '/';
	va = pin("/a", 1, 4);
	vb = pin(long_path, 4096, 2);
	if (!mkdtemp(dir))
		return 1;
	setenv("RDMAPIN_RUNTIME_DIR", dir, 1);
	rdmapin_registry_open();
	a = rdmapin_registry_add(&va);
	b = rdmapin_registry_add(&vb);
	s = scan(dir);
	check(s.n == 2 && s.lkeys == 6 && s.fields_ok,
	      "two published pins are listed with their fields (%d)", s.n);
	check_consistent_reads(dir, a);
	check_torn_copies(dir, a);
	rdmapin_registry_del(b);
	s = scan(dir);
	check(s.n == 1 && s.lkeys == 4, "a deleted pin is gone (%d left)", s.n);
	check_version_1(dir);
	check_restless_record(dir);
	check_dead_process(dir);
	check_foreign_user_dir(dir);
	check_not_dumpable(dir);
	check_spoofed_record(dir);
	rdmapin_registry_del(a);
	rdmapin_registry_forget();
	check(scan(dir).n == 0, "nothing listed after the last pin");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "test_registry: could not remove %s\n", dir);
	return check_done();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * qsnap: drive a real QEMU background snapshot from a busybox guest.
 *
 *   qsnap snap QEMU MIB DIR           snapshot, reload, compare (see below)
 *   qsnap sink FILE GATE              the exec: end of the migration stream
 *
 * "snap" starts QEMU (QEMU = path of qemu-system-x86_64) as an inner VM with
 * no CPU emulation: -machine none -accel qtest -m MIB, and one CPU (CPU below)
 * that never runs.  It listens on two unix sockets in DIR and QEMU connects
 * to both, as libqtest does: the qtest protocol (writeq/readq of
 * guest-physical memory) and QMP.  QEMU's stderr: DIR/qemu-{src,dst}.log.
 *
 *  1. Before the snapshot, through qtest: set A and set B pages get a value.
 *  2. migrate with capability background-snapshot to
 *     "exec:qsnap sink DIR/snap DIR/gate".  The sink takes the first bytes,
 *     notes when they came (monotonic ns, DIR/snap.first), and then reads no
 *     more until DIR/gate exists, so the pipe fills and the migration stalls
 *     after a few pages: the rest of RAM is still to be saved.
 *  3. On QMP's RESUME event the write protection is in place (QEMU stops the
 *     VM, protects RAM, then resumes it): the snapshot instant is behind us.
 *     VmRSS/VmPTE of QEMU are read now ("end of setup").
 *  4. Writes sent now (set B: overwritten, set C: never touched before) must
 *     not reach the snapshot.  They are sent without waiting: each one blocks
 *     QEMU's main loop in a write-protect fault until the migration thread
 *     has saved the page, which it can do only once the gate is open.
 *     The gate opens after the first 32 writes, the rest follow.
 *  5. When QMP says completed and the sink has finished, QEMU quits and a
 *     fresh one loads the file (-incoming "exec:cat DIR/snap").  Every page
 *     of A and B must hold its value before step 2, C and a sample D of
 *     never written pages must read 0.
 *
 * Output: "qsnap: key=value" lines; the last is "qsnap: wrong=N" (N = pages
 * with a wrong value).  Exit 0 iff the whole sequence ran and N == 0.
 * Figures: setup_ms (migrate sent -> RESUME event), first_byte_ms
 * (migrate sent -> the sink's first read), rss_kib/pte_kib (QEMU's VmRSS,
 * VmPTE at RESUME); wall clock (CLOCK_MONOTONIC) of the machine it runs on.
 * Debugging: QSNAP_ALL=1 prints every wrong page (not only the first 10),
 * QSNAP_DEBUG=1 the answers to query-migrate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096ULL
/*
 * qtest accesses memory through the first CPU's address space, and the none
 * machine has a CPU only if asked; one without a local APIC needs no APIC
 * device (none is built without default devices), its id is given by hand.
 */
#define CPU "qemu64,-apic,apic-id=0"

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stdout, "qsnap: error=");
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, " (errno %d)\n", errno);
	va_end(ap);
	fflush(stdout);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- sink: the exec: migration target ---- */
static int sink(const char *file, const char *gate)
{
	static char buf[65536];
	char tfile[4096];
	int out = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;
	int first = 1;
	FILE *t;

	if (out < 0)
		return 1;
	for (;;) {
		n = read(0, buf, first ? 16 : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (first) {
			snprintf(tfile, sizeof(tfile), "%s.first", file);
			t = fopen(tfile, "w");
			if (t) {
				fprintf(t, "%llu\n", (unsigned long long)now_ns());
				fclose(t);
			}
			first = 0;
			while (access(gate, F_OK))
				usleep(2000);
		}
		if (write(out, buf, n) != n)
			return 1;
	}
	fsync(out);
	close(out);
	snprintf(tfile, sizeof(tfile), "%s.done", file);
	t = fopen(tfile, "w");
	if (t)
		fclose(t);
	return n < 0;
}

/* ---- line I/O on the two sockets ---- */
struct conn {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static char *get_line(struct conn *c)
{
	static char line[1 << 16];
	char *nl;
	ssize_t n;

	for (;;) {
		nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t l = nl - c->buf;

			memcpy(line, c->buf, l);
			line[l] = 0;
			if (l && line[l - 1] == '\r')
				line[l - 1] = 0;
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return line;
		}
		if (c->len == sizeof(c->buf))
			die("line too long");
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("connection closed (QEMU exited?)");
		c->len += n;
	}
}

static void put(struct conn *c, const char *fmt, ...)
{
	char s[4096];
	va_list ap;
	size_t l, off = 0;
	ssize_t n;

	va_start(ap, fmt);
	l = vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	while (off < l) {
		n = write(c->fd, s + off, l - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write to QEMU failed");
		off += n;
	}
}

static struct conn qt, qmp;
static int resumed;

/* QMP: send a command and return its answer; events in between are noted. */
static char *qmp_cmd(const char *fmt, ...)
{
	char s[4096];
	va_list ap;
	char *l;

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	put(&qmp, "%s\n", s);
	for (;;) {
		l = get_line(&qmp);
		if (strstr(l, "\"event\"")) {
			if (strstr(l, "\"RESUME\""))
				resumed = 1;
			continue;
		}
		if (strstr(l, "\"error\""))
			die("QMP %s -> %s", s, l);
		return l;
	}
}

static void qmp_wait_event(const char *ev)
{
	char *l;

	for (;;) {
		l = get_line(&qmp);
		if (strstr(l, "\"event\"") && strstr(l, ev))
			return;
	}
}

static void qt_writeq(uint64_t addr, uint64_t v)
{
	put(&qt, "writeq 0x%llx 0x%llx\n", (unsigned long long)addr,
	    (unsigned long long)v);
}

static void qt_ok(void)
{
	char *l = get_line(&qt);

	while (!strncmp(l, "IRQ", 3))
		l = get_line(&qt);
	if (strncmp(l, "OK", 2))
		die("qtest: %s", l);
}

/*
 * Writes are pipelined, but at most WINDOW answers are left unread: every
 * small message costs a whole buffer in a unix socket's accounting, and
 * QEMU stops reading commands while it cannot write its answers.
 */
#define WINDOW 64
static unsigned int qt_pending;

static void qt_write(uint64_t addr, uint64_t v)
{
	if (qt_pending == WINDOW) {
		qt_ok();
		qt_pending--;
	}
	qt_writeq(addr, v);
	qt_pending++;
}

static void qt_drain(void)
{
	for (; qt_pending; qt_pending--)
		qt_ok();
}

static uint64_t qt_readq(uint64_t addr)
{
	char *l;

	put(&qt, "readq 0x%llx\n", (unsigned long long)addr);
	l = get_line(&qt);
	if (strncmp(l, "OK ", 3))
		die("qtest readq: %s", l);
	return strtoull(l + 3, NULL, 0);
}

/* ---- QEMU processes ---- */
static int listen_at(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	unlink(path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (void *)&a, sizeof(a)) || listen(fd, 1))
		die("listen %s", path);
	return fd;
}

/* Wait for QEMU to connect to socket lfd, or die if it exits first. */
static void wait_conn(int lfd, pid_t pid)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int st;

	while (poll(&p, 1, 200) != 1)
		if (waitpid(pid, &st, WNOHANG) == pid)
			die("QEMU exited with status 0x%x before connecting", st);
}

static pid_t start_qemu(const char *qemu, unsigned long mib, const char *dir,
			const char *incoming, const char *log)
{
	char qs[4096], ms[4096], qa[4200], ma[4200], mem[32], inc[4200];
	int lq, lm, fd;
	pid_t pid;

	snprintf(qs, sizeof(qs), "%s/qtest.sock", dir);
	snprintf(ms, sizeof(ms), "%s/qmp.sock", dir);
	snprintf(qa, sizeof(qa), "unix:%s", qs);
	snprintf(ma, sizeof(ma), "unix:%s", ms);
	snprintf(mem, sizeof(mem), "%luM", mib);
	lq = listen_at(qs);
	lm = listen_at(ms);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		snprintf(inc, sizeof(inc), "exec:cat %s", incoming ? incoming : "");
		if (incoming)
			execl(qemu, qemu, "-machine", "none", "-accel", "qtest", "-cpu", CPU,
			      "-m", mem, "-nodefaults", "-display", "none",
			      "-qtest", qa, "-qtest-log", "/dev/null", "-qmp", ma,
			      "-trace", "ram_write_tracking_*",
			      "-incoming", inc, (char *)NULL);
		else
			execl(qemu, qemu, "-machine", "none", "-accel", "qtest", "-cpu", CPU,
			      "-m", mem, "-nodefaults", "-display", "none",
			      "-qtest", qa, "-qtest-log", "/dev/null", "-qmp", ma,
			      "-trace", "ram_write_tracking_*", (char *)NULL);
		_exit(127);
	}
	wait_conn(lq, pid);
	qt.fd = accept4(lq, NULL, NULL, SOCK_CLOEXEC);
	qt.len = 0;
	if (qt.fd < 0)
		die("accept qtest");
	wait_conn(lm, pid);
	qmp.fd = accept4(lm, NULL, NULL, SOCK_CLOEXEC);
	qmp.len = 0;
	if (qmp.fd < 0)
		die("accept qmp");
	close(lq);
	close(lm);
	get_line(&qmp);			/* greeting */
	resumed = 0;
	qmp_cmd("{\"execute\":\"qmp_capabilities\"}");
	return pid;
}

static void stop_qemu(pid_t pid)
{
	int st;

	put(&qmp, "{\"execute\":\"quit\"}\n");
	waitpid(pid, &st, 0);
	close(qt.fd);
	close(qmp.fd);
}

static void status_kib(pid_t pid, long *rss, long *pte)
{
	char p[64], l[256];
	FILE *f;

	*rss = *pte = -1;
	snprintf(p, sizeof(p), "/proc/%d/status", pid);
	f = fopen(p, "r");
	if (!f)
		return;
	while (fgets(l, sizeof(l), f)) {
		sscanf(l, "VmRSS: %ld", rss);
		sscanf(l, "VmPTE: %ld", pte);
	}
	fclose(f);
}

/*
 * The page sets, by page number i: in every 64 2-MiB regions (128 MiB), only
 * regions 0 and 16 are written before the snapshot, so RAM stays mostly
 * untouched with THP too.  C covers both kinds of never-populated page: in
 * an untouched region (32) and next to populated ones (region 0).
 */
#define REG(i) ((i) / 512 % 64)
#define J(i) ((i) % 512)
#define A(i) (REG(i) == 0 && J(i) % 16 == 0)
#define B(i) (REG(i) == 16 && J(i) % 16 == 3)
#define C(i) ((REG(i) == 32 && J(i) % 16 == 5) || (REG(i) == 0 && J(i) % 16 == 9))
#define D(i) (REG(i) == 48 && J(i) % 64 == 7)
#define OFF(i) (((i) * 8) % PAGE)	/* where in the page */
#define VAL(tag, i) (((uint64_t)(tag) << 56) | 0x5a5a00000000ULL | (i))

static uint64_t read_u64(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static int snap(const char *qemu, unsigned long mib, const char *dir)
{
	uint64_t pages = (uint64_t)mib << 20 >> 12, i, n, wrong = 0, t0, t1, first;
	char file[4096], gate[4200], tmp[4200], self[4096], log[4200], *l;
	long rss, pte;
	pid_t pid;
	ssize_t k;
	struct stat st;

	k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (k < 0)
		die("readlink");
	self[k] = 0;
	snprintf(file, sizeof(file), "%s/snap", dir);
	snprintf(gate, sizeof(gate), "%s/gate", dir);
	unlink(gate);
	snprintf(tmp, sizeof(tmp), "%s/snap.done", dir);
	unlink(tmp);
	snprintf(log, sizeof(log), "%s/qemu-src.log", dir);
	unlink(log);

	pid = start_qemu(qemu, mib, dir, NULL, log);
	printf("qsnap: mib=%lu pages=%llu\n", mib, (unsigned long long)pages);
	status_kib(pid, &rss, &pte);
	printf("qsnap: before_rss_kib=%ld before_pte_kib=%ld\n", rss, pte);

	/* 1. the state before the snapshot */
	for (i = 0; i < pages; i++) {
		if (A(i))
			qt_write(i * PAGE + OFF(i), VAL(0xa0, i));
		else if (B(i))
			qt_write(i * PAGE + OFF(i), VAL(0xb0, i));
	}
	qt_drain();

	/* 2. the snapshot */
	qmp_cmd("{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
		"{\"capabilities\":[{\"capability\":\"background-snapshot\","
		"\"state\":true}]}}");
	t0 = now_ns();
	qmp_cmd("{\"execute\":\"migrate\",\"arguments\":{\"uri\":"
		"\"exec:%s sink %s %s\"}}", self, file, gate);
	/* 3. RESUME: protection is on */
	if (!resumed)
		qmp_wait_event("\"RESUME\"");
	t1 = now_ns();
	status_kib(pid, &rss, &pte);
	snprintf(tmp, sizeof(tmp), "%s.first", file);
	/* the header may still sit in QEMU's buffer: wait for it */
	while (!(first = read_u64(tmp)) && now_ns() - t1 < 60000000000ULL)
		usleep(1000);
	printf("qsnap: setup_ms=%.1f first_byte_ms=%.1f rss_kib=%ld pte_kib=%ld\n",
	       (t1 - t0) / 1e6, first ? (first - t0) / 1e6 : -1.0, rss, pte);

	/* 4. writes after the instant, then let the migration go on */
	/*
	 * The first writes queue up behind a blocked one while the stream is
	 * held; the gate opens before the window is full.
	 */
	for (i = 0, n = 0; i < pages; i++) {
		if (!(B(i) || C(i)))
			continue;
		if (n++ == WINDOW / 2) {
			usleep(100000);
			close(open(gate, O_WRONLY | O_CREAT, 0600));
		}
		qt_write(i * PAGE + OFF(i), VAL(B(i) ? 0xbb : 0xcc, i));
	}
	close(open(gate, O_WRONLY | O_CREAT, 0600));
	qt_drain();

	/* 5. completion */
	for (;;) {
		l = qmp_cmd("{\"execute\":\"query-migrate\"}");
		if (strstr(l, "\"completed\""))
			break;
		if (strstr(l, "\"failed\"") || strstr(l, "\"cancelled\""))
			die("migration: %s", l);
		if (getenv("QSNAP_DEBUG"))
			fprintf(stderr, "%s\n", l);
		usleep(20000);
	}
	t1 = now_ns();
	snprintf(tmp, sizeof(tmp), "%s.done", file);
	while (access(tmp, F_OK))
		usleep(2000);
	printf("qsnap: total_ms=%.1f\n", (now_ns() - t0) / 1e6);
	stop_qemu(pid);
	if (stat(file, &st))
		die("stat %s", file);
	printf("qsnap: snapshot_bytes=%lld\n", (long long)st.st_size);

	/* load it and look */
	snprintf(log, sizeof(log), "%s/qemu-dst.log", dir);
	unlink(log);
	pid = start_qemu(qemu, mib, dir, file, log);
	for (;;) {
		/* not "running": also the name of a member of the answer */
		l = qmp_cmd("{\"execute\":\"query-status\"}");
		if (strstr(l, "\"status\": \"running\""))
			break;
		if (!strstr(l, "\"status\": \"inmigrate\""))
			die("incoming: %s", l);
		usleep(20000);
	}
	for (i = 0, n = 0; i < pages; i++) {
		uint64_t want, got;

		if (A(i))
			want = VAL(0xa0, i);
		else if (B(i))
			want = VAL(0xb0, i);
		else if (C(i) || D(i))
			want = 0;
		else
			continue;
		n++;
		got = qt_readq(i * PAGE + OFF(i));
		if (got != want) {
			if (wrong < (getenv("QSNAP_ALL") ? ~0ULL : 10))
				printf("qsnap: page %llu: 0x%llx, want 0x%llx\n",
				       (unsigned long long)i,
				       (unsigned long long)got,
				       (unsigned long long)want);
			wrong++;
		}
	}
	stop_qemu(pid);
	printf("qsnap: checked=%llu\n", (unsigned long long)n);
	printf("qsnap: wrong=%llu\n", (unsigned long long)wrong);
	return wrong ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && !strcmp(argv[1], "sink"))
		return sink(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "snap"))
		return snap(argv[2], strtoul(argv[3], NULL, 0), argv[4]);
	fprintf(stderr, "usage: qsnap snap QEMU MIB DIR | sink FILE GATE\n");
	return 2;
}

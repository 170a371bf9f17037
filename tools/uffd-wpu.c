// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-wpu: show and switch UFFD_FEATURE_WP_UNPOPULATED support.
 * See man/uffd-wpu.1.  Exit status: 0 ok (status: the feature is
 * available), 1 error, 2 usage, 3 status: the feature is unavailable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uffd-wpu.h>

/* lib/lib.mk passes the version of dkms.conf; a build outside it gets this. */
#ifndef UFFD_WPU_VERSION
#define UFFD_WPU_VERSION "unknown"
#endif

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_UNAVAILABLE = 3 };

static const char *prog = "uffd-wpu";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [status] [-q]       show how this kernel provides WP_UNPOPULATED\n"
"       %s enable | disable    uffd_wpu module: accept opt-ins or not (root)\n"
"       %s transparent on|off  uffd_wpu module: grant bit 13 to any program (root)\n"
"       %s --version | --help\n"
"\n"
"Exit status: 0 ok (status: WP_UNPOPULATED available), 1 error, 2 usage,\n"
"3 (status only) WP_UNPOPULATED unavailable.\n", prog, prog, prog, prog);
}

static const char *yesno(uint32_t v)
{
	return v ? "yes" : "no";
}

static int cmd_status(int quiet)
{
	struct uffd_wpu_status_info st;
	const struct uffd_wpu_probe *p = &st.probe;
	uint32_t i;

	if (uffd_wpu_status(&st)) {
		fprintf(stderr, "%s: %s\n", prog, strerror(errno));
		return EXIT_ERR;
	}
	if (quiet)
		return p->support == UFFD_WPU_UNAVAILABLE ? EXIT_UNAVAILABLE : EXIT_OK;

	printf("kernel:           %s\n", st.kernel_release);
	switch (p->support) {
	case UFFD_WPU_NATIVE:
		printf("WP_UNPOPULATED:   native\n");
		break;
	case UFFD_WPU_MODULE:
		printf("WP_UNPOPULATED:   emulated (uffd_wpu module)\n");
		break;
	default:
		printf("WP_UNPOPULATED:   unavailable: %s\n", uffd_wpu_reason_str(p->reason));
		break;
	}
	printf("                  %s\n", p->message);
	if (p->kernel_features)
		printf("uffd features:    %#llx%s\n", (unsigned long long)p->kernel_features,
		       p->flags & UFFD_WPU_PROBE_USER_MODE_ONLY ?
		       " (only UFFD_USER_MODE_ONLY userfaultfds permitted)" : "");
	if (!p->module_loaded) {
		printf("module:           not loaded%s\n",
		       p->support == UFFD_WPU_NATIVE ? " (not needed)" : "");
		return p->support == UFFD_WPU_UNAVAILABLE ? EXIT_UNAVAILABLE : EXIT_OK;
	}
	printf("module:           uffd_wpu %s", p->module_version[0] ? p->module_version : "?");
	if (p->abi_major)
		printf(", ABI %u.%u", p->abi_major, p->abi_minor);
	printf("\n");
	printf("backend:          %s\n", uffd_wpu_backend_str(p->backend));
	printf("enabled:          %s\n", yesno(p->enabled));
	printf("transparent:      %s\n", yesno(p->transparent));
	printf("hooks attached:   %u%s\n", st.hooks,
	       p->flags & UFFD_WPU_PROBE_HOOKED || !st.hooks ? "" : " (incomplete)");
	printf("device:           %s\n", p->flags & UFFD_WPU_PROBE_DEVICE ?
	       "/dev/uffd-wpu usable" : "/dev/uffd-wpu not usable by this user");
	printf("tracked mms:      %llu\n", (unsigned long long)st.tracked_mms);
	if (st.nstats) {
		printf("stats:\n");
		for (i = 0; i < st.nstats; i++)
			printf("  %-16s %lld\n", st.stats[i].name,
			       (long long)st.stats[i].value);
	}
	return p->support == UFFD_WPU_UNAVAILABLE ? EXIT_UNAVAILABLE : EXIT_OK;
}

static int report(int r)
{
	struct uffd_wpu_error e;

	if (!r)
		return EXIT_OK;
	uffd_wpu_last_error(&e);
	fprintf(stderr, "%s: %s\n", prog, e.message[0] ? e.message : strerror(errno));
	return EXIT_ERR;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "status";
	int quiet = 0, i;

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("uffd-wpu %s (libuffd-wpu %s)\n", UFFD_WPU_VERSION,
		       uffd_wpu_library_version());
		return EXIT_OK;
	}
	if (!strcmp(cmd, "status") || !strcmp(cmd, "-q") || !strcmp(cmd, "--quiet")) {
		for (i = !strcmp(cmd, "status") ? 2 : 1; i < argc; i++) {
			if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
				quiet = 1;
			} else {
				fprintf(stderr, "%s: status: unknown argument '%s'\n", prog, argv[i]);
				usage(stderr);
				return EXIT_USAGE;
			}
		}
		return cmd_status(quiet);
	}
	if (!strcmp(cmd, "enable") || !strcmp(cmd, "disable")) {
		if (argc != 2) {
			usage(stderr);
			return EXIT_USAGE;
		}
		return report(uffd_wpu_set_enabled(!strcmp(cmd, "enable")));
	}
	if (!strcmp(cmd, "transparent")) {
		if (argc != 3 || (strcmp(argv[2], "on") && strcmp(argv[2], "off") &&
				  strcmp(argv[2], "1") && strcmp(argv[2], "0"))) {
			usage(stderr);
			return EXIT_USAGE;
		}
		return report(uffd_wpu_set_transparent(!strcmp(argv[2], "on") ||
							!strcmp(argv[2], "1")));
	}
	fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
	usage(stderr);
	return EXIT_USAGE;
}

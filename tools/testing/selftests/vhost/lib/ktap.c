// SPDX-License-Identifier: GPL-2.0
/*
 * ktap: run test cases in forked children and report them as TAP.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "ktap.h"

/* Write end of the pipe that carries a skip reason from child to parent. */
static int ktap_reason_fd = -1;

void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void ktap_skip_reason(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(buf))
		len = sizeof(buf) - 1;
	if (ktap_reason_fd >= 0 && write(ktap_reason_fd, buf, len) < 0)
		ktap_diag("could not pass the skip reason on");
}

static enum ktap_result ktap_run_one(const struct ktap_case *c, char *reason,
				     size_t reason_len)
{
	unsigned int timeout = c->timeout ? c->timeout : KTAP_DEFAULT_TIMEOUT;
	int pipefd[2], status;
	ssize_t got;
	pid_t pid;

	reason[0] = '\0';
	if (pipe(pipefd)) {
		ktap_diag("pipe: %s", strerror(errno));
		return KTAP_FAIL;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		ktap_diag("fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return KTAP_FAIL;
	}
	if (pid == 0) {
		close(pipefd[0]);
		ktap_reason_fd = pipefd[1];
		/* The default SIGALRM action kills the child: a hang fails. */
		alarm(timeout);
		status = c->fn();
		fflush(stdout);
		_exit(status);
	}
	close(pipefd[1]);
	got = read(pipefd[0], reason, reason_len - 1);
	if (got > 0)
		reason[got] = '\0';
	else
		snprintf(reason, reason_len, "no reason given");
	close(pipefd[0]);

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ktap_diag("waitpid: %s", strerror(errno));
			return KTAP_FAIL;
		}
	}
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGALRM)
			ktap_diag("%s: timed out after %u s", c->name, timeout);
		else
			ktap_diag("%s: killed by signal %d", c->name,
				  WTERMSIG(status));
		return KTAP_FAIL;
	}
	switch (WEXITSTATUS(status)) {
	case KTAP_PASS:
		return KTAP_PASS;
	case KTAP_SKIP:
		return KTAP_SKIP;
	default:
		return KTAP_FAIL;
	}
}

int ktap_run(const struct ktap_case *cases, size_t n)
{
	size_t i, pass = 0, fail = 0, skip = 0;
	char reason[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%zu\n", n);
	for (i = 0; i < n; i++) {
		switch (ktap_run_one(&cases[i], reason, sizeof(reason))) {
		case KTAP_PASS:
			printf("ok %zu %s\n", i + 1, cases[i].name);
			pass++;
			break;
		case KTAP_SKIP:
			printf("ok %zu %s # SKIP %s\n", i + 1, cases[i].name,
			       reason);
			skip++;
			break;
		default:
			printf("not ok %zu %s\n", i + 1, cases[i].name);
			fail++;
			break;
		}
	}
	printf("# Totals: pass:%zu fail:%zu xfail:0 xpass:0 skip:%zu error:0\n",
	       pass, fail, skip);
	if (fail)
		return KSFT_FAIL;
	if (skip == n)
		return KSFT_SKIP;
	return KSFT_PASS;
}

int ktap_main(const struct ktap_case *cases, size_t n, int argc,
	      char **argv)
{
	struct ktap_case *some;
	size_t i, k = 0;
	int a, ret;

	if (argc < 2)
		return ktap_run(cases, n);
	for (a = 1; a < argc; a++) {
		for (i = 0; i < n && strcmp(argv[a], cases[i].name); i++)
			;
		if (i == n) {
			fprintf(stderr, "%s: no case named %s\n", argv[0],
				argv[a]);
			return KSFT_FAIL;
		}
	}
	some = calloc(n, sizeof(*some));
	if (!some)
		return KSFT_FAIL;
	for (i = 0; i < n; i++)
		for (a = 1; a < argc; a++)
			if (!strcmp(argv[a], cases[i].name)) {
				some[k++] = cases[i];
				break;
			}
	ret = ktap_run(some, k);
	free(some);
	return ret;
}

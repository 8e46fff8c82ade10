/*
 * util/proctitle.c - the process title (see proctitle.h).
 *
 * DESIGN: Linux shows /proc/PID/cmdline, which is the memory argv points
 * into; the environment strings follow it contiguously. Moving environ and
 * argv's strings to the heap frees that whole area for the title (the setproctitle() trick
 * of BSD, nginx and PostgreSQL). Everything after the title is zeroed so
 * ps shows no leftover of the old arguments.
 */
#include <stdlib.h>
#include <string.h>

#include "util/proctitle.h"
#include "util/util.h"
#include "util/banned.h"

extern char **environ;

static char *area;	/* start of argv[0] */
static size_t area_len; /* contiguous bytes from area */

void cd_proctitle_init(int argc, char **argv)
{
	char *end;
	size_t n = 0;

	if (argc < 1 || !argv[0])
		return;
	area = argv[0];
	end = argv[0] + strlen(argv[0]) + 1;
	for (int i = 1; i < argc && argv[i] == end; i++)
		end = argv[i] + strlen(argv[i]) + 1;
	while (environ[n])
		n++;
	if (n && environ[0] == end) {
		char **env = malloc((n + 1) * sizeof(*env));
		size_t i;

		for (i = 0; env && i < n; i++) {
			if (environ[i] != end || !(env[i] = strdup(environ[i])))
				break;
			end = environ[i] + strlen(environ[i]) + 1;
		}
		if (env && i == n) {
			env[n] = NULL;
			environ = env;
		} else if (env) {
			/* keep the original environment; the title uses argv's space only */
			while (i--)
				free(env[i]);
			free(env);
			end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
		}
	}
	area_len = (size_t)(end - area);
	/* argv's strings move too: the options parsed from them must survive the title */
	for (int i = 0; i < argc; i++) {
		char *copy = strdup(argv[i]);
		if (!copy) {
			area = NULL; /* no title rather than options pointing into it */
			return;
		}
		argv[i] = copy;
	}
}

void cd_set_proctitle(const char *title)
{
	if (!area || area_len < 2)
		return;
	memset(area, 0, area_len);
	cd_strlcpy(area, title, area_len);
}

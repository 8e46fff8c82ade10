/*
 * app.c - a service as a user writes it against the *installed* libclew:
 * built by tests/install/check.sh with `cc app.c $(pkg-config --cflags
 * --libs clew)`, it logs one record to stdout, which the script checks.
 */
#include <clew/clew.h>
#include <stdio.h>

int main(void)
{
	struct clew_options opt;
	clew_client *c;

	clew_options_default(&opt);
	opt.service = "install-check";
	opt.output = "stdout";
	opt.format = CLEW_FORMAT_PIPE;
	if (clew_client_new(&c, &opt) != 0)
		return 1;
	clew_ndc_push(c, "req42");
	CLEW_LOG(c, CLEW_LEVEL_INFO, CLEW_KV(CLEW_INT("status", 200)), "built with pkg-config, libclew %s",
		 clew_version_string());
	clew_ndc_pop(c, "req42");
	clew_client_free(c);
	return 0;
}

/*
 * v2compat.h - InfluxDB 1.8's /api/v2/write mapping in front of a real
 * InfluxDB 1.x (see v2compat.c for why and what exactly).
 */
#ifndef TEST_INFLUX_V2COMPAT_H
#define TEST_INFLUX_V2COMPAT_H

#include <stdint.h>

/* v2compat_start() - listen on a free 127.0.0.1 port, forwarding to @upstream_url ("http://127.0.0.1:PORT"). Return: the port, 0 on failure. */
uint16_t v2compat_start(const char *upstream_url);
/*
 * v2compat_start_tls() - the same over https with @cert_file and @key_file
 * (PEM), asking for a client certificate that @client_ca_file verifies;
 * a request without one is answered 403. Return: the port, 0 on failure.
 */
uint16_t v2compat_start_tls(const char *upstream_url, const char *cert_file, const char *key_file,
			    const char *client_ca_file);
void v2compat_stop(void);

#endif

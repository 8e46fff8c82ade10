/*
 * v2compat.h - InfluxDB 1.8's /api/v2/write mapping in front of a real
 * InfluxDB 1.x (see v2compat.c for why and what exactly).
 */
#ifndef TEST_INFLUX_V2COMPAT_H
#define TEST_INFLUX_V2COMPAT_H

#include <stdint.h>

/* v2compat_start() - listen on a free 127.0.0.1 port, forwarding to @upstream_url ("http://127.0.0.1:PORT"). Return: the port, 0 on failure. */
uint16_t v2compat_start(const char *upstream_url);
void v2compat_stop(void);

#endif

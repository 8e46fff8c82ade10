/*
 * util/proctitle.h - what `ps` shows for clewd: "clewd: config FILE HASH",
 * so an operator tells which configuration each process runs.
 */
#ifndef CD_UTIL_PROCTITLE_H
#define CD_UTIL_PROCTITLE_H

/*
 * cd_proctitle_init() - take over the memory of argv and the environment
 * strings (both are copied to the heap first and argv[i]/environ point to
 * the copies, so getenv() and later option parsing keep working). Call
 * once at the start of main(), before parsing @argv (main's own). Out of memory: titles are then cut to argv's own length.
 */
void cd_proctitle_init(int argc, char **argv);

/* cd_set_proctitle() - show @title (cut to the space there is). */
void cd_set_proctitle(const char *title);

#endif

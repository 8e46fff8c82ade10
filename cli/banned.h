/*
 * banned.h - unsafe libc functions, refused at compile time (docs/STYLE.md, Banned functions).
 * Include LAST in every tracegrep .c file. Each name says what to use.
 */
#ifndef TG_BANNED_H
#define TG_BANNED_H

#define TG_BANNED(fn) use_of_##fn##_is_banned_see_cli_banned_h

#undef sprintf
#define sprintf(...) TG_BANNED(sprintf) /* snprintf() or tg_buf_printf() */
#undef vsprintf
#define vsprintf(...) TG_BANNED(vsprintf) /* vsnprintf() */
#undef strcpy
#define strcpy(d, s) TG_BANNED(strcpy) /* memcpy() with a known length */
#undef strcat
#define strcat(d, s) TG_BANNED(strcat) /* tg_buf_puts() */
#undef strncpy
#define strncpy(d, s, n) TG_BANNED(strncpy) /* tg_xstrndup() */
#undef strtok
#define strtok(s, d) TG_BANNED(strtok) /* strtok_r() */
#undef atoi
#define atoi(s) TG_BANNED(atoi) /* strtol() with an end check */
#undef atol
#define atol(s) TG_BANNED(atol) /* strtoll() with an end check */
#undef gmtime
#define gmtime(t) TG_BANNED(gmtime) /* gmtime_r() or fmt_ts_format() */
#undef localtime
#define localtime(t) TG_BANNED(localtime) /* localtime_r() */
#undef asctime
#define asctime(t) TG_BANNED(asctime)
#undef ctime
#define ctime(t) TG_BANNED(ctime)
#undef mktemp
#define mktemp(t) TG_BANNED(mktemp) /* mkstemp() */

#endif

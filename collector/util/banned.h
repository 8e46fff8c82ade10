/*
 * util/banned.h - libc functions clewd does not use (docs/STYLE.md, Banned functions).
 *
 * Include LAST in every .c file of the daemon: each banned name becomes
 * an undeclared identifier that says what to use instead, so a use fails
 * to compile. Redefined rather than poisoned: clang warns on poisoning the
 * fortified sprintf macro.
 */
#ifndef CD_UTIL_BANNED_H
#define CD_UTIL_BANNED_H

#define CD_BANNED(fn) use_of_##fn##_is_banned_see_util_banned_h

#undef sprintf
#define sprintf(...) CD_BANNED(sprintf) /* snprintf() */
#undef vsprintf
#define vsprintf(...) CD_BANNED(vsprintf) /* vsnprintf() */
#undef strcpy
#define strcpy(d, s) CD_BANNED(strcpy) /* cd_strlcpy(): reports truncation */
#undef strcat
#define strcat(d, s) CD_BANNED(strcat) /* snprintf() into a bounded buffer */
#undef strncpy
#define strncpy(d, s, n) CD_BANNED(strncpy) /* cd_strlcpy(): always terminates */
#undef strtok
#define strtok(s, d) CD_BANNED(strtok) /* strtok_r() or a pointer walk */
#undef atoi
#define atoi(s) CD_BANNED(atoi) /* cd_parse_u64(): reports overflow */
#undef atol
#define atol(s) CD_BANNED(atol) /* cd_parse_u64() */
#undef gmtime
#define gmtime(t) CD_BANNED(gmtime) /* gmtime_r(): no shared static buffer */
#undef localtime
#define localtime(t) CD_BANNED(localtime) /* localtime_r() */
#undef asctime
#define asctime(t) CD_BANNED(asctime) /* fmt_ts_format() */
#undef ctime
#define ctime(t) CD_BANNED(ctime) /* fmt_ts_format() */
#undef mktemp
#define mktemp(t) CD_BANNED(mktemp) /* mkstemp() */
#undef gets
#define gets(s) CD_BANNED(gets) /* fgets() */

#endif

/*
 * clew/version.h - the libclew version, at compile time and at run time.
 *
 * CLEW_VERSION_* describe the headers a program was compiled against;
 * clew_version() the library actually loaded. Programs that need a feature
 * added in a later minor release compare CLEW_VERSION_HEX at compile time
 * and clew_version() at run time.
 */
#ifndef CLEW_VERSION_H
#define CLEW_VERSION_H

/*
 * CLEW_API marks the exported functions. libclew is built with hidden
 * visibility and a version script (libclew.sym), so only what carries this
 * mark and is listed there is visible to programs.
 */
#if defined(__GNUC__) || defined(__clang__)
#define CLEW_API __attribute__((visibility("default")))
#else
#define CLEW_API
#endif

#define CLEW_VERSION_MAJOR 0
#define CLEW_VERSION_MINOR 1
#define CLEW_VERSION_PATCH 0
#define CLEW_VERSION_STRING "0.1.0"
#define CLEW_VERSION_HEX ((CLEW_VERSION_MAJOR << 16) | (CLEW_VERSION_MINOR << 8) | CLEW_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/*
 * clew_version() - the version of the loaded library, as CLEW_VERSION_HEX
 * would spell it ((major << 16) | (minor << 8) | patch).
 * Thread-safety: safe from any thread, and from a signal handler.
 */
CLEW_API unsigned clew_version(void);

/* The same as "MAJOR.MINOR.PATCH" text; a static string, never NULL. */
CLEW_API const char *clew_version_string(void);

#ifdef __cplusplus
}
#endif

#endif

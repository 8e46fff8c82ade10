/*
 * store/crc32c.h - CRC-32C (Castagnoli), the checksum of spool and
 * checkpoint files.
 *
 * Written here rather than taken from a library: zstd does not export its
 * XXH64, and a new dependency (libxxhash) for 40 lines is not worth it.
 * CRC-32C is what ext4, iSCSI and LevelDB use for the same job, and x86-64
 * computes it in hardware (SSE4.2 crc32), which is used when the CPU has it;
 * elsewhere a byte-wise table (built once, under pthread_once) is used.
 */
#ifndef CD_CHUNK_CRC32C_H
#define CD_CHUNK_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * crc32c() - extend @crc (0 to start) with @n bytes at @buf.
 * Return: the CRC-32C of everything so far (standard: init and final
 * xor 0xFFFFFFFF are applied inside, so crc32c(crc32c(0,a),b) == crc32c(0,ab)).
 * Thread-safe.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t n);

#endif

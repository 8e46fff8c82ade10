/*
 * input/in_tail.h - the tail input's state, shared by in_tail.c (scans,
 * rotation, reading) and in_tail_files.c (its bookkeeping of thousands of
 * files: by path, the read queue, descriptors under a cap).
 *
 * Invariants: every followed file is on st->files; a live one (not
 * rotated) is in the hash by its path; a file that may have data is in
 * the read queue once; nopen counts the files with fd >= 0 and stays at
 * most max_open except for rotated files being drained. A closed file's
 * position is its source's (pl_source_offset()).
 */
#ifndef CD_IN_TAIL_H
#define CD_IN_TAIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk/checkpoint.h"

struct pipeline;
struct pl_source;

struct tail_file {
	struct tail_file *next;	   /* every file followed */
	struct tail_file *hnext;   /* its hash chain by path (live files only) */
	struct tail_file *qnext;   /* the read queue */
	char *path;		   /* where it was found (its live name) */
	int fd;			   /* open read-only; -1 while closed (position kept in src) */
	struct pl_source *src;	   /* the pipeline's source; NULL until first opened */
	uint64_t dev, ino;	   /* identity */
	uint64_t start;		   /* where the first open starts reading (src == NULL) */
	struct checkpoint_pos was; /* the checkpoint entry start came from (has_was) */
	bool has_was;		   /* was is meaningful */
	bool rotated;		   /* no longer at path: drain, then close */
	bool deleted;		   /* unlinked: drain, then close and forget */
	bool queued;		   /* in the read queue */
	bool hashed;		   /* in the hash by path */
	int64_t last_data_ns;	   /* last read that returned data (or when rotated) */
	uint64_t
		size_at_eof; /* bytes it had when last read to its end (a scan queues it when its size differs) */
	bool seen;	     /* matched by the current rescan */
};

/* A warning that would repeat: logged once per CD_TAIL_WARN_INTERVAL_MS with its count. */
struct tail_warn {
	int64_t next_ns; /* monotonic ns before which it is only counted */
	uint64_t n;	 /* times since it was last logged */
};

struct tail_state {
	struct pipeline *pl;		 /* the pipeline */
	unsigned idx;			 /* input index */
	const char *path;		 /* the file or glob (the configuration's) */
	bool from_tail;			 /* read_from: tail */
	bool follow_symlinks;		 /* follow_symlinks: open files the glob matches through a symlink */
	bool oneshot;			 /* oneshot: read every file to its end once, then done */
	bool ended;			 /* oneshot: the sources were ended (tail_stop()) */
	char dir[PATH_MAX];		 /* directory of the pattern (watched) */
	int ifd;			 /* inotify fd */
	int wd;				 /* watch on dir; -1 when not watching */
	bool rescan;			 /* a structural event: glob again */
	bool started;			 /* the first scan is done (read_from applies before) */
	int64_t next_poll;		 /* monotonic ns of the next rescan */
	struct tail_file *files;	 /* every file followed */
	unsigned nfiles;		 /* entries in files */
	unsigned nopen;			 /* of which open */
	unsigned nrotated;		 /* of which rotated (read every turn until done) */
	unsigned max_open;		 /* max_open_files, lowered to what RLIMIT_NOFILE leaves */
	struct tail_file **ht;		 /* live files by path (chained), ht_cap buckets */
	size_t ht_cap;			 /* a power of two */
	struct tail_file *qhead, *qtail; /* files that may have data, read in turn */
	unsigned nqueued;		 /* entries in the queue */

	/* symlinks the glob matched and the last scan left out (follow_symlinks: false) */
	unsigned links_skipped;
	uint64_t links_skipped_total; /* summed over scans that found more than the one before */
	uint64_t reopens;	      /* files opened again after being closed at EOF */
	struct tail_warn w_nofd;      /* no free descriptor: a file waits */
	struct tail_warn w_open;      /* open() failed */
	struct tail_warn w_full;      /* CD_TAIL_FILES_MAX reached */
	struct tail_warn w_slots;     /* CD_TAIL_ROTATED_MAX rotated files of a path: its new file waits */
};

/* in_tail_warn() - log @msg (with @path, @error) once per CD_TAIL_WARN_INTERVAL_MS, with how often it happened. */
void in_tail_warn(struct tail_warn *w, const char *msg, const char *path, const char *error);

/* The live file followed at @path, or NULL. */
struct tail_file *in_tail_ht_find(const struct tail_state *st, const char *path);
void in_tail_ht_del(struct tail_state *st, struct tail_file *f);
/* Return: false when out of memory. */
bool in_tail_ht_add(struct tail_state *st, struct tail_file *f);

/* The read queue: push (no-op when queued), pop the front (NULL: empty), remove anywhere. */
void in_tail_q_push(struct tail_state *st, struct tail_file *f);
struct tail_file *in_tail_q_pop(struct tail_state *st);
void in_tail_q_remove(struct tail_state *st, struct tail_file *f);

/* in_tail_fd_close() - close @f's descriptor (position kept) and park its source's buffer. */
void in_tail_fd_close(struct tail_state *st, struct tail_file *f);

/*
 * in_tail_park() - @f waits (at EOF, or for its next turn): its source's
 * buffers go back (pl_source_park()); with @reread a partial line is
 * dropped and the descriptor seeks back to read it again.
 */
void in_tail_park(struct tail_state *st, struct tail_file *f, bool reread);

/*
 * in_tail_fd_reserve() - room for one more open file, closing idle ones
 * (or a queued one) when at max_open. Return: false when none can be had.
 */
bool in_tail_fd_reserve(struct tail_state *st);

/* in_tail_fd_open() - open @path to follow it (counted in nopen). Return: the fd, or -1 with errno. */
int in_tail_fd_open(struct tail_state *st, const char *path);

/* in_tail_find_by_inode() - the path of the file @dev/@ino in @dir, into @out. */
bool in_tail_find_by_inode(const char *dir, uint64_t dev, uint64_t ino, char *out, size_t cap);

/* in_tail_start_offset() - where read_from: tail starts @path: after its last newline. */
uint64_t in_tail_start_offset(const char *path);

/* in_tail_fd_budget() - @want, lowered to what RLIMIT_NOFILE leaves after CD_FD_RESERVE. */
unsigned in_tail_fd_budget(unsigned want);

#endif

/* Files other processes watch: written whole or not at all (temp file in the same directory,
 * then rename, so a reader never sees a half-written file). */
#ifndef MPX_LIB_FILE_H
#define MPX_LIB_FILE_H
#include <stddef.h>

/* Writes len bytes to path through "path.tmpPID" + rename (no fsync: the readers are
 * on the same machine, crash durability is not the point). Returns 0, or -1 with errno set and
 * no temp file left behind. */
int mpx_file_write_atomic(const char *path, const void *data, size_t len);
/* Writes "ready PID\n" to path atomically: the signal that a daemon's sockets are up. */
int mpx_file_ready(const char *path);
#endif

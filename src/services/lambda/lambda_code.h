/* Function code: a zip archive checked against Lambda's limits and unpacked safely.
 *
 * Extraction refuses any entry that could land outside the target directory: absolute
 * paths, `..` components, and symbolic links (a link is recreated only when its target is
 * relative and stays inside the directory; links pointing out are refused, as are entries
 * written through a link). The sizes declared by the archive are summed before anything is
 * written, and the bytes actually written are counted again while extracting, so a zip
 * that lies about its sizes cannot exceed the unzipped limit either. Runs on a worker
 * thread (uv_queue_work): everything here is blocking file I/O. */
#ifndef SLUICE_LAMBDA_CODE_H
#define SLUICE_LAMBDA_CODE_H

#include <stddef.h>
#include <stdint.h>

#define LAMBDA_ZIP_MAX_BYTES      (50u * 1024 * 1024)  /* zipped, direct upload */
#define LAMBDA_UNZIPPED_MAX_BYTES (250u * 1024 * 1024) /* unzipped */

typedef enum {
    LAMBDA_CODE_OK = 0,
    LAMBDA_CODE_CORRUPT = -1,   /* not a zip, or an entry that cannot be read */
    LAMBDA_CODE_UNSAFE = -2,    /* a path or link escaping the directory */
    LAMBDA_CODE_TOO_LARGE = -3, /* over LAMBDA_UNZIPPED_MAX_BYTES (or max_unzipped) */
    LAMBDA_CODE_IO = -4,        /* the file system refused */
} lambda_code_status;

/* Unpacks the zip (borrowed bytes) into dir, which must exist and be empty. max_unzipped:
 * the limit on the total unpacked size. On failure dir may hold a partial tree (the caller
 * removes it) and err says why. */
int lambda_code_extract(const void *zip, size_t len, const char *dir, uint64_t max_unzipped,
                        char *err, size_t errlen);

/* SHA-256 of the bytes: base64 (Lambda's CodeSha256) and hex (directory names). */
void lambda_code_sha256(const void *data, size_t len, char b64[48], char hex[65]);

/* Writes data to path and syncs it. 0, or -1. */
int lambda_code_write_file(const char *path, const void *data, size_t len);
/* mkdir -p (mode 0755). 0, or -1. */
int lambda_code_mkdirs(const char *path);
/* rm -rf; missing is fine. */
void lambda_code_remove_tree(const char *path);

#endif

/* Function code: zip validation and safe extraction (see lambda_code.h for the rules).
 *
 * Two passes over the archive: the first checks every name and sums the declared sizes
 * and writes directories and regular files (opened O_NOFOLLOW|O_EXCL, so nothing is
 * written through a link or over another entry); the second creates the symbolic links,
 * once no more file will be written, after checking that the link's target, resolved
 * lexically from the link's own directory, stays inside, and that no directory above the
 * link is itself a link (which would make the lexical check meaningless). */
#include "services/lambda/lambda_code.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#define LINK_TARGET_MAX 1024

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- paths ---------------------------------------------------------------------------- */

/* A relative path with no empty, "." or ".." component escaping: name is safe when,
 * walked component by component, it never goes above its root. Absolute paths and
 * backslashes (Windows separators some zip tools write) are refused. */
static int path_stays_inside(const char *name, int depth)
{
    if (name[0] == '/' || strchr(name, '\\'))
        return 0;
    const char *p = name;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0)
                return 0;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    return 1;
}

static int is_symlink_entry(zip_t *z, zip_uint64_t i)
{
    zip_uint8_t opsys;
    zip_uint32_t attr;
    if (zip_file_get_external_attributes(z, i, 0, &opsys, &attr) != 0)
        return 0;
    return opsys == ZIP_OPSYS_UNIX && S_ISLNK((attr >> 16) & 0xffff);
}

static int is_executable_entry(zip_t *z, zip_uint64_t i)
{
    zip_uint8_t opsys;
    zip_uint32_t attr;
    if (zip_file_get_external_attributes(z, i, 0, &opsys, &attr) != 0)
        return 0;
    return opsys == ZIP_OPSYS_UNIX && ((attr >> 16) & 0111);
}

int lambda_code_mkdirs(const char *path)
{
    char tmp[8192];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    return lstat(tmp, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static int mkdirs_parent(const char *path)
{
    char tmp[8192];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return -1;
    char *slash = strrchr(tmp, '/');
    if (!slash)
        return 0;
    *slash = 0;
    return lambda_code_mkdirs(tmp);
}

/* Whether some directory between root and rel's last component is a symbolic link. */
static int parent_is_link(const char *root, const char *rel)
{
    char tmp[8192];
    int n = snprintf(tmp, sizeof tmp, "%s/", root);
    if (n < 0 || n >= (int)sizeof tmp)
        return 1; /* a path this long is refused as if it were unsafe */
    for (const char *p = rel; *p; p++) {
        if (*p == '/') {
            tmp[n] = 0;
            struct stat st;
            if (lstat(tmp, &st) == 0 && S_ISLNK(st.st_mode))
                return 1;
        }
        if (n < (int)sizeof tmp - 1)
            tmp[n++] = *p;
    }
    return 0;
}

/* ---- entries -------------------------------------------------------------------------- */

static int read_entry(zip_t *z, zip_uint64_t i, char *out, size_t cap, zip_int64_t *got)
{
    zip_file_t *f = zip_fopen_index(z, i, 0);
    if (!f)
        return -1;
    *got = zip_fread(f, out, cap);
    zip_fclose(f);
    return *got < 0 ? -1 : 0;
}

static int write_entry(zip_t *z, zip_uint64_t i, const char *path, int exec, uint64_t *written,
                       uint64_t max, char *err, size_t errlen)
{
    if (mkdirs_parent(path) != 0)
        return fail(err, errlen, LAMBDA_CODE_IO, "cannot create the directory of %s", path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, exec ? 0755 : 0644);
    if (fd < 0)
        return fail(err, errlen, LAMBDA_CODE_UNSAFE, "cannot create %s: %s", path, strerror(errno));
    zip_file_t *f = zip_fopen_index(z, i, 0);
    int rc = f ? 0 : fail(err, errlen, LAMBDA_CODE_CORRUPT, "cannot read an entry");
    char chunk[65536];
    while (rc == 0) {
        zip_int64_t n = zip_fread(f, chunk, sizeof chunk);
        if (n < 0) {
            rc = fail(err, errlen, LAMBDA_CODE_CORRUPT, "cannot read an entry");
        } else if (n == 0) {
            break;
        } else if ((*written += (uint64_t)n) > max) {
            rc = fail(err, errlen, LAMBDA_CODE_TOO_LARGE, "unzipped size over %llu bytes",
                      (unsigned long long)max);
        } else if (write(fd, chunk, (size_t)n) != n) {
            rc = fail(err, errlen, LAMBDA_CODE_IO, "cannot write %s", path);
        }
    }
    if (f)
        zip_fclose(f);
    close(fd);
    return rc;
}

/* A link entry: its target must be relative and, from the link's directory, stay inside. */
static int make_link(zip_t *z, zip_uint64_t i, const char *dir, const char *name, char *err,
                     size_t errlen)
{
    char target[LINK_TARGET_MAX + 1];
    zip_int64_t n;
    if (read_entry(z, i, target, LINK_TARGET_MAX, &n) != 0)
        return fail(err, errlen, LAMBDA_CODE_CORRUPT, "cannot read the link %s", name);
    target[n] = 0;
    char joined[8192];
    const char *slash = strrchr(name, '/');
    snprintf(joined, sizeof joined, "%.*s%s%s", slash ? (int)(slash - name) : 0, name,
             slash ? "/" : "", target);
    if (target[0] == '/' || !path_stays_inside(joined, 0) || parent_is_link(dir, name))
        return fail(err, errlen, LAMBDA_CODE_UNSAFE, "the link %s points outside the code", name);
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (mkdirs_parent(path) != 0 || symlink(target, path) != 0)
        return fail(err, errlen, LAMBDA_CODE_UNSAFE, "cannot create the link %s", name);
    return 0;
}

/* Pass 1: names and declared sizes; directories and files. */
static int extract_files(zip_t *z, const char *dir, uint64_t max, char *err, size_t errlen)
{
    zip_int64_t count = zip_get_num_entries(z, 0);
    uint64_t declared = 0, written = 0;
    for (zip_int64_t i = 0; i < count; i++) {
        zip_stat_t st;
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME))
            return fail(err, errlen, LAMBDA_CODE_CORRUPT, "unreadable entry %lld", (long long)i);
        if (!st.name[0] || !path_stays_inside(st.name, 0))
            return fail(err, errlen, LAMBDA_CODE_UNSAFE, "unsafe path '%s'", st.name);
        declared += (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
        if (declared > max)
            return fail(err, errlen, LAMBDA_CODE_TOO_LARGE, "unzipped size over %llu bytes",
                        (unsigned long long)max);
    }
    for (zip_int64_t i = 0; i < count; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (is_symlink_entry(z, (zip_uint64_t)i))
            continue;
        size_t len = strlen(name);
        int rc;
        if (name[len - 1] == '/')
            rc = lambda_code_mkdirs(path) == 0
                     ? 0
                     : fail(err, errlen, LAMBDA_CODE_UNSAFE, "cannot create directory %s", name);
        else
            rc = write_entry(z, (zip_uint64_t)i, path, is_executable_entry(z, (zip_uint64_t)i),
                             &written, max, err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int lambda_code_extract(const void *zip, size_t len, const char *dir, uint64_t max_unzipped,
                        char *err, size_t errlen)
{
    if (len < 22) /* smaller than an end-of-central-directory record: libzip would see an
                   * empty archive */
        return fail(err, errlen, LAMBDA_CODE_CORRUPT, "not a zip archive");
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(zip, len, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    if (!z) {
        if (src)
            zip_source_free(src);
        zip_error_fini(&ze);
        return fail(err, errlen, LAMBDA_CODE_CORRUPT, "not a zip archive");
    }
    zip_error_fini(&ze);
    int rc = extract_files(z, dir, max_unzipped, err, errlen);
    zip_int64_t count = zip_get_num_entries(z, 0);
    for (zip_int64_t i = 0; rc == 0 && i < count; i++)
        if (is_symlink_entry(z, (zip_uint64_t)i))
            rc = make_link(z, (zip_uint64_t)i, dir, zip_get_name(z, (zip_uint64_t)i, 0), err,
                           errlen);
    zip_discard(z);
    return rc;
}

/* ---- files ---------------------------------------------------------------------------- */

void lambda_code_sha256(const void *data, size_t len, char b64[48], char hex[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    EVP_EncodeBlock((unsigned char *)b64, md, SHA256_DIGEST_LENGTH);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int lambda_code_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    int rc = fsync(fd);
    close(fd);
    return rc;
}

void lambda_code_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[8192];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            lambda_code_remove_tree(child);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

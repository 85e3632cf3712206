/* io/hub_cache.c — see hub_cache.h. */
#include "io/hub_cache.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_part_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* A non-empty run of part characters, not "." or "..", up to 96 long. */
static int part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 96) return 0;
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_part_char(s[i])) return 0;
    return 1;
}

int st_hub_is_id(const char *s)
{
    if (!s) return 0;
    const char *slash = strchr(s, '/');
    if (!slash) return part_ok(s, strlen(s));
    if (strchr(slash + 1, '/')) return 0;
    return part_ok(s, (size_t)(slash - s)) && part_ok(slash + 1, strlen(slash + 1));
}

/* A revision: slash-separated parts ("main", "step1000", "refs/pr/1" is
 * written "pr/1" under refs/), none "." or "..". */
static int revision_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 255) return 0;
    const char *p = r;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!part_ok(p, len)) return 0;
        if (!e) break;
        p = e + 1;
    }
    return r[n - 1] != '/';
}

static int is_hex_hash(const char *s)
{
    size_t n = strlen(s);
    if (n < 7 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The cache root and the variable that chose it. */
static int cache_root(char *out, size_t cap, const char **why)
{
    const char *v;
    int n;
    if ((v = getenv("HF_HUB_CACHE")) && *v) {
        *why = "$HF_HUB_CACHE";
        n = snprintf(out, cap, "%s", v);
    } else if ((v = getenv("HF_HOME")) && *v) {
        *why = "$HF_HOME/hub";
        n = snprintf(out, cap, "%s/hub", v);
    } else if ((v = getenv("XDG_CACHE_HOME")) && *v) {
        *why = "$XDG_CACHE_HOME/huggingface/hub";
        n = snprintf(out, cap, "%s/huggingface/hub", v);
    } else if ((v = getenv("HOME")) && *v) {
        *why = "~/.cache/huggingface/hub";
        n = snprintf(out, cap, "%s/.cache/huggingface/hub", v);
    } else {
        return -1;
    }
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Names of the refs under dir (recursively, "pr/1"), comma-separated, into
 * list (truncated with "..." when long). */
static void list_refs(const char *dir, const char *prefix, char *list, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[4096], name[512];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
        if (is_dir(sub)) {
            char pfx[520];
            snprintf(pfx, sizeof pfx, "%s/", name);
            list_refs(sub, pfx, list, cap);
            continue;
        }
        size_t at = strlen(list);
        if (at + strlen(name) + 8 >= cap) {
            if (at + 4 < cap && (at < 3 || strcmp(list + at - 3, "..."))) snprintf(list + at, cap - at, ", ...");
            break;
        }
        snprintf(list + at, cap - at, "%s%s", at ? ", " : "", name);
    }
    closedir(d);
}

int st_hub_resolve(const char *id, const char *revision, char *out, size_t cap, st_err *err)
{
    if (!st_hub_is_id(id))
        return st_seterr(err, STRATA_ERR_ARG,
                         "'%s' is neither a file or directory nor a hub id (ORG/NAME)", id ? id : "(null)");
    const char *rev = revision && *revision ? revision : "main";
    if (!revision_ok(rev))
        return st_seterr(err, STRATA_ERR_ARG, "revision '%.200s' is not a branch, tag or commit name", rev);
    char root[2048];
    const char *why = NULL;
    if (cache_root(root, sizeof root, &why))
        return st_seterr(err, STRATA_ERR_NOTFOUND,
                         "'%s' is not a local path, and no Hugging Face cache is set "
                         "(HF_HUB_CACHE, HF_HOME and HOME are all unset)", id);
    /* models--ORG--NAME */
    char repo[2400];
    const char *slash = strchr(id, '/');
    if (slash)
        snprintf(repo, sizeof repo, "%s/models--%.*s--%s", root, (int)(slash - id), id, slash + 1);
    else
        snprintf(repo, sizeof repo, "%s/models--%s", root, id);
    if (!is_dir(repo))
        return st_seterr(err, STRATA_ERR_NOTFOUND,
                         "'%s' is not a local path nor in the Hugging Face cache (tried %s; cache "
                         "from %s); strata downloads nothing", id, repo, why);
    char refp[2800], snap[2900], hash[80] = "";
    snprintf(refp, sizeof refp, "%s/refs/%s", repo, rev);
    FILE *f = fopen(refp, "rb");
    const int via_ref = f != NULL;
    if (f) {
        size_t n = fread(hash, 1, sizeof hash - 1, f);
        fclose(f);
        hash[n] = 0;
        while (n > 0 && (hash[n - 1] == '\n' || hash[n - 1] == '\r' || hash[n - 1] == ' ')) hash[--n] = 0;
        if (!is_hex_hash(hash))
            return st_seterr(err, STRATA_ERR_FORMAT, "%s: does not hold a commit hash", refp);
    } else if (is_hex_hash(rev)) {
        snprintf(hash, sizeof hash, "%s", rev);
    }
    if (!*hash) {
        char refs[2500], list[512] = "";
        snprintf(refs, sizeof refs, "%s/refs", repo);
        list_refs(refs, "", list, sizeof list);
        return st_seterr(err, STRATA_ERR_NOTFOUND,
                         "'%s': revision '%s' is not in the Hugging Face cache (tried %s); "
                         "revisions there: %s", id, rev, refp, *list ? list : "none");
    }
    snprintf(snap, sizeof snap, "%s/snapshots/%s", repo, hash);
    if (!is_dir(snap))
        return st_seterr(err, STRATA_ERR_NOTFOUND,
                         "'%s': revision '%s' is commit %s, whose snapshot is not in the cache "
                         "(tried %s%s%s)", id, rev, hash, via_ref ? refp : "", via_ref ? ", " : "", snap);
    int n = snprintf(out, cap, "%s", snap);
    if (n < 0 || (size_t)n >= cap)
        return st_seterr(err, STRATA_ERR_RANGE, "%s: path too long", snap);
    return STRATA_OK;
}

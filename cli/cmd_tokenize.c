/* cli/cmd_tokenize.c — `strata tokenize`: text -> ids, pieces and offsets. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "strata/model.h"
#include "strata/tokenizer.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: strata tokenize MODEL_OR_TOKENIZER [--no-bos] [--json] [--revision REV]\n"
        "                       (TEXT | --file F)\n"
        "\n"
        "Encodes TEXT (or the contents of F; '-' reads stdin) and prints one line per token:\n"
        "position, id, character offsets [start,end) into the text, the vocabulary piece and\n"
        "the text it covers.\n"
        "\n"
        "MODEL_OR_TOKENIZER: a model directory (tokenizer.json + tokenizer_config.json, or\n"
        "vocab.json + merges.txt), a tokenizer.json file, a .gguf file, or a hub id (ORG/NAME)\n"
        "in the local Hugging Face cache, at --revision REV (default main).\n"
        "\n"
        "  --no-bos     do not add BOS (nor any post-processor tokens); default: the\n"
        "               tokenizer's own setting (tokenizer_config.json add_bos_token, or\n"
        "               tokenizer.json's post-processor)\n"
        "  --bos        always put BOS first\n"
        "  --json       print {\"ids\": [...], \"tokens\": [...], \"offsets\": [[start,end],...],\n"
        "               \"byte_offsets\": [[start,end],...], \"text\": ...}; offsets count Unicode\n"
        "               code points (Python str indices), byte_offsets count UTF-8 bytes\n"
        "  --file F     read the text from F instead of the command line\n"
        "\n"
        "Special tokens written in the text (<|endoftext|>, <s>) are read as those tokens, as\n"
        "Hugging Face tokenizers does.  See docs/cli/tokenize.md.\n");
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) { free(b); b = NULL; break; }
            b = nb;
            cap *= 2;
        }
        size_t k = fread(b + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    if (f != stdin) fclose(f);
    *len = n;
    return b;
}

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 if ill-formed;
 * *bad gets the length of the maximal ill-formed subpart (Unicode 6.0 rule). */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    *bad = 1;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return 0;
    for (size_t k = 1; k <= need; k++) {
        unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (k >= n || s[k] < l || s[k] > h) { *bad = k; return 0; }
    }
    return need + 1;
}

/* A JSON string of s[0..n); ill-formed UTF-8 (a piece can hold half a
 * character; the input may be invalid) becomes U+FFFD per maximal subpart,
 * as Python's errors="replace" does, so character offsets index it. */
static json_t *jstr(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j) return j;
    char *b = malloc(3 * n + 1);
    if (!b) return json_string("");
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t bad, m = utf8_seq((const unsigned char *)s + i, n - i, &bad);
        if (m) { memcpy(b + k, s + i, m); k += m; i += m; }
        else { memcpy(b + k, "\xEF\xBF\xBD", 3); k += 3; i += bad; }
    }
    j = json_stringn(b, k);
    free(b);
    return j ? j : json_string("");
}

static void print_escaped(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c == '\t') printf("\\t");
        else if (c == '\r') printf("\\r");
        else if (c < 0x20 || c == 0x7F) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
}

int cmd_tokenize(int argc, char **argv)
{
    const char *src = NULL, *text = NULL, *file = NULL, *revision = NULL;
    int add_bos = -1, as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) { usage(stdout); return 0; }
        if (!strcmp(argv[i], "--no-bos")) add_bos = 0;
        else if (!strcmp(argv[i], "--bos")) add_bos = 1;
        else if (!strcmp(argv[i], "--json")) as_json = 1;
        else if (!strcmp(argv[i], "--revision")) {
            if (++i >= argc) { fprintf(stderr, "strata tokenize: --revision needs a name\n"); return 2; }
            revision = argv[i];
        }
        else if (!strcmp(argv[i], "--file")) {
            if (++i >= argc) { fprintf(stderr, "strata tokenize: --file needs a path\n"); return 2; }
            file = argv[i];
        } else if (!strcmp(argv[i], "--")) {
            if (i + 1 < argc && !src) src = argv[++i];
            if (i + 1 < argc && !text) text = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] && !src) {
            fprintf(stderr, "strata tokenize: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (!src) src = argv[i];
        else if (!text) text = argv[i];
        else { fprintf(stderr, "strata tokenize: too many arguments (quote the text)\n"); return 2; }
    }
    if (!src || (!text && !file) || (text && file)) { usage(stderr); return 2; }

    size_t len = 0;
    char *buf = NULL;
    if (file) {
        buf = read_all(file, &len);
        if (!buf) { fprintf(stderr, "strata tokenize: cannot read %s\n", file); return 1; }
        text = buf;
    } else {
        len = strlen(text);
    }

    /* a hub id (or any --revision) resolves to its snapshot in the local cache */
    char snap[4096];
    struct stat sb;
    if (revision || stat(src, &sb) != 0) {
        char why[1024];
        if (strata_hub_resolve(src, revision, snap, sizeof snap, why, sizeof why) != STRATA_OK) {
            fprintf(stderr, "strata tokenize: %s\n", why);
            free(buf);
            return 1;
        }
        src = snap;
    }
    strata_tokenizer *tok = NULL;
    int rc = strata_tokenizer_open(src, &tok);
    if (rc != STRATA_OK) {
        fprintf(stderr, "strata tokenize: %s\n", strata_tokenizer_errmsg(tok));
        strata_tokenizer_free(tok);
        free(buf);
        return 1;
    }
    int64_t n = strata_tokenize(tok, text, len, add_bos, NULL, 0, NULL);
    int32_t *ids = n >= 0 ? malloc(sizeof *ids * (size_t)(n + 1)) : NULL;
    int64_t *boff = n >= 0 ? malloc(sizeof *boff * 2 * (size_t)(n + 1)) : NULL;
    int64_t *coff = n >= 0 ? malloc(sizeof *coff * 2 * (size_t)(n + 1)) : NULL;
    if (n < 0 || !ids || !boff || !coff || strata_tokenize(tok, text, len, add_bos, ids, n, boff) != n) {
        fprintf(stderr, "strata tokenize: %s\n", n < 0 ? strata_tokenizer_errmsg(tok) : "out of memory");
        free(ids); free(boff); free(coff); free(buf);
        strata_tokenizer_free(tok);
        return 1;
    }
    memcpy(coff, boff, sizeof *coff * 2 * (size_t)n);
    strata_utf8_char_offsets(text, len, coff, n);

    if (as_json) {
        json_t *o = json_object(), *ji = json_array(), *jt = json_array(), *jo = json_array(), *jb = json_array();
        for (int64_t i = 0; i < n; i++) {
            const char *p = strata_token_piece(tok, ids[i]);
            json_array_append_new(ji, json_integer(ids[i]));
            json_array_append_new(jt, jstr(p ? p : "", p ? strlen(p) : 0));
            json_array_append_new(jo, json_pack("[I,I]", (json_int_t)coff[2 * i], (json_int_t)coff[2 * i + 1]));
            json_array_append_new(jb, json_pack("[I,I]", (json_int_t)boff[2 * i], (json_int_t)boff[2 * i + 1]));
        }
        json_object_set_new(o, "ids", ji);
        json_object_set_new(o, "tokens", jt);
        json_object_set_new(o, "offsets", jo);
        json_object_set_new(o, "byte_offsets", jb);
        json_object_set_new(o, "text", jstr(text, len));
        json_object_set_new(o, "tokenizer", json_string(strata_tokenizer_kind(tok)));
        json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII * 0);
        putchar('\n');
        json_decref(o);
    } else {
        printf("%lld tokens:", (long long)n);
        for (int64_t i = 0; i < n; i++) printf(" %d", ids[i]);
        printf("\n");
        for (int64_t i = 0; i < n; i++) {
            const char *p = strata_token_piece(tok, ids[i]);
            char span[48];
            snprintf(span, sizeof span, "[%lld,%lld)", (long long)coff[2 * i], (long long)coff[2 * i + 1]);
            printf("%6lld %7d %-14s ", (long long)i, ids[i], span);
            print_escaped(p ? p : "", p ? strlen(p) : 0);
            printf("  ");
            print_escaped(text + boff[2 * i], (size_t)(boff[2 * i + 1] - boff[2 * i]));
            printf("\n");
        }
    }
    free(ids); free(boff); free(coff); free(buf);
    strata_tokenizer_free(tok);
    return 0;
}

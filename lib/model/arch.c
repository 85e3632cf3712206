/* model/arch.c — the architecture registry: one line per family. */
#include "model/arch.h"

#include <stdio.h>
#include <string.h>

extern const st_arch st_arch_gpt2, st_arch_neox, st_arch_llama, st_arch_gpt_neo, st_arch_gemma,
    st_arch_gemma2, st_arch_qwen2;

static const st_arch *const ARCHES[] = {
    &st_arch_gpt2,
    &st_arch_neox,
    &st_arch_llama,
    &st_arch_gpt_neo,
    &st_arch_gemma,
    &st_arch_gemma2,
    &st_arch_qwen2,
};
enum { N_ARCHES = sizeof ARCHES / sizeof ARCHES[0] };

const st_arch *st_arch_by_id(int id)
{
    for (int i = 0; i < N_ARCHES; i++)
        if (ARCHES[i]->id == id) return ARCHES[i];
    return NULL;
}

const st_arch *st_arch_by_hf_type(const char *model_type)
{
    for (int i = 0; model_type && i < N_ARCHES; i++)
        for (const char *const *t = ARCHES[i]->hf_types; *t; t++)
            if (!strcmp(*t, model_type)) return ARCHES[i];
    return NULL;
}

const st_arch *st_arch_by_gguf(const char *name)
{
    for (int i = 0; name && i < N_ARCHES; i++)
        if (ARCHES[i]->gguf_arch && !strcmp(ARCHES[i]->gguf_arch, name)) return ARCHES[i];
    return NULL;
}

void st_arch_list(int gguf, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < N_ARCHES; i++) {
        const char *const one[] = { ARCHES[i]->gguf_arch, NULL };
        for (const char *const *t = gguf ? one : ARCHES[i]->hf_types; *t && at < cap; t++)
            at += (size_t)snprintf(buf + at, cap - at, "%s%s", at ? ", " : "", *t);
    }
}

const char *strata_arch_model_type(int32_t arch)
{
    const st_arch *a = st_arch_by_id(arch);
    return a ? a->hf_types[0] : NULL;
}

const char *strata_arch_name(int32_t arch)
{
    const st_arch *a = st_arch_by_id(arch);
    return a ? a->name : NULL;
}

int32_t st_layer_window(const strata_config *c, int l)
{
    if (c->sliding_window <= 0) return 0;
    switch (c->window_layers) {
    case STRATA_WINDOW_EVEN: return l % 2 == 0 ? c->sliding_window : 0;
    case STRATA_WINDOW_ODD: return l % 2 == 1 ? c->sliding_window : 0;
    case STRATA_WINDOW_FROM: return l >= c->window_from ? c->sliding_window : 0;
    default: return c->sliding_window;
    }
}

int st_window_layers_from_list(const json_t *list, const char *path, const char *key,
                               const char *windowed, const char *global, strata_config *c, st_err *err)
{
    const int L = c->n_layers;
    if (!json_is_array(list) || (int64_t)json_array_size(list) != L)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: field '%s' must list one entry per layer (%d)", path,
                         key, L);
    int n_win = 0, first = -1, even = 1, odd = 1, from = 1;
    for (int i = 0; i < L; i++) {
        const char *t = json_string_value(json_array_get(list, (size_t)i));
        if (!t || (strcmp(t, windowed) && strcmp(t, global)))
            return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: %s[%d] = '%.40s' (supported: %s, %s)", path,
                             key, i, t ? t : "(not a string)", global, windowed);
        const int w = !strcmp(t, windowed);
        n_win += w;
        if (w && first < 0) first = i;
        even &= w == (i % 2 == 0);
        odd &= w == (i % 2 == 1);
        from &= w == (first >= 0);
    }
    if (n_win == L || n_win == 0) { c->window_layers = STRATA_WINDOW_ALL; if (!n_win) c->sliding_window = 0; }
    else if (even) c->window_layers = STRATA_WINDOW_EVEN;
    else if (odd) c->window_layers = STRATA_WINDOW_ODD;
    else if (from) { c->window_layers = STRATA_WINDOW_FROM; c->window_from = first; }
    else
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: field '%s' mixes %s and %s layers in a pattern "
                         "strata does not implement (all, even, odd, or from a layer on)", path, key,
                         global, windowed);
    return STRATA_OK;
}

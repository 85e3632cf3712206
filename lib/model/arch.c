/* model/arch.c — the architecture registry: one line per family. */
#include "model/arch.h"

#include <stdio.h>
#include <string.h>

extern const st_arch st_arch_gpt2, st_arch_neox, st_arch_llama;

static const st_arch *const ARCHES[] = {
    &st_arch_gpt2,
    &st_arch_neox,
    &st_arch_llama,
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

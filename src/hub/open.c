/*
 * open.c — a model by folder or by model id: bertc_hub_resolve (the folder, downloading an id into the cache) and
 * bertc_model_open (resolved and loaded), the one place the command, the server and Python resolve a --model.
 */
#include "bertc_hub.h"

#include "base/internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bertc_status bertc_hub_resolve(const char *model, const bertc_hub_params *p, char *dir, size_t cap,
                               bertc_error *err) {
    if (!model || !*model || !dir || !cap)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_hub_resolve: no model or no output");
    dir[0] = 0;
    struct stat st;
    if (stat(model, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return bertc_fail(err, BERTC_ERR_IO, "it is a file, not a checkpoint folder or a model id");
        if (p && p->revision)
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "a revision applies to model ids, and %s is a folder", model);
        if ((size_t)snprintf(dir, cap, "%s", model) >= cap) {
            dir[0] = 0;
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long: %.200s", model);
        }
        return BERTC_OK;
    }
    /* a path that does not exist is reported as such, not looked up on the hub */
    if (!bertc_hub_is_model_id(model) || model[0] == '.' || strchr(model, '\\'))
        return bertc_fail(err, BERTC_ERR_IO, "no such folder (and not a model id like org/name)");
    bertc_status s = bertc_hub_snapshot(model, p, dir, cap, err);
    if (s) dir[0] = 0;
    return s;
}

bertc_status bertc_model_open(const char *model, const bertc_model_params *params, const bertc_hub_params *hub,
                              bertc_model **out, char *folder, size_t cap, bertc_error *err) {
    if (folder && cap) folder[0] = 0;
    if (!out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_model_open: NULL output");
    *out = NULL;
    if (!model || !*model) return bertc_model_load(NULL, params, out, err);
    char dir[4096];
    bertc_status s = bertc_hub_resolve(model, hub, dir, sizeof dir, err);
    if (s) return s;
    if (folder && cap && (size_t)snprintf(folder, cap, "%s", dir) >= cap) {
        folder[0] = 0;
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_model_open: the folder does not fit in %zu bytes", cap);
    }
    return bertc_model_load(dir, params, out, err);
}

/**
 * What an opened project is made of, for a client that shows or writes it
 * (the `luamig` command): its files, its database and its dialect. The
 * project owns every string and table returned here; they live until
 * lm_project_free().
 */
#ifndef LUAMIG_PROJECT_H
#define LUAMIG_PROJECT_H

#include <stdio.h>

#include "luamig.h"
#include "luamig/sys/dialect.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The config file as given (NULL when there is none: --url only). */
const char *lm_project_config_path(const lm_project *p);
/** The folder of the config file: relative paths in it start here. */
const char *lm_project_dir(const lm_project *p);
/** The first versions folder: where new revisions are written (beside their
 * parent when there are several folders). */
const char *lm_project_versions_dir(const lm_project *p);
/** How many versions folders the config names, and the i-th of them (as
 * lm_project_versions_dir gives the first). */
int lm_project_versions_count(const lm_project *p);
const char *lm_project_versions_dir_at(const lm_project *p, int i);
/** Whether luamig.lua names model files (SPEC §10). */
int lm_project_has_model(const lm_project *p);
/** The database URL as it may be shown (the password masked), or NULL when
 * the project has none (only --dialect is known). */
const char *lm_project_url(const lm_project *p);
/** The project's dialect (from its URL or --dialect), or NULL. */
const lm_dialect *lm_project_dialect(const lm_project *p);
/** Where the project's normal output goes (lm_options.out, else stdout). */
FILE *lm_project_out(const lm_project *p);

/** The dialect of that name ("sqlite", "postgresql"), or NULL. */
const lm_dialect *lm_dialect_named(const char *name);
/** The dialect a database URL names (*d NULL when luamig has none for its
 * scheme); LM_ECONFIG for a malformed URL. */
int lm_url_dialect(const char *url, const lm_dialect **d);
/** The names of the dialects this build has, in a fixed order, into
 * names[0..max); returns how many there are. */
int lm_dialect_names(const char **names, int max);

#ifdef __cplusplus
}
#endif
#endif

/*
 * config_impl.h - what the configuration's own files share (config.c,
 * config_spec.c, config_yaml.c): the small steps each of them takes on a
 * struct cd_config. Not for the rest of clewd: it sees config.h.
 */
#ifndef CD_CONFIG_IMPL_H
#define CD_CONFIG_IMPL_H

#include "config.h"

/* cd_cfg_set_str() - replace the owned string *@dst with a copy of @s. Return: 0 or -CD_ENOMEM. */
int cd_cfg_set_str(char **dst, const char *s, struct cd_err *err);

/* cd_cfg_new_input()/_output() - a zeroed entry appended to @c, or NULL (-CD_ELIMIT in @err). */
struct cd_input_conf *cd_cfg_new_input(struct cd_config *c, struct cd_err *err);
struct cd_output_conf *cd_cfg_new_output(struct cd_config *c, struct cd_err *err);

/* cd_cfg_output_release() - free @o's strings and options, zero it. */
void cd_cfg_output_release(struct cd_output_conf *o);

/* cd_cfg_takes_opts() - whether output plugin @d takes its settings as options (CD_PLUGIN_URI_OPTS). */
bool cd_cfg_takes_opts(const struct cd_plugin_desc *d);

/* cd_cfg_input_release() - free @in's strings and options, zero it. */
void cd_cfg_input_release(struct cd_input_conf *in);

/* Parsers: the built-in one called @name; a valid user parser name; the index of parser @name or -1. */
bool cd_cfg_builtin_parser(const char *name, enum cd_parser *p);
bool cd_cfg_valid_parser_name(const char *name);
int cd_cfg_find_parser(const struct cd_config *c, const char *name);

/* cd_cfg_parse_level() - a log level's name into *@out. Return: 0 or -CD_EINVAL. */
int cd_cfg_parse_level(const char *s, int *out);

#endif

/*
 * The record store of the keys group on Zephyr's settings subsystem (the NVS backend in the
 * sample: each record one NVS entry, written whole or not at all). The only file that calls
 * the settings API; a port to PSA ITS, ZMS or a file system replaces just this one.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <string.h>

#include <zephyr/settings/settings.h>
#include <zephyr/sys/printk.h>

#include "keys_internal.h"

#define PREFIX CONFIG_IMPRINT_KEYS_SETTINGS_PREFIX

int iks_init(void)
{
	return settings_subsys_init();
}

struct read_arg {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int rc;
};

static int read_one(const char *rest, size_t len, settings_read_cb read_cb, void *cb_arg,
		    void *param)
{
	struct read_arg *arg = param;

	if (rest != NULL) {
		return 0; /* a record below this name, not this one */
	}
	if (len > arg->cap) {
		arg->rc = -ENOSPC;
		return 1;
	}
	ssize_t n = read_cb(cb_arg, arg->buf, len);

	arg->rc = (n == (ssize_t)len) ? 0 : -EIO;
	arg->len = len;
	return 1;
}

int iks_read(const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	struct read_arg arg = {.buf = buf, .cap = cap, .rc = -ENOENT};

	settings_load_subtree_direct(name, read_one, &arg);
	*len = arg.len;
	return arg.rc;
}

int iks_write(const char *name, const void *data, size_t len)
{
	return settings_save_one(name, data, len);
}

int iks_delete(const char *name)
{
	return settings_delete(name);
}

struct list_arg {
	void (*cb)(const char *rest, void *arg);
	void *arg;
};

static int list_one(const char *rest, size_t len, settings_read_cb read_cb, void *cb_arg,
		    void *param)
{
	struct list_arg *arg = param;

	if (rest != NULL && len > 0) {
		arg->cb(rest, arg->arg);
	}
	return 0;
}

int iks_list(const char *subtree, void (*cb)(const char *rest, void *arg), void *arg)
{
	char name[24];
	struct list_arg list = {.cb = cb, .arg = arg};

	snprintk(name, sizeof(name), PREFIX "/%s", subtree);
	return settings_load_subtree_direct(name, list_one, &list);
}

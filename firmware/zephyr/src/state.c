/*
 * The keys group's persistent state: key slots, certificate chains, the session counter, the
 * lock, the boot count, the tamper log and the transport key, each a record in the store
 * (store_settings.c), each sealed under the device key:
 *
 *   record = 01 ‖ hdr_len (u16 BE) ‖ hdr ‖ nonce (12) ‖ AES-256-GCM(secret) ‖ tag (16)
 *   AAD    = record name ‖ 01 ‖ hdr_len ‖ hdr
 *
 * The header (algorithm, usage, public key; a certificate chain; the counter) is readable but
 * authenticated; the secret (private key, transport key) is encrypted. A record changed in
 * flash, or moved to another name, fails its tag: it is refused, never used, and the failure
 * goes into the tamper log once (a marker record remembers that it was logged).
 *
 * The device key that seals them is <prefix>/dk, made from the RNG at first boot. On this
 * board it is a plain record (there is no hardware key store); on a secure board it would be
 * derived from the hardware unique key and never stored (docs/firmware.md).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/byteorder.h>
#include <zephyr/sys/util.h>

#include "keys_internal.h"

LOG_MODULE_DECLARE(imprint_keys, CONFIG_IMPRINT_KEYS_LOG_LEVEL);

#define PREFIX CONFIG_IMPRINT_KEYS_SETTINGS_PREFIX
#define REC_VERSION 1
#define REC_HEAD 3
#define REC_NONCE 12
#define REC_TAG 16
#define REC_MAX (REC_HEAD + CONFIG_IMPRINT_KEYS_CERT_MAX + REC_NONCE + IK_SECRET_MAX + REC_TAG)
#define REC_NAME_MAX 40
#define KEY_HDR_MAX (6 + IK_PUB_MAX)
#define STATE_HDR 13
#define TAMPER_HDR 20

struct ik_state ik;

/** One record at a time passes through here (the SMP work queue is the only caller). */
static uint8_t rec[REC_MAX];
static uint32_t nonce_counter;

static void name_of(char *name, const char *kind, bool numbered, uint32_t n)
{
	if (numbered) {
		snprintf(name, REC_NAME_MAX, PREFIX "/%s/%u", kind, (unsigned int)n);
	} else {
		snprintf(name, REC_NAME_MAX, PREFIX "/%s", kind);
	}
}

/** Writes a sealed record; 0 or a negative errno. */
static int rec_write(const char *name, const uint8_t *hdr, size_t hdr_len, const uint8_t *secret,
		     size_t secret_len)
{
	size_t len = REC_HEAD + hdr_len + REC_NONCE + secret_len + REC_TAG;
	uint8_t *nonce = rec + REC_HEAD + hdr_len;
	int rc;

	if (len > sizeof(rec)) {
		return -ENOSPC;
	}
	rec[0] = REC_VERSION;
	sys_put_be16((uint16_t)hdr_len, rec + 1);
	memcpy(rec + REC_HEAD, hdr, hdr_len);
	/*
	 * Nonce: boot count, a counter of this boot's writes, 4 random bytes. Unique even where the
	 * RNG repeats itself from boot to boot (native_sim without -seed).
	 */
	sys_put_be32(ik.boot, nonce);
	sys_put_be32(++nonce_counter, nonce + 4);
	rc = ikc_random(nonce + 8, 4);
	if (rc == 0) {
		rc = ikc_seal(nonce, (const uint8_t *)name, strlen(name), rec, REC_HEAD + hdr_len,
			      secret, secret_len, nonce + REC_NONCE);
	}
	if (rc == 0) {
		rc = iks_write(name, rec, len);
	}
	ikc_wipe(rec, len);
	return rc;
}

/**
 * Reads and opens a record. The header and secret point into the record buffer, valid until
 * the next record call. -ENOENT, -EBADMSG (fails its integrity check: hdr and hdr_len then show
 * the unauthenticated header when it could be parsed, else NULL), or -EIO.
 */
static int rec_read(const char *name, const uint8_t **hdr, size_t *hdr_len, uint8_t **secret,
		    size_t *secret_len)
{
	size_t len;
	int rc = iks_read(name, rec, sizeof(rec), &len);

	*hdr = NULL;
	*hdr_len = 0;
	if (rc == -ENOSPC) {
		return -EBADMSG;
	}
	if (rc) {
		return rc;
	}
	if (len < REC_HEAD + REC_NONCE + REC_TAG || rec[0] != REC_VERSION) {
		return -EBADMSG;
	}
	size_t h = sys_get_be16(rec + 1);

	if (h > len - REC_HEAD - REC_NONCE - REC_TAG) {
		return -EBADMSG;
	}
	*hdr = rec + REC_HEAD;
	*hdr_len = h;
	size_t s = len - REC_HEAD - h - REC_NONCE - REC_TAG;
	uint8_t *nonce = rec + REC_HEAD + h;

	rc = ikc_open(nonce, (const uint8_t *)name, strlen(name), rec, REC_HEAD + h,
		      nonce + REC_NONCE, s, nonce + REC_NONCE + s);
	if (secret != NULL) {
		*secret = nonce + REC_NONCE;
		*secret_len = s;
	}
	return rc;
}

/* ---- integrity markers: a failure is logged once per record ---- */

static bool marker_exists(const char *kind, bool numbered, uint32_t n)
{
	char name[REC_NAME_MAX];
	uint8_t b;
	size_t len;

	name_of(name, kind, numbered, n);
	return iks_read(name, &b, 1, &len) == 0;
}

static void marker_clear(const char *kind, uint32_t n)
{
	char name[REC_NAME_MAX];

	name_of(name, kind, true, n);
	(void)iks_delete(name);
}

/** The storage-integrity event for a record, unless it was logged before. */
void ik_integrity_failed(const char *marker, bool numbered, uint32_t id, bool *logged)
{
	char name[REC_NAME_MAX];
	const uint8_t one = 1;

	if (*logged) {
		return;
	}
	*logged = true;
	LOG_WRN("record %s%s%u failed its integrity check", marker, numbered ? "/" : "",
		numbered ? (unsigned int)id : 0u);
	ik_tamper(IK_TAMPER_STORAGE_INTEGRITY, numbered ? IK_TAMPER_HAS_ID : 0, id, 0, 0);
	name_of(name, marker, numbered, id);
	(void)iks_write(name, &one, 1);
}

/* ---- tamper log ---- */

const char *ik_tamper_kind_name(uint8_t kind)
{
	switch (kind) {
	case IK_TAMPER_COUNTER_ROLLBACK:
		return "counter-rollback";
	case IK_TAMPER_BAD_WRAP:
		return "bad-wrap";
	case IK_TAMPER_STORAGE_WRITE:
		return "storage-write";
	case IK_TAMPER_STORAGE_INTEGRITY:
		return "storage-integrity";
	case IK_TAMPER_LOCKED:
		return "locked";
	default:
		return "unknown";
	}
}

static void tamper_append(const struct ik_tamper_event *ev)
{
	if (ik.tamper_count == ARRAY_SIZE(ik.tamper)) {
		memmove(&ik.tamper[0], &ik.tamper[1], sizeof(ik.tamper) - sizeof(ik.tamper[0]));
		ik.tamper_count--;
	}
	ik.tamper[ik.tamper_count++] = *ev;
}

void ik_tamper(uint8_t kind, uint8_t flags, uint32_t id, uint64_t value, uint16_t cmd)
{
	struct ik_tamper_event ev = {
		.seq = ik.tamper_next++,
		.boot = ik.boot,
		.id = id,
		.cmd = cmd,
		.kind = kind,
		.flags = flags,
		.value = value,
	};
	uint8_t hdr[TAMPER_HDR];
	char name[REC_NAME_MAX];

	LOG_WRN("tamper event %u: %s", (unsigned int)ev.seq, ik_tamper_kind_name(kind));
	tamper_append(&ev);
	hdr[0] = kind;
	hdr[1] = flags;
	sys_put_be32(ev.boot, hdr + 2);
	sys_put_be32(id, hdr + 6);
	sys_put_be64(value, hdr + 10);
	sys_put_be16(cmd, hdr + 18);
	name_of(name, "t", true, ev.seq);
	if (rec_write(name, hdr, sizeof(hdr), NULL, 0)) {
		LOG_ERR("could not store tamper event %u", (unsigned int)ev.seq);
	}
	if (ev.seq >= CONFIG_IMPRINT_KEYS_TAMPER_CAPACITY) {
		name_of(name, "t", true, ev.seq - CONFIG_IMPRINT_KEYS_TAMPER_CAPACITY);
		(void)iks_delete(name);
	}
}

/* ---- slots ---- */

struct ik_slot *ik_slot_find(uint32_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(ik.slots); i++) {
		if (ik.slots[i].used && ik.slots[i].id == id) {
			return &ik.slots[i];
		}
	}
	return NULL;
}

unsigned int ik_slots_used(void)
{
	unsigned int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ik.slots); i++) {
		n += ik.slots[i].used ? 1 : 0;
	}
	return n;
}

static struct ik_slot *slot_new(uint32_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(ik.slots); i++) {
		if (!ik.slots[i].used) {
			memset(&ik.slots[i], 0, sizeof(ik.slots[i]));
			ik.slots[i].used = true;
			ik.slots[i].id = id;
			return &ik.slots[i];
		}
	}
	return NULL;
}

/** Key header: alg, usage (u32 BE), pub_len, pub. */
static bool key_header(const uint8_t *hdr, size_t len, struct ik_slot *slot)
{
	if (hdr == NULL || len < 6 || hdr[5] > IK_PUB_MAX || len != 6u + hdr[5] ||
	    ik_alg_name(hdr[0]) == NULL) {
		return false;
	}
	slot->alg = hdr[0];
	slot->usage = sys_get_be32(hdr + 1);
	slot->pub_len = hdr[5];
	memcpy(slot->pub, hdr + 6, hdr[5]);
	return true;
}

int ik_key_secret(const struct ik_slot *slot, uint8_t *secret, size_t *secret_len)
{
	char name[REC_NAME_MAX];
	const uint8_t *hdr;
	size_t hdr_len;
	uint8_t *s;
	size_t s_len;
	int rc;

	name_of(name, "k", true, slot->id);
	rc = rec_read(name, &hdr, &hdr_len, &s, &s_len);
	if (rc == 0 && (s_len == 0 || s_len > IK_SECRET_MAX)) {
		rc = -EBADMSG;
	}
	if (rc == 0) {
		struct ik_slot check = {0};

		/* What flash says must still be what the slot says. */
		if (!key_header(hdr, hdr_len, &check) || check.alg != slot->alg ||
		    check.usage != slot->usage || check.pub_len != slot->pub_len ||
		    memcmp(check.pub, slot->pub, slot->pub_len) != 0) {
			rc = -EBADMSG;
		}
	}
	if (rc == 0) {
		memcpy(secret, s, s_len);
		*secret_len = s_len;
	}
	ikc_wipe(rec, sizeof(rec));
	return rc;
}

int ik_key_store(uint32_t id, uint8_t alg, uint32_t usage, const uint8_t *pub, size_t pub_len,
		 const uint8_t *secret, size_t secret_len)
{
	uint8_t hdr[KEY_HDR_MAX];
	char name[REC_NAME_MAX];
	struct ik_slot *slot = ik_slot_find(id);
	int rc;

	if (slot == NULL && ik_slots_used() >= ARRAY_SIZE(ik.slots)) {
		return -ENOMEM;
	}
	hdr[0] = alg;
	sys_put_be32(usage, hdr + 1);
	hdr[5] = (uint8_t)pub_len;
	memcpy(hdr + 6, pub, pub_len);
	name_of(name, "k", true, id);
	rc = rec_write(name, hdr, 6 + pub_len, secret, secret_len);
	if (rc) {
		return rc;
	}
	if (slot != NULL) {
		/* A replaced key takes its chain with it. */
		name_of(name, "c", true, id);
		(void)iks_delete(name);
		marker_clear("xk", id);
		marker_clear("xc", id);
	} else {
		slot = slot_new(id);
	}
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	slot->id = id;
	slot->alg = alg;
	slot->usage = usage;
	slot->pub_len = (uint8_t)pub_len;
	memcpy(slot->pub, pub, pub_len);
	return 0;
}

int ik_key_remove(uint32_t id)
{
	char name[REC_NAME_MAX];
	struct ik_slot *slot = ik_slot_find(id);
	int rc;

	name_of(name, "k", true, id);
	rc = iks_delete(name);
	if (rc) {
		return rc;
	}
	name_of(name, "c", true, id);
	(void)iks_delete(name);
	marker_clear("xk", id);
	marker_clear("xc", id);
	if (slot != NULL) {
		memset(slot, 0, sizeof(*slot));
	}
	return 0;
}

int ik_cert_read(uint32_t id, const uint8_t **chain, size_t *len)
{
	char name[REC_NAME_MAX];

	name_of(name, "c", true, id);
	return rec_read(name, chain, len, NULL, NULL);
}

int ik_cert_store(uint32_t id, const uint8_t *chain, size_t len)
{
	char name[REC_NAME_MAX];
	struct ik_slot *slot = ik_slot_find(id);
	int rc;

	name_of(name, "c", true, id);
	rc = rec_write(name, chain, len, NULL, 0);
	if (rc == 0 && slot != NULL) {
		slot->cert_len = (uint16_t)len;
		slot->cert_corrupt = false;
		slot->cert_corrupt_logged = false;
		marker_clear("xc", id);
	}
	return rc;
}

/* ---- counter, lock, boot count: one record ---- */

static int state_store(uint64_t counter, bool locked)
{
	uint8_t hdr[STATE_HDR];

	sys_put_be64(counter, hdr);
	hdr[8] = locked ? 1 : 0;
	sys_put_be32(ik.boot, hdr + 9);
	return rec_write(PREFIX "/st", hdr, sizeof(hdr), NULL, 0);
}

int ik_counter_store(uint64_t value)
{
	int rc = state_store(value, ik.locked);

	if (rc == 0) {
		ik.counter = value;
	}
	return rc;
}

int ik_lock_store(void)
{
	int rc = state_store(ik.counter, true);

	if (rc == 0) {
		ik.locked = true;
	}
	return rc;
}

int ik_transport_secret(uint8_t secret[32])
{
	const uint8_t *hdr;
	size_t hdr_len;
	uint8_t *s;
	size_t s_len;
	int rc = rec_read(PREFIX "/tk", &hdr, &hdr_len, &s, &s_len);

	if (rc == 0 && (s_len != 32 || hdr_len != 32 || memcmp(hdr, ik.transport_pub, 32) != 0)) {
		rc = -EBADMSG;
	}
	if (rc == 0) {
		memcpy(secret, s, 32);
	}
	ikc_wipe(rec, sizeof(rec));
	return rc;
}

/* ---- boot ---- */

#define LISTED_MAX (2 * CONFIG_IMPRINT_KEYS_TAMPER_CAPACITY + CONFIG_IMPRINT_KEYS_SLOTS)
static uint32_t listed[LISTED_MAX];
static size_t listed_count;
static uint32_t listed_max_seen;
static bool listed_any;

static void collect(const char *rest, void *arg)
{
	char *end;
	unsigned long n = strtoul(rest, &end, 10);

	ARG_UNUSED(arg);
	if (*rest == '\0' || *end != '\0' || n > UINT32_MAX) {
		return;
	}
	if (!listed_any || n > listed_max_seen) {
		listed_max_seen = (uint32_t)n;
	}
	listed_any = true;
	if (listed_count < LISTED_MAX) {
		listed[listed_count++] = (uint32_t)n;
	}
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a;
	uint32_t y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void list_numbered(const char *kind)
{
	listed_count = 0;
	listed_any = false;
	listed_max_seen = 0;
	(void)iks_list(kind, collect, NULL);
	qsort(listed, listed_count, sizeof(listed[0]), compare_u32);
}

static int load_device_key(void)
{
	uint8_t dk[48];
	size_t len;
	int rc = iks_read(PREFIX "/dk", dk, sizeof(dk), &len);

	if (rc != 0 || len != sizeof(dk)) {
		if (rc != -ENOENT) {
			LOG_ERR("device key record unreadable (%d): making a new one", rc);
		}
		rc = ikc_random(dk, sizeof(dk));
		if (rc == 0) {
			rc = iks_write(PREFIX "/dk", dk, sizeof(dk));
		}
		if (rc) {
			return rc;
		}
	}
	memcpy(ik.device_id, dk + 32, sizeof(ik.device_id));
	rc = ikc_device_key(dk);
	ikc_wipe(dk, sizeof(dk));
	return rc;
}

static void load_tamper_log(void)
{
	char name[REC_NAME_MAX];
	const uint8_t *hdr;
	size_t hdr_len;
	bool broken = false;

	list_numbered("t");
	ik.tamper_next = listed_any ? listed_max_seen + 1 : 0;
	size_t first = listed_count > CONFIG_IMPRINT_KEYS_TAMPER_CAPACITY
			       ? listed_count - CONFIG_IMPRINT_KEYS_TAMPER_CAPACITY
			       : 0;

	for (size_t i = first; i < listed_count; i++) {
		name_of(name, "t", true, listed[i]);
		if (rec_read(name, &hdr, &hdr_len, NULL, NULL) != 0 || hdr_len != TAMPER_HDR) {
			broken = true;
			continue;
		}
		struct ik_tamper_event ev = {
			.seq = listed[i],
			.kind = hdr[0],
			.flags = hdr[1],
			.boot = sys_get_be32(hdr + 2),
			.id = sys_get_be32(hdr + 6),
			.value = sys_get_be64(hdr + 10),
			.cmd = sys_get_be16(hdr + 18),
		};
		tamper_append(&ev);
	}
	if (broken) {
		bool logged = marker_exists("xt", false, 0);

		ik_integrity_failed("xt", false, 0, &logged);
	}
}

static void load_keys(void)
{
	char name[REC_NAME_MAX];
	const uint8_t *hdr;
	size_t hdr_len;

	list_numbered("k");
	for (size_t i = 0; i < listed_count; i++) {
		uint32_t id = listed[i];

		if (id < IMPRINT_KEYS_ID_MIN || id > IMPRINT_KEYS_ID_MAX) {
			continue;
		}
		name_of(name, "k", true, id);
		int rc = rec_read(name, &hdr, &hdr_len, NULL, NULL);
		struct ik_slot parsed = {0};
		bool readable = key_header(hdr, hdr_len, &parsed);

		ikc_wipe(rec, sizeof(rec));
		if (rc == -ENOENT || (rc != 0 && rc != -EBADMSG)) {
			continue;
		}
		struct ik_slot *slot = slot_new(id);

		if (slot == NULL) {
			LOG_ERR("more stored keys than slots: key %u ignored", (unsigned int)id);
			continue;
		}
		if (readable) {
			slot->alg = parsed.alg;
			slot->usage = parsed.usage;
			slot->pub_len = parsed.pub_len;
			memcpy(slot->pub, parsed.pub, parsed.pub_len);
		}
		if (rc == -EBADMSG || !readable) {
			slot->corrupt = true;
			slot->corrupt_logged = marker_exists("xk", true, id);
			LOG_WRN("key %u failed its integrity check", (unsigned int)id);
		}
	}

	list_numbered("c");
	for (size_t i = 0; i < listed_count; i++) {
		uint32_t id = listed[i];
		struct ik_slot *slot = ik_slot_find(id);

		name_of(name, "c", true, id);
		if (slot == NULL) {
			(void)iks_delete(name); /* a chain whose key is gone */
			continue;
		}
		int rc = rec_read(name, &hdr, &hdr_len, NULL, NULL);

		if (rc == -ENOENT) {
			continue;
		}
		slot->cert_len = (uint16_t)MIN(hdr_len, CONFIG_IMPRINT_KEYS_CERT_MAX);
		if (rc != 0) {
			slot->cert_corrupt = true;
			slot->cert_corrupt_logged = marker_exists("xc", true, id);
			LOG_WRN("certificate chain of key %u failed its integrity check",
				(unsigned int)id);
		}
	}
}

static int load_transport_key(void)
{
	const uint8_t *hdr;
	size_t hdr_len;
	int rc = rec_read(PREFIX "/tk", &hdr, &hdr_len, NULL, NULL);

	if (rc == 0 && hdr_len == 32) {
		memcpy(ik.transport_pub, hdr, 32);
		ik.transport_ok = true;
	} else if (rc == -ENOENT) {
		uint8_t secret[IK_SECRET_MAX];
		uint8_t pub[IK_PUB_MAX];
		size_t secret_len, pub_len;

		if (!ikc_supports(IK_ALG_X25519)) {
			return 0; /* no X25519 in this PSA build: no imports */
		}
		rc = ikc_generate(IK_ALG_X25519, secret, &secret_len, pub, &pub_len);
		if (rc == 0) {
			rc = rec_write(PREFIX "/tk", pub, pub_len, secret, secret_len);
		}
		ikc_wipe(secret, sizeof(secret));
		if (rc == 0) {
			memcpy(ik.transport_pub, pub, 32);
			ik.transport_ok = true;
		}
	} else {
		ik.transport_logged = marker_exists("xtk", false, 0);
		ik_integrity_failed("xtk", false, 0, &ik.transport_logged);
		rc = 0;
	}
	ikc_wipe(rec, sizeof(rec));
	return rc;
}

int ik_state_init(void)
{
	const uint8_t *hdr;
	size_t hdr_len;
	int rc;

	memset(&ik, 0, sizeof(ik));
	rc = ikc_init();
	if (rc == 0) {
		rc = iks_init();
	}
	if (rc == 0) {
		rc = load_device_key();
	}
	if (rc) {
		return rc;
	}

	rc = rec_read(PREFIX "/st", &hdr, &hdr_len, NULL, NULL);
	bool state_ok = (rc == 0 && hdr_len == STATE_HDR) || rc == -ENOENT;

	if (rc == 0 && hdr_len == STATE_HDR) {
		ik.counter = sys_get_be64(hdr);
		ik.locked = hdr[8] != 0;
		ik.boot = sys_get_be32(hdr + 9);
	}
	if (state_ok) {
		ik.counter_ok = true;
		ik.boot++;
	} else {
		/* Counter and lock unknown: fail closed (locked, counter refused). */
		ik.locked = true;
		ik.counter_ok = false;
		ik.boot = 0;
	}

	load_tamper_log();
	if (state_ok) {
		rc = state_store(ik.counter, ik.locked);
		if (rc) {
			LOG_ERR("could not store the boot count (%d)", rc);
		}
	} else {
		bool logged = marker_exists("xs", false, 0);

		ik_integrity_failed("xs", false, 0, &logged);
	}
	rc = load_transport_key();
	if (rc) {
		/* No transport key: import and transport-key answer STORAGE_FAILURE, the rest works. */
		LOG_ERR("could not make the transport key (%d)", rc);
	}
	load_keys();
	LOG_INF("keys group ready: boot %u, %u keys, %u tamper events, %s",
		(unsigned int)ik.boot, ik_slots_used(), (unsigned int)ik.tamper_next,
		ik.locked ? "locked" : "not locked");
	return 0;
}

/*
 * The keys group's commands, as docs/protocol/keys-group.md words them and the simulated board
 * (src/lib/sim/groups/keys.ts) runs them: the same checks in the same order, so both boards
 * answer every request alike. No Zephyr, zcbor or PSA calls here: requests arrive decoded
 * (smp_group.c), keys are made and used by crypto_psa.c, state lives in state.c.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <string.h>

#include <zephyr/sys/byteorder.h>
#include <zephyr/sys/util.h>

#include "keys_internal.h"

#define ERR(name) IMPRINT_KEYS_ERR_##name

static const char *const ALG_NAMES[] = {
	[IK_ALG_P256] = "p256",
	[IK_ALG_X25519] = "x25519",
	[IK_ALG_ED25519] = "ed25519",
	[IK_ALG_HMAC_SHA256] = "hmac-sha256",
	[IK_ALG_AES_128] = "aes-128",
};

static const uint8_t GENERATE_ALGS[] = {IK_ALG_P256, IK_ALG_X25519, IK_ALG_ED25519};
static const uint8_t IMPORT_ALGS[] = {IK_ALG_P256, IK_ALG_X25519, IK_ALG_HMAC_SHA256,
				      IK_ALG_AES_128};

#define SIGN_VERIFY                                                                                \
	(IK_USAGE_SIGN_HASH | IK_USAGE_SIGN_MESSAGE | IK_USAGE_VERIFY_HASH | IK_USAGE_VERIFY_MESSAGE)
#define MESSAGE (IK_USAGE_SIGN_MESSAGE | IK_USAGE_VERIFY_MESSAGE)

/** Per algorithm: the usage a key gets when the request names none, and the bits it may have. */
static const struct {
	uint32_t usage_default;
	uint32_t usage_allowed;
} POLICY[] = {
	[IK_ALG_P256] = {SIGN_VERIFY, SIGN_VERIFY | IK_USAGE_DERIVE},
	[IK_ALG_X25519] = {IK_USAGE_DERIVE, IK_USAGE_DERIVE},
	[IK_ALG_ED25519] = {MESSAGE, SIGN_VERIFY},
	[IK_ALG_HMAC_SHA256] = {MESSAGE, MESSAGE},
	[IK_ALG_AES_128] = {IK_USAGE_ENCRYPT | IK_USAGE_DECRYPT, IK_USAGE_ENCRYPT | IK_USAGE_DECRYPT},
};

static const char CONTEXT_PREFIX[] = "imprint keys ";
static const char TRANSPORT_LABEL[] = "imprint keys transport-key v1";
static const char IMPORT_LABEL[] = "imprint keys import v1";

/** Output of csr, the plaintext of an import, a COSE_Sign1: one at a time. */
static uint8_t scratch[IK_SIGN_MSG_MAX + 96];
/** The subject of a csr (in generate or csr). */
static struct ik_subject subject;
/** A certificate chain being stored: RAM only, a reboot forgets it (spec 5.10). */
static struct {
	bool active;
	uint32_t id;
	uint32_t len;
	uint32_t off;
	uint8_t data[CONFIG_IMPRINT_KEYS_CERT_MAX];
} upload;

const char *ik_alg_name(enum ik_alg alg)
{
	return alg > IK_ALG_NONE && alg < ARRAY_SIZE(ALG_NAMES) ? ALG_NAMES[alg] : NULL;
}

enum ik_alg ik_alg_from_name(const uint8_t *name, size_t len)
{
	for (size_t a = 1; a < ARRAY_SIZE(ALG_NAMES); a++) {
		if (strlen(ALG_NAMES[a]) == len && memcmp(ALG_NAMES[a], name, len) == 0) {
			return (enum ik_alg)a;
		}
	}
	return IK_ALG_NONE;
}

/** Algorithms a command takes on this board: the spec's list, less what this PSA build lacks. */
static bool takes(const uint8_t *list, size_t count, enum ik_alg alg, bool import)
{
	for (size_t i = 0; i < count; i++) {
		if (list[i] == alg) {
			/* An import needs the X25519 transport key whatever it carries. */
			return ikc_supports(alg) && (!import || ikc_supports(IK_ALG_X25519));
		}
	}
	return false;
}

static bool user_id(const struct ik_uint *f)
{
	return f->state == IK_PRESENT && f->v >= IMPRINT_KEYS_ID_MIN && f->v <= IMPRINT_KEYS_ID_MAX;
}

static bool can_sign(uint8_t alg, uint32_t usage)
{
	return (alg == IK_ALG_P256 || alg == IK_ALG_ED25519) && (usage & IK_USAGE_SIGNS) != 0;
}

static int storage_failed(bool has_id, uint32_t id)
{
	ik_tamper(IK_TAMPER_STORAGE_WRITE, has_id ? IK_TAMPER_HAS_ID : 0, id, 0, 0);
	return ERR(STORAGE_FAILURE);
}

/** LOCKED (and a tamper event naming the command) once the board is locked; 0 before. */
static int refuse_if_locked(uint16_t command, const struct ik_uint *id)
{
	if (!ik.locked) {
		return 0;
	}
	bool has_id = id != NULL && user_id(id);

	ik_tamper(IK_TAMPER_LOCKED, IK_TAMPER_HAS_CMD | (has_id ? IK_TAMPER_HAS_ID : 0),
		  has_id ? (uint32_t)id->v : 0, 0, command);
	return ERR(LOCKED);
}

/** The key at the request's id: bad id, no such key, or a record failing its integrity check. */
static int lookup(const struct ik_uint *id, struct ik_slot **out)
{
	if (!user_id(id)) {
		return ERR(BAD_REQUEST);
	}
	struct ik_slot *slot = ik_slot_find((uint32_t)id->v);

	if (slot == NULL) {
		return ERR(NO_SUCH_KEY);
	}
	if (slot->corrupt) {
		ik_integrity_failed("xk", true, slot->id, &slot->corrupt_logged);
		return ERR(STORAGE_FAILURE);
	}
	*out = slot;
	return 0;
}

/** The key's secret from flash; a record that fails its check now is refused and logged. */
static int secret_of(struct ik_slot *slot, uint8_t *secret, size_t *len)
{
	int rc = ik_key_secret(slot, secret, len);

	if (rc == -EBADMSG) {
		slot->corrupt = true;
		ik_integrity_failed("xk", true, slot->id, &slot->corrupt_logged);
	}
	return rc ? ERR(STORAGE_FAILURE) : 0;
}

static int read_alg(const struct ik_bytes *f, const uint8_t *list, size_t count, bool import,
		    enum ik_alg *alg)
{
	if (f->state != IK_PRESENT) {
		return ERR(BAD_REQUEST);
	}
	*alg = ik_alg_from_name(f->p, f->len);
	return takes(list, count, *alg, import) ? 0 : ERR(UNSUPPORTED_ALGORITHM);
}

static uint32_t lowest_free_id(void)
{
	uint32_t id = IMPRINT_KEYS_ID_MIN;

	while (ik_slot_find(id) != NULL) {
		id++;
	}
	return id;
}

/** Where a new key goes: its id (given or the lowest free), its usage, and whether that is allowed now. */
static int place(const struct ik_request *req, enum ik_alg alg, uint16_t command, uint32_t *id,
		 uint32_t *usage)
{
	if (req->id.state != IK_ABSENT && !user_id(&req->id)) {
		return ERR(BAD_REQUEST);
	}
	if (req->replace.state == IK_WRONG_TYPE || req->usage.state == IK_WRONG_TYPE) {
		return ERR(BAD_REQUEST);
	}
	uint64_t flags = req->usage.state == IK_PRESENT ? req->usage.v : POLICY[alg].usage_default;

	if (flags == 0 || flags > UINT32_MAX) {
		return ERR(BAD_REQUEST);
	}
	if (flags & IK_USAGE_EXPORT) {
		return ERR(NOT_PERMITTED); /* private keys never leave the board */
	}
	if (flags & ~(uint64_t)POLICY[alg].usage_allowed) {
		return ERR(BAD_REQUEST);
	}
	uint32_t target = req->id.state == IK_PRESENT ? (uint32_t)req->id.v : lowest_free_id();

	if (ik_slot_find(target) != NULL) {
		if (req->replace.state != IK_PRESENT || !req->replace.v) {
			return ERR(SLOT_IN_USE);
		}
		struct ik_uint at = {IK_PRESENT, target};
		int locked = refuse_if_locked(command, &at); /* replacing destroys the old key */

		if (locked) {
			return locked;
		}
	} else if (ik_slots_used() >= CONFIG_IMPRINT_KEYS_SLOTS) {
		return ERR(SLOTS_FULL);
	}
	*id = target;
	*usage = (uint32_t)flags;
	return 0;
}

static bool put_entry(struct ik_writer *w, const struct ik_slot *slot, bool with_cert)
{
	bool ok = ikw_key(w, "id") && ikw_uint(w, slot->id) && ikw_key(w, "alg") &&
		  ikw_tstr(w, ik_alg_name(slot->alg)) && ikw_key(w, "usage") &&
		  ikw_uint(w, slot->usage);

	if (with_cert) {
		ok = ok && ikw_key(w, "cert") && ikw_uint(w, slot->cert_len);
	}
	return ok;
}

static size_t entry_size(const struct ik_slot *slot)
{
	return 2 + 3 + ik_cbor_uint_size(slot->id) + 4 + ik_cbor_str_size(strlen(ik_alg_name(slot->alg))) +
	       6 + ik_cbor_uint_size(slot->usage) + 5 + ik_cbor_uint_size(slot->cert_len);
}

#define DONE(ok) ((ok) ? 0 : -EMSGSIZE)

/* ---- the commands ---- */

static int cmd_info(struct ik_writer *w)
{
	bool ok = ikw_key(w, "v") && ikw_uint(w, IMPRINT_KEYS_PROTOCOL_VERSION) &&
		  ikw_key(w, "device") && ikw_bstr(w, ik.device_id, sizeof(ik.device_id)) &&
		  ikw_key(w, "fw") && ikw_tstr(w, CONFIG_IMPRINT_KEYS_FIRMWARE) &&
		  ikw_key(w, "gen") && ikw_list_start(w);

	for (size_t i = 0; ok && i < ARRAY_SIZE(GENERATE_ALGS); i++) {
		if (takes(GENERATE_ALGS, ARRAY_SIZE(GENERATE_ALGS), GENERATE_ALGS[i], false)) {
			ok = ikw_tstr(w, ik_alg_name(GENERATE_ALGS[i]));
		}
	}
	ok = ok && ikw_list_end(w) && ikw_key(w, "imp") && ikw_list_start(w);
	for (size_t i = 0; ok && i < ARRAY_SIZE(IMPORT_ALGS); i++) {
		if (takes(IMPORT_ALGS, ARRAY_SIZE(IMPORT_ALGS), IMPORT_ALGS[i], true)) {
			ok = ikw_tstr(w, ik_alg_name(IMPORT_ALGS[i]));
		}
	}
	ok = ok && ikw_list_end(w) && ikw_key(w, "slots") && ikw_uint(w, CONFIG_IMPRINT_KEYS_SLOTS) &&
	     ikw_key(w, "used") && ikw_uint(w, ik_slots_used()) && ikw_key(w, "cert_max") &&
	     ikw_uint(w, CONFIG_IMPRINT_KEYS_CERT_MAX) && ikw_key(w, "counter") &&
	     ikw_uint(w, ik.counter) && ikw_key(w, "tamper") && ikw_uint(w, ik.tamper_next) &&
	     ikw_key(w, "locked") && ikw_bool(w, ik.locked);
	return DONE(ok);
}

static int cmd_generate(const struct ik_request *req, struct ik_writer *w)
{
	uint8_t secret[IK_SECRET_MAX], pub[IK_PUB_MAX];
	size_t secret_len, pub_len, csr_len = 0;
	enum ik_alg alg;
	uint32_t id, usage;
	int err = read_alg(&req->alg, GENERATE_ALGS, ARRAY_SIZE(GENERATE_ALGS), false, &alg);

	if (err == 0) {
		err = place(req, alg, IMPRINT_KEYS_CMD_GENERATE, &id, &usage);
	}
	/* A CSR is checked before the key exists: a refused request leaves nothing behind. */
	if (err == 0 && req->csr != IK_ABSENT) {
		if (req->csr == IK_WRONG_TYPE) {
			err = ERR(BAD_REQUEST);
		} else if (!can_sign(alg, usage)) {
			err = ERR(NOT_PERMITTED);
		} else if (!ik_subject_parse(req->csr_subject.p, req->csr_subject.len, &subject)) {
			err = ERR(BAD_REQUEST);
		}
	}
	if (err) {
		return err;
	}
	if (ikc_generate(alg, secret, &secret_len, pub, &pub_len)) {
		return ERR(UNKNOWN);
	}
	if (req->csr == IK_PRESENT &&
	    ikc_csr(alg, secret, secret_len, &subject, scratch, sizeof(scratch), &csr_len)) {
		err = ERR(UNKNOWN);
	}
	if (err == 0 && ik_key_store(id, alg, usage, pub, pub_len, secret, secret_len)) {
		err = storage_failed(true, id);
	}
	ikc_wipe(secret, sizeof(secret));
	if (err) {
		return err;
	}
	bool ok = ikw_key(w, "id") && ikw_uint(w, id) && ikw_key(w, "alg") &&
		  ikw_tstr(w, ik_alg_name(alg)) && ikw_key(w, "usage") && ikw_uint(w, usage) &&
		  ikw_key(w, "pub") && ikw_bstr(w, pub, pub_len);

	if (req->csr == IK_PRESENT) {
		ok = ok && ikw_key(w, "csr") && ikw_bstr(w, scratch, csr_len);
	}
	return DONE(ok);
}

static int cmd_import(const struct ik_request *req, struct ik_writer *w)
{
	uint8_t info[sizeof(IMPORT_LABEL) + 8 + 16];
	uint8_t sk[32], pub[IK_PUB_MAX];
	size_t info_len, secret_len, pub_len;
	enum ik_alg alg;
	uint32_t id, usage;
	int err = refuse_if_locked(IMPRINT_KEYS_CMD_IMPORT, &req->id);

	if (err) {
		return err;
	}
	if (req->enc.state != IK_PRESENT || req->ct.state != IK_PRESENT) {
		return ERR(BAD_REQUEST);
	}
	err = read_alg(&req->alg, IMPORT_ALGS, ARRAY_SIZE(IMPORT_ALGS), true, &alg);
	if (err == 0) {
		err = place(req, alg, IMPRINT_KEYS_CMD_IMPORT, &id, &usage);
	}
	if (err) {
		return err;
	}
	if (!ik.transport_ok) {
		return ERR(STORAGE_FAILURE);
	}
	/* info = label ‖ 0x00 ‖ id ‖ usage (u32 BE, 0 when left out) ‖ alg, as the request carries them. */
	const char *name = ik_alg_name(alg);

	memcpy(info, IMPORT_LABEL, sizeof(IMPORT_LABEL)); /* with its terminating 0x00 */
	sys_put_be32(req->id.state == IK_PRESENT ? (uint32_t)req->id.v : 0,
		     info + sizeof(IMPORT_LABEL));
	sys_put_be32(req->usage.state == IK_PRESENT ? (uint32_t)req->usage.v : 0,
		     info + sizeof(IMPORT_LABEL) + 4);
	memcpy(info + sizeof(IMPORT_LABEL) + 8, name, strlen(name));
	info_len = sizeof(IMPORT_LABEL) + 8 + strlen(name);

	int rc = ik_transport_secret(sk);

	if (rc) {
		if (rc == -EBADMSG) {
			ik.transport_ok = false;
			ik_integrity_failed("xtk", false, 0, &ik.transport_logged);
		}
		return ERR(STORAGE_FAILURE);
	}
	rc = ikc_hpke_open(sk, ik.transport_pub, req->enc.p, req->enc.len, info, info_len,
			   req->ct.p, req->ct.len, scratch, sizeof(scratch), &secret_len);
	ikc_wipe(sk, sizeof(sk));
	if (rc) {
		bool has_id = user_id(&req->id);

		ik_tamper(IK_TAMPER_BAD_WRAP, has_id ? IK_TAMPER_HAS_ID : 0,
			  has_id ? (uint32_t)req->id.v : 0, 0, 0);
		return ERR(BAD_WRAP);
	}
	rc = ikc_check_import(alg, scratch, secret_len, pub, &pub_len);
	if (rc) {
		err = rc == -EINVAL ? ERR(BAD_REQUEST) : ERR(UNKNOWN);
	} else if (ik_key_store(id, alg, usage, pub, pub_len, scratch, secret_len)) {
		err = storage_failed(true, id);
	}
	ikc_wipe(scratch, sizeof(scratch));
	if (err) {
		return err;
	}
	bool ok = ikw_key(w, "id") && ikw_uint(w, id) && ikw_key(w, "alg") && ikw_tstr(w, name) &&
		  ikw_key(w, "usage") && ikw_uint(w, usage);

	if (pub_len > 0) {
		ok = ok && ikw_key(w, "pub") && ikw_bstr(w, pub, pub_len);
	}
	return DONE(ok);
}

static bool put_transport(struct ik_writer *w)
{
	return ikw_key(w, "pub") && ikw_bstr(w, ik.transport_pub, 32) && ikw_key(w, "suite") &&
	       ikw_list_start(w) && ikw_uint(w, 0x0020) && ikw_uint(w, 0x0001) &&
	       ikw_uint(w, 0x0001) && ikw_list_end(w);
}

static int cmd_transport_key(const struct ik_request *req, struct ik_writer *w)
{
	struct ik_slot *slot;
	uint8_t secret[IK_SECRET_MAX], sig[64];
	uint8_t statement[sizeof(TRANSPORT_LABEL) + 32];
	size_t secret_len, sig_len;

	if (!ikc_supports(IK_ALG_X25519)) {
		return ERR(UNSUPPORTED_ALGORITHM);
	}
	if (!ik.transport_ok) {
		return ERR(STORAGE_FAILURE);
	}
	if (req->id.state == IK_ABSENT) {
		return DONE(put_transport(w));
	}
	int err = lookup(&req->id, &slot);

	if (err) {
		return err;
	}
	if (!can_sign(slot->alg, slot->usage)) {
		return ERR(NOT_PERMITTED);
	}
	err = secret_of(slot, secret, &secret_len);
	if (err) {
		return err;
	}
	memcpy(statement, TRANSPORT_LABEL, sizeof(TRANSPORT_LABEL)); /* label ‖ 0x00 */
	memcpy(statement + sizeof(TRANSPORT_LABEL), ik.transport_pub, 32);
	int rc = ikc_sign(slot->alg, secret, secret_len, statement, sizeof(statement), sig, &sig_len);

	ikc_wipe(secret, sizeof(secret));
	if (rc) {
		return ERR(UNKNOWN);
	}
	return DONE(put_transport(w) && ikw_key(w, "id") && ikw_uint(w, slot->id) &&
		    ikw_key(w, "sig") && ikw_bstr(w, sig, sig_len));
}

static int cmd_public(const struct ik_request *req, struct ik_writer *w)
{
	struct ik_slot *slot;
	int err = lookup(&req->id, &slot);

	if (err) {
		return err;
	}
	bool ok = put_entry(w, slot, true);

	if (slot->pub_len > 0) {
		ok = ok && ikw_key(w, "pub") && ikw_bstr(w, slot->pub, slot->pub_len);
	}
	return DONE(ok);
}

static int cmd_list(const struct ik_request *req, struct ik_writer *w)
{
	const struct ik_slot *order[CONFIG_IMPRINT_KEYS_SLOTS];
	size_t n = 0;

	if (req->after.state == IK_WRONG_TYPE) {
		return ERR(BAD_REQUEST);
	}
	uint64_t after = req->after.state == IK_PRESENT ? req->after.v : 0;

	/* Keys after `after`, ascending (insertion sort: a handful of slots). */
	for (size_t i = 0; i < ARRAY_SIZE(ik.slots); i++) {
		const struct ik_slot *slot = &ik.slots[i];

		if (!slot->used || slot->id <= after || ik_alg_name(slot->alg) == NULL) {
			continue;
		}
		size_t j = n++;

		while (j > 0 && order[j - 1]->id > slot->id) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = slot;
	}
	/* As many as fit, with room for "more": true when some are left. */
	size_t budget = ikw_room(w);
	size_t fixed = 5 + 2; /* "keys", list start and end */
	size_t more = 5 + 1;  /* "more": true */
	size_t used = fixed;
	size_t count = 0;

	while (count < n) {
		size_t next = used + entry_size(order[count]);
		bool last = count + 1 == n;

		if (next + (last ? 0 : more) > budget) {
			break;
		}
		used = next;
		count++;
	}
	bool ok = ikw_key(w, "keys") && ikw_list_start(w);

	for (size_t i = 0; ok && i < count; i++) {
		ok = ikw_map_start(w) && put_entry(w, order[i], true) && ikw_map_end(w);
	}
	ok = ok && ikw_list_end(w);
	if (count < n) {
		ok = ok && ikw_key(w, "more") && ikw_bool(w, true);
	}
	return DONE(ok);
}

static void forget_upload(uint32_t id)
{
	if (upload.active && upload.id == id) {
		upload.active = false;
	}
}

static int cmd_destroy(const struct ik_request *req, struct ik_writer *w)
{
	int err = refuse_if_locked(IMPRINT_KEYS_CMD_DESTROY, &req->id);

	if (err) {
		return err;
	}
	if (!user_id(&req->id)) {
		return ERR(BAD_REQUEST);
	}
	uint32_t id = (uint32_t)req->id.v;

	if (ik_slot_find(id) == NULL) {
		return ERR(NO_SUCH_KEY);
	}
	if (ik_key_remove(id)) {
		return storage_failed(true, id);
	}
	forget_upload(id);
	return 0;
}

static int cmd_csr(const struct ik_request *req, struct ik_writer *w)
{
	struct ik_slot *slot;
	uint8_t secret[IK_SECRET_MAX];
	size_t secret_len, len;

	if (req->subject.state != IK_PRESENT) {
		return ERR(BAD_REQUEST);
	}
	int err = lookup(&req->id, &slot);

	if (err) {
		return err;
	}
	if (!can_sign(slot->alg, slot->usage)) {
		return ERR(NOT_PERMITTED);
	}
	if (!ik_subject_parse(req->subject.p, req->subject.len, &subject)) {
		return ERR(BAD_REQUEST);
	}
	err = secret_of(slot, secret, &secret_len);
	if (err) {
		return err;
	}
	int rc = ikc_csr(slot->alg, secret, secret_len, &subject, scratch, sizeof(scratch), &len);

	ikc_wipe(secret, sizeof(secret));
	if (rc) {
		return ERR(UNKNOWN);
	}
	return DONE(ikw_key(w, "csr") && ikw_bstr(w, scratch, len));
}

/** CBOR head of a byte string of `len` bytes (len < 65536). */
static size_t bstr_head(uint8_t *out, size_t len)
{
	if (len < 24) {
		out[0] = 0x40 | len;
		return 1;
	}
	if (len < 256) {
		out[0] = 0x58;
		out[1] = (uint8_t)len;
		return 2;
	}
	out[0] = 0x59;
	sys_put_be16((uint16_t)len, out + 1);
	return 3;
}

/**
 * A tagged COSE_Sign1 (RFC 9052 4.2) over msg with a P-256 key: protected {1: -7} (ES256), empty
 * unprotected header, msg as payload, raw r||s over the Sig_structure. Built in scratch.
 */
static int cose_sign1(const struct ik_slot *slot, const uint8_t *secret, size_t secret_len,
		      const uint8_t *msg, size_t msg_len, size_t *len)
{
	static const uint8_t SIG_CONTEXT[] = {0x84, 0x6a, 'S', 'i', 'g', 'n', 'a', 't', 'u', 'r',
					      'e', '1', 0x43, 0xa1, 0x01, 0x26, 0x40};
	static const uint8_t COSE_HEAD[] = {0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa0};
	uint8_t sig[64];
	size_t n = sizeof(SIG_CONTEXT), sig_len;

	/* Sig_structure = ["Signature1", protected, external_aad h'', payload] */
	memcpy(scratch, SIG_CONTEXT, n);
	n += bstr_head(scratch + n, msg_len);
	memcpy(scratch + n, msg, msg_len);
	n += msg_len;
	if (ikc_sign(slot->alg, secret, secret_len, scratch, n, sig, &sig_len) || sig_len != 64) {
		return ERR(UNKNOWN);
	}
	n = sizeof(COSE_HEAD);
	memcpy(scratch, COSE_HEAD, n);
	n += bstr_head(scratch + n, msg_len);
	memcpy(scratch + n, msg, msg_len);
	n += msg_len;
	scratch[n++] = 0x58;
	scratch[n++] = 64;
	memcpy(scratch + n, sig, 64);
	*len = n + 64;
	return 0;
}

static int cmd_sign(const struct ik_request *req, struct ik_writer *w)
{
	struct ik_slot *slot;
	uint8_t secret[IK_SECRET_MAX], sig[64];
	size_t secret_len, sig_len;
	bool cose = false;

	if (req->msg.state != IK_PRESENT) {
		return ERR(BAD_REQUEST);
	}
	int err = lookup(&req->id, &slot);

	if (err) {
		return err;
	}
	if (req->fmt.state == IK_WRONG_TYPE) {
		return ERR(BAD_REQUEST);
	}
	if (req->fmt.state == IK_PRESENT) {
		cose = req->fmt.len == 4 && memcmp(req->fmt.p, "cose", 4) == 0;
		if (!cose && !(req->fmt.len == 3 && memcmp(req->fmt.p, "raw", 3) == 0)) {
			return ERR(BAD_REQUEST);
		}
	}
	if (req->msg.len > IK_SIGN_MSG_MAX) {
		return ERR(TOO_LARGE);
	}
	/* The board's own statements start with the prefix: never sign one on request. */
	if (req->msg.len >= sizeof(CONTEXT_PREFIX) - 1 &&
	    memcmp(req->msg.p, CONTEXT_PREFIX, sizeof(CONTEXT_PREFIX) - 1) == 0) {
		return ERR(NOT_PERMITTED);
	}
	if ((slot->usage & IK_USAGE_SIGNS) == 0 || (slot->alg != IK_ALG_P256 && (cose ||
	    slot->alg != IK_ALG_HMAC_SHA256))) {
		return ERR(NOT_PERMITTED);
	}
	/* A COSE_Sign1 carries msg: it must fit the answer with its 80 bytes around it. */
	if (cose && req->msg.len + 96 > ikw_room(w)) {
		return ERR(TOO_LARGE);
	}
	err = secret_of(slot, secret, &secret_len);
	if (err) {
		return err;
	}
	int rc;

	if (cose) {
		rc = cose_sign1(slot, secret, secret_len, req->msg.p, req->msg.len, &sig_len);
	} else {
		rc = ikc_sign(slot->alg, secret, secret_len, req->msg.p, req->msg.len, sig, &sig_len);
	}
	ikc_wipe(secret, sizeof(secret));
	if (rc) {
		return ERR(UNKNOWN);
	}
	return DONE(ikw_key(w, "sig") && ikw_bstr(w, cose ? scratch : sig, sig_len));
}

static int cmd_cert_store(const struct ik_request *req, struct ik_writer *w)
{
	struct ik_slot *slot;

	if (!user_id(&req->id) || req->off.state != IK_PRESENT || req->data.state != IK_PRESENT) {
		return ERR(BAD_REQUEST);
	}
	uint32_t id = (uint32_t)req->id.v;
	uint64_t off = req->off.v;

	if (off == 0) {
		if (req->len.state != IK_PRESENT || req->len.v == 0) {
			return ERR(BAD_REQUEST);
		}
		if (req->len.v > CONFIG_IMPRINT_KEYS_CERT_MAX) {
			return ERR(TOO_LARGE);
		}
		int err = lookup(&req->id, &slot);

		if (err) {
			return err;
		}
		upload.active = true;
		upload.id = id;
		upload.len = (uint32_t)req->len.v;
		upload.off = 0;
	} else if (!upload.active || upload.id != id || off != upload.off) {
		/* Not where this chain stands (or none in progress after a reboot): say where to go on. */
		uint32_t expected = upload.active && upload.id == id ? upload.off : 0;

		return DONE(ikw_key(w, "off") && ikw_uint(w, expected));
	}
	if (off + req->data.len > upload.len) {
		return ERR(BAD_REQUEST);
	}
	memcpy(upload.data + off, req->data.p, req->data.len);
	upload.off += req->data.len;
	uint32_t reached = upload.off;

	if (reached == upload.len) {
		upload.active = false;
		/* The new chain replaces the old one in one record write: all or nothing. */
		if (ik_cert_store(id, upload.data, upload.len)) {
			return storage_failed(true, id);
		}
	}
	return DONE(ikw_key(w, "off") && ikw_uint(w, reached));
}

static int cmd_cert_read(const struct ik_request *req, struct ik_writer *w)
{
	struct ik_slot *slot;
	const uint8_t *chain = NULL;
	size_t len = 0;

	if (req->off.state == IK_WRONG_TYPE) {
		return ERR(BAD_REQUEST);
	}
	uint64_t off = req->off.state == IK_PRESENT ? req->off.v : 0;
	int err = lookup(&req->id, &slot);

	if (err) {
		return err;
	}
	if (slot->cert_corrupt) {
		ik_integrity_failed("xc", true, slot->id, &slot->cert_corrupt_logged);
		return ERR(STORAGE_FAILURE);
	}
	if (slot->cert_len > 0) {
		int rc = ik_cert_read(slot->id, &chain, &len);

		if (rc == -EBADMSG) {
			slot->cert_corrupt = true;
			ik_integrity_failed("xc", true, slot->id, &slot->cert_corrupt_logged);
			return ERR(STORAGE_FAILURE);
		}
		if (rc == -ENOENT) {
			slot->cert_len = 0;
			len = 0;
		} else if (rc) {
			return ERR(STORAGE_FAILURE);
		}
	}
	if (off > len) {
		return ERR(BAD_REQUEST);
	}
	/* From off, as much as fits: "off", "len", "data" and the byte string's header. */
	size_t fixed = 4 + ik_cbor_uint_size(off) + 4 + ik_cbor_uint_size(len) + 5 + 3;
	size_t room = ikw_room(w);
	size_t size = MIN(len - off, room > fixed ? room - fixed : 0);

	return DONE(ikw_key(w, "off") && ikw_uint(w, off) && ikw_key(w, "len") &&
		    ikw_uint(w, len) && ikw_key(w, "data") && ikw_bstr(w, chain + off, size));
}

static int cmd_counter_read(struct ik_writer *w)
{
	if (!ik.counter_ok) {
		return ERR(STORAGE_FAILURE);
	}
	return DONE(ikw_key(w, "value") && ikw_uint(w, ik.counter));
}

static int cmd_counter_write(const struct ik_request *req, struct ik_writer *w)
{
	int err = refuse_if_locked(IMPRINT_KEYS_CMD_COUNTER, NULL);

	if (err) {
		return err;
	}
	if (req->value.state != IK_PRESENT) {
		return ERR(BAD_REQUEST);
	}
	if (!ik.counter_ok) {
		return ERR(STORAGE_FAILURE);
	}
	if (req->value.v < ik.counter) {
		ik_tamper(IK_TAMPER_COUNTER_ROLLBACK, IK_TAMPER_HAS_VALUE, 0, req->value.v, 0);
		return ERR(COUNTER_ROLLBACK);
	}
	if (req->value.v > ik.counter && ik_counter_store(req->value.v)) {
		return storage_failed(false, 0);
	}
	return DONE(ikw_key(w, "value") && ikw_uint(w, ik.counter));
}

static size_t event_size(const struct ik_tamper_event *ev)
{
	size_t size = 2 + 4 + ik_cbor_uint_size(ev->seq) + 5 +
		      ik_cbor_str_size(strlen(ik_tamper_kind_name(ev->kind))) + 5 +
		      ik_cbor_uint_size(ev->boot);

	if (ev->flags & IK_TAMPER_HAS_ID) {
		size += 3 + ik_cbor_uint_size(ev->id);
	}
	if (ev->flags & IK_TAMPER_HAS_VALUE) {
		size += 6 + ik_cbor_uint_size(ev->value);
	}
	if (ev->flags & IK_TAMPER_HAS_CMD) {
		size += 4 + ik_cbor_uint_size(ev->cmd);
	}
	return size;
}

static int cmd_tamper_log(const struct ik_request *req, struct ik_writer *w)
{
	if (req->since.state == IK_WRONG_TYPE) {
		return ERR(BAD_REQUEST);
	}
	uint64_t since = req->since.state == IK_PRESENT ? req->since.v : 0;
	size_t first = 0;

	while (first < ik.tamper_count && ik.tamper[first].seq < since) {
		first++;
	}
	size_t budget = ikw_room(w);
	size_t used = 7 + 2 + 5 + 9; /* "events", list start and end, "next" and its value */
	size_t more = 5 + 1;
	size_t end = first;

	while (end < ik.tamper_count) {
		size_t next = used + event_size(&ik.tamper[end]);
		bool last = end + 1 == ik.tamper_count;

		if (next + (last ? 0 : more) > budget) {
			break;
		}
		used = next;
		end++;
	}
	bool ok = ikw_key(w, "events") && ikw_list_start(w);

	for (size_t i = first; ok && i < end; i++) {
		const struct ik_tamper_event *ev = &ik.tamper[i];

		ok = ikw_map_start(w) && ikw_key(w, "seq") && ikw_uint(w, ev->seq) &&
		     ikw_key(w, "kind") && ikw_tstr(w, ik_tamper_kind_name(ev->kind)) &&
		     ikw_key(w, "boot") && ikw_uint(w, ev->boot);
		if (ok && (ev->flags & IK_TAMPER_HAS_ID)) {
			ok = ikw_key(w, "id") && ikw_uint(w, ev->id);
		}
		if (ok && (ev->flags & IK_TAMPER_HAS_VALUE)) {
			ok = ikw_key(w, "value") && ikw_uint(w, ev->value);
		}
		if (ok && (ev->flags & IK_TAMPER_HAS_CMD)) {
			ok = ikw_key(w, "cmd") && ikw_uint(w, ev->cmd);
		}
		ok = ok && ikw_map_end(w);
	}
	uint64_t next = end > first ? (uint64_t)ik.tamper[end - 1].seq + 1
				    : MAX(since, (uint64_t)ik.tamper_next);

	ok = ok && ikw_list_end(w) && ikw_key(w, "next") && ikw_uint(w, next);
	if (end < ik.tamper_count) {
		ok = ok && ikw_key(w, "more") && ikw_bool(w, true);
	}
	return DONE(ok);
}

static int cmd_lock(struct ik_writer *w)
{
	if (!ik.locked && ik_lock_store()) {
		return storage_failed(false, 0);
	}
	return DONE(ikw_key(w, "locked") && ikw_bool(w, true));
}

int ik_handle(uint16_t command, bool write, const struct ik_request *req, struct ik_writer *w)
{
	switch (command) {
	case IMPRINT_KEYS_CMD_INFO:
		return cmd_info(w);
	case IMPRINT_KEYS_CMD_GENERATE:
		return cmd_generate(req, w);
	case IMPRINT_KEYS_CMD_IMPORT:
		return cmd_import(req, w);
	case IMPRINT_KEYS_CMD_TRANSPORT_KEY:
		return cmd_transport_key(req, w);
	case IMPRINT_KEYS_CMD_PUBLIC:
		return cmd_public(req, w);
	case IMPRINT_KEYS_CMD_LIST:
		return cmd_list(req, w);
	case IMPRINT_KEYS_CMD_DESTROY:
		return cmd_destroy(req, w);
	case IMPRINT_KEYS_CMD_CSR:
		return cmd_csr(req, w);
	case IMPRINT_KEYS_CMD_SIGN:
		return cmd_sign(req, w);
	case IMPRINT_KEYS_CMD_CERT:
		return write ? cmd_cert_store(req, w) : cmd_cert_read(req, w);
	case IMPRINT_KEYS_CMD_COUNTER:
		return write ? cmd_counter_write(req, w) : cmd_counter_read(w);
	case IMPRINT_KEYS_CMD_TAMPER_LOG:
		return cmd_tamper_log(req, w);
	case IMPRINT_KEYS_CMD_LOCK:
		return cmd_lock(w);
	default:
		return ERR(UNKNOWN);
	}
}

/*
 * Internal interfaces of the Imprint keys group. One file per concern, so a port touches few:
 *
 *   smp_group.c       MCUmgr 3.4 registration and zcbor 0.7 (requests in, answers out)
 *   keys.c            the commands, as the spec words them (no Zephyr, zcbor or PSA calls)
 *   state.c           slots, counter, lock, tamper log; sealed records on top of the store
 *   crypto_psa.c      PSA Crypto + mbedTLS 3.4 (keys, signatures, HPKE, sealing, CSR)
 *   store_settings.c  the settings subsystem (NVS backend here)
 *   subject.c         the CSR subject syntax (plain C)
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef IMPRINT_KEYS_INTERNAL_H_
#define IMPRINT_KEYS_INTERNAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <imprint/keys.h>

/* ---- algorithms and usage (spec section 2) ---- */

enum ik_alg {
	IK_ALG_NONE = 0,
	IK_ALG_P256 = 1,
	IK_ALG_X25519 = 2,
	IK_ALG_ED25519 = 3,
	IK_ALG_HMAC_SHA256 = 4,
	IK_ALG_AES_128 = 5,
};

#define IK_USAGE_EXPORT         0x0001u
#define IK_USAGE_ENCRYPT        0x0100u
#define IK_USAGE_DECRYPT        0x0200u
#define IK_USAGE_SIGN_MESSAGE   0x0400u
#define IK_USAGE_VERIFY_MESSAGE 0x0800u
#define IK_USAGE_SIGN_HASH      0x1000u
#define IK_USAGE_VERIFY_HASH    0x2000u
#define IK_USAGE_DERIVE         0x4000u
#define IK_USAGE_SIGNS          (IK_USAGE_SIGN_HASH | IK_USAGE_SIGN_MESSAGE)

#define IK_SECRET_MAX 64
#define IK_PUB_MAX    65
#define IK_SIGN_MSG_MAX 1024
#define IK_SUBJECT_MAX 256

const char *ik_alg_name(enum ik_alg alg);
enum ik_alg ik_alg_from_name(const uint8_t *name, size_t len);

/* ---- requests (decoded by smp_group.c) ---- */

enum ik_field { IK_ABSENT = 0, IK_PRESENT, IK_WRONG_TYPE };

struct ik_uint {
	uint8_t state;
	uint64_t v;
};

struct ik_bytes {
	uint8_t state;
	const uint8_t *p;
	size_t len;
};

struct ik_bool {
	uint8_t state;
	bool v;
};

/** Every field any command takes; a command looks only at its own. */
struct ik_request {
	struct ik_uint id, usage, off, len, value, since, after;
	struct ik_bytes alg, enc, ct, msg, data, subject, fmt; /* alg, subject, fmt: text; the rest: bytes */
	struct ik_bool replace;
	/** "csr": IK_PRESENT when a map with a text "subject" (csr_subject), IK_WRONG_TYPE otherwise. */
	uint8_t csr;
	struct ik_bytes csr_subject;
};

/* ---- answers (encoded by smp_group.c) ---- */

struct ik_writer;

bool ikw_key(struct ik_writer *w, const char *key);
bool ikw_uint(struct ik_writer *w, uint64_t value);
bool ikw_bool(struct ik_writer *w, bool value);
bool ikw_tstr(struct ik_writer *w, const char *text);
bool ikw_bstr(struct ik_writer *w, const uint8_t *bytes, size_t len);
bool ikw_list_start(struct ik_writer *w);
bool ikw_list_end(struct ik_writer *w);
bool ikw_map_start(struct ik_writer *w);
bool ikw_map_end(struct ik_writer *w);
/** Bytes still free in the answer, after the closing byte of the answer's own map. */
size_t ikw_room(const struct ik_writer *w);

/** CBOR sizes, to fit pages to ikw_room(). */
size_t ik_cbor_uint_size(uint64_t value);
size_t ik_cbor_str_size(size_t len);

/* ---- commands (keys.c) ---- */

/** Runs one command; 0 when the answer was written, else the keys error to answer with. */
int ik_handle(uint16_t command, bool write, const struct ik_request *req, struct ik_writer *w);

/* ---- state (state.c) ---- */

struct ik_slot {
	bool used;
	/** The record failed its integrity check: every use answers STORAGE_FAILURE. */
	bool corrupt;
	bool corrupt_logged;
	bool cert_corrupt;
	bool cert_corrupt_logged;
	uint8_t alg;
	uint8_t pub_len;
	uint16_t cert_len;
	uint32_t id;
	uint32_t usage;
	uint8_t pub[IK_PUB_MAX];
};

enum ik_tamper_kind {
	IK_TAMPER_COUNTER_ROLLBACK = 1,
	IK_TAMPER_BAD_WRAP = 2,
	IK_TAMPER_STORAGE_WRITE = 3,
	IK_TAMPER_STORAGE_INTEGRITY = 4,
	IK_TAMPER_LOCKED = 5,
};

#define IK_TAMPER_HAS_ID    0x01
#define IK_TAMPER_HAS_VALUE 0x02
#define IK_TAMPER_HAS_CMD   0x04

struct ik_tamper_event {
	uint32_t seq;
	uint32_t boot;
	uint32_t id;
	uint16_t cmd;
	uint8_t kind;
	uint8_t flags;
	uint64_t value;
};

const char *ik_tamper_kind_name(uint8_t kind);

struct ik_state {
	uint8_t device_id[16];
	uint8_t transport_pub[32];
	bool transport_ok;
	bool transport_logged;
	uint64_t counter;
	bool counter_ok;
	bool locked;
	uint32_t boot;
	uint32_t tamper_next;
	uint16_t tamper_count;
	struct ik_tamper_event tamper[CONFIG_IMPRINT_KEYS_TAMPER_CAPACITY]; /* ascending seq */
	struct ik_slot slots[CONFIG_IMPRINT_KEYS_SLOTS];
};

extern struct ik_state ik;

int ik_state_init(void);
struct ik_slot *ik_slot_find(uint32_t id);
unsigned int ik_slots_used(void);

/** Logs a tamper event (and persists it; a failing write is only logged to the console). */
void ik_tamper(uint8_t kind, uint8_t flags, uint32_t id, uint64_t value, uint16_t cmd);

/**
 * Logs storage-integrity for a record once: `marker` names the record kind ("xk" key, "xc"
 * chain, "xs" state, "xt" tamper log, "xtk" transport key), `logged` is the caller's flag.
 */
void ik_integrity_failed(const char *marker, bool numbered, uint32_t id, bool *logged);

/** A key's secret, read from flash and checked. 0, -ENOENT, or -EBADMSG (integrity). */
int ik_key_secret(const struct ik_slot *slot, uint8_t *secret, size_t *secret_len);
/** Stores a key record (replacing the one at its id); 0 or a negative errno. */
int ik_key_store(uint32_t id, uint8_t alg, uint32_t usage, const uint8_t *pub, size_t pub_len,
		 const uint8_t *secret, size_t secret_len);
int ik_key_remove(uint32_t id);
/** The stored chain of `id` in `buf` (cap bytes). 0, -ENOENT (none), -EBADMSG. */
int ik_cert_read(uint32_t id, const uint8_t **chain, size_t *len);
int ik_cert_store(uint32_t id, const uint8_t *chain, size_t len);
int ik_counter_store(uint64_t value);
int ik_lock_store(void);
/** The transport key's private half, checked. 0 or -EBADMSG / -ENOENT. */
int ik_transport_secret(uint8_t secret[32]);

/* ---- the record store (store_settings.c) ---- */

int iks_init(void);
/** Reads record `name` into buf. 0 (len set), -ENOENT, -ENOSPC (larger than cap), -EIO. */
int iks_read(const char *name, uint8_t *buf, size_t cap, size_t *len);
int iks_write(const char *name, const void *data, size_t len);
int iks_delete(const char *name);
/** Calls cb with the rest of every record name under `subtree/`. */
int iks_list(const char *subtree, void (*cb)(const char *rest, void *arg), void *arg);

/* ---- crypto (crypto_psa.c) ---- */

int ikc_init(void);
int ikc_random(uint8_t *buf, size_t len);
/** Loads the 32-byte device key used to seal records (AES-256-GCM). */
int ikc_device_key(const uint8_t key[32]);
/** Seals: ct (pt_len bytes) then the 16-byte tag after it, under the device key. */
int ikc_seal(const uint8_t nonce[12], const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
	     size_t aad2_len, const uint8_t *pt, size_t pt_len, uint8_t *out);
/** Opens in place (ct then tag, ct_len bytes of ct). 0 or -EBADMSG. */
int ikc_open(const uint8_t nonce[12], const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
	     size_t aad2_len, uint8_t *ct, size_t ct_len, const uint8_t tag[16]);

bool ikc_supports(enum ik_alg alg);
/** Makes a key: its secret (for sealing) and public key. */
int ikc_generate(enum ik_alg alg, uint8_t *secret, size_t *secret_len, uint8_t *pub,
		 size_t *pub_len);
/** Checks key material for alg and derives its public key (pub_len 0 for symmetric keys). */
int ikc_check_import(enum ik_alg alg, const uint8_t *secret, size_t secret_len, uint8_t *pub,
		     size_t *pub_len);
/** p256: ECDSA-SHA256 raw r||s; hmac-sha256: the MAC. */
int ikc_sign(enum ik_alg alg, const uint8_t *secret, size_t secret_len, const uint8_t *msg,
	     size_t msg_len, uint8_t *sig, size_t *sig_len);

struct ik_subject;
/** DER PKCS#10 for a p256 key, written to out. */
int ikc_csr(enum ik_alg alg, const uint8_t *secret, size_t secret_len,
	    const struct ik_subject *subject, uint8_t *out, size_t cap, size_t *len);

/** HPKE base-mode open (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM), empty aad. */
int ikc_hpke_open(const uint8_t sk[32], const uint8_t pk[32], const uint8_t *enc, size_t enc_len,
		  const uint8_t *info, size_t info_len, const uint8_t *ct, size_t ct_len,
		  uint8_t *pt, size_t pt_cap, size_t *pt_len);

void ikc_wipe(void *buf, size_t len);

/* ---- CSR subjects (subject.c) ---- */

#define IK_SUBJECT_ATTRS_MAX 16

enum ik_attr_type {
	IK_ATTR_CN = 0,
	IK_ATTR_SERIAL_NUMBER,
	IK_ATTR_C,
	IK_ATTR_L,
	IK_ATTR_ST,
	IK_ATTR_O,
	IK_ATTR_OU,
};

struct ik_subject {
	uint8_t count;
	struct {
		uint8_t type;
		uint16_t off;
		uint16_t len;
	} attrs[IK_SUBJECT_ATTRS_MAX];
	/** Unescaped, trimmed values back to back. */
	char text[IK_SUBJECT_MAX * 4 + 1];
};

/** Parses `CN=a,O=b` (spec 5.8); false for anything the board cannot encode. */
bool ik_subject_parse(const uint8_t *text, size_t len, struct ik_subject *out);
/** OID (DER contents) and whether the value is a PrintableString (else UTF8String). */
void ik_subject_attr_oid(uint8_t type, const uint8_t **oid, size_t *oid_len, bool *printable);

#endif /* IMPRINT_KEYS_INTERNAL_H_ */

/*
 * Every cryptographic operation of the keys group, on the PSA Crypto API (mbedTLS 3.4 here; the
 * same calls run against TF-M's PSA on a secure board), plus mbedTLS's x509write for the CSR.
 * This is the one file to change for another crypto stack or mbedTLS version.
 *
 * Keys are PSA volatile keys that live for one operation: the secret is unsealed from flash,
 * imported, used, destroyed, and the buffer wiped. The device key that seals records stays
 * imported for the firmware's lifetime.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
/* The CSR's subject is handed to mbedTLS as a ready name list (see add_name). */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS

#include <errno.h>
#include <string.h>

#include <psa/crypto.h>
#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/x509_csr.h>

#include <zephyr/logging/log.h>

#include "keys_internal.h"

LOG_MODULE_DECLARE(imprint_keys, CONFIG_IMPRINT_KEYS_LOG_LEVEL);

static mbedtls_svc_key_id_t device_key = MBEDTLS_SVC_KEY_ID_INIT;
static size_t csr_heap_peak;

size_t imprint_keys_csr_heap_peak(void)
{
	return csr_heap_peak;
}

void ikc_wipe(void *buf, size_t len)
{
	mbedtls_platform_zeroize(buf, len);
}

int ikc_init(void)
{
	return psa_crypto_init() == PSA_SUCCESS ? 0 : -EIO;
}

int ikc_random(uint8_t *buf, size_t len)
{
	return psa_generate_random(buf, len) == PSA_SUCCESS ? 0 : -EIO;
}

bool ikc_supports(enum ik_alg alg)
{
	switch (alg) {
	case IK_ALG_P256:
	case IK_ALG_HMAC_SHA256:
	case IK_ALG_AES_128:
		return true;
	case IK_ALG_X25519:
#if defined(PSA_WANT_ECC_MONTGOMERY_255) && defined(PSA_WANT_ALG_ECDH)
		return true;
#else
		return false;
#endif
	default:
		return false; /* ed25519: mbedTLS 3.4 has no EdDSA */
	}
}

/* ---- sealing records with the device key (AES-256-GCM) ---- */

int ikc_device_key(const uint8_t key[32])
{
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;

	psa_set_key_type(&attr, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&attr, 256);
	psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&attr, PSA_ALG_GCM);
	return psa_import_key(&attr, key, 32, &device_key) == PSA_SUCCESS ? 0 : -EIO;
}

/** Nonce and both associated-data parts into a fresh GCM operation (seal and open share this). */
static psa_status_t aead_begin(psa_aead_operation_t *op, const uint8_t nonce[12], const uint8_t *aad1,
			       size_t aad1_len, const uint8_t *aad2, size_t aad2_len)
{
	psa_status_t st = psa_aead_set_nonce(op, nonce, 12);

	if (st == PSA_SUCCESS && aad1_len > 0) {
		st = psa_aead_update_ad(op, aad1, aad1_len);
	}
	if (st == PSA_SUCCESS && aad2_len > 0) {
		st = psa_aead_update_ad(op, aad2, aad2_len);
	}
	return st;
}

/**
 * Runs `in` through the operation 64 bytes at a time into `out` (which may be `in`: output never
 * overtakes input), adding what was written to `*done`. `tmp` holds one chunk's output.
 */
static psa_status_t aead_stream(psa_aead_operation_t *op, const uint8_t *in, size_t len, uint8_t *out,
				size_t *done, uint8_t *tmp, size_t tmp_size)
{
	psa_status_t st = PSA_SUCCESS;
	size_t n;

	for (size_t off = 0; st == PSA_SUCCESS && off < len; off += 64) {
		st = psa_aead_update(op, in + off, MIN(64, len - off), tmp, tmp_size, &n);
		if (st == PSA_SUCCESS) {
			memcpy(out + *done, tmp, n);
			*done += n;
		}
	}
	return st;
}

int ikc_seal(const uint8_t nonce[12], const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
	     size_t aad2_len, const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	psa_aead_operation_t op = PSA_AEAD_OPERATION_INIT;
	uint8_t tmp[64 + 16];
	size_t done = 0;
	size_t n;
	size_t tag_len;
	psa_status_t st;

	st = psa_aead_encrypt_setup(&op, device_key, PSA_ALG_GCM);
	if (st == PSA_SUCCESS) {
		st = aead_begin(&op, nonce, aad1, aad1_len, aad2, aad2_len);
	}
	if (st == PSA_SUCCESS) {
		st = aead_stream(&op, pt, pt_len, out, &done, tmp, sizeof(tmp));
	}
	if (st == PSA_SUCCESS) {
		st = psa_aead_finish(&op, tmp, sizeof(tmp) - 16, &n, tmp + sizeof(tmp) - 16, 16,
				     &tag_len);
	}
	if (st == PSA_SUCCESS) {
		memcpy(out + done, tmp, n);
		done += n;
		memcpy(out + done, tmp + sizeof(tmp) - 16, 16);
	}
	ikc_wipe(tmp, sizeof(tmp));
	psa_aead_abort(&op);
	return st == PSA_SUCCESS && done == pt_len ? 0 : -EIO;
}

int ikc_open(const uint8_t nonce[12], const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
	     size_t aad2_len, uint8_t *ct, size_t ct_len, const uint8_t tag[16])
{
	psa_aead_operation_t op = PSA_AEAD_OPERATION_INIT;
	uint8_t tmp[64 + 16];
	size_t done = 0;
	size_t n;
	psa_status_t st;

	st = psa_aead_decrypt_setup(&op, device_key, PSA_ALG_GCM);
	if (st == PSA_SUCCESS) {
		st = aead_begin(&op, nonce, aad1, aad1_len, aad2, aad2_len);
	}
	/* Plaintext is written back over the ciphertext chunk by chunk, behind the read position. */
	if (st == PSA_SUCCESS) {
		st = aead_stream(&op, ct, ct_len, ct, &done, tmp, sizeof(tmp));
	}
	if (st == PSA_SUCCESS) {
		st = psa_aead_verify(&op, tmp, sizeof(tmp), &n, tag, 16);
		if (st == PSA_SUCCESS) {
			memcpy(ct + done, tmp, n);
			done += n;
		}
	}
	ikc_wipe(tmp, sizeof(tmp));
	psa_aead_abort(&op);
	if (st != PSA_SUCCESS || done != ct_len) {
		ikc_wipe(ct, ct_len);
		return -EBADMSG;
	}
	return 0;
}

/* ---- keys ---- */

/** PSA attributes for a key of `alg` that one operation will use. */
static void attributes(enum ik_alg alg, size_t secret_len, bool exportable,
		       psa_key_attributes_t *attr)
{
	psa_key_usage_t export = exportable ? PSA_KEY_USAGE_EXPORT : 0;

	*attr = psa_key_attributes_init();
	switch (alg) {
	case IK_ALG_P256:
		psa_set_key_type(attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
		psa_set_key_bits(attr, 256);
		/* What the keys group allows is checked before; PSA only needs to permit it. */
		psa_set_key_usage_flags(attr, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_SIGN_MESSAGE |
						      export);
		psa_set_key_algorithm(attr, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
		break;
	case IK_ALG_X25519:
		psa_set_key_type(attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY));
		psa_set_key_bits(attr, 255);
		psa_set_key_usage_flags(attr, PSA_KEY_USAGE_DERIVE | export);
		psa_set_key_algorithm(attr, PSA_ALG_ECDH);
		break;
	case IK_ALG_HMAC_SHA256:
		psa_set_key_type(attr, PSA_KEY_TYPE_HMAC);
		psa_set_key_bits(attr, secret_len * 8);
		psa_set_key_usage_flags(attr, PSA_KEY_USAGE_SIGN_MESSAGE);
		psa_set_key_algorithm(attr, PSA_ALG_HMAC(PSA_ALG_SHA_256));
		break;
	default:
		break;
	}
}

static int load(enum ik_alg alg, const uint8_t *secret, size_t len, mbedtls_svc_key_id_t *key)
{
	psa_key_attributes_t attr;

	attributes(alg, len, false, &attr);
	psa_status_t st = psa_import_key(&attr, secret, len, key);

	psa_reset_key_attributes(&attr);
	if (st == PSA_ERROR_INVALID_ARGUMENT || st == PSA_ERROR_NOT_SUPPORTED) {
		return -EINVAL;
	}
	return st == PSA_SUCCESS ? 0 : -EIO;
}

int ikc_generate(enum ik_alg alg, uint8_t *secret, size_t *secret_len, uint8_t *pub,
		 size_t *pub_len)
{
	psa_key_attributes_t attr;
	mbedtls_svc_key_id_t key;
	psa_status_t st;

	if (alg != IK_ALG_P256 && alg != IK_ALG_X25519) {
		return -ENOTSUP;
	}
	attributes(alg, 0, true, &attr);
	st = psa_generate_key(&attr, &key);
	psa_reset_key_attributes(&attr);
	if (st != PSA_SUCCESS) {
		return -EIO;
	}
	/* Exported only to be sealed under the device key; never sent. */
	st = psa_export_key(key, secret, IK_SECRET_MAX, secret_len);
	if (st == PSA_SUCCESS) {
		st = psa_export_public_key(key, pub, IK_PUB_MAX, pub_len);
	}
	psa_destroy_key(key);
	if (st != PSA_SUCCESS) {
		ikc_wipe(secret, IK_SECRET_MAX);
		return -EIO;
	}
	return 0;
}

int ikc_check_import(enum ik_alg alg, const uint8_t *secret, size_t secret_len, uint8_t *pub,
		     size_t *pub_len)
{
	mbedtls_svc_key_id_t key;
	int rc;

	*pub_len = 0;
	switch (alg) {
	case IK_ALG_P256:
	case IK_ALG_X25519:
		if (secret_len != 32) {
			return -EINVAL;
		}
		rc = load(alg, secret, secret_len, &key); /* refuses 0 and d >= n */
		if (rc) {
			return rc;
		}
		rc = psa_export_public_key(key, pub, IK_PUB_MAX, pub_len) == PSA_SUCCESS ? 0 : -EIO;
		psa_destroy_key(key);
		return rc;
	case IK_ALG_HMAC_SHA256:
		return secret_len >= 16 && secret_len <= 64 ? 0 : -EINVAL;
	case IK_ALG_AES_128:
		return secret_len == 16 ? 0 : -EINVAL;
	default:
		return -ENOTSUP;
	}
}

int ikc_sign(enum ik_alg alg, const uint8_t *secret, size_t secret_len, const uint8_t *msg,
	     size_t msg_len, uint8_t *sig, size_t *sig_len)
{
	mbedtls_svc_key_id_t key;
	psa_status_t st;
	int rc = load(alg, secret, secret_len, &key);

	if (rc) {
		return rc;
	}
	if (alg == IK_ALG_P256) {
		st = psa_sign_message(key, PSA_ALG_ECDSA(PSA_ALG_SHA_256), msg, msg_len, sig, 64,
				      sig_len);
	} else if (alg == IK_ALG_HMAC_SHA256) {
		st = psa_mac_compute(key, PSA_ALG_HMAC(PSA_ALG_SHA_256), msg, msg_len, sig, 32,
				     sig_len);
	} else {
		st = PSA_ERROR_NOT_PERMITTED;
	}
	psa_destroy_key(key);
	return st == PSA_SUCCESS ? 0 : -EIO;
}

/* ---- CSR: mbedTLS x509write over the opaque PSA key ---- */

/** Appends a subject attribute to mbedTLS's name list (kept in the order given, duplicates too). */
static int add_name(mbedtls_asn1_named_data **head, const struct ik_subject *subject, size_t i)
{
	const uint8_t *oid;
	size_t oid_len;
	bool printable;
	mbedtls_asn1_named_data *node = mbedtls_calloc(1, sizeof(*node));

	if (node == NULL) {
		return -ENOMEM;
	}
	ik_subject_attr_oid(subject->attrs[i].type, &oid, &oid_len, &printable);
	node->oid.tag = MBEDTLS_ASN1_OID;
	node->oid.len = oid_len;
	node->oid.p = mbedtls_calloc(1, oid_len);
	node->val.tag = printable ? MBEDTLS_ASN1_PRINTABLE_STRING : MBEDTLS_ASN1_UTF8_STRING;
	node->val.len = subject->attrs[i].len;
	node->val.p = mbedtls_calloc(1, subject->attrs[i].len);
	/* mbedTLS writes the list backwards: the head is the last RDN of the DER Name. */
	node->next = *head;
	*head = node;
	if (node->oid.p == NULL || node->val.p == NULL) {
		return -ENOMEM;
	}
	memcpy(node->oid.p, oid, oid_len);
	memcpy(node->val.p, &subject->text[subject->attrs[i].off], subject->attrs[i].len);
	return 0;
}

/**
 * mbedTLS 3.4 writes ecdsa-with-SHA256 with a NULL parameter in the CSR's signatureAlgorithm;
 * RFC 5758 3.2 says the parameters MUST be absent. The signature covers only the
 * CertificationRequestInfo, so dropping the NULL there keeps it valid.
 */
static int drop_null_parameter(uint8_t *der, size_t *len)
{
	uint8_t *p = der;
	const uint8_t *end = der + *len;
	size_t outer, info, algid;
	uint8_t *info_start;

	if (mbedtls_asn1_get_tag(&p, end, &outer, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) {
		return -EINVAL;
	}
	info_start = p;
	if (mbedtls_asn1_get_tag(&p, end, &info, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) {
		return -EINVAL;
	}
	p += info;
	if (mbedtls_asn1_get_tag(&p, end, &algid, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) {
		return -EINVAL;
	}
	/* 06 08 2a8648ce3d040302 05 00: the OID, then the NULL to drop. */
	if (algid != 12 || p[10] != MBEDTLS_ASN1_NULL || p[11] != 0) {
		return 0;
	}
	size_t sig_len = end - (p + algid);
	uint8_t head[4];

	/* Shift the signature BIT STRING over the NULL, shorten the AlgorithmIdentifier. */
	memmove(p + 10, p + algid, sig_len);
	p[-1] = 10;
	size_t content = (p + 10 + sig_len) - info_start;
	size_t head_len = content < 0x80 ? 2 : content < 0x100 ? 3 : 4;

	head[0] = 0x30;
	if (head_len == 2) {
		head[1] = (uint8_t)content;
	} else if (head_len == 3) {
		head[1] = 0x81;
		head[2] = (uint8_t)content;
	} else {
		head[1] = 0x82;
		head[2] = (uint8_t)(content >> 8);
		head[3] = (uint8_t)content;
	}
	memmove(der + head_len, info_start, content);
	memcpy(der, head, head_len);
	*len = head_len + content;
	return 0;
}

int ikc_csr(enum ik_alg alg, const uint8_t *secret, size_t secret_len,
	    const struct ik_subject *subject, uint8_t *out, size_t cap, size_t *len)
{
	mbedtls_svc_key_id_t key;
	mbedtls_pk_context pk;
	mbedtls_x509write_csr csr;
	mbedtls_asn1_named_data *names = NULL;
	int rc;

	if (alg != IK_ALG_P256) {
		return -ENOTSUP;
	}
#if defined(CONFIG_IMPRINT_KEYS_HEAP_STATS)
	mbedtls_memory_buffer_alloc_max_reset();
#endif
	rc = load(alg, secret, secret_len, &key);
	if (rc) {
		return rc;
	}
	mbedtls_pk_init(&pk);
	mbedtls_x509write_csr_init(&csr);
	for (size_t i = 0; rc == 0 && i < subject->count; i++) {
		rc = add_name(&names, subject, i);
	}
	if (rc == 0 && mbedtls_pk_setup_opaque(&pk, key) != 0) {
		rc = -EIO;
	}
	if (rc == 0) {
		mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
		mbedtls_x509write_csr_set_key(&csr, &pk);
		csr.MBEDTLS_PRIVATE(subject) = names;
		names = NULL; /* freed with the CSR context */
		/* The DER is written at the end of the buffer. */
		int n = mbedtls_x509write_csr_der(&csr, out, cap, mbedtls_psa_get_random,
						  MBEDTLS_PSA_RANDOM_STATE);
		if (n <= 0) {
			rc = n == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL ? -ENOSPC : -EIO;
		} else {
			memmove(out, out + cap - n, n);
			*len = n;
			rc = drop_null_parameter(out, len);
		}
	}
#if defined(CONFIG_IMPRINT_KEYS_HEAP_STATS)
	size_t blocks;

	mbedtls_memory_buffer_alloc_max_get(&csr_heap_peak, &blocks);
	LOG_INF("csr: mbedTLS heap peak %zu bytes in %zu blocks", csr_heap_peak, blocks);
#endif
	mbedtls_asn1_free_named_data_list(&names);
	mbedtls_x509write_csr_free(&csr);
	mbedtls_pk_free(&pk);
	psa_destroy_key(key);
	return rc;
}

/* ---- HPKE base mode, open (RFC 9180): DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM ---- */

struct part {
	const uint8_t *p;
	size_t len;
};

/** HMAC-SHA256(key, parts...) on PSA. */
static int hmac(const uint8_t *key, size_t key_len, const struct part *parts, size_t count,
		uint8_t out[32])
{
	psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
	psa_mac_operation_t op = PSA_MAC_OPERATION_INIT;
	mbedtls_svc_key_id_t id;
	psa_status_t st;
	size_t n;

	psa_set_key_type(&attr, PSA_KEY_TYPE_HMAC);
	psa_set_key_bits(&attr, key_len * 8);
	psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_SIGN_MESSAGE);
	psa_set_key_algorithm(&attr, PSA_ALG_HMAC(PSA_ALG_SHA_256));
	st = psa_import_key(&attr, key, key_len, &id);
	if (st != PSA_SUCCESS) {
		return -EIO;
	}
	st = psa_mac_sign_setup(&op, id, PSA_ALG_HMAC(PSA_ALG_SHA_256));
	for (size_t i = 0; st == PSA_SUCCESS && i < count; i++) {
		if (parts[i].len > 0) {
			st = psa_mac_update(&op, parts[i].p, parts[i].len);
		}
	}
	if (st == PSA_SUCCESS) {
		st = psa_mac_sign_finish(&op, out, 32, &n);
	}
	psa_mac_abort(&op);
	psa_destroy_key(id);
	return st == PSA_SUCCESS ? 0 : -EIO;
}

static const uint8_t HPKE_V1[] = {'H', 'P', 'K', 'E', '-', 'v', '1'};
static const uint8_t KEM_SUITE[] = {'K', 'E', 'M', 0x00, 0x20};
static const uint8_t HPKE_SUITE[] = {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x01};

/** LabeledExtract(salt, label, ikm) = HKDF-Extract(salt, "HPKE-v1" || suite || label || ikm). */
static int labeled_extract(const uint8_t *salt, size_t salt_len, const uint8_t *suite,
			   size_t suite_len, const char *label, const uint8_t *ikm, size_t ikm_len,
			   uint8_t prk[32])
{
	static const uint8_t zeros[32];
	const struct part parts[] = {
		{HPKE_V1, sizeof(HPKE_V1)},
		{suite, suite_len},
		{(const uint8_t *)label, strlen(label)},
		{ikm, ikm_len},
	};

	/* An empty salt is HashLen zero bytes (RFC 5869 2.2): the same HMAC key. */
	return hmac(salt_len ? salt : zeros, salt_len ? salt_len : sizeof(zeros), parts, 4, prk);
}

/** LabeledExpand(prk, label, info, L), L <= 32: one HKDF-Expand block. */
static int labeled_expand(const uint8_t prk[32], const uint8_t *suite, size_t suite_len,
			  const char *label, const uint8_t *info, size_t info_len, uint8_t *out,
			  size_t out_len)
{
	const uint8_t length[2] = {0, (uint8_t)out_len};
	const uint8_t counter = 1;
	uint8_t block[32];
	const struct part parts[] = {
		{length, 2},
		{HPKE_V1, sizeof(HPKE_V1)},
		{suite, suite_len},
		{(const uint8_t *)label, strlen(label)},
		{info, info_len},
		{&counter, 1},
	};
	int rc = hmac(prk, 32, parts, 6, block);

	memcpy(out, block, out_len);
	ikc_wipe(block, sizeof(block));
	return rc;
}

int ikc_hpke_open(const uint8_t sk[32], const uint8_t pk[32], const uint8_t *enc, size_t enc_len,
		  const uint8_t *info, size_t info_len, const uint8_t *ct, size_t ct_len,
		  uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
	uint8_t dh[32], prk[32], shared[32], psk_id_hash[32], info_hash[32], secret[32];
	uint8_t context[65], kem_context[64], key[16], nonce[12];
	mbedtls_svc_key_id_t sk_id, aead;
	psa_key_attributes_t attr;
	size_t n;
	int rc = -EBADMSG;
	static const uint8_t zero32[32];

	if (enc_len != 32 || ct_len < 16 || ct_len - 16 > pt_cap) {
		return -EBADMSG;
	}
	/* Decap: DH(skR, pkE); an all-zero result is a non-contributory pkE (RFC 9180 7.1.4). */
	if (load(IK_ALG_X25519, sk, 32, &sk_id)) {
		return -EIO;
	}
	psa_status_t st = psa_raw_key_agreement(PSA_ALG_ECDH, sk_id, enc, 32, dh, sizeof(dh), &n);

	psa_destroy_key(sk_id);
	if (st != PSA_SUCCESS || n != 32 || memcmp(dh, zero32, 32) == 0) {
		goto out;
	}
	memcpy(kem_context, enc, 32);
	memcpy(kem_context + 32, pk, 32);
	if (labeled_extract(NULL, 0, KEM_SUITE, sizeof(KEM_SUITE), "eae_prk", dh, 32, prk) ||
	    labeled_expand(prk, KEM_SUITE, sizeof(KEM_SUITE), "shared_secret", kem_context, 64,
			   shared, 32)) {
		goto out;
	}
	/* KeySchedule, mode_base: no PSK. */
	if (labeled_extract(NULL, 0, HPKE_SUITE, sizeof(HPKE_SUITE), "psk_id_hash", NULL, 0,
			    psk_id_hash) ||
	    labeled_extract(NULL, 0, HPKE_SUITE, sizeof(HPKE_SUITE), "info_hash", info, info_len,
			    info_hash)) {
		goto out;
	}
	context[0] = 0x00;
	memcpy(context + 1, psk_id_hash, 32);
	memcpy(context + 33, info_hash, 32);
	if (labeled_extract(shared, 32, HPKE_SUITE, sizeof(HPKE_SUITE), "secret", NULL, 0,
			    secret) ||
	    labeled_expand(secret, HPKE_SUITE, sizeof(HPKE_SUITE), "key", context, 65, key, 16) ||
	    labeled_expand(secret, HPKE_SUITE, sizeof(HPKE_SUITE), "base_nonce", context, 65, nonce,
			   12)) {
		goto out;
	}
	/* Open(aad = "", ct) with the first nonce (sequence number 0). */
	attr = psa_key_attributes_init();
	psa_set_key_type(&attr, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&attr, 128);
	psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&attr, PSA_ALG_GCM);
	if (psa_import_key(&attr, key, sizeof(key), &aead) != PSA_SUCCESS) {
		rc = -EIO;
		goto out;
	}
	st = psa_aead_decrypt(aead, PSA_ALG_GCM, nonce, sizeof(nonce), NULL, 0, ct, ct_len, pt,
			      pt_cap, pt_len);
	psa_destroy_key(aead);
	rc = st == PSA_SUCCESS ? 0 : -EBADMSG;
out:
	ikc_wipe(dh, sizeof(dh));
	ikc_wipe(prk, sizeof(prk));
	ikc_wipe(shared, sizeof(shared));
	ikc_wipe(secret, sizeof(secret));
	ikc_wipe(key, sizeof(key));
	ikc_wipe(nonce, sizeof(nonce));
	if (rc) {
		ikc_wipe(pt, pt_cap);
	}
	return rc;
}

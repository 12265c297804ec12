/*
 * Imprint keys group: the numbers of docs/protocol/keys-group.md, for firmware that talks to the
 * group or extends it. The group registers itself (MCUMGR_HANDLER_DEFINE) when
 * CONFIG_IMPRINT_KEYS=y; an application calls nothing.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef IMPRINT_KEYS_H_
#define IMPRINT_KEYS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Protocol version reported by info ("v"). */
#define IMPRINT_KEYS_PROTOCOL_VERSION 1

/** Command ids (spec section 3). */
enum imprint_keys_cmd {
	IMPRINT_KEYS_CMD_INFO = 0,
	IMPRINT_KEYS_CMD_GENERATE = 1,
	IMPRINT_KEYS_CMD_IMPORT = 2,
	IMPRINT_KEYS_CMD_TRANSPORT_KEY = 3,
	IMPRINT_KEYS_CMD_PUBLIC = 4,
	IMPRINT_KEYS_CMD_LIST = 5,
	IMPRINT_KEYS_CMD_DESTROY = 6,
	IMPRINT_KEYS_CMD_CSR = 7,
	IMPRINT_KEYS_CMD_SIGN = 8,
	IMPRINT_KEYS_CMD_CERT = 9,
	IMPRINT_KEYS_CMD_COUNTER = 10,
	IMPRINT_KEYS_CMD_TAMPER_LOG = 11,
	IMPRINT_KEYS_CMD_LOCK = 12,
};

/** v2 error codes, answered as {"err": {"group": G, "rc": N}} (spec section 4). */
enum imprint_keys_err {
	IMPRINT_KEYS_OK = 0,
	IMPRINT_KEYS_ERR_UNKNOWN = 1,
	IMPRINT_KEYS_ERR_BAD_REQUEST = 2,
	IMPRINT_KEYS_ERR_NO_SUCH_KEY = 3,
	IMPRINT_KEYS_ERR_SLOT_IN_USE = 4,
	IMPRINT_KEYS_ERR_SLOTS_FULL = 5,
	IMPRINT_KEYS_ERR_UNSUPPORTED_ALGORITHM = 6,
	IMPRINT_KEYS_ERR_BAD_WRAP = 7,
	IMPRINT_KEYS_ERR_COUNTER_ROLLBACK = 8,
	IMPRINT_KEYS_ERR_NOT_PERMITTED = 9,
	IMPRINT_KEYS_ERR_LOCKED = 10,
	IMPRINT_KEYS_ERR_STORAGE_FAILURE = 11,
	IMPRINT_KEYS_ERR_TOO_LARGE = 12,
};

/** PSA user key id range (PSA_KEY_ID_USER_MIN .. PSA_KEY_ID_USER_MAX). */
#define IMPRINT_KEYS_ID_MIN 0x00000001u
#define IMPRINT_KEYS_ID_MAX 0x3fffffffu

/**
 * The mbedTLS heap peak of the last csr, bytes (0 without CONFIG_IMPRINT_KEYS_HEAP_STATS or
 * before the first csr).
 */
size_t imprint_keys_csr_heap_peak(void);

#ifdef __cplusplus
}
#endif

#endif /* IMPRINT_KEYS_H_ */

/*
 * The keys group as an MCUmgr group: registration, request decoding and answer encoding. The
 * only file that calls MCUmgr (Zephyr 3.4: struct mgmt_group, MCUMGR_HANDLER_DEFINE,
 * smp_add_cmd_err, mg_translate_error) and zcbor (0.7). A port to Zephyr 4.x / zcbor 0.8+
 * changes this file.
 *
 * Requests: every key any command takes is read into one struct, with its type checked
 * (a key of the wrong type is remembered as such, unknown keys are skipped). Answers: the
 * handler writes key/value pairs into the map MCUmgr opened; errors are {"err": {group, rc}},
 * and MCUmgr turns them into the v1 {"rc"} of the spec's table for a v1 request.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/mgmt/mcumgr/mgmt/handlers.h>
#include <zephyr/mgmt/mcumgr/mgmt/mgmt.h>
#include <zephyr/mgmt/mcumgr/smp/smp.h>
#include <zcbor_common.h>
#include <zcbor_decode.h>
#include <zcbor_encode.h>

#include "keys_internal.h"

LOG_MODULE_REGISTER(imprint_keys, CONFIG_IMPRINT_KEYS_LOG_LEVEL);

struct ik_writer {
	zcbor_state_t *zse;
	/** Where the answer must end: a packet of the transport buffer less the frame's length and CRC. */
	const uint8_t *limit;
};

/* ---- answers ---- */

bool ikw_key(struct ik_writer *w, const char *key)
{
	return zcbor_tstr_encode_ptr(w->zse, key, strlen(key));
}

bool ikw_uint(struct ik_writer *w, uint64_t value)
{
	return zcbor_uint64_put(w->zse, value);
}

bool ikw_bool(struct ik_writer *w, bool value)
{
	return zcbor_bool_put(w->zse, value);
}

bool ikw_tstr(struct ik_writer *w, const char *text)
{
	return zcbor_tstr_encode_ptr(w->zse, text, strlen(text));
}

bool ikw_bstr(struct ik_writer *w, const uint8_t *bytes, size_t len)
{
	return zcbor_bstr_encode_ptr(w->zse, (const char *)bytes, len);
}

bool ikw_list_start(struct ik_writer *w)
{
	return zcbor_list_start_encode(w->zse, CONFIG_IMPRINT_KEYS_SLOTS +
						       CONFIG_IMPRINT_KEYS_TAMPER_CAPACITY);
}

bool ikw_list_end(struct ik_writer *w)
{
	return zcbor_list_end_encode(w->zse, CONFIG_IMPRINT_KEYS_SLOTS +
						     CONFIG_IMPRINT_KEYS_TAMPER_CAPACITY);
}

bool ikw_map_start(struct ik_writer *w)
{
	return zcbor_map_start_encode(w->zse, 8);
}

bool ikw_map_end(struct ik_writer *w)
{
	return zcbor_map_end_encode(w->zse, 8);
}

size_t ikw_room(const struct ik_writer *w)
{
	const uint8_t *end = MIN(w->zse->payload_end, w->limit);
	size_t room = end > w->zse->payload ? (size_t)(end - w->zse->payload) : 0;

	/* MCUmgr closes the answer's map after us: one byte (0xff, indefinite length). */
	return room > 1 ? room - 1 : 0;
}

size_t ik_cbor_uint_size(uint64_t value)
{
	return value < 24 ? 1 : value <= 0xff ? 2 : value <= 0xffff ? 3 : value <= 0xffffffff ? 5 : 9;
}

size_t ik_cbor_str_size(size_t len)
{
	return ik_cbor_uint_size(len) + len;
}

/* ---- requests ---- */

static uint8_t major_type(const zcbor_state_t *zsd)
{
	return zsd->payload < zsd->payload_end ? (uint8_t)(*zsd->payload >> 5) : 0xff;
}

static bool read_uint(zcbor_state_t *zsd, struct ik_uint *field)
{
	if (major_type(zsd) == ZCBOR_MAJOR_TYPE_PINT && zcbor_uint64_decode(zsd, &field->v)) {
		field->state = IK_PRESENT;
		return true;
	}
	field->state = IK_WRONG_TYPE;
	return zcbor_any_skip(zsd, NULL);
}

static bool read_str(zcbor_state_t *zsd, struct ik_bytes *field, bool text)
{
	struct zcbor_string s;
	uint8_t want = text ? ZCBOR_MAJOR_TYPE_TSTR : ZCBOR_MAJOR_TYPE_BSTR;

	if (major_type(zsd) == want &&
	    (text ? zcbor_tstr_decode(zsd, &s) : zcbor_bstr_decode(zsd, &s))) {
		field->state = IK_PRESENT;
		field->p = s.value;
		field->len = s.len;
		return true;
	}
	field->state = IK_WRONG_TYPE;
	return zcbor_any_skip(zsd, NULL);
}

static bool read_bool(zcbor_state_t *zsd, struct ik_bool *field)
{
	if (major_type(zsd) == ZCBOR_MAJOR_TYPE_SIMPLE && zcbor_bool_decode(zsd, &field->v)) {
		field->state = IK_PRESENT;
		return true;
	}
	field->state = IK_WRONG_TYPE;
	return zcbor_any_skip(zsd, NULL);
}

static bool key_is(const struct zcbor_string *key, const char *name)
{
	return key->len == strlen(name) && memcmp(key->value, name, key->len) == 0;
}

/** "csr": {"subject": tstr}. */
static bool read_csr(zcbor_state_t *zsd, struct ik_request *req)
{
	struct zcbor_string key;

	req->csr = IK_WRONG_TYPE;
	if (major_type(zsd) != ZCBOR_MAJOR_TYPE_MAP || !zcbor_map_start_decode(zsd)) {
		return zcbor_any_skip(zsd, NULL);
	}
	while (zcbor_tstr_decode(zsd, &key)) {
		bool ok = key_is(&key, "subject") ? read_str(zsd, &req->csr_subject, true)
						  : zcbor_any_skip(zsd, NULL);
		if (!ok) {
			return false;
		}
	}
	if (!zcbor_map_end_decode(zsd)) {
		return false;
	}
	if (req->csr_subject.state == IK_PRESENT) {
		req->csr = IK_PRESENT;
	}
	return true;
}

/** Reads the request map; false when the payload is not a CBOR map with text keys. */
static bool read_request(zcbor_state_t *zsd, struct ik_request *req)
{
	struct zcbor_string key;

	memset(req, 0, sizeof(*req));
	if (zsd->payload >= zsd->payload_end) {
		return true; /* no payload: an empty map */
	}
	if (!zcbor_map_start_decode(zsd)) {
		return false;
	}
	while (zcbor_tstr_decode(zsd, &key)) {
		bool ok;

		if (key_is(&key, "id")) {
			ok = read_uint(zsd, &req->id);
		} else if (key_is(&key, "usage")) {
			ok = read_uint(zsd, &req->usage);
		} else if (key_is(&key, "off")) {
			ok = read_uint(zsd, &req->off);
		} else if (key_is(&key, "len")) {
			ok = read_uint(zsd, &req->len);
		} else if (key_is(&key, "value")) {
			ok = read_uint(zsd, &req->value);
		} else if (key_is(&key, "since")) {
			ok = read_uint(zsd, &req->since);
		} else if (key_is(&key, "after")) {
			ok = read_uint(zsd, &req->after);
		} else if (key_is(&key, "alg")) {
			ok = read_str(zsd, &req->alg, true);
		} else if (key_is(&key, "fmt")) {
			ok = read_str(zsd, &req->fmt, true);
		} else if (key_is(&key, "subject")) {
			ok = read_str(zsd, &req->subject, true);
		} else if (key_is(&key, "enc")) {
			ok = read_str(zsd, &req->enc, false);
		} else if (key_is(&key, "ct")) {
			ok = read_str(zsd, &req->ct, false);
		} else if (key_is(&key, "msg")) {
			ok = read_str(zsd, &req->msg, false);
		} else if (key_is(&key, "data")) {
			ok = read_str(zsd, &req->data, false);
		} else if (key_is(&key, "replace")) {
			ok = read_bool(zsd, &req->replace);
		} else if (key_is(&key, "csr")) {
			ok = read_csr(zsd, req);
		} else {
			ok = zcbor_any_skip(zsd, NULL);
		}
		if (!ok) {
			return false;
		}
	}
	return zcbor_map_end_decode(zsd);
}

/* ---- dispatch ---- */

static int dispatch(struct smp_streamer *ctxt, uint16_t command, bool write)
{
	static struct ik_request req; /* one request at a time: the SMP work queue */
	struct ik_writer w = {
		.zse = ctxt->writer->zs,
		/* As for requests: the frame's 2-byte length and 2-byte CRC share the buffer. */
		.limit = ctxt->writer->nb->data + CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE - 4,
	};
	int err;

	if (!read_request(ctxt->reader->zs, &req)) {
		err = IMPRINT_KEYS_ERR_BAD_REQUEST;
	} else {
		err = ik_handle(command, write, &req, &w);
	}
	if (err == IMPRINT_KEYS_OK) {
		return MGMT_ERR_EOK;
	}
	if (err < 0) {
		return MGMT_ERR_EMSGSIZE; /* the answer did not fit the buffer */
	}
	return smp_add_cmd_err(w.zse, CONFIG_IMPRINT_KEYS_GROUP_ID, (uint16_t)err)
		       ? MGMT_ERR_EOK
		       : MGMT_ERR_EMSGSIZE;
}

#define READ(cmd)                                                                                  \
	static int read_##cmd(struct smp_streamer *ctxt)                                           \
	{                                                                                          \
		return dispatch(ctxt, IMPRINT_KEYS_CMD_##cmd, false);                              \
	}
#define WRITE(cmd)                                                                                 \
	static int write_##cmd(struct smp_streamer *ctxt)                                          \
	{                                                                                          \
		return dispatch(ctxt, IMPRINT_KEYS_CMD_##cmd, true);                               \
	}

READ(INFO)
WRITE(GENERATE)
WRITE(IMPORT)
READ(TRANSPORT_KEY)
READ(PUBLIC)
READ(LIST)
WRITE(DESTROY)
WRITE(CSR)
WRITE(SIGN)
READ(CERT)
WRITE(CERT)
READ(COUNTER)
WRITE(COUNTER)
READ(TAMPER_LOG)
WRITE(LOCK)

/* The op each command answers (spec section 3); the other op is MCUmgr's "not supported". */
static const struct mgmt_handler handlers[] = {
	[IMPRINT_KEYS_CMD_INFO] = {read_INFO, NULL},
	[IMPRINT_KEYS_CMD_GENERATE] = {NULL, write_GENERATE},
	[IMPRINT_KEYS_CMD_IMPORT] = {NULL, write_IMPORT},
	[IMPRINT_KEYS_CMD_TRANSPORT_KEY] = {read_TRANSPORT_KEY, NULL},
	[IMPRINT_KEYS_CMD_PUBLIC] = {read_PUBLIC, NULL},
	[IMPRINT_KEYS_CMD_LIST] = {read_LIST, NULL},
	[IMPRINT_KEYS_CMD_DESTROY] = {NULL, write_DESTROY},
	[IMPRINT_KEYS_CMD_CSR] = {NULL, write_CSR},
	[IMPRINT_KEYS_CMD_SIGN] = {NULL, write_SIGN},
	[IMPRINT_KEYS_CMD_CERT] = {read_CERT, write_CERT},
	[IMPRINT_KEYS_CMD_COUNTER] = {read_COUNTER, write_COUNTER},
	[IMPRINT_KEYS_CMD_TAMPER_LOG] = {read_TAMPER_LOG, NULL},
	[IMPRINT_KEYS_CMD_LOCK] = {NULL, write_LOCK},
};

#if defined(CONFIG_MCUMGR_SMP_SUPPORT_ORIGINAL_PROTOCOL)
/** The v1 rc of each keys-group code (spec section 4). */
static int translate_error(uint16_t err)
{
	switch (err) {
	case IMPRINT_KEYS_OK:
		return MGMT_ERR_EOK;
	case IMPRINT_KEYS_ERR_BAD_REQUEST:
	case IMPRINT_KEYS_ERR_COUNTER_ROLLBACK:
		return MGMT_ERR_EINVAL;
	case IMPRINT_KEYS_ERR_NO_SUCH_KEY:
		return MGMT_ERR_ENOENT;
	case IMPRINT_KEYS_ERR_SLOT_IN_USE:
		return MGMT_ERR_EBADSTATE;
	case IMPRINT_KEYS_ERR_SLOTS_FULL:
		return MGMT_ERR_ENOMEM;
	case IMPRINT_KEYS_ERR_UNSUPPORTED_ALGORITHM:
		return MGMT_ERR_ENOTSUP;
	case IMPRINT_KEYS_ERR_BAD_WRAP:
		return MGMT_ERR_ECORRUPT;
	case IMPRINT_KEYS_ERR_NOT_PERMITTED:
	case IMPRINT_KEYS_ERR_LOCKED:
		return MGMT_ERR_EACCESSDENIED;
	case IMPRINT_KEYS_ERR_TOO_LARGE:
		return MGMT_ERR_EMSGSIZE;
	case IMPRINT_KEYS_ERR_UNKNOWN:
	case IMPRINT_KEYS_ERR_STORAGE_FAILURE:
	default:
		return MGMT_ERR_EUNKNOWN;
	}
}
#endif

static struct mgmt_group keys_group = {
	.mg_handlers = handlers,
	.mg_handlers_count = ARRAY_SIZE(handlers),
	.mg_group_id = CONFIG_IMPRINT_KEYS_GROUP_ID,
#if defined(CONFIG_MCUMGR_SMP_SUPPORT_ORIGINAL_PROTOCOL)
	.mg_translate_error = translate_error,
#endif
};

static void keys_group_register(void)
{
	int rc = ik_state_init();

	if (rc) {
		LOG_ERR("keys group storage failed to start (%d): the group is not registered", rc);
		return;
	}
	mgmt_register_group(&keys_group);
}

MCUMGR_HANDLER_DEFINE(imprint_keys, keys_group_register);

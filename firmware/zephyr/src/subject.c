/*
 * CSR subjects as the keys group takes them (docs/protocol/keys-group.md 5.8): `TYPE=value`
 * pairs separated by commas, in DER order; `\` escapes the next character; spaces around types
 * and values are dropped; types CN, serialNumber, C, L, ST, O, OU (any case) with X.520's
 * lengths; serialNumber and C must be PrintableString characters. Plain C: the same rules as
 * the simulated board's parseSubject (src/lib/sim/keys/csr.ts), lengths counted in characters.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "keys_internal.h"

static const struct {
	const char *name;
	uint8_t oid[3];
	bool printable;
	uint8_t min;
	uint8_t max;
} attrs[] = {
	[IK_ATTR_CN] = {"CN", {0x55, 0x04, 0x03}, false, 1, 64},
	[IK_ATTR_SERIAL_NUMBER] = {"SERIALNUMBER", {0x55, 0x04, 0x05}, true, 1, 64},
	[IK_ATTR_C] = {"C", {0x55, 0x04, 0x06}, true, 2, 2},
	[IK_ATTR_L] = {"L", {0x55, 0x04, 0x07}, false, 1, 128},
	[IK_ATTR_ST] = {"ST", {0x55, 0x04, 0x08}, false, 1, 128},
	[IK_ATTR_O] = {"O", {0x55, 0x04, 0x0a}, false, 1, 64},
	[IK_ATTR_OU] = {"OU", {0x55, 0x04, 0x0b}, false, 1, 64},
};

void ik_subject_attr_oid(uint8_t type, const uint8_t **oid, size_t *oid_len, bool *printable)
{
	*oid = attrs[type].oid;
	*oid_len = sizeof(attrs[type].oid);
	*printable = attrs[type].printable;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/** X.680 PrintableString: A-Z a-z 0-9 space ' ( ) + , - . / : = ? */
static bool is_printable(char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
		return true;
	}
	return c != '\0' && strchr(" '()+,-./:=?", c) != NULL;
}

/** Characters (code points) in UTF-8 text. */
static size_t chars(const char *text, size_t len)
{
	size_t count = 0;

	for (size_t i = 0; i < len; i++) {
		if (((uint8_t)text[i] & 0xc0) != 0x80) {
			count++;
		}
	}
	return count;
}

static int type_of(const char *key, size_t len)
{
	while (len > 0 && is_space(*key)) {
		key++;
		len--;
	}
	while (len > 0 && is_space(key[len - 1])) {
		len--;
	}
	for (size_t t = 0; t < sizeof(attrs) / sizeof(attrs[0]); t++) {
		const char *name = attrs[t].name;

		if (strlen(name) != len) {
			continue;
		}
		size_t i = 0;

		while (i < len && (key[i] >= 'a' && key[i] <= 'z' ? key[i] - 32 : key[i]) == name[i]) {
			i++;
		}
		if (i == len) {
			return (int)t;
		}
	}
	return -1;
}

bool ik_subject_parse(const uint8_t *text, size_t len, struct ik_subject *out)
{
	char key[IK_SUBJECT_MAX * 4 + 1];
	size_t key_len = 0;
	size_t used = 0;
	size_t value_start = 0;
	bool in_value = false;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > IK_SUBJECT_MAX * 4 || chars((const char *)text, len) > IK_SUBJECT_MAX) {
		return false;
	}

	for (size_t i = 0; i <= len; i++) {
		char c;
		bool end = (i == len);

		if (!end) {
			c = (char)text[i];
			if (c == '\\' && i + 1 < len) {
				c = (char)text[++i];
			} else if (c == ',') {
				end = true;
			} else if (c == '=' && !in_value) {
				in_value = true;
				value_start = used;
				continue;
			}
		}
		if (end) {
			/* One TYPE=value is complete. */
			if (!in_value || out->count == IK_SUBJECT_ATTRS_MAX) {
				return false;
			}
			int type = type_of(key, key_len);

			if (type < 0) {
				return false;
			}
			size_t start = value_start;
			size_t stop = used;

			while (start < stop && is_space(out->text[start])) {
				start++;
			}
			while (stop > start && is_space(out->text[stop - 1])) {
				stop--;
			}
			size_t n = chars(&out->text[start], stop - start);

			if (n < attrs[type].min || n > attrs[type].max) {
				return false;
			}
			if (attrs[type].printable) {
				for (size_t j = start; j < stop; j++) {
					if (!is_printable(out->text[j])) {
						return false;
					}
				}
			}
			out->attrs[out->count].type = (uint8_t)type;
			out->attrs[out->count].off = (uint16_t)start;
			out->attrs[out->count].len = (uint16_t)(stop - start);
			out->count++;
			key_len = 0;
			in_value = false;
			continue;
		}
		if (in_value) {
			out->text[used++] = c;
		} else {
			key[key_len++] = c;
		}
	}
	return true;
}

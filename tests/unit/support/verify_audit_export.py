#!/usr/bin/env python3
"""An independent verifier of an Imprint audit export, written from docs/audit-format.md only:
its own deterministic CBOR encoder (RFC 8949 section 4.2.1, for text, unsigned integers and
text-keyed maps), hashlib for SHA-256, the RFC 6962 tree, and python3-cryptography for ECDSA.
Prints "ok <records> <checkpoints>" or the first problem, exit status 0 or 1."""
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for minor, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | minor]) + n.to_bytes(size, "big")
    raise ValueError("too large")


def cbor(value):
    if isinstance(value, bool) or value is None:
        raise ValueError("not in the canonical domain")
    if isinstance(value, int):
        return head(0, value)
    if isinstance(value, str):
        data = value.encode("utf-8")
        return head(3, len(data)) + data
    if isinstance(value, dict):
        items = sorted((cbor(k), cbor(v)) for k, v in value.items())
        return head(5, len(items)) + b"".join(k + v for k, v in items)
    raise ValueError(f"not in the canonical domain: {type(value)}")


def sha256(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def root(leaves):
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01", root(leaves[:k]), root(leaves[k:]))


def b64url(text):
    import base64
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main(path):
    lines = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    header, rest = lines[0], lines[1:]
    assert header["type"] == "header" and header["format"] == "imprint-audit/1", "not an export"
    jwk = header["publicKeyJwk"]
    key = ec.EllipticCurvePublicNumbers(int.from_bytes(b64url(jwk["x"]), "big"), int.from_bytes(b64url(jwk["y"]), "big"), ec.SECP256R1()).public_key()
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if sha256(spki)[:8].hex() != header["stationId"]:
        return "station id is not the key's"

    def signed(statement, signature_hex):
        raw = bytes.fromhex(signature_hex)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            key.verify(der, cbor(statement), ec.ECDSA(hashes.SHA256()))
            return True
        except InvalidSignature:
            return False

    prev, leaves, roots, checkpoints = bytes(32), [], {0: sha256(b"")}, 0
    for line in rest:
        if line["type"] == "record":
            record = {k: v for k, v in line.items() if k not in ("type", "entryHash")}
            prev = sha256(prev, cbor(record))
            if prev.hex() != line["entryHash"]:
                return f"seq {record['seq']}: entryHash mismatch"
            if record["seq"] != len(leaves) + 1:
                return f"seq {record['seq']}: out of sequence"
            leaves.append(sha256(b"\x00", prev))
            roots[len(leaves)] = root(leaves)
        elif line["type"] == "checkpoint":
            statement = {"format": "imprint-audit-checkpoint/1", **{k: line[k] for k in ("stationId", "treeSize", "rootHash", "time")}}
            if not signed(statement, line["signature"]):
                return f"checkpoint {line['treeSize']}: bad signature"
            if roots.get(line["treeSize"], b"").hex() != line["rootHash"]:
                return f"checkpoint {line['treeSize']}: root mismatch"
            checkpoints += 1
    seal = {"format": "imprint-audit-export/1", **{k: header[k] for k in ("stationId", "appBuild", "exportedAt", "treeSize", "rootHash")}}
    if not signed(seal, header["signature"]):
        return "header: bad signature"
    if header["treeSize"] != len(leaves) or roots[len(leaves)].hex() != header["rootHash"]:
        return "header: size or root mismatch"
    print(f"ok {len(leaves)} {checkpoints}")
    return None


if __name__ == "__main__":
    problem = main(sys.argv[1])
    if problem:
        print(problem)
        sys.exit(1)

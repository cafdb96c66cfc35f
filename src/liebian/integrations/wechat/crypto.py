"""WeChat Pay v3 and mini-program cryptography, exactly as WeChat specifies it (wechat.md §1.1, §2.2-2.6).

Pure functions over ``cryptography``: no I/O, no clock (callers pass the time), so the client, the
callback handler and the fake share one implementation and tests can pin every message byte.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from liebian.integrations.wechat.errors import DecryptionError, SignatureError

SCHEME = "WECHATPAY2-SHA256-RSA2048"
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
MAX_SKEW_SECONDS = 300
_NONCE_ALPHABET = string.ascii_uppercase + string.digits
_AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')


def nonce_str(length: int = 32) -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


# --- keys -----------------------------------------------------------------------------------------

def generate_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """PKCS#8, like the ``apiclient_key.pem`` the merchant platform hands out."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_key_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """A WeChat Pay public key (``pub_key.pem``) or the key of a platform certificate."""
    key = (x509.load_pem_x509_certificate(pem).public_key() if b"CERTIFICATE" in pem
           else serialization.load_pem_public_key(pem))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def certificate_serial(pem: bytes) -> str:
    """The serial WeChat puts in ``Wechatpay-Serial``: upper-case hex of the certificate serial number."""
    return format(x509.load_pem_x509_certificate(pem).serial_number, "X")


def self_signed_certificate(key: rsa.RSAPrivateKey, common_name: str, not_before: dt.datetime,
                            days: int = 365 * 5) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before)
            .not_valid_after(not_before + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


# --- RSA signatures -------------------------------------------------------------------------------

def rsa_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), asym_padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), message.encode(), asym_padding.PKCS1v15(),
                   hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def request_message(method: str, url: str, timestamp: str, nonce: str, body: str) -> str:
    """``METHOD\\nPATH?QUERY\\nTS\\nNONCE\\nBODY\\n``: the URL as sent, without host; ``""`` body for GET."""
    return f"{method.upper()}\n{url}\n{timestamp}\n{nonce}\n{body}\n"


def build_authorization(*, mchid: str, serial_no: str, key: rsa.RSAPrivateKey, method: str, url: str,
                        body: str, timestamp: str, nonce: str) -> str:
    signature = rsa_sign(key, request_message(method, url, timestamp, nonce, body))
    return (f'{SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial_no}"')


@dataclass(frozen=True)
class Authorization:
    mchid: str
    nonce_str: str
    signature: str
    timestamp: str
    serial_no: str


def parse_authorization(header: str) -> Authorization:
    scheme, _, rest = header.strip().partition(" ")
    if scheme != SCHEME:
        raise SignatureError("unknown authorization scheme")
    fields = dict(_AUTH_FIELD.findall(rest))
    try:
        return Authorization(mchid=fields["mchid"], nonce_str=fields["nonce_str"], signature=fields["signature"],
                             timestamp=fields["timestamp"], serial_no=fields["serial_no"])
    except KeyError as exc:
        raise SignatureError(f"authorization lacks {exc.args[0]}") from exc


def check_timestamp(timestamp: str, now: float, max_skew: int = MAX_SKEW_SECONDS) -> None:
    """Ten-digit unix seconds within ``max_skew`` of ``now`` (milliseconds are a classic bug)."""
    if not (timestamp.isdigit() and len(timestamp) == 10):
        raise SignatureError("timestamp is not unix seconds")
    if abs(now - int(timestamp)) > max_skew:
        raise SignatureError("timestamp outside the allowed window")


# --- responses and notifications ------------------------------------------------------------------

def response_message(timestamp: str, nonce: str, body: str) -> str:
    return f"{timestamp}\n{nonce}\n{body}\n"


def sign_response(key: rsa.RSAPrivateKey, serial: str, body: bytes, timestamp: str, nonce: str) -> dict[str, str]:
    return {
        "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce, "Wechatpay-Serial": serial,
        "Wechatpay-Signature": rsa_sign(key, response_message(timestamp, nonce, body.decode())),
        "Wechatpay-Signature-Type": SCHEME,
    }


def verify_response(headers: Mapping[str, str], body: bytes, verifiers: Mapping[str, rsa.RSAPublicKey],
                    now: float, max_skew: int = MAX_SKEW_SECONDS) -> str:
    """Check a signed response or notification over its raw bytes; returns the serial that signed it.

    Rejects missing headers, signature probes (``WECHATPAY/SIGNTEST/``), serials we do not hold and
    stale timestamps: WeChat's own SDKs skip the last check, which lets an old callback be replayed.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get("wechatpay-timestamp")
    nonce = lowered.get("wechatpay-nonce")
    signature = lowered.get("wechatpay-signature")
    serial = lowered.get("wechatpay-serial")
    if not (timestamp and nonce and signature and serial):
        raise SignatureError("missing Wechatpay signature headers")
    if signature.startswith(PROBE_PREFIX):
        raise SignatureError("signature probe")
    key = verifiers.get(serial)
    if key is None:
        raise SignatureError("unknown Wechatpay-Serial")
    check_timestamp(timestamp, now, max_skew)
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise SignatureError("body is not UTF-8") from exc
    if not rsa_verify(key, response_message(timestamp, nonce, text), signature):
        raise SignatureError("signature does not verify")
    return serial


# --- AES-256-GCM resources (callbacks, certificate download) ---------------------------------------

def aes_gcm_encrypt(apiv3_key: str, plaintext: str, nonce: str, associated_data: str) -> str:
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext.encode(), associated_data.encode())
    return base64.b64encode(sealed).decode()


def aes_gcm_decrypt(apiv3_key: str, ciphertext: str, nonce: str, associated_data: str) -> str:
    """The last 16 bytes of the ciphertext are the tag; AAD may be empty."""
    try:
        key = apiv3_key.encode()
        return AESGCM(key).decrypt(nonce.encode(), base64.b64decode(ciphertext, validate=True),
                                   associated_data.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise DecryptionError("resource does not decrypt with the APIv3 key") from exc


def decrypt_resource(apiv3_key: str, resource: Mapping[str, Any]) -> dict[str, Any]:
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise DecryptionError("unsupported resource algorithm")
    plain = aes_gcm_decrypt(apiv3_key, str(resource.get("ciphertext", "")), str(resource.get("nonce", "")),
                            str(resource.get("associated_data") or ""))
    try:
        data = json.loads(plain)
    except ValueError as exc:
        raise DecryptionError("decrypted resource is not JSON") from exc
    if not isinstance(data, dict):
        raise DecryptionError("decrypted resource is not an object")
    return data


# --- sensitive fields (RSAES-OAEP) -----------------------------------------------------------------

def rsa_oaep_encrypt(key: rsa.RSAPublicKey, text: str) -> str:
    oaep = asym_padding.OAEP(mgf=asym_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
    return base64.b64encode(key.encrypt(text.encode(), oaep)).decode()


def rsa_oaep_decrypt(key: rsa.RSAPrivateKey, ciphertext: str) -> str:
    oaep = asym_padding.OAEP(mgf=asym_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
    try:
        return key.decrypt(base64.b64decode(ciphertext, validate=True), oaep).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise DecryptionError("sensitive field does not decrypt") from exc


# --- wx.requestPayment ------------------------------------------------------------------------------

def pay_sign_message(appid: str, timestamp: str, nonce: str, package: str) -> str:
    return f"{appid}\n{timestamp}\n{nonce}\n{package}\n"


def pay_sign(key: rsa.RSAPrivateKey, appid: str, timestamp: str, nonce: str, package: str) -> str:
    return rsa_sign(key, pay_sign_message(appid, timestamp, nonce, package))


def request_payment_params(key: rsa.RSAPrivateKey, appid: str, prepay_id: str, now: float) -> dict[str, str]:
    """The object a mini-program passes to ``wx.requestPayment`` (seconds, ``RSA``, 32-char nonce)."""
    timestamp, nonce, package = str(int(now)), nonce_str(32), f"prepay_id={prepay_id}"
    return {"appId": appid, "timeStamp": timestamp, "nonceStr": nonce, "package": package, "signType": "RSA",
            "paySign": pay_sign(key, appid, timestamp, nonce, package)}


# --- encrypted open data (wx.getShareInfo, ...) ----------------------------------------------------

def open_data_encrypt(session_key: str, data: Mapping[str, Any], iv: bytes) -> str:
    padder = padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(data, ensure_ascii=False).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def open_data_decrypt(session_key: str, encrypted_data: str, iv: str, appid: str) -> dict[str, Any]:
    """AES-128-CBC/PKCS#7 with the session key; the watermark must name our appid."""
    try:
        decryptor = Cipher(algorithms.AES(base64.b64decode(session_key, validate=True)),
                           modes.CBC(base64.b64decode(iv, validate=True))).decryptor()
        padded = decryptor.update(base64.b64decode(encrypted_data, validate=True)) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        data = json.loads(unpadder.update(padded) + unpadder.finalize())
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise DecryptionError("open data does not decrypt with the session key") from exc
    watermark = data.get("watermark") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(watermark, dict) or watermark.get("appid") != appid:
        raise DecryptionError("open data watermark names another appid")
    return data

"""WeChat Pay v3 cryptography: exact messages, known answers with openssl, and wechatpayv3 as an oracle.

(wechat.md §9 items 1-7.)
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpayv3 import utils as oracle_utils

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.errors import DecryptionError, SignatureError
from liebian.integrations.wechat.fake import SandboxCredentials
from tests.wechat.conftest import oracle

NOW = 1_700_000_000.0


def test_request_message_is_five_newline_terminated_lines() -> None:
    assert crypto.request_message(
        "get",
        "/v3/pay/transactions/out-trade-no/A1?mchid=1900000001",
        "1554208460",
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        "",
    ) == (
        "GET\n/v3/pay/transactions/out-trade-no/A1?mchid=1900000001\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
    )
    body = json.dumps({"description": "测试商品"}, ensure_ascii=False, separators=(",", ":"))
    assert crypto.request_message("POST", "/v3/pay/transactions/jsapi", "1", "N", body).endswith(
        '{"description":"测试商品"}\n'
    )


def test_authorization_header_parses_into_its_five_fields(credentials: SandboxCredentials) -> None:
    key = crypto.load_private_key(credentials.merchant_key_pem.encode())
    header = crypto.build_authorization(
        mchid=credentials.mchid,
        serial_no=credentials.merchant_serial,
        key=key,
        method="POST",
        url="/v3/pay/transactions/jsapi",
        body='{"a":1}',
        timestamp="1554208460",
        nonce="NONCE",
    )
    assert header.startswith("WECHATPAY2-SHA256-RSA2048 ")
    auth = crypto.parse_authorization(header)
    assert (auth.mchid, auth.nonce_str, auth.timestamp, auth.serial_no) == (
        credentials.mchid,
        "NONCE",
        "1554208460",
        credentials.merchant_serial,
    )
    message = crypto.request_message("POST", "/v3/pay/transactions/jsapi", "1554208460", "NONCE", '{"a":1}')
    assert crypto.rsa_verify(credentials.merchant_public_key, message, auth.signature)
    with pytest.raises(SignatureError):
        crypto.parse_authorization("Bearer abc")
    with pytest.raises(SignatureError):
        crypto.parse_authorization('WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="x"')


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
def test_request_signature_and_pay_sign_match_the_openssl_pipeline_of_the_docs(
    credentials: SandboxCredentials, tmp_path: Path
) -> None:
    """WeChat's docs sign with ``openssl dgst -sha256 -sign apiclient_key.pem``; both directions agree."""
    key_file, pub_file = tmp_path / "apiclient_key.pem", tmp_path / "pub.pem"
    key_file.write_text(credentials.merchant_key_pem)
    pub_file.write_bytes(crypto.public_key_pem(credentials.merchant_public_key))
    key = crypto.load_private_key(credentials.merchant_key_pem.encode())
    for message in (
        crypto.request_message("GET", "/v3/certificates?x=1", "1554208460", "N1", ""),
        crypto.request_message("POST", "/v3/pay/transactions/jsapi", "1554208460", "N2", '{"d":"中文"}'),
        crypto.pay_sign_message(credentials.appid, "1554208460", "N3", "prepay_id=wx1"),
    ):
        (tmp_path / "msg").write_bytes(message.encode())
        ours = crypto.rsa_sign(key, message)
        (tmp_path / "sig").write_bytes(base64.b64decode(ours))
        verified = subprocess.run(
            [
                "openssl",
                "dgst",
                "-sha256",
                "-verify",
                str(pub_file),
                "-signature",
                str(tmp_path / "sig"),
                str(tmp_path / "msg"),
            ],
            capture_output=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stderr
        theirs = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(key_file), str(tmp_path / "msg")],
            capture_output=True,
            check=True,
        ).stdout
        assert base64.b64encode(theirs).decode() == ours  # PKCS#1 v1.5 is deterministic: a known answer


def test_our_signatures_and_the_oracles_agree(credentials: SandboxCredentials) -> None:
    core = oracle(credentials)
    key = crypto.load_private_key(credentials.merchant_key_pem.encode())
    parts = [credentials.appid, "1554208460", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", "prepay_id=wx201410272009395522"]
    assert core.sign(parts) == crypto.pay_sign(key, *parts)
    message = crypto.request_message("POST", "/v3/refund/domestic/refunds", "1554208460", "N", '{"x":"退款"}')
    assert oracle_utils.rsa_sign(core._private_key, message) == crypto.rsa_sign(key, message)


def test_the_oracle_verifies_and_decrypts_what_the_fake_sends(credentials: SandboxCredentials) -> None:
    from liebian.integrations.wechat.fake import FakeWeChat

    fake = FakeWeChat(credentials)
    resource = {
        "mchid": credentials.mchid,
        "out_trade_no": "T123456",
        "trade_state": "SUCCESS",
        "amount": {"total": 1990},
    }
    headers, body = fake.signed_notification("TRANSACTION.SUCCESS", "transaction", "支付成功", resource)
    parsed = oracle(credentials).callback(headers, body)
    assert parsed is not None and parsed["resource"] == resource


def response_headers(
    creds: SandboxCredentials, body: bytes, *, ts: float = NOW, serial: str | None = None
) -> dict[str, str]:
    return crypto.sign_response(creds.platform_key, serial or creds.public_key_id, body, str(int(ts)), "NONCE")


def test_response_verification(credentials: SandboxCredentials) -> None:
    verifiers = {credentials.public_key_id: credentials.platform_key.public_key()}
    body = b'{"prepay_id":"wx1"}'
    good = response_headers(credentials, body)
    assert crypto.verify_response(good, body, verifiers, NOW) == credentials.public_key_id
    assert crypto.verify_response({k.lower(): v for k, v in good.items()}, body, verifiers, NOW + 299)
    empty = response_headers(credentials, b"")  # a 204: the last line of the message is just "\n"
    assert crypto.verify_response(empty, b"", verifiers, NOW)
    bad_cases = {
        "missing": {k: v for k, v in good.items() if k != "Wechatpay-Signature"},
        "probe": {**good, "Wechatpay-Signature": crypto.PROBE_PREFIX + good["Wechatpay-Signature"]},
        "serial": {**good, "Wechatpay-Serial": "PUB_KEY_ID_0000"},
        "stale": response_headers(credentials, body, ts=NOW - 301),
        "future": response_headers(credentials, body, ts=NOW + 301),
        "millis": {**good, "Wechatpay-Timestamp": str(int(NOW * 1000))},
    }
    for name, headers in bad_cases.items():
        with pytest.raises(SignatureError):
            crypto.verify_response(headers, body, verifiers, NOW)
        assert name
    with pytest.raises(SignatureError):
        crypto.verify_response(good, b'{"prepay_id":"wx2"}', verifiers, NOW)


def test_certificate_and_public_key_both_verify_during_a_migration(credentials: SandboxCredentials) -> None:
    verifiers = {
        credentials.public_key_id: credentials.platform_key.public_key(),
        credentials.certificate_serial: crypto.load_public_key(credentials.certificate_pem.encode()),
    }
    body = b"{}"
    by_cert = crypto.sign_response(
        credentials.certificate_key, credentials.certificate_serial, body, str(int(NOW)), "N"
    )
    assert crypto.verify_response(by_cert, body, verifiers, NOW) == credentials.certificate_serial
    assert crypto.verify_response(response_headers(credentials, body), body, verifiers, NOW)
    # The certificate key cannot pass for the public-key serial.
    forged = {**by_cert, "Wechatpay-Serial": credentials.public_key_id}
    with pytest.raises(SignatureError):
        crypto.verify_response(forged, body, verifiers, NOW)


def test_aes_gcm_resources(credentials: SandboxCredentials) -> None:
    key = credentials.apiv3_key
    sealed = crypto.aes_gcm_encrypt(key, '{"a":"中"}', "0123456789ab", "transaction")
    assert crypto.aes_gcm_decrypt(key, sealed, "0123456789ab", "transaction") == '{"a":"中"}'
    assert oracle_utils.aes_decrypt("0123456789ab", sealed, "transaction", key) == '{"a":"中"}'
    no_aad = crypto.aes_gcm_encrypt(key, "x", "0123456789ab", "")
    assert crypto.aes_gcm_decrypt(key, no_aad, "0123456789ab", "") == "x"
    raw = bytearray(base64.b64decode(sealed))
    raw[-1] ^= 1  # the tag is the last 16 bytes
    for args in (
        (key[::-1], sealed, "0123456789ab", "transaction"),
        (key, sealed, "0123456789ab", "refund"),
        (key, base64.b64encode(bytes(raw)).decode(), "0123456789ab", "transaction"),
        (key, "not base64!", "0123456789ab", "transaction"),
    ):
        with pytest.raises(DecryptionError):
            crypto.aes_gcm_decrypt(*args)


def test_sensitive_fields_are_rsa_oaep_for_the_platform_key(credentials: SandboxCredentials) -> None:
    sealed = crypto.rsa_oaep_encrypt(credentials.platform_key.public_key(), "张三")
    assert crypto.rsa_oaep_decrypt(credentials.platform_key, sealed) == "张三"
    assert oracle_utils.rsa_decrypt(sealed, credentials.platform_key) == "张三"
    with pytest.raises(DecryptionError):
        crypto.rsa_oaep_decrypt(credentials.certificate_key, sealed)


def test_open_data_decrypts_and_checks_the_watermark(credentials: SandboxCredentials) -> None:
    session_key = base64.b64encode(b"0123456789abcdef").decode()
    iv = b"fedcba9876543210"
    data = {"openGId": "GID_1", "watermark": {"appid": credentials.appid, "timestamp": 1}}
    sealed = crypto.open_data_encrypt(session_key, data, iv)
    assert crypto.open_data_decrypt(session_key, sealed, base64.b64encode(iv).decode(), credentials.appid) == data
    with pytest.raises(DecryptionError):
        crypto.open_data_decrypt(session_key, sealed, base64.b64encode(iv).decode(), "wx_other")
    with pytest.raises(DecryptionError):
        crypto.open_data_decrypt(
            base64.b64encode(b"x" * 16).decode(), sealed, base64.b64encode(iv).decode(), credentials.appid
        )


@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST"]),
    path=st.from_regex(r"/v3/[a-z/_-]{1,30}", fullmatch=True),
    body=st.text(max_size=200),
    ts=st.integers(10**9, 2 * 10**9 - 1),
)
def test_any_signed_request_verifies_and_any_change_breaks_it(
    credentials: SandboxCredentials, method: str, path: str, body: str, ts: int
) -> None:
    key = crypto.load_private_key(credentials.merchant_key_pem.encode())
    message = crypto.request_message(method, path, str(ts), "N", body)
    signature = crypto.rsa_sign(key, message)
    assert crypto.rsa_verify(credentials.merchant_public_key, message, signature)
    changed = crypto.request_message(method, path, str(ts), "N", body + " ")
    assert not crypto.rsa_verify(credentials.merchant_public_key, changed, signature)

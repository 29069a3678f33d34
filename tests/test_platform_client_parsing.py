"""The platform client's parsers of outside bytes: answers, errors, headers, key files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.platform.client import (
    Failure,
    PlatformError,
    canonical_json,
    classify_failure,
    parse_acknowledgement,
    parse_health,
    parse_progress,
    parse_retry_after,
)
from kiosk.platform.signing import (
    KeyFileError,
    create_key_file,
    load_or_create_key_file,
    parse_key,
    read_key_file,
    signature,
    signature_matches,
    signed_headers,
    string_to_sign,
)

RECEIPT = "K511602-HALL-03-20261122-000001-X"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def error_body(code: str, field: str | None = None) -> bytes:
    data = {"error": code, "message": "m"} | ({"field": field} if field else {})
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("status", "body", "failure"),
    [
        (500, error_body("internal"), Failure.TRANSIENT),
        (503, b"<html>down</html>", Failure.TRANSIENT),
        (429, error_body("too_many_requests"), Failure.RATE_LIMITED),
        (401, error_body("bad_signature"), Failure.AUTH),
        (401, error_body("replayed_nonce"), Failure.AUTH),
        (401, error_body("stale_timestamp"), Failure.CLOCK),
        (409, error_body("idempotency_conflict"), Failure.RECORD),
        (413, error_body("too_large"), Failure.RECORD),
        (422, error_body("validation", "item_code"), Failure.RECORD),
        (422, error_body("missing_attachment", "ab" * 32), Failure.MISSING_ATTACHMENT),
        (422, error_body("missing_attachment"), Failure.RECORD),
        (400, error_body("digest_mismatch"), Failure.RECORD),
        (403, b"", Failure.TRANSIENT),
    ],
)
def test_contract_errors_are_classified(status: int, body: bytes, failure: Failure):
    error = classify_failure(status, body, "7")
    assert error.failure is failure
    assert str(status) in str(error)


def test_rate_limit_keeps_retry_after_and_names_the_code():
    error = classify_failure(429, error_body("too_many_requests"), "12")
    assert error.retry_after == 12 and error.code == "too_many_requests"


@given(st.integers(300, 599), st.binary(max_size=300), st.none() | st.text(max_size=20))
def test_any_error_answer_is_classified_without_crashing(status, body, retry_after):
    error = classify_failure(status, body, retry_after)
    assert isinstance(error.failure, Failure)
    assert error.retry_after is None or 0 <= error.retry_after <= 3600


@given(st.text(max_size=30))
def test_retry_after_is_bounded(text: str):
    assert 0 <= parse_retry_after(text) <= 3600


@given(st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()))
def test_acknowledgement_parser_accepts_only_a_complete_answer(body: bytes):
    try:
        answer = parse_acknowledgement(body, RECEIPT, replayed=False)
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT
    else:
        assert answer.receipt_no == RECEIPT and answer.application_no


def test_acknowledgement_of_another_receipt_is_not_believed():
    body = json.dumps({"application_no": "A1", "receipt_no": "K1-20261122-000001-Q",
                       "status": "received", "received_at": "2026-11-22T10:00:00+08:00"})
    with pytest.raises(PlatformError, match="another receipt"):
        parse_acknowledgement(body.encode(), RECEIPT, replayed=True)


def test_captive_portal_page_is_transient_not_success():
    with pytest.raises(PlatformError) as caught:
        parse_acknowledgement(b"<html><body>Login to Wi-Fi</body></html>", RECEIPT, False)
    assert caught.value.failure is Failure.TRANSIENT


@given(st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()))
def test_progress_parser_never_crashes(body: bytes):
    try:
        progress = parse_progress(body)
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT
    else:
        assert progress.status in ("received", "accepted", "in_review", "needs_material",
                                   "approved", "rejected", "completed")


@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_health_parser_never_crashes(body: bytes):
    try:
        health = parse_health(body, 1_700_000_000.0)
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT
    else:
        assert health.ok in (True, False)


def test_health_gives_the_clock_skew():
    body = json.dumps({"status": "ok", "time": "2026-11-22T14:05:09+08:00"}).encode()
    from datetime import datetime

    server = datetime.fromisoformat("2026-11-22T14:05:09+08:00").timestamp()
    health = parse_health(body, server + 400)
    assert health.ok and round(health.skew_s) == 400


@given(st.dictionaries(st.text(max_size=5), json_values, max_size=6))
def test_canonical_json_is_the_same_bytes_whatever_the_key_order(data):
    reordered = dict(reversed(list(data.items())))
    assert canonical_json(data) == canonical_json(reordered)


# -- signing ---------------------------------------------------------------------------


@given(st.binary(max_size=80))
def test_key_parser_accepts_only_64_lowercase_hex(data: bytes):
    try:
        key = parse_key(data)
    except KeyFileError:
        return  # the only error it may raise: no traceback reaches the technician
    assert len(key) == 32 and data.rstrip(b"\n").rstrip(b"\r") == key.hex().encode()


def test_key_errors_never_quote_the_key(tmp_path: Path):
    path = tmp_path / "platform.key"
    path.write_text("ABCDEF" * 11)
    with pytest.raises(KeyFileError) as caught:
        read_key_file(path)
    assert "ABCDEF" not in str(caught.value) and str(path) in str(caught.value)


def test_key_file_is_created_private_and_never_overwritten(tmp_path: Path):
    path = tmp_path / "keys" / "platform.key"
    key = create_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_key_file(path) == key == load_or_create_key_file(path)
    with pytest.raises(FileExistsError):
        create_key_file(path)


def test_missing_key_file_says_what_to_do(tmp_path: Path):
    with pytest.raises(KeyFileError, match="no key file"):
        read_key_file(tmp_path / "none.key")


def test_string_to_sign_follows_the_contract():
    text = string_to_sign("post", "/api/v1/applications", "1700000000", "ab" * 16, b"")
    assert text == (b"POST\n/api/v1/applications\n1700000000\n" + b"ab" * 16 + b"\n"
                    b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


@given(st.binary(max_size=100), st.binary(min_size=1, max_size=100))
def test_a_changed_body_breaks_the_signature(body: bytes, extra: bytes):
    key = bytes(range(32))
    headers = signed_headers("K1", key, "POST", "/api/v1/applications", body, now=1.0)
    args = ("POST", "/api/v1/applications", headers["X-Timestamp"], headers["X-Nonce"])
    assert signature_matches(key, *args, body, headers["X-Signature"])
    assert not signature_matches(key, *args, body + extra, headers["X-Signature"])
    assert not signature_matches(key, *args, body, headers["X-Signature"].upper() + "é")
    assert headers["X-Signature"] == signature(key, *args, body)

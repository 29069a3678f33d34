"""What is printed on an ID card, decoded from the chip's 256-byte text block.

The number is personal data: :class:`Identity` masks it in ``repr`` and ``str`` and leaves
the address and photo out, so that an identity that slips into a log line or a traceback
does not leak. Code that needs the full number reads the attribute on purpose.

Characters outside the Basic Multilingual Plane: the text block is documented as UCS-2
little-endian and decoded as UTF-16-LE. UCS-2 alone has no code for a character such as
𠮷 (U+20BB7); this module stores it as the UTF-16 surrogate pair ``42 D8 B7 DF``
(D842 DFB7), which uses two of the name field's fifteen 2-byte slots, and decoding as
UTF-16-LE turns the pair back into one character. How a real card holds such names is not
confirmed in our reference: a lone surrogate is rejected as malformed rather than guessed.
Characters of CJK Extension A such as 䶮 (U+4DAE) are inside the BMP and need no pair.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, fields

__all__ = [
    "CARD_TYPES",
    "GENDERS",
    "LONG_TERM",
    "NATIONS",
    "SHOWN_BESIDE_MASKED",
    "TEXT_BLOCK_SIZE",
    "IdNumberError",
    "Identity",
    "TextBlockError",
    "build_text_block",
    "id_check_char",
    "is_valid_id_number",
    "mask_number",
    "parse_text_block",
    "validate_id_number",
]

TEXT_BLOCK_SIZE = 256
#: What the valid-to field holds on a card that never expires.
LONG_TERM = "长期"

#: Card type character at text offset 248 → a short name ("" is the resident ID card).
CARD_TYPES: dict[str, str] = {
    "": "resident",
    "J": "hk_macau_taiwan_residence_permit",
    "I": "foreign_permanent_resident_2017",
    "Y": "foreign_permanent_resident_2023",
}

#: GB/T 2261.1 gender codes. Every code is looked up: "not 1 means female" is wrong.
GENDERS: dict[str, str] = {"0": "未知的性别", "1": "男", "2": "女", "9": "未说明的性别"}

_NATION_NAMES = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮",
    "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼",
    "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜",
    "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬",
    "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
    "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固",
    "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)
#: GB 3304 nation codes as stored on the card; display usually appends 族.
NATIONS: dict[str, str] = {
    f"{code:02d}": name for code, name in enumerate(_NATION_NAMES, start=1)
} | {"97": "其他", "98": "外国血统中国籍人士"}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


class IdNumberError(ValueError):
    """An 18-character citizen identity number that fails its format, date or checksum."""


class TextBlockError(ValueError):
    """A text block that cannot be decoded into an :class:`Identity`; says which field."""


#: What may be shown beside a masked number: never the birth date, gender, issuer (it names
#: the area code) or validity period (its length follows the holder's age), which would
#: narrow the hidden digits down to a few thousand candidates.
SHOWN_BESIDE_MASKED = ("card_type", "name", "nation")


def mask_number(number: str) -> str:
    """Keep the first 3 and last 4 characters, e.g. ``511***********1234``: the only way an
    ID number is shown, on screen, on paper, in output and in logs.

    The first 6 and last 4 hid exactly the 8 digits of the birth date, which the same
    screen showed; with 3 and 4 the hidden part also holds the rest of the area code, so
    even a known city and the checksum leave tens of thousands of candidates.
    """
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def id_check_char(first17: str) -> str:
    """GB 11643 / ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise IdNumberError("need exactly 17 digits before the check character")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def validate_id_number(number: str) -> str:
    """Return ``number`` with an upper-case ``X``, or raise :class:`IdNumberError`.

    Every number must also carry a real birth date (characters 7-14), residence permits
    (81, 82, 83) included: only their address part is not a mainland area code, and no area
    code is looked up here.
    """
    text = number.strip().upper()
    if len(text) != 18:
        raise IdNumberError(f"an ID number has 18 characters, not {len(text)}")
    check = id_check_char(text[:17])
    if text[17] != check:
        raise IdNumberError("check character does not match (mistyped or forged number)")
    try:
        _dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise IdNumberError("birth date inside the number is not a real date") from None
    return text


def is_valid_id_number(number: str) -> bool:
    """``True`` when :func:`validate_id_number` accepts ``number``."""
    try:
        validate_id_number(number)
    except IdNumberError:
        return False
    return True


@dataclass(frozen=True)
class Identity:
    """The card holder as the chip says. Fields a card type lacks are empty strings.

    ``gender`` and ``nation`` hold names (男, 汉), not codes. For type ``I`` cards
    ``id_number`` is the 15-character permanent-residence number. ``valid_to`` may be
    :data:`LONG_TERM`.
    """

    name: str
    gender: str
    nation: str
    birth_date: str
    address: str
    id_number: str
    issuer: str
    valid_from: str
    valid_to: str
    card_type: str = ""
    photo: bytes = field(default=b"", compare=False)
    english_name: str = ""
    nationality: str = ""
    pass_number: str = ""
    issue_count: str = ""
    renewal_count: str = ""
    card_version: str = ""
    authority_code: str = ""
    previous_number: str = ""
    new_address: str = ""  # the "additional address" a police station wrote to the chip
    new_address_unavailable: bool = False  # asked for, but the reader failed to give it
    fingerprint: bytes = field(default=b"", compare=False)  # 2 opaque templates, or empty

    def __repr__(self) -> str:
        """The card type and the masked numbers only: a repr ends up in logs and tracebacks,
        where a name, birth date or issuer beside a masked number is personal data."""
        shown = [f"card_type={self.card_type!r}"]
        for name in ("id_number", "pass_number", "previous_number"):
            value = getattr(self, name, "")
            if value:
                shown.append(f"{name}={mask_number(value)!r}")
        return f"Identity({', '.join(shown)})"

    def __str__(self) -> str:
        return mask_number(self.id_number)


# (field, offset, size) per card type; sizes in bytes of UCS-2 text.
_LAYOUTS: dict[str, tuple[tuple[str, int, int], ...]] = {
    "": (
        ("name", 0, 30), ("gender", 30, 2), ("nation", 32, 4), ("birth_date", 36, 16),
        ("address", 52, 70), ("id_number", 122, 36), ("issuer", 158, 30),
        ("valid_from", 188, 16), ("valid_to", 204, 16),
    ),
    "J": (
        ("name", 0, 30), ("gender", 30, 2), ("birth_date", 36, 16), ("address", 52, 70),
        ("id_number", 122, 36), ("issuer", 158, 30), ("valid_from", 188, 16),
        ("valid_to", 204, 16), ("pass_number", 220, 18), ("issue_count", 238, 4),
    ),
    "I": (
        ("english_name", 0, 120), ("gender", 120, 2), ("id_number", 122, 30),
        ("nationality", 152, 6), ("name", 158, 30), ("valid_from", 188, 16),
        ("valid_to", 204, 16), ("birth_date", 220, 16), ("card_version", 236, 4),
        ("authority_code", 240, 8),
    ),
    "Y": (
        ("name", 0, 30), ("gender", 30, 2), ("renewal_count", 32, 4), ("birth_date", 36, 16),
        ("english_name", 52, 70), ("id_number", 122, 36), ("valid_from", 188, 16),
        ("valid_to", 204, 16), ("english_name_2", 220, 22), ("nationality", 242, 6),
        ("previous_number", 250, 6),
    ),
}
_TYPE_OFFSET = 248


def _decode(block: bytes, name: str, offset: int, size: int, strip: bool = True) -> str:
    try:
        text = block[offset : offset + size].decode("utf-16-le")
    except UnicodeDecodeError:
        raise TextBlockError(f"{name}: not valid UCS-2 / UTF-16-LE text") from None
    return text.rstrip(" \x00") if strip else text


def _check_date(name: str, value: str, allow_long_term: bool = False) -> None:
    if allow_long_term and value == LONG_TERM:
        return
    try:
        if len(value) != 8 or not value.isascii() or not value.isdigit():
            raise ValueError
        _dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise TextBlockError(f"{name}: not a YYYYMMDD date") from None


def parse_text_block(block: bytes, photo: bytes = b"") -> Identity:
    """Decode the 256-byte text block of any of the four card types into an :class:`Identity`.

    Raise :class:`TextBlockError` naming the field when the block is malformed: wrong size,
    undecodable text, unknown card type, gender or nation code, a bad date, or (resident
    cards, type ``J`` and ``Y``) an ID number that fails its checksum.
    """
    if len(block) != TEXT_BLOCK_SIZE:
        raise TextBlockError(f"text block has {len(block)} bytes, expected {TEXT_BLOCK_SIZE}")
    card_type = _decode(block, "card type", _TYPE_OFFSET, 2)
    if card_type not in _LAYOUTS:
        raise TextBlockError(f"card type: unknown type character {card_type!r}")
    values = {name: _decode(block, name, off, size) for name, off, size in _LAYOUTS[card_type]}
    if card_type == "Y":
        # characters 1-35 and 36-46 of one name: a space at the end of the first part belongs
        # to the name, so only the joined whole is stripped
        first = _decode(block, "english_name", 52, 70, strip=False)
        values["english_name"] = (first + values.pop("english_name_2")).rstrip(" \x00")
    gender = values.get("gender", "")
    if gender not in GENDERS:
        raise TextBlockError(f"gender: unknown code {gender!r}")
    values["gender"] = GENDERS[gender]
    if card_type == "":
        nation = values.get("nation", "")
        if nation not in NATIONS:
            raise TextBlockError(f"nation: unknown code {nation!r}")
        values["nation"] = NATIONS[nation]
    _check_date("birth_date", values["birth_date"])
    _check_date("valid_from", values["valid_from"])
    _check_date("valid_to", values["valid_to"], allow_long_term=True)
    if card_type != "I":
        number = values["id_number"]
        try:
            values["id_number"] = validate_id_number(number)
        except IdNumberError as error:
            raise TextBlockError(f"id_number: {error}") from None
    if not values.get("name") and not values.get("english_name"):
        raise TextBlockError("name: empty")
    base = {"nation": "", "address": "", "issuer": ""}
    return Identity(**(base | values), card_type=card_type, photo=bytes(photo))


def _encode(name: str, value: str, size: int) -> bytes:
    data = value.encode("utf-16-le")
    if len(data) > size:
        raise ValueError(f"{name}: {value!r} needs {len(data)} bytes, field holds {size}")
    return data + " ".encode("utf-16-le") * ((size - len(data)) // 2)


def build_text_block(identity: Identity) -> bytes:
    """The inverse of :func:`parse_text_block`, for the emulator and tests.

    Names are mapped back to codes; padding is UCS-2 spaces. Raise ``ValueError`` if a value
    does not fit its field.
    """
    card_type = identity.card_type
    if card_type not in _LAYOUTS:
        raise ValueError(f"unknown card type {card_type!r}")
    codes = {v: k for k, v in GENDERS.items()}
    values = {f.name: getattr(identity, f.name) for f in fields(identity) if f.name != "photo"}
    values["gender"] = codes[identity.gender]
    if card_type == "":
        values["nation"] = {v: k for k, v in NATIONS.items()}[identity.nation]
    if card_type == "Y":
        head, tail = identity.english_name[:35], identity.english_name[35:]
        values["english_name"], values["english_name_2"] = head, tail
    block = bytearray(_encode("padding", "", TEXT_BLOCK_SIZE))
    for name, offset, size in _LAYOUTS[card_type]:
        block[offset : offset + size] = _encode(name, values[name], size)
    if card_type:
        block[_TYPE_OFFSET : _TYPE_OFFSET + 2] = card_type.encode("utf-16-le")
    return bytes(block)

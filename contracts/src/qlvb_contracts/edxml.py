"""edXML (QCVN 102:2016/BTTTT): the package agencies exchange documents in, and its status packages.

Structure (DOMAIN.md §4)::

    edXML
      edXMLEnvelope
        edXMLHeader: MessageHeader, TraceHeaderList, Signature
        edXMLBody: edXMLManifest > Reference*      (ContentId, ContentType, AttachmentName, ...)
      AttachmentEncoded > Attachment*              (outside the envelope; base64 content)

Models use the standard's tag names as field names. :func:`parse_edxml` / :func:`build_edxml` and
:func:`parse_status` / :func:`build_status` convert losslessly for every modelled field.
Parsing goes through defusedxml with DTDs forbidden (no entity expansion, no external entities)
and a size cap; every problem is an :class:`EdXMLError` (a ContractError: dead-letter the
message and answer status 02). Elements the model does not know are ignored, as the envelope's
readers ignore unknown fields.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

import defusedxml  # type: ignore[import-untyped]
import defusedxml.ElementTree as DefusedET  # type: ignore[import-untyped]
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from qlvb_contracts import reference as ref
from qlvb_contracts.errors import ContractError

EDXML_NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"
XMLDSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
_PREFIXES = {"edXML": EDXML_NAMESPACE, "xlink": XLINK_NAMESPACE, "ds": XMLDSIG_NAMESPACE}
EDXML_CONTENT_TYPE = "application/edxml+xml"
"""Content-type header of a raw edXML message on exchange.inbound."""
DEFAULT_MAX_EDXML_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_STATUS_BYTES = 256 * 1024
MAX_DEPTH = 64


class EdXMLError(ContractError):
    """An edXML package that cannot be accepted; ``reason`` is short and fit for a status 02."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- field types ----------------------------------------------------------------------------------


def _edxml_date_in(value: Any) -> Any:
    # Headers carry yyyy/MM/dd; JSON carries ISO dates. Accept both, emit ISO in JSON.
    if isinstance(value, str) and "/" in value:
        return ref.parse_edxml_date(value)
    return value


def _edxml_timestamp_in(value: Any) -> Any:
    if isinstance(value, str) and "/" in value:
        return ref.parse_edxml_timestamp(value)
    return value


def _utc_seconds(value: datetime) -> datetime:
    # edXML timestamps are to the second; dropping the rest keeps round trips lossless.
    return value.astimezone(UTC).replace(microsecond=0)


def _b64_in(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode("".join(value.split()), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"invalid base64: {exc}") from None
    return value


def _b64_out(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


EdXmlDate = Annotated[date, BeforeValidator(_edxml_date_in)]
EdXmlTimestamp = Annotated[
    AwareDatetime, BeforeValidator(_edxml_timestamp_in), AfterValidator(_utc_seconds)
]
Base64Content = Annotated[
    bytes,
    BeforeValidator(_b64_in),
    PlainSerializer(_b64_out, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]
"""Raw bytes in Python, standard base64 text in JSON."""


# --- models --------------------------------------------------------------------------------------


class _EdXmlModel(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Organization(_EdXmlModel):
    """Cơ quan, tổ chức — the ``From`` and ``To`` of a package."""

    OrganId: ref.OrganIdentifier
    OrganizationInCharge: str | None = None
    """Cơ quan chủ quản."""
    OrganName: str = Field(min_length=1)
    OrganAdd: str | None = None
    Email: str | None = None
    Telephone: str | None = None
    Fax: str | None = None
    Website: str | None = None


class DocumentCode(_EdXmlModel):
    """Số, ký hiệu as the issuer wrote it; CodeNumber stays text ("05" keeps its zero)."""

    CodeNumber: str = Field(min_length=1)
    CodeNotation: str = Field(min_length=1)


class Promulgation(_EdXmlModel):
    """Địa danh và ngày ban hành."""

    Place: str | None = None
    PromulgationDate: EdXmlDate


class DocumentKind(_EdXmlModel):
    """Loại văn bản: the sender's type code (QCVN 102 catalogue) and its name ("Công văn")."""

    Type: str | None = None
    TypeName: str = Field(min_length=1)


class Signer(_EdXmlModel):
    """Người ký: Competence is the signing capacity (TM., KT., TL., TUQ.)."""

    Competence: str | None = None
    Position: str | None = None
    FullName: str = Field(min_length=1)


class OtherDetails(_EdXmlModel):
    """``OtherInfo``: urgency, distribution scope, typist, copies, pages, appendices."""

    Priority: ref.Urgency = ref.Urgency.NORMAL
    SphereOfPromulgation: str | None = None
    TyperNotation: str | None = None
    PromulgationAmount: int | None = Field(default=None, ge=0)
    PageAmount: int | None = Field(default=None, ge=0)
    Appendixes: list[str] = Field(default_factory=list)


class ResponseTarget(_EdXmlModel):
    """``ResponseFor``: the document this one answers (closes a reply follow-up)."""

    OrganId: ref.OrganIdentifier
    Code: str = Field(min_length=1)
    """Số, ký hiệu of the answered document, e.g. "12/UBND-VX"."""
    PromulgationDate: EdXmlDate | None = None
    DocumentId: ref.DocumentIdentifier | None = None


class MessageHeader(_EdXmlModel):
    """The document's metadata (edXMLHeader/MessageHeader)."""

    From: Organization
    To: list[Organization] = Field(min_length=1)
    DocumentId: ref.DocumentIdentifier
    """"OrganId,yyyy/MM/dd,Code"; receivers deduplicate on it."""
    Code: DocumentCode
    PromulgationInfo: Promulgation
    DocumentType: DocumentKind
    Subject: str = Field(min_length=1)
    """Trích yếu."""
    Content: str | None = None
    SignerInfo: Signer | None = None
    DueDate: EdXmlDate | None = None
    """Hạn xử lý requested by the sender."""
    ToPlaces: list[str] = Field(default_factory=list)
    """Nơi nhận as printed on the document."""
    OtherInfo: OtherDetails = Field(default_factory=OtherDetails)
    ResponseFor: list[ResponseTarget] = Field(default_factory=list)
    SteeringType: int | None = None
    """Loại chỉ đạo, as sent (QCVN 102 code)."""


class Trace(_EdXmlModel):
    """One ``TraceHeader``: an agency the package passed through, and when."""

    OrganId: ref.OrganIdentifier
    Timestamp: EdXmlTimestamp


class StaffContact(_EdXmlModel):
    """``StaffInfo``: the person to contact about the package."""

    Department: str | None = None
    Staff: str | None = None
    Mobile: str | None = None
    Email: str | None = None


class Business(_EdXmlModel):
    """``Bussiness`` (sic): what the package does — a new document, a recall, an update..."""

    BussinessDocType: ref.BusinessDocType = ref.BusinessDocType.NEW
    BussinessDocReason: str | None = None
    Paper: bool | None = None
    """Whether a paper original is also sent."""
    StaffInfo: StaffContact | None = None


class TraceHeaderList(_EdXmlModel):
    TraceHeader: list[Trace] = Field(default_factory=list)
    Bussiness: Business | None = None


class Attachment(_EdXmlModel):
    """A decoded attachment: its bytes and the content type its sender declared."""

    ContentId: str = Field(min_length=1)
    """Without the "cid:" prefix."""
    ContentType: str = "application/octet-stream"
    AttachmentName: str | None = None
    Description: str | None = None
    Content: Base64Content = Field(repr=False)


class EdXmlDocument(_EdXmlModel):
    """A whole edXML package."""

    header: MessageHeader
    trace: TraceHeaderList = Field(default_factory=TraceHeaderList)
    signature: str | None = None
    """The Signature element as XML text, kept for the record. A signature can only be verified
    against the bytes as received, so verify before parsing, not from this field."""
    attachments: list[Attachment] = Field(default_factory=list)

    @property
    def business_doc_type(self) -> ref.BusinessDocType:
        """A package without ``Bussiness`` is a new document."""
        if self.trace.Bussiness is None:
            return ref.BusinessDocType.NEW
        return self.trace.Bussiness.BussinessDocType


class MessageStatus(_EdXmlModel):
    """A status package sent back to the sender (01 received, 02 rejected, 03 registered...)."""

    ResponseFor: ResponseTarget
    From: Organization
    StatusCode: ref.StatusCode
    Description: str | None = None
    """The reason; required with 02 (rejected)."""
    Timestamp: EdXmlTimestamp
    StaffInfo: StaffContact | None = None

    @model_validator(mode="after")
    def _rejection_has_reason(self) -> MessageStatus:
        if self.StatusCode is ref.StatusCode.REJECTED and not self.Description:
            raise ValueError("status 02 (rejected) requires a Description giving the reason")
        return self


# --- parsing -------------------------------------------------------------------------------------

_ORGAN_FIELDS = (
    "OrganId",
    "OrganizationInCharge",
    "OrganName",
    "OrganAdd",
    "Email",
    "Telephone",
    "Fax",
    "Website",
)
_RESPONSE_FIELDS = ("OrganId", "Code", "PromulgationDate", "DocumentId")
_STAFF_FIELDS = ("Department", "Staff", "Mobile", "Email")
_OTHER_FIELDS = (
    "Priority",
    "SphereOfPromulgation",
    "TyperNotation",
    "PromulgationAmount",
    "PageAmount",
)
_ATTACHMENT_FIELDS = ("ContentId", "ContentType", "AttachmentName", "Description")
_SIGNATURE_TAGS = ("Signature", "DigitalSignature")


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return None, tag


def _children(parent: ET.Element | None, name: str) -> Iterator[ET.Element]:
    # Senders mix prefixed and unprefixed children (AttachmentEncoded is often unqualified),
    # so accept the edXML namespace or none; the root's namespace is checked strictly.
    if parent is None:
        return
    for child in parent:
        if isinstance(child.tag, str) and _split(child.tag) in (
            (EDXML_NAMESPACE, name),
            (None, name),
        ):
            yield child


def _child(parent: ET.Element | None, name: str) -> ET.Element | None:
    return next(_children(parent, name), None)


def _text(parent: ET.Element | None, name: str) -> str | None:
    element = _child(parent, name)
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _fields(element: ET.Element, names: Iterable[str]) -> dict[str, Any]:
    return {name: text for name in names if (text := _text(element, name)) is not None}


def _check_depth(root: ET.Element) -> None:
    # Real packages nest about 6 deep. Refuse absurd nesting here, as a contract error, instead of
    # hitting RecursionError later (serializing the signature), which a consumer would retry.
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise EdXMLError(f"elements nested deeper than {MAX_DEPTH} levels (lồng quá sâu)")
        stack.extend((child, depth + 1) for child in element)


def _load(data: bytes | str, max_bytes: int) -> ET.Element:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise EdXMLError(
            f"document too large: {len(raw)} bytes, limit {max_bytes} (vượt dung lượng cho phép)"
        )
    try:
        root: ET.Element = DefusedET.fromstring(
            raw, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException:
        raise EdXMLError(
            "refused: DTDs, entity declarations and external references are not allowed "
            "(không chấp nhận DTD/entity)"
        ) from None
    except ET.ParseError as exc:
        raise EdXMLError(f"malformed XML: {exc} (XML không hợp lệ)") from None
    _check_depth(root)
    namespace, local = _split(root.tag)
    if namespace != EDXML_NAMESPACE:
        raise EdXMLError(
            f"wrong namespace {namespace or '(none)'} on <{local}>: expected {EDXML_NAMESPACE} "
            "(sai không gian tên)"
        )
    return root


def _path(loc: tuple[int | str, ...], names: Mapping[str, str], prefix: str) -> str:
    out: list[str] = [prefix] if prefix else []
    for part in loc:
        if isinstance(part, int) and out:
            out[-1] += f"[{part + 1}]"  # 1-based, as XPath
        else:
            out.append(names.get(str(part), str(part)))
    return "/".join(out)


def _validation_reason(
    exc: ValidationError,
    *,
    names: Mapping[str, str] | None = None,
    prefix: str = "",
    limit: int = 3,
) -> str:
    problems = []
    for item in exc.errors()[:limit]:
        where = _path(item["loc"], names or {}, prefix) or "(document)"
        if item["type"] == "missing" or (item["type"] == "too_short" and item["input"] == []):
            problems.append(f"missing required field {where} (thiếu trường bắt buộc)")
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"invalid value at {where}: {message} (giá trị không hợp lệ)")
    if exc.error_count() > limit:
        problems.append(f"and {exc.error_count() - limit} more")
    return "; ".join(problems)


def _organ(element: ET.Element | None) -> dict[str, Any] | None:
    return None if element is None else _fields(element, _ORGAN_FIELDS)


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _derived_document_id(header: Mapping[str, Any]) -> str | None:
    # Packages from before the 2022 amendment may omit DocumentId; it is defined by these fields.
    try:
        return ref.build_document_id(
            header["From"]["OrganId"],
            ref.parse_edxml_date(header["PromulgationInfo"]["PromulgationDate"]),
            f"{header['Code']['CodeNumber']}/{header['Code']['CodeNotation']}",
        )
    except (KeyError, TypeError, ContractError):
        return None


def _message_header(element: ET.Element) -> dict[str, Any]:
    code = _child(element, "Code")
    promulgation = _child(element, "PromulgationInfo")
    kind = _child(element, "DocumentType")
    signer = _child(element, "SignerInfo")
    places = _child(element, "ToPlaces")
    other = _child(element, "OtherInfo")
    header = _drop_none(
        {
            "From": _organ(_child(element, "From")),
            "To": [_organ(e) for e in _children(element, "To")],
            "DocumentId": _text(element, "DocumentId"),
            "Code": None if code is None else _fields(code, ("CodeNumber", "CodeNotation")),
            "PromulgationInfo": None
            if promulgation is None
            else _fields(promulgation, ("Place", "PromulgationDate")),
            "DocumentType": None if kind is None else _fields(kind, ("Type", "TypeName")),
            "Subject": _text(element, "Subject"),
            "Content": _text(element, "Content"),
            "SignerInfo": None
            if signer is None
            else _fields(signer, ("Competence", "Position", "FullName")),
            "DueDate": _text(element, "DueDate"),
            "ToPlaces": None
            if places is None
            else [e.text.strip() for e in _children(places, "Place") if e.text and e.text.strip()],
            "OtherInfo": None if other is None else _other_info(other),
            "ResponseFor": [
                _fields(e, _RESPONSE_FIELDS) for e in _children(element, "ResponseFor")
            ],
            "SteeringType": _text(element, "SteeringType"),
        }
    )
    if "DocumentId" not in header and (derived := _derived_document_id(header)) is not None:
        header["DocumentId"] = derived
    return header


def _other_info(element: ET.Element) -> dict[str, Any]:
    values = _fields(element, _OTHER_FIELDS)
    appendixes = _child(element, "Appendixes")
    if appendixes is not None:
        values["Appendixes"] = [
            e.text.strip() for e in _children(appendixes, "Appendix") if e.text and e.text.strip()
        ]
    return values


def _trace_header_list(element: ET.Element | None) -> dict[str, Any]:
    if element is None:
        return {}
    values: dict[str, Any] = {
        "TraceHeader": [
            _fields(e, ("OrganId", "Timestamp")) for e in _children(element, "TraceHeader")
        ]
    }
    business = _child(element, "Bussiness")
    if business is not None:
        values["Bussiness"] = _fields(business, ("BussinessDocType", "BussinessDocReason", "Paper"))
        staff = _child(business, "StaffInfo")
        if staff is not None:
            values["Bussiness"]["StaffInfo"] = _fields(staff, _STAFF_FIELDS)
    return values


def _register_prefixes() -> None:
    # Prefixes as in the reference SDK ("edXML:"). ElementTree keeps prefixes in a module-wide
    # map; registering there (at call time, not import) only changes how these namespaces print,
    # and makes the stored signature text the same however the sender spelt its prefixes.
    for prefix, namespace in _PREFIXES.items():
        ET.register_namespace(prefix, namespace)


def _signature(header: ET.Element) -> str | None:
    for child in header:
        if isinstance(child.tag, str) and _split(child.tag)[1] in _SIGNATURE_TAGS:
            if len(child) == 0 and not (child.text and child.text.strip()):
                return None  # an empty placeholder, as some senders write
            _register_prefixes()
            return ET.tostring(child, encoding="unicode").strip()  # strip: drops the tail
    return None


def _content_id(value: str) -> str:
    return value.strip().removeprefix("cid:")


def _attachments(root: ET.Element, envelope: ET.Element) -> list[dict[str, Any]]:
    manifest = _child(_child(envelope, "edXMLBody"), "edXMLManifest")
    declared: dict[str, dict[str, Any]] = {}
    for index, reference in enumerate(_children(manifest, "Reference"), start=1):
        values = _fields(reference, _ATTACHMENT_FIELDS)
        cid = values.get("ContentId") or reference.get(f"{{{XLINK_NAMESPACE}}}href")
        if not cid:
            raise EdXMLError(
                "missing required field "
                f"edXMLBody/edXMLManifest/Reference[{index}]/ContentId (thiếu trường bắt buộc)"
            )
        values["ContentId"] = _content_id(cid)
        declared[values["ContentId"]] = values

    encoded: dict[str, dict[str, Any]] = {}
    attachments = [
        a for e in _children(root, "AttachmentEncoded") for a in _children(e, "Attachment")
    ]
    for index, attachment in enumerate(attachments, start=1):
        where = f"AttachmentEncoded/Attachment[{index}]"
        values = _fields(attachment, _ATTACHMENT_FIELDS)
        if "ContentId" not in values:
            raise EdXMLError(f"missing required field {where}/ContentId (thiếu trường bắt buộc)")
        cid = values["ContentId"] = _content_id(values["ContentId"])
        if cid in encoded:
            raise EdXMLError(f"duplicate attachment ContentId {cid!r} (tệp đính kèm trùng)")
        text = _text(attachment, "ContentTransferEncoded")
        if text is None:
            raise EdXMLError(
                f"missing required field {where}/ContentTransferEncoded (thiếu nội dung tệp)"
            )
        try:
            values["Content"] = base64.b64decode("".join(text.split()), validate=True)
        except binascii.Error:
            raise EdXMLError(
                f"invalid base64 content in {where} ({cid}) (nội dung tệp không hợp lệ)"
            ) from None
        # The manifest sits inside the (signed) envelope, so its metadata wins over the copy here.
        encoded[cid] = values | declared.get(cid, {})

    missing = [cid for cid in declared if cid not in encoded]
    if missing:
        raise EdXMLError(
            f"attachment {missing[0]} is listed in the manifest but not encoded "
            "(thiếu tệp đính kèm)"
        )
    # Manifest order first: it is the order the sender declared.
    order = list(declared) + [cid for cid in encoded if cid not in declared]
    return [encoded[cid] for cid in order]


_DOCUMENT_PATHS = {
    "header": "MessageHeader",
    "trace": "TraceHeaderList",
    "attachments": "AttachmentEncoded/Attachment",
}


def parse_edxml(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_EDXML_BYTES) -> EdXmlDocument:
    """Parse an edXML package; raises EdXMLError with a short reason on any problem."""
    root = _load(data, max_bytes)
    local = _split(root.tag)[1]
    if local == "edXML":
        envelope = _child(root, "edXMLEnvelope")
    elif local == "edXMLEnvelope":  # bare envelope, as in the 2016 text; no attachments inline
        envelope = root
    else:
        raise EdXMLError(f"unexpected root element <{local}>: expected <edXML>")
    if envelope is None:
        raise EdXMLError("missing required field edXMLEnvelope (thiếu trường bắt buộc)")
    header = _child(envelope, "edXMLHeader")
    if header is None:
        raise EdXMLError("missing required field edXMLEnvelope/edXMLHeader (thiếu trường bắt buộc)")
    message_header = _child(header, "MessageHeader")
    if message_header is None:
        raise EdXMLError("missing required field MessageHeader (thiếu trường bắt buộc)")
    raw = {
        "header": _message_header(message_header),
        "trace": _trace_header_list(_child(header, "TraceHeaderList")),
        "signature": _signature(header),
        "attachments": _attachments(root, envelope),
    }
    try:
        return EdXmlDocument.model_validate(raw)
    except ValidationError as exc:
        raise EdXMLError(_validation_reason(exc, names=_DOCUMENT_PATHS)) from None


def parse_status(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_STATUS_BYTES) -> MessageStatus:
    """Parse a status package: ``Status > Header > MessageStatus`` (or a bare MessageStatus)."""
    root = _load(data, max_bytes)
    local = _split(root.tag)[1]
    if local == "Status":
        status = _child(_child(root, "Header"), "MessageStatus")
    elif local == "MessageStatus":
        status = root
    else:
        raise EdXMLError(f"unexpected root element <{local}>: expected <Status>")
    if status is None:
        raise EdXMLError(
            "missing required field Status/Header/MessageStatus (thiếu trường bắt buộc)"
        )
    response_for = _child(status, "ResponseFor")
    staff = _child(status, "StaffInfo")
    raw = _drop_none(
        {
            "ResponseFor": None
            if response_for is None
            else _fields(response_for, _RESPONSE_FIELDS),
            "From": _organ(_child(status, "From")),
            "StatusCode": _text(status, "StatusCode"),
            "Description": _text(status, "Description"),
            "Timestamp": _text(status, "Timestamp"),
            "StaffInfo": None if staff is None else _fields(staff, _STAFF_FIELDS),
        }
    )
    try:
        return MessageStatus.model_validate(raw)
    except ValidationError as exc:
        raise EdXMLError(_validation_reason(exc, prefix="MessageStatus")) from None


# --- building ------------------------------------------------------------------------------------


def _q(name: str) -> str:
    return f"{{{EDXML_NAMESPACE}}}{name}"


def _leaf(parent: ET.Element, name: str, value: object) -> None:
    """Append <name>value</name>, skipping absent values (the parser reads absent as None)."""
    if value is None:
        return
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, datetime):
        text = ref.format_edxml_timestamp(value)
    elif isinstance(value, date):
        text = ref.format_edxml_date(value)
    elif isinstance(value, int):  # IntEnum included: Priority, BussinessDocType
        text = str(int(value))
    else:
        text = str(value)
    ET.SubElement(parent, _q(name)).text = text


def _group(parent: ET.Element, name: str, model: BaseModel, names: Iterable[str]) -> ET.Element:
    element = ET.SubElement(parent, _q(name))
    for field in names:
        _leaf(element, field, getattr(model, field))
    return element


def _serialize(root: ET.Element) -> bytes:
    _register_prefixes()
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def build_edxml(document: EdXmlDocument) -> bytes:
    """Serialize a package as UTF-8 edXML."""
    h = document.header
    root = ET.Element(_q("edXML"))
    envelope = ET.SubElement(root, _q("edXMLEnvelope"))
    header = ET.SubElement(envelope, _q("edXMLHeader"))

    mh = ET.SubElement(header, _q("MessageHeader"))
    _group(mh, "From", h.From, _ORGAN_FIELDS)
    for to in h.To:
        _group(mh, "To", to, _ORGAN_FIELDS)
    _leaf(mh, "DocumentId", h.DocumentId)
    _group(mh, "Code", h.Code, ("CodeNumber", "CodeNotation"))
    _group(mh, "PromulgationInfo", h.PromulgationInfo, ("Place", "PromulgationDate"))
    _group(mh, "DocumentType", h.DocumentType, ("Type", "TypeName"))
    _leaf(mh, "Subject", h.Subject)
    _leaf(mh, "Content", h.Content)
    if h.SignerInfo is not None:
        _group(mh, "SignerInfo", h.SignerInfo, ("Competence", "Position", "FullName"))
    _leaf(mh, "DueDate", h.DueDate)
    places = ET.SubElement(mh, _q("ToPlaces"))
    for place in h.ToPlaces:
        _leaf(places, "Place", place)
    other = _group(mh, "OtherInfo", h.OtherInfo, _OTHER_FIELDS)
    appendixes = ET.SubElement(other, _q("Appendixes"))
    for appendix in h.OtherInfo.Appendixes:
        _leaf(appendixes, "Appendix", appendix)
    for target in h.ResponseFor:
        _group(mh, "ResponseFor", target, _RESPONSE_FIELDS)
    _leaf(mh, "SteeringType", h.SteeringType)

    trace = ET.SubElement(header, _q("TraceHeaderList"))
    for entry in document.trace.TraceHeader:
        _group(trace, "TraceHeader", entry, ("OrganId", "Timestamp"))
    business = document.trace.Bussiness
    if business is not None:
        element = _group(
            trace, "Bussiness", business, ("BussinessDocType", "BussinessDocReason", "Paper")
        )
        if business.StaffInfo is not None:
            _group(element, "StaffInfo", business.StaffInfo, _STAFF_FIELDS)

    if document.signature is not None:
        header.append(DefusedET.fromstring(document.signature, forbid_dtd=True))

    manifest = ET.SubElement(ET.SubElement(envelope, _q("edXMLBody")), _q("edXMLManifest"))
    for attachment in document.attachments:
        reference = _group(manifest, "Reference", attachment, _ATTACHMENT_FIELDS)
        reference.set(f"{{{XLINK_NAMESPACE}}}href", f"cid:{attachment.ContentId}")
    if document.attachments:
        encoded = ET.SubElement(root, _q("AttachmentEncoded"))
        for attachment in document.attachments:
            element = _group(encoded, "Attachment", attachment, _ATTACHMENT_FIELDS)
            _leaf(element, "ContentTransferEncoded", _b64_out(attachment.Content))
    return _serialize(root)


def build_status(status: MessageStatus) -> bytes:
    """Serialize a status package as UTF-8 edXML (``Status > Header > MessageStatus``)."""
    root = ET.Element(_q("Status"))
    element = ET.SubElement(ET.SubElement(root, _q("Header")), _q("MessageStatus"))
    _group(element, "ResponseFor", status.ResponseFor, _RESPONSE_FIELDS)
    _group(element, "From", status.From, _ORGAN_FIELDS)
    _leaf(element, "StatusCode", status.StatusCode.value)
    _leaf(element, "Description", status.Description)
    _leaf(element, "Timestamp", status.Timestamp)
    if status.StaffInfo is not None:
        _group(element, "StaffInfo", status.StaffInfo, _STAFF_FIELDS)
    return _serialize(root)

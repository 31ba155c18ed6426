#!/usr/bin/env bash
# The seed's story with curl, on the system that `./qlvb up` started (see docs/WALKTHROUGH.md).
# tests/e2e/test_walkthrough.py runs this very script, so it cannot rot.
set -euo pipefail
cd "$(dirname "$0")/.."

IDENTITY=${IDENTITY:-http://127.0.0.1:25101}
INTAKE=${INTAKE:-http://127.0.0.1:25102}
ROUTING=${ROUTING:-http://127.0.0.1:25103}
ISSUANCE=${ISSUANCE:-http://127.0.0.1:25104}
REPORTING=${REPORTING:-http://127.0.0.1:25105}
PASSWORD=${PASSWORD:-$(./qlvb demo-password)}
RUN=${RUN:-$RANDOM}    # makes this run's document numbers unique

# Read one field of the JSON on stdin: `json access_token`, `json items.0.id`.
json() {
  python3 -c 'import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    value = value[int(part)] if isinstance(value, list) else value[part]
print(value if isinstance(value, (str, int)) else json.dumps(value, ensure_ascii=False))' "$1"
}
# Try a command every half second until it prints something (eventual consistency).
until_ok() { for _ in $(seq 1 120); do out=$("$@" 2>/dev/null || true); [ -n "$out" ] && { echo "$out"; return; }; sleep 0.5; done; echo "gave up: $*" >&2; return 1; }

login() { curl -sf -X POST "$IDENTITY/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\": \"$1\", \"password\": \"$PASSWORD\"}" | json access_token; }
CLERK=$(login vanthu); ADMIN=$(login hctc.admin); SPECIALIST=$(login cv.nguyenvana)
LEADER=$(login lanhdao.vp); SECRETARY=$(login thuky.ct); OFFICE_LEADER=$LEADER

# 1. The records admin opens this year's incoming register (409 if it exists: fine).
YEAR=$(date +%Y)
curl -s -o /dev/null -X POST "$INTAKE/registers" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d "{\"id\": \"VBD-$YEAR\", \"year\": $YEAR, \"name\": \"Sổ văn bản đến $YEAR\"}"

# 2. Sở Tài chính sends a công văn over Kafka, as edXML.
./qlvb agency send --code "$RUN/STC-QLNS" --subject "V/v hướng dẫn lập dự toán ngân sách 2027 ($RUN)"

# 3. The clerk finds it in the electronic inbox and registers it with one action.
DOC=$(until_ok sh -c "curl -sf '$INTAKE/electronic-inbox' -H 'Authorization: Bearer $CLERK' \
  | python3 -c 'import json,sys; print(*[i[\"id\"] for i in json.load(sys.stdin)[\"items\"] if i[\"Code\"]==\"$RUN/STC-QLNS\"])'")
curl -sf -X POST "$INTAKE/incoming-documents/$DOC/register" -H "Authorization: Bearer $CLERK" \
  -H 'Content-Type: application/json' -d "{\"register_id\": \"VBD-$YEAR\", \"first_handlers\": [\"cv.nguyenvana\"]}" \
  | json ArrivalNumber | sed 's/^/arrival number (số đến): /'

# 4. Routing opened a case for the specialist; she opens a work file (hồ sơ) from her task.
CASE=$(until_ok sh -c "curl -sf '$ROUTING/cases?incoming_document_id=$DOC' -H 'Authorization: Bearer $SPECIALIST' | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get(\"items\", d) if isinstance(d, dict) else d; print(d[0][\"case_id\"])'")
TASK=$(curl -sf "$ROUTING/cases/$CASE" -H "Authorization: Bearer $SPECIALIST" | json tasks.0.task_id)
FILE=$(curl -sf -X POST "$ROUTING/work-files" -H "Authorization: Bearer $SPECIALIST" \
  -H 'Content-Type: application/json' -d "{\"Title\": \"Hồ sơ dự toán 2027 ($RUN)\", \"task_id\": \"$TASK\"}" | json work_file_id)

# 5. She uploads the draft reply and the proposal (tờ trình) and sends them to the office leader.
printf '%%PDF-1.4\n%%%%EOF\n' > /tmp/qlvb-draft.pdf
upload() { curl -sf -X POST "$ROUTING/uploads?name=$1" -H "Authorization: Bearer $SPECIALIST" \
  -H 'Content-Type: application/pdf' --data-binary @/tmp/qlvb-draft.pdf | json upload_id; }
draft() { curl -sf -o /dev/null -X POST "$ROUTING/tasks/$TASK/draft" -H "Authorization: Bearer $SPECIALIST" \
  -H 'Content-Type: application/json' -d "{\"TypeName\": \"Công văn\", \"Subject\": \"V/v hướng dẫn lập dự toán ($RUN)\",
  \"approver\": \"$1\", \"draft_upload_id\": \"$(upload du-thao.pdf)\", \"proposal_upload_id\": \"$(upload to-trinh.pdf)\",
  \"To\": [{\"OrganName\": \"Sở Tài chính\", \"OrganId\": \"000.00.12.H41\"}], \"CodeNotation\": \"UBND-KT\"}"; }
draft lanhdao.vp

# 6. The office leader returns it with a direction (bút phê); she revises for the committee leader.
APPROVAL=$(curl -sf "$ROUTING/tasks?kind=approval&state=open" -H "Authorization: Bearer $OFFICE_LEADER" | json items.0.task_id)
curl -sf -o /dev/null -X POST "$ROUTING/tasks/$APPROVAL/return" -H "Authorization: Bearer $OFFICE_LEADER" \
  -H 'Content-Type: application/json' -d '{"direction": "Bổ sung số liệu các phòng, trình lại."}'
draft ct.ubnd

# 7. The secretary, by delegation of the committee leader, confirms it finalized (Đ15).
APPROVAL=$(curl -sf "$ROUTING/tasks?assignee=ct.ubnd&kind=approval&state=open" -H "Authorization: Bearer $SECRETARY" | json items.0.task_id)
curl -sf -o /dev/null -X POST "$ROUTING/tasks/$APPROVAL/finalize" -H "Authorization: Bearer $SECRETARY" \
  -H 'Content-Type: application/json' -d '{}'

# 8. The clerk uploads the signed copy and issues it: number and date, edXML to Sở Tài chính.
OUT=$(until_ok sh -c "curl -sf '$ISSUANCE/outgoing-documents/queue' -H 'Authorization: Bearer $CLERK' | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get(\"items\", d) if isinstance(d, dict) else d; print(*[i[\"outgoing_document_id\"] for i in d if \"($RUN)\" in i[\"Subject\"]])'")
curl -sf -o /dev/null -X POST "$ISSUANCE/outgoing-documents/$OUT/attachments?kind=signed&name=signed.pdf" \
  -H "Authorization: Bearer $CLERK" -H 'Content-Type: application/pdf' --data-binary @/tmp/qlvb-draft.pdf
curl -sf -X POST "$ISSUANCE/outgoing-documents/$OUT/issue" -H "Authorization: Bearer $CLERK" \
  -H "Idempotency-Key: issue-$RUN" -H 'Content-Type: application/json' \
  -d '{"To": [{"OrganName": "Sở Tài chính", "OrganId": "000.00.12.H41"}]}' | json Code | sed 's/^/issued as: Số /'

# 9. The incoming document is processed and answered; the agency got 01, 03 and the reply.
until_ok sh -c "curl -sf '$ROUTING/cases/$CASE' -H 'Authorization: Bearer $SPECIALIST' | python3 -c 'import json,sys; i=json.load(sys.stdin)[\"incoming_document\"]; print(\"processed, answered by \" + i[\"follow_up\"][\"answered_by_code\"]) if i[\"processed\"] else None'"
curl -sf -o /dev/null -X POST "$ROUTING/work-files/$FILE/close" -H "Authorization: Bearer $SPECIALIST" -H 'Content-Type: application/json' -d '{}'
./qlvb agency inbox 000.00.12.H41 | grep "$RUN/STC-QLNS"

# 10. The monthly control report (Đ10) for this month.
curl -sf "$REPORTING/reports/monthly?month=$(TZ=Asia/Ho_Chi_Minh date +%Y-%m)" -H "Authorization: Bearer $LEADER" | json counts
echo "walkthrough finished"

"""A filing's life driven through the Python client that openapi-python-client
generates from openapi/openapi.json, against a live server (scripts/clients-test.sh):
sign in, create a tenant and its first admin, change the password an admin set,
create a filing, submit a public ticket, list the queue, read the ticket, claim,
approve, read the audit log. Run as `python journey.py BASE_URL ROOT_PASSWORD`
with the generated package on sys.path."""

import sys

from filingdesk_client import AuthenticatedClient, Client
from filingdesk_client.api.audit import list_audit_events, verify_audit_events
from filingdesk_client.api.auth import change_password, login
from filingdesk_client.api.filings import create_filing
from filingdesk_client.api.staff import create_staff
from filingdesk_client.api.tenants import create_tenant
from filingdesk_client.api.tickets import approve_ticket, claim_ticket, get_ticket, list_tickets, submit_public_ticket
from filingdesk_client.models import (
    Approval, Check, CreateFiling, CreateStaff, CreateTenant, LoginRequest, PasswordChange, Problem, SubjectType,
    TenantRole, TicketKind, TicketRequest, TicketStatus, TokenPair,
)

base, root_password = sys.argv[1], sys.argv[2]
anonymous = Client(base_url=base, raise_on_unexpected_status=True)


def ok(value, what):
    if value is None or isinstance(value, Problem):
        raise SystemExit(f"{what}: {value}")
    return value


def sign_in(tenant, username, password):
    pair = ok(login.sync(client=anonymous, body=LoginRequest(tenant=tenant, username=username, password=password)),
              f"sign-in of {username}")
    assert isinstance(pair, TokenPair)
    return pair, AuthenticatedClient(base_url=base, token=pair.access_token, raise_on_unexpected_status=True)


_, root = sign_in(None, "admin", root_password)
tenant = ok(create_tenant.sync(client=root, body=CreateTenant(slug="acme", name="ACME Cloud")), "tenant")
ok(create_staff.sync(client=root, body=CreateStaff(
    tenant_id=tenant.id, username="boss", display_name="Boss", email="boss@example.com",
    role=TenantRole.TENANT_ADMIN, password="Initial-Password-7")), "first admin")
pair, boss = sign_in("acme", "boss", "Initial-Password-7")
assert pair.must_change_password is True
changed = change_password.sync_detailed(client=boss, body=PasswordChange(
    current_password="Initial-Password-7", new_password="Chosen-Secret-2026"))
assert changed.status_code == 204, changed
_, boss = sign_in("acme", "boss", "Chosen-Secret-2026")

filing = ok(create_filing.sync(client=boss, body=CreateFiling(
    filing_number="浙ICP备2021035785号", subject_name="示例科技", subject_type=SubjectType.ENTERPRISE,
    responsible_person="张三", id_number="11010519491231002X", phone="13812345678", email="z@example.com",
    domains=["example.cn"])), "filing")
assert filing.phone_masked == "138****5678", filing

submitted = ok(submit_public_ticket.sync(tenant="acme", client=anonymous, body=TicketRequest(
    kind=TicketKind.PASSWORD_RESET, filing_number="浙ICP备2021035785号", contact_name="张三",
    phone="13900001111", id_number="11010519491231002X")), "public ticket")
assert submitted.status == TicketStatus.PENDING_REVIEW

queue = ok(list_tickets.sync(client=boss, status=TicketStatus.PENDING_REVIEW, limit=10), "queue")
mine = [t for t in queue.items if t.number == submitted.number]
assert len(mine) == 1, queue
ticket = ok(get_ticket.sync(id=mine[0].id, client=boss), "ticket")
assert ticket.verification.filing_found == Check.MATCH, ticket.verification
assert ticket.verification.id_number == Check.MATCH and ticket.verification.phone == Check.MISMATCH

ok(claim_ticket.sync(id=ticket.id, client=boss), "claim")
approved = ok(approve_ticket.sync(id=ticket.id, client=boss, body=Approval(note="identity checked")), "approve")
assert approved.status == TicketStatus.RESOLVED, approved.status

events = ok(list_audit_events.sync(client=boss, limit=200), "audit")
actions = [e.action for e in events.items]
for expected in ["filing.created", "ticket.submitted", "filing.temporary_password_issued"]:
    assert expected in actions, (expected, actions)
verified = ok(verify_audit_events.sync(client=boss), "verify")
assert verified.ok and verified.checked == len(events.items), verified
print(f"journey through the generated Python client: {len(actions)} audit events, chain verified")

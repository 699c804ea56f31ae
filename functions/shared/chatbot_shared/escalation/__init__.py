"""Escalation to a human, in three modules; import from the one you need (this package re-exports nothing).

- `models`: the request, the receipt, the ticket, and their limits (pure; the API validates requests with them);
- `mail`: the email the support team receives for a ticket (pure rendering, every user value escaped);
- `desk`: `TicketDesk`, the one AWS edge that records, queues, loads and marks tickets.

Used by `POST /escalate` (functions/escalate), by the fulfillment function's TalkToHuman intent (which opens
tickets through a desk directly, no HTTP call to our own API), and by the queue consumer (functions/send_escalation).
"""

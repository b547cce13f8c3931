"""The operator console (办案工作台): a backend-for-frontend and its Vue front end (web/).

Not a bounded context: it owns no data. It holds each operator's token server-side behind
an HttpOnly session cookie, checks a CSRF token on every state change and calls the four
services' public APIs as that operator, passing If-Match and Idempotency-Key through and
returning their problem details as they are.
"""

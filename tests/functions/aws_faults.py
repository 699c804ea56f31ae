"""Failures injected at the AWS edge of a boto3 client, never inside our code: botocore's own event hooks.

- `refuse(client, "TransactWriteItems", "InternalServerError")`: the Nth call is answered with that error instead
  of reaching AWS (moto), as if the service refused it: nothing happened there.
- `lose_answer(client, "SendEmail")`: the Nth call reaches AWS and takes effect, then its answer is lost (a read
  timeout after the SDK's retries): the caller cannot tell.
- `time_out_after(client, "SendEmail")`: the Nth call takes effect, then the Lambda invocation is killed
  (`LambdaTimeout`, a BaseException no handler code catches), as Lambda does at its timeout.

Calls are counted per client and operation; `nth` is 1-based, `times` how many calls in a row fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ReadTimeoutError


class LambdaTimeout(BaseException):
    """The invocation was stopped at its timeout: nothing after this point ran."""


@dataclass
class _Rule:
    operation: str
    nth: int
    times: int
    seen: int = 0

    def fires(self) -> bool:
        self.seen += 1
        return self.nth <= self.seen < self.nth + self.times


@dataclass
class AwsFaults:
    """Registers failures on clients; `clear()` removes them all."""

    fired: list[str] = field(default_factory=list)
    _registered: list[tuple[Any, str, Any]] = field(default_factory=list)

    def refuse(
        self,
        client: Any,
        operation: str,
        code: str,
        *,
        status: int = 500,
        nth: int = 1,
        times: int = 1,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Answer the Nth call of `operation` with error `code` (HTTP `status`, and `details` in the error body,
        e.g. a transaction's CancellationReasons) without reaching the service."""
        rule = _Rule(operation, nth, times)

        def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            if not rule.fires():
                return None
            self.fired.append(f"{operation} refused ({code})")
            parsed = {
                "Error": {"Code": code, "Message": f"injected {code}"},
                "ResponseMetadata": {},
                **(details or {}),
            }
            return AWSResponse("https://injected.invalid", status, HTTPHeaders(), None), parsed

        self._register(client, f"before-call.{_service(client)}.{operation}", answer)

    def lose_answer(self, client: Any, operation: str, *, nth: int = 1, times: int = 1) -> None:
        """Let the Nth call of `operation` take effect, then lose its answer (a read timeout)."""
        rule = _Rule(operation, nth, times)

        def lose(**_: Any) -> None:
            if rule.fires():
                self.fired.append(f"{operation} answer lost")
                raise ReadTimeoutError(endpoint_url=f"https://{operation}.injected.invalid")

        self._register(client, f"after-call.{_service(client)}.{operation}", lose)

    def time_out_after(self, client: Any, operation: str, *, nth: int = 1) -> None:
        """Let the Nth call of `operation` take effect, then stop the invocation (Lambda's timeout)."""
        rule = _Rule(operation, nth, 1)

        def stop(**_: Any) -> None:
            if rule.fires():
                self.fired.append(f"timed out after {operation}")
                raise LambdaTimeout(f"Task timed out after {operation}")

        self._register(client, f"after-call.{_service(client)}.{operation}", stop)

    def clear(self) -> None:
        """Remove every registered failure."""
        for client, event, handler in self._registered:
            client.meta.events.unregister(event, handler)
        self._registered.clear()

    def _register(self, client: Any, event: str, handler: Any) -> None:
        client.meta.events.register(event, handler)
        self._registered.append((client, event, handler))


def _service(client: Any) -> str:
    return str(client.meta.service_model.service_id.hyphenize())

"""Domain errors: a business rule refuses, with a stable machine code.

Services raise ``DomainError("insufficient_balance", "…")``; the API turns it into the contract's
409 ``{"error": {"code", "message"}}`` and views show the message beside the form. Services never
import DRF.
"""


class DomainError(Exception):
    """A business rule refuses the change; ``code`` is stable (the API's 409 code)."""

    def __init__(self, code: str, message):
        super().__init__(str(message))
        self.code = code
        self.message = message

    def __str__(self):
        return str(self.message)

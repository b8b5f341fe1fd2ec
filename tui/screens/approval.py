"""The dialog that asks before the assistant spends money or long GPU time.

Spending must never happen by accident, so the dialog is modal, states the
estimate in USD with the provider's unit beside (``0.75 USD (75 credits)``)
and where the price comes from, the backend and the shots it covers, and needs an explicit Approve (y) or
Reject (n); Escape rejects and Reject has the focus. When the cost could not
be estimated the dialog says so plainly: a yes then still spends nothing the
production service cannot price, because its spend guard refuses any request
that no approval covers. The dialog only returns the answer; the chat screen
passes it to ``session.respond``.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from shotsmith.assistant.events import ApprovalRequested
from shotsmith.tui.format import estimate_text

UNPRICED = ("Approving cannot spend anything unpriced: generation refuses every request that this answer "
            "does not cover. Reject and try again, or switch to the free animatic backend.")


class ApprovalScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Approve"),
        Binding("n", "answer(False)", "Reject"),
        Binding("escape", "answer(False)", "Reject", show=False),
        Binding("left,right", "app.focus_next", "Move", show=False),
    ]

    def __init__(self, request: ApprovalRequested) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        estimate = self.request.estimate
        with Vertical(id="approval-box") as box:
            box.border_title = "Approve spending?"
            yield Static(Text.assemble(("Estimate: ", "bold"), estimate_text(estimate)), id="approval-estimate",
                         classes="-unavailable" if estimate is None else "")
            if estimate is None:
                # The session's description says why the cost is unknown.
                yield Static(self.request.description, id="approval-description", markup=False)
                yield Static(UNPRICED, id="approval-unpriced", markup=False)
            else:
                if estimate.source:
                    yield Static(f"Price from: {estimate.source}", id="approval-source", markup=False)
                shots = f"Shots: {', '.join(map(str, estimate.shots))} with {estimate.backend}"
                if estimate.cached:
                    shots += f" ({len(estimate.cached)} cached, free)"
                yield Static(shots, id="approval-shots", markup=False)
            yield Static(f"Action: {self.request.action}", id="approval-action", markup=False)
            with Horizontal(id="approval-buttons"):
                yield Button("Approve \\[y]", id="approve", variant="success")
                yield Button("Reject \\[n]", id="reject", variant="error")

    def on_mount(self) -> None:
        # Reject has the focus: a stray Enter must not spend money.
        self.query_one("#reject", Button).focus()

    @on(Button.Pressed, "#approve")
    def _approve(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#reject")
    def _reject(self) -> None:
        self.dismiss(False)

    def action_answer(self, approved: bool) -> None:
        self.dismiss(approved)

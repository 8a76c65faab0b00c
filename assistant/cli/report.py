"""Terminal rendering of decisions for `assistant ask` and `assistant demo` (rich)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from assistant.domain.messages import Action, ConversationState, Decision, HandoffState, InboundMessage

if TYPE_CHECKING:
    from assistant.pipeline import Engine

COLOURS = {Action.ANSWER: "green", Action.ESCALATE: "yellow", Action.MODERATE: "red", Action.IGNORE: "bright_black"}

DEMO_MESSAGES: list[tuple[InboundMessage, ConversationState]] = [
    (InboundMessage("Hi! How long does delivery to Germany take?", sender_name="Anna Schmidt"), ConversationState()),
    (InboundMessage("我忘记密码了，怎么重置？", sender_name="李雷"), ConversationState()),
    (InboundMessage("Как вернуть куртку, если не подошёл размер?", sender_name="Олег"), ConversationState()),
    (InboundMessage("Quels moyens de paiement acceptez-vous ?", sender_name="Camille"), ConversationState()),
    (InboundMessage("Gdzie jest moja paczka? Zamówiłem tydzień temu.", sender_name="Kasia"), ConversationState()),
    (InboundMessage("Can I talk to a real person please?", sender_name="Tom"), ConversationState()),
    (
        InboundMessage(
            "Third time my order is late. This is unacceptable, I'm really disappointed.", sender_name="Joe"
        ),
        ConversationState(),
    ),
    (InboundMessage("The stove caught fire in my tent, my hand is burned", sender_name="Sam"), ConversationState()),
    (
        InboundMessage("EARN $500/DAY from home!!! DM me now http://x.example http://y.example", is_public=True),
        ConversationState(),
    ),
    (InboundMessage("refund or exchange?", sender_name="Lea"), ConversationState()),  # "Did you mean: …"
    (InboundMessage("What's the airspeed velocity of an unladen swallow?"), ConversationState()),
    (InboundMessage("thanks a lot!", sender_name="Mia"), ConversationState()),
    (InboundMessage("😀👍"), ConversationState()),
    (InboundMessage("Where is my refund??", sender_name="Eve"), ConversationState(handoff=HandoffState.HUMAN)),
]


def print_decision(text: str, decision: Decision, console: Console | None = None) -> None:
    console = console or Console()
    colour = COLOURS[decision.action]
    head = f"[bold {colour}]{decision.action.value.upper()}[/]"
    if decision.kind is not None:
        head += f" ({decision.kind.value.replace('_', ' ')})"  # "ANSWER (kb answer)" vs "ANSWER (template)"
    if decision.reason:
        head += f" · {decision.reason.value}"
    if decision.queue:
        head += f" → queue [bold]{decision.queue}[/] ({decision.priority.name.lower() if decision.priority else '-'})"
    body = Table.grid(padding=(0, 1))
    body.add_row("[bold]message[/]", text)
    body.add_row("[bold]language[/]", decision.language)
    body.add_row(
        "[bold]confidence[/]",
        f"{decision.confidence:.2f}" + (f"  entry {decision.entry_id}" if decision.entry_id else ""),
    )
    if decision.read_as:
        body.add_row("[bold]read as[/]", decision.read_as)
    if decision.reply:
        body.add_row("[bold]reply[/]", decision.reply)
    if decision.suggested_answer:
        body.add_row("[bold]suggested[/]", decision.suggested_answer)
    body.add_row("[bold]why[/]", "\n".join(f"• {r}" for r in decision.reasons))
    body.add_row("[bold]latency[/]", f"{decision.latency_ms:.1f} ms")
    console.print(Panel(body, title=head, title_align="left", border_style=colour))


def run_demo(engine: Engine, now: datetime) -> None:
    console = Console()
    console.print(
        f"[bold]community-assistant demo[/] — deciding as if at {now:%A %Y-%m-%d %H:%M %Z} "
        f"(business hours: {'open' if engine.policy.hours.is_open(now) else 'closed'})\n"
    )
    messages = [m for m, _ in DEMO_MESSAGES]
    states = [s for _, s in DEMO_MESSAGES]
    for message, decision in zip(messages, engine.decide_batch(messages, states, now), strict=True):
        print_decision(message.text, decision, console)
    console.print('\nTry your own: [bold]assistant ask "where is my order?" --at 2026-11-24T10:00[/]')

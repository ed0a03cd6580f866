"""What an intake pipeline gets beside the labels: deadline, follow-up message, queue.

The three are configured apart from the model (the SLA policy, the reply templates and the
routing map are data, editable without code or retraining) and applied to every prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from classifier.replies import ReplyTemplates, follow_up_message, load_reply_templates
from classifier.routing import Routing, load_routing, route
from classifier.sla import OfficeWindow, SlaPolicy, first_response_deadline

if TYPE_CHECKING:
    from classifier.settings import Settings

# Follow-up messages kept per Intake (3 languages x 32 missing-info sets x the flags, and the
# issue lists of multi-issue tickets); emptied when full.
MAX_MESSAGES = 4096


@dataclass(frozen=True)
class Intake:
    sla_policy: SlaPolicy = field(default_factory=SlaPolicy)
    routing: Routing = field(default_factory=load_routing)
    templates: ReplyTemplates = field(default_factory=load_reply_templates)
    # follow_up's messages by their arguments: the message is a function of those and the
    # (frozen) templates alone, and tickets repeat a few hundred combinations at most
    _messages: dict[tuple[Any, ...], str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # the SLA policy's office windows per local date (respond_by): a function of the date and
    # the (frozen) policy alone; a ticket's deadline walks the same few days as the last one's
    _windows: dict[date, OfficeWindow | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> Intake:
        return cls(
            sla_policy=settings.sla_policy,
            routing=load_routing(settings.routing_file),
            templates=load_reply_templates(settings.replies_file),
        )

    def respond_by(self, received_at: datetime, priority: str, plan: str | None) -> datetime:
        return first_response_deadline(
            received_at,
            priority,  # type: ignore[arg-type]
            plan,  # type: ignore[arg-type]
            self.sla_policy,
            windows=self._windows,
        )

    def follow_up(
        self,
        language: str,
        missing_info: list[str],
        *,
        contains_password: bool,
        category: str,
        multi_issue: bool,
        issues: list[str] | None,
    ) -> str | None:
        key: tuple[Any, ...] | None = (
            language,
            tuple(missing_info),
            contains_password,
            category,
            multi_issue,
            tuple(issues) if multi_issue and issues else None,  # read only when multi_issue
        )
        try:
            return self._messages[key]  # type: ignore[index]
        except KeyError:
            pass
        except TypeError:  # an unhashable argument: follow_up_message says what is wrong
            key = None
        message = follow_up_message(
            language,
            missing_info,
            contains_password=contains_password,
            category=category,
            multi_issue=multi_issue,
            issues=issues,
            templates=self.templates,
        )
        if key is not None:  # only reached when the message was made: errors are not kept
            if len(self._messages) >= MAX_MESSAGES:
                self._messages.clear()
            self._messages[key] = message
        return message

    def route(self, category: str, priority: str) -> str:
        return route(category, priority, self.routing)

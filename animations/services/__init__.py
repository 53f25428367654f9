"""The rules of an animation job, from request to stored result, the only place
they live.

The task row is the source of truth. Every step is a conditional update that
only its winner acts on, and every money step names its idempotency key after
the task and run, so a step repeated after a crash changes nothing:

    queued --claim slot--> submitting --create accepted--> submitted --RUNNING--> running
      ^                        |  (answer lost: reconcile with the provider's task list)
      +------ retry / resend --+
    submitted|running --SUCCEEDED--> mirror result, capture actual cost --> succeeded
    any unfinished --FAILED|UNKNOWN|terminal error|3 h--> release all --> failed
    queued | provider PENDING --cancel--> release all --> canceled

Slow I/O (provider calls, downloads, imports) happens outside transactions:
state is claimed before (a lease) and recorded after.

- ``create``: the key's claim, inputs, price and reservation of a new task; a user's tasks.
- ``submission``: provider slots per key, the create call, reconciling a lost answer.
- ``estimate``: when a job should finish, and so when to poll it.
- ``lifecycle``: poll, finish (mirror and capture), fail, cancel, retry, erasure.
- ``operations``: the dispatcher's beat, support's and operators' tools,
  the checks other apps run against tasks.
- ``reads``: task detail in one query built once per process (the hottest read).
- ``common``: the provider's clock and clients, the price, leases and row locks.
"""

from animations.services.common import client_for, price, provider_delta
from animations.services.create import (
    Inputs,
    Quote,
    create_task,
    discard_imports,
    modes,
    quote,
    resolve_inputs,
    start_task,
    task_for,
    task_for_key,
    user_tasks,
)
from animations.services.estimate import estimated_finish, expected_run
from animations.services.lifecycle import (
    cancel_at_provider,
    cancel_for_erasure,
    cancel_task,
    fail_task,
    finish_success,
    poll_due,
    poll_task,
    record_poll,
    retry_task,
)
from animations.services.operations import (
    DispatchReport,
    dispatch,
    recover_task,
    referenced_file_ids,
    refund_task,
    repoll,
    reservations_match_tasks,
    slot_usage,
    stuck_tasks,
)
from animations.services.reads import FILES, SHOWN_TASK_FIELDS, joined_task_read, shown_task
from animations.services.submission import (
    claim_next_queued,
    fill_slots,
    reconcile_submits,
    regions_sharing_key,
    submit_claimed,
)

__all__ = [
    "FILES",
    "SHOWN_TASK_FIELDS",
    "DispatchReport",
    "Inputs",
    "Quote",
    "cancel_at_provider",
    "cancel_for_erasure",
    "cancel_task",
    "claim_next_queued",
    "client_for",
    "create_task",
    "discard_imports",
    "dispatch",
    "estimated_finish",
    "expected_run",
    "fail_task",
    "fill_slots",
    "finish_success",
    "joined_task_read",
    "modes",
    "poll_due",
    "poll_task",
    "price",
    "provider_delta",
    "quote",
    "reconcile_submits",
    "record_poll",
    "recover_task",
    "referenced_file_ids",
    "refund_task",
    "regions_sharing_key",
    "repoll",
    "reservations_match_tasks",
    "resolve_inputs",
    "retry_task",
    "shown_task",
    "slot_usage",
    "start_task",
    "stuck_tasks",
    "submit_claimed",
    "task_for",
    "task_for_key",
    "user_tasks",
]

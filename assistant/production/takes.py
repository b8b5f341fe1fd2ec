"""A new take of a shot through the production service: the one path the chat and the agent share.

The plan edit itself is :func:`shotsmith.plan_edits.new_take`; what it cannot know is which takes were
already made, because an undo takes a take out of the plan while its clip (and generation record) stays
in the project. Asked for "another take" after such an undo, the user wants a picture they have not
seen, not the cached take they put away, so the new take number comes after every take made before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shotsmith.brief import ShotPlan
from shotsmith.plan_edits import find_shot, new_take

if TYPE_CHECKING:
    from shotsmith.assistant.production.service import ProductionService


def highest_take(service: "ProductionService", index: int) -> int:
    """The highest take of shot ``index`` made on the service's backend (0: only its first clip): every
    generation record of the shot's prompt (takes are made of the same prompt) that names a take."""
    plan = service.plan
    backend = service.backend()
    prompt = backend.prepare(service.request_for(find_shot(plan, index), plan, backend))[0].prompt  # as recorded
    return max((int(r.request.get("take") or 0) for r in service.store.project.generations.values()
                if r.backend == backend.name and r.request.get("prompt") == prompt), default=0)


def make_new_take(service: "ProductionService", index: int) -> ShotPlan:
    """Shot ``index`` made again as it is, after every take made before (an undo step, like any edit);
    the next generation makes it, priced and approved like any other."""
    find_shot(service.plan, index)  # "there is no shot 9" before anything is read
    after = highest_take(service, index)
    return service.edit(lambda plan: new_take(plan, index, after=after))

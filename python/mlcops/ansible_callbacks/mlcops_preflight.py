"""Stop a run of mlcops before its first play when the inventory has no host.

ansible-playbook itself refuses a ``--limit`` that matches no host and, with
``ANSIBLE_INVENTORY_UNPARSED_FAILED``, an inventory that does not parse. An inventory with no
host at all it lets through: plays on ``localhost`` would then run on the controller. mlcops
refuses that too, here, in the process that has already read the inventory, so that the
check costs nothing; :func:`mlcops.inventory.resolve` then explains the refusal in one line.

Idle unless ``MLCOPS_REQUIRE_HOSTS=1``: a plain ``ansible-playbook`` is not affected.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ansible.plugins.callback import CallbackBase  # type: ignore[import-untyped]

DOCUMENTATION = """
    name: mlcops_preflight
    type: notification
    short_description: refuse an inventory without hosts before the first play
    description:
      - When the environment variable C(MLCOPS_REQUIRE_HOSTS) is C(1), end the run before its
        first play if the inventory has no host (exit code 4).
"""

#: ansible-playbook's own exit code for a run that stopped before it began.
EXIT_NO_HOSTS = 4


class CallbackModule(CallbackBase):  # type: ignore[misc]
    """Loaded without being enabled; idle unless ``MLCOPS_REQUIRE_HOSTS=1``."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "mlcops_preflight"
    CALLBACK_NEEDS_ENABLED = False

    def v2_playbook_on_start(self, playbook: Any) -> None:
        """Check the inventory the playbook's plays will run against."""
        if os.environ.get("MLCOPS_REQUIRE_HOSTS") != "1":
            return
        plays = playbook.get_plays()
        manager = plays[0].get_variable_manager() if plays else None
        inventory = getattr(manager, "_inventory", None)
        if inventory is None or inventory.list_hosts("all"):
            return
        self._display.error("mlcops: the inventory has no host: add hosts to it")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_NO_HOSTS)

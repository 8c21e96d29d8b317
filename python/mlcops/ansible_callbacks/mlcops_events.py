"""ansible-runner's event callback without two costs it need not have.

mlcops reads ansible-runner's event stream. In ansible-playbook, ansible-runner's stdout
callback ``awx_display`` writes each event's data to a file and a marker naming it to stdout;
ansible-runner's reader joins the two. This callback *is* ``awx_display``: a subclass of the
module ansible-runner ships, loaded from ansible-runner's own callback directory. Same events,
same files, same reader; two things change once the callback is chosen as the stdout callback:

- ``awx_display`` wraps every public method of Ansible's ``Display`` so that the output it
  makes is tagged with the method's name. Ansible calls ``Display.debug`` thousands of times
  in a run, in the controller and in every worker, and it prints nothing unless
  ``ANSIBLE_DEBUG`` is on: without it, the wrapper is taken off ``debug``.
- Each event's data is written to a temporary file then renamed into place. The reader opens
  that file only after reading the marker, which is written after the file: it is written in
  place.

``tests/bench/bench_cli.py`` measures both (a 200-task run took 2-5% less in the runs
measured). When the installed ansible-runner no longer has what is changed here, the callback
is ``awx_display`` unchanged.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from ansible import constants as C  # type: ignore[import-untyped]
from ansible.errors import AnsibleError  # type: ignore[import-untyped]
from ansible.plugins.callback import CallbackBase  # type: ignore[import-untyped]
from ansible.plugins.loader import callback_loader  # type: ignore[import-untyped]
from ansible.utils.display import Display  # type: ignore[import-untyped]

DOCUMENTATION = """
    name: mlcops_events
    type: stdout
    short_description: ansible-runner's awx_display event callback, lighter
    description:
      - The stdout callback of mlcops runs; ansible-runner's C(awx_display) without its
        wrapper on C(Display.debug) (unless C(ANSIBLE_DEBUG) is on) and with each event's
        data file written in place.
      - Needs ansible-runner's callback directory on the callback plugin path, as
        ansible-runner sets it.
    extends_documentation_fragment:
      - default_callback
"""

#: ansible-runner's callback class, or None where its directory is not on the plugin path
#: (a plain ansible-playbook that has the mlcops callbacks on its path loads this module too).
AWX_DISPLAY: Any = callback_loader.get("awx_display", class_only=True)
_awx = sys.modules[AWX_DISPLAY.__module__] if AWX_DISPLAY is not None else None


class PartialEventWriter:
    """Writes an event's data where ansible-runner's reader looks for it, in one write."""

    def __init__(self, data_dir: str, encoder: json.JSONEncoder) -> None:
        self.events_dir = os.path.join(data_dir, "job_events")
        os.makedirs(self.events_dir, mode=0o700, exist_ok=True)
        self._encoder = encoder

    def set(self, key: str, value: Any) -> None:
        """Store one event's data (``key`` is ``:1:ev-<uuid>``, as awx_display names it)."""
        name = key.removeprefix(":1:ev-") + "-partial.json"
        data = self._encoder.encode(value).encode()
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        fd = os.open(os.path.join(self.events_dir, name), flags, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


def lighten() -> list[str]:
    """Take off awx_display's two avoidable costs where it has them; return what changed."""
    changed: list[str] = []
    with_context = getattr(_awx, "with_context", None)
    if with_context is not None and not C.DEFAULT_DEBUG:
        # The inner function of awx_display's with_context(): every wrapper it made shares it.
        wrapper_code = with_context(debug=True)(lambda: None).__code__
        if getattr(Display.debug, "__code__", None) is wrapper_code:
            Display.debug = Display.debug.__wrapped__
            changed.append("Display.debug")
    context = getattr(_awx, "event_context", None)
    file_write = getattr(_awx, "IsolatedFileWrite", None)
    encoder = getattr(_awx, "AnsibleJSONEncoderLocal", None)
    data_dir = os.environ.get("AWX_ISOLATED_DATA_DIR")
    if (
        data_dir
        and file_write
        and encoder
        and isinstance(getattr(context, "cache", None), file_write)
    ):
        context.cache = PartialEventWriter(data_dir, encoder())  # type: ignore[union-attr]
        changed.append("event_context.cache")
    return changed


class CallbackModule(AWX_DISPLAY or CallbackBase):  # type: ignore[misc]
    """ansible-runner's ``awx_display``, lightened when it becomes the stdout callback."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "mlcops_events"

    def __init__(self) -> None:
        if AWX_DISPLAY is None:
            raise AnsibleError(
                "mlcops_events needs ansible-runner's awx_display callback on "
                "ANSIBLE_CALLBACK_PLUGINS: run it through mlcops"
            )
        super().__init__()
        self.lightened = lighten()

"""ansible-runner's event callback without two costs it need not have.

mlcops reads ansible-runner's event stream. In ansible-playbook, ansible-runner's stdout
callback ``awx_display`` writes each event's data to a file and a marker naming it to stdout;
ansible-runner's reader joins the two. This callback *is* ``awx_display``: a subclass of the
module ansible-runner ships, loaded from ansible-runner's own callback directory. Same events,
same reader; two things change once the callback is chosen as the stdout callback:

- ``awx_display`` wraps every public method of Ansible's ``Display`` so that the output it
  makes is tagged with the method's name. Ansible calls ``Display.debug`` thousands of times
  in a run, in the controller and in every worker, and it prints nothing unless
  ``ANSIBLE_DEBUG`` is on: without it, the wrapper is taken off ``debug``.
- Each event's data is written to a file of its own (created, then renamed), which
  ansible-runner's reader opens, reads and removes after reading the marker that names it: a
  few file system calls per event, which were most of the callback's cost where creating a
  file is slow (a millisecond each on the VM disks these figures come from). The marker
  carries the data itself, which the reader takes when there is no file.

``tests/bench/bench_cli.py`` measures both. When the installed ansible-runner no longer has
what is changed here, the callback is ``awx_display`` unchanged.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any, TextIO

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
        data in its stdout marker instead of a file of its own.
      - Needs ansible-runner's callback directory on the callback plugin path, as
        ansible-runner sets it.
    extends_documentation_fragment:
      - default_callback
"""

#: ansible-runner's callback class, or None where its directory is not on the plugin path
#: (a plain ansible-playbook that has the mlcops callbacks on its path loads this module too).
AWX_DISPLAY: Any = callback_loader.get("awx_display", class_only=True)
_awx = sys.modules[AWX_DISPLAY.__module__] if AWX_DISPLAY is not None else None


class InlineEventData:
    """awx_display's ``dump_begin``, with the event's data in the marker it writes.

    awx_display writes an event's data to ``job_events/<uuid>-partial.json`` and only the
    uuid in the marker; ansible-runner's reader decodes the marker, then opens the file
    (where there is none, it goes on with what the marker held). Here the marker holds it
    all: no file is created, read and removed for each event. awx_display still drops a
    result longer than ``MAX_EVENT_RES`` (700000 characters unless set), which bounds a
    marker. A reader that stopped taking the marker's data would fail the test that
    compares these events with awx_display's.
    """

    def __init__(self, context: Any, encoder: json.JSONEncoder) -> None:
        self._context = context
        self._encoder = encoder

    def __call__(self, fileobj: TextIO) -> None:
        """Write the marker that opens the event in context, with its data."""
        data = self._encoder.encode(self._context.get_begin_dict()).encode()
        text = base64.b64encode(data).decode()
        # awx_display's dump() cannot take the encoder the data needs, so the marker is
        # written here, in the form ansible-runner's OutputEventFilter reads: ESC[K, base64
        # chunks each followed by ESC[<length>D, ESC[K (one chunk: no terminal to hide it on).
        with self._context.display_lock:
            fileobj.write(f"\x1b[K{text}\x1b[{len(text)}D\x1b[K")


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
    encoder = getattr(_awx, "AnsibleJSONEncoderLocal", None)
    if (
        encoder
        and hasattr(context, "display_lock")
        and all(callable(getattr(context, name, None)) for name in ("dump_begin", "get_begin_dict"))
    ):
        context.dump_begin = InlineEventData(context, encoder())  # type: ignore[union-attr]
        changed.append("event_context.dump_begin")
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

"""Running a notebook headless (nbclient) without losing a cell's reply.

nbclient plays the front end of an ipywidgets ``Output`` widget (``interact`` draws into one):
each time the kernel writes into the widget, nbclient sends the widget's new state back to the
kernel on the shell channel. It sends with ``Session.send``, which writes on the raw zmq socket
underneath the asyncio socket that is, at that moment, waiting for the cell's ``execute_reply``.
Any raw operation on a zmq socket reads its pending events and so uses up the edge-triggered
wake-up of its file descriptor; when the reply lands in that window, the waiting poll is never
woken. nbclient then finds the reply only when the cell's timeout expires (the poll's last,
non-blocking look), so the cell seems to hang for the whole timeout although the kernel is idle.
With the two cores busy, nbclient stalled chapter 1's ``interact`` cell in 3 of 4 runs of the
student notebook; with the widget's sends suppressed, in none of 10; with this client, in none of 20.
Reported upstream as jupyter/nbclient#312 and jupyter/jupyter_client#1059, both open.

:class:`NotebookClient` sends the widget's messages through the asyncio socket itself, whose
send re-reads the socket's events afterwards and wakes a waiting poll. Everything that executes
notebooks in this repository (the book's pages, the tests) uses it.
"""

from __future__ import annotations

from typing import Any

import nbclient
from jupyter_client.jsonutil import json_clean
from nbclient.output_widget import OutputWidget


class _OutputWidget(OutputWidget):
    """nbclient's stand-in for an ``Output`` widget, sending on the shell channel's asyncio socket."""

    def _publish_msg(self, msg_type: str, data: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
                     buffers: list[Any] | None = None, **keys: Any) -> None:
        session = self.kernel_client.session
        content = json_clean(dict(data=data or {}, comm_id=self.comm_id, **keys))
        message = session.msg(msg_type, content=content, parent=self.parent_header, metadata=metadata or {})
        # the asyncio socket sends at once when it can (else when its loop next runs) and then
        # looks at the socket's events again, so a reply that arrived meanwhile is not stranded
        self.kernel_client.shell_channel.socket.send_multipart(session.serialize(message) + list(buffers or []))


class NotebookClient(nbclient.NotebookClient):
    """``nbclient.NotebookClient`` whose ``Output`` widget cannot strand a cell's reply."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.widget_registry = {**self.widget_registry, "@jupyter-widgets/output": {"OutputModel": _OutputWidget}}

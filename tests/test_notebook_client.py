"""The notebook client of the book and the tests cannot strand a cell's reply (autograder/book/notebook_client.py).

The race, staged step by step with real zmq sockets: the client waits (an asyncio poll) for the
kernel's reply on its shell socket; the reply arrives, and something reads the socket's events
before the event loop runs (a raw send does exactly that), so the socket's file descriptor no
longer signals; then the stand-in ``Output`` widget sends its state on the same socket. The
course's widget sends through the asyncio socket, which looks at the events again and wakes the
poll; nbclient's own widget sends raw, and the poll sleeps on (until its timeout, in nbclient).
"""

import asyncio
from types import SimpleNamespace

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session
from nbclient.output_widget import OutputWidget

from autograder.book.notebook_client import NotebookClient, _OutputWidget

TURNS = 50  # event-loop turns to let a woken poll finish (a woken one needs two or three)


async def _race(widget_class) -> tuple[bool, dict]:
    """Stage the race; return whether the waiting poll woke, and the message the kernel got."""
    session = Session(key=b"course-secret")
    kernel_context, client_context = zmq.Context(), zmq.asyncio.Context()
    kernel = kernel_context.socket(zmq.ROUTER)
    client = client_context.socket(zmq.DEALER)
    try:
        port = kernel.bind_to_random_port("tcp://127.0.0.1")
        client.connect(f"tcp://127.0.0.1:{port}")
        channel = AsyncZMQSocketChannel(client, session)
        channel.send(session.msg("execute_request", content={"code": "interact(...)"}))
        assert kernel.poll(60_000), "the kernel socket never got the request"
        identity, *_ = kernel.recv_multipart()

        waiting = asyncio.ensure_future(client.poll(timeout=None))  # nbclient waiting for execute_reply
        for _ in range(3):
            await asyncio.sleep(0)  # the poll registers its reader with the event loop
        assert not waiting.done()
        kernel.send_multipart([identity, *session.serialize(session.msg("execute_reply", content={}))])
        raw = zmq.Socket.shadow(client.underlying)
        # block (the event loop does not run) until the reply is in; reading the socket's events used up the fd's signal
        assert raw.poll(60_000) & zmq.POLLIN, "the client socket never got the reply"

        widget = widget_class("comm-1", {"outputs": []}, SimpleNamespace(session=session, shell_channel=channel), None)
        widget.parent_header = {}
        widget.sync_state()  # as when the kernel writes into the widget
        for _ in range(TURNS):
            await asyncio.sleep(0)
        woke = waiting.done()
        waiting.cancel()

        assert kernel.poll(60_000), "the kernel socket never got the widget's state"
        _, frames = session.feed_identities(kernel.recv_multipart())
        return woke, session.deserialize(frames)  # checks the signature
    finally:
        client.close(linger=0)
        kernel.close(linger=0)
        client_context.term()
        kernel_context.term()


@pytest.mark.parametrize("widget_class, wakes", [(_OutputWidget, True), (OutputWidget, False)],
                         ids=["course-widget", "nbclient-widget-strands-the-reply"])
def test_a_widget_state_sent_while_the_reply_waits_wakes_the_waiting_poll(widget_class, wakes):
    """The course's widget wakes the poll; nbclient's own (run to show the test can fail) does not."""
    woke, message = asyncio.run(_race(widget_class))
    assert woke is wakes
    assert message["msg_type"] == "comm_msg"
    assert message["content"] == {"comm_id": "comm-1", "data": {"method": "update", "state": {"outputs": []},
                                                                "buffer_paths": []}}


def test_the_client_uses_the_course_widget():
    assert NotebookClient(nbformat_v4_empty()).widget_registry["@jupyter-widgets/output"]["OutputModel"] is _OutputWidget


def nbformat_v4_empty():
    import nbformat

    return nbformat.v4.new_notebook()

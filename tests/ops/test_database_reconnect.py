"""A database connection lost between two pieces of work does not fail the next one.

Two places hold connections. HTTP requests go through Django's ASGI handler (the one Daphne
runs), which gives each request a thread of its own; the test client would skip the handler's
connection clean-up, so requests here go through the real handler. Sockets and the reply
runner use channels' database_sync_to_async, which runs in one long-lived thread and checks the
connection before each call.

On PostgreSQL the test kills the server end of the socket thread's connection with
pg_terminate_backend from a connection of its own: with CONN_MAX_AGE=0 (the default) no
connection is kept between calls to be lost, and with CONN_MAX_AGE=60 CONN_HEALTH_CHECKS notices
the dead one before the next call uses it. A control run without the safeguard shows the test
can fail.

SQLite has no server, so nothing outside the process can take a connection away; the embedded
default keeps its connections (CONN_MAX_AGE=600, glmweb/settings.py), because opening one per
call (PRAGMAs, and a WAL checkpoint on every close) was half of the socket thread's time under
load. The nearest SQLite equivalent of a lost connection, a handle closed behind Django's back,
is only survivable with CONN_MAX_AGE=0, which the tests below set where they need it.
"""
import uuid

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.core.asgi import get_asgi_application
from django.db import Error as DatabaseError
from django.db import connection, connections
from django.db.backends.signals import connection_created
from django.test import Client

from tests.chat.socket_client import ChatSocket
from tests.factories import make_conversation, make_user

pytestmark = pytest.mark.django_db(transaction=True)

ENGINE = connection.vendor


def _close_this_threads_connection():
    connections["default"].close()


# With its defaults, sync_to_async reaches the one shared thread database_sync_to_async uses.
close_socket_thread_connection = sync_to_async(_close_this_threads_connection)


@pytest.fixture
def henry():
    return make_user("henry")


@pytest.fixture
def conversation(henry):
    return make_conversation(henry, title="still here")


@pytest.fixture
def session_cookie(henry, conversation):
    browser = Client()
    browser.force_login(henry)
    return f"sessionid={browser.cookies['sessionid'].value}"


@pytest.fixture
async def site_connections():
    """Sets how the site's connections behave, tagged so the server side can be found; restored
    afterwards."""
    settings_dict = connections["default"].settings_dict
    saved = {key: settings_dict.get(key) for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "OPTIONS")}
    tag = f"glmweb-reconnect-{uuid.uuid4().hex[:12]}"

    async def configure(**values):
        settings_dict.update(values)
        if ENGINE == "postgresql":
            settings_dict["OPTIONS"] = {**(saved["OPTIONS"] or {}), "application_name": tag}
        await close_socket_thread_connection()  # the next call connects afresh

    yield configure, tag
    await close_socket_thread_connection()
    settings_dict.update(saved)


def _admin_query(sql, params):
    """On a connection of the test's own, outside Django."""
    import psycopg

    settings_dict = connections["default"].settings_dict
    with psycopg.connect(
        dbname=settings_dict["NAME"], user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None, host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None, autocommit=True,
    ) as admin:
        return [row[0] for row in admin.execute(sql, params).fetchall()]


def _break_socket_thread_connection(tag) -> int:
    """Lose the connection the socket thread keeps, as a database restart would; how many."""
    if ENGINE == "postgresql":
        return len(_admin_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", [tag]
        ))
    raw = connections["default"].connection
    if raw is None:
        return 0
    raw.close()
    return 1


async def break_socket_thread_connection(tag) -> int:
    if ENGINE == "postgresql":
        return await sync_to_async(_break_socket_thread_connection, thread_sensitive=False)(tag)
    return await sync_to_async(_break_socket_thread_connection)(tag)


class CommunicatorWithConnectionCleanup(WebsocketCommunicator):
    """channels' test communicator switches close_old_connections off while the consumer runs
    (to spare the test database); this one leaves it on, as it is under Daphne."""

    send_input = ApplicationCommunicator.send_input
    receive_output = ApplicationCommunicator.receive_output


def chat_socket(user, conversation_id) -> ChatSocket:
    socket = ChatSocket(user, conversation_id)
    socket.communicator.__class__ = CommunicatorWithConnectionCleanup
    return socket


async def ask_something_of_the_database(socket) -> dict:
    # "regenerate" with nothing to regenerate reads the conversation and refuses.
    await socket.send({"type": "regenerate"})
    return await socket.receive()


@pytest.mark.parametrize("conn_max_age", [0, 60] if ENGINE == "postgresql" else [0])
async def test_a_socket_keeps_working_after_its_database_connection_was_lost(
    henry, conversation, site_connections, conn_max_age
):
    configure, tag = site_connections
    await configure(CONN_MAX_AGE=conn_max_age, CONN_HEALTH_CHECKS=True)
    async with chat_socket(henry, conversation.pk) as socket:
        history = await socket.receive()  # read from the database
        assert history["conversation"]["title"] == "still here"
        lost = await break_socket_thread_connection(tag)
        assert lost == (1 if conn_max_age else 0), "a connection is kept between calls only with CONN_MAX_AGE"

        answer = await ask_something_of_the_database(socket)
        assert answer["code"] == "nothing_to_regenerate"


async def test_without_the_safeguard_a_lost_connection_fails_the_next_call(henry, conversation, site_connections):
    # PostgreSQL: why CONN_HEALTH_CHECKS is on. SQLite connections have no health check: a
    # handle closed behind Django's back stays broken (nothing but the process can close one).
    configure, tag = site_connections
    await configure(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=False)
    socket = chat_socket(henry, conversation.pk)
    await socket.communicator.connect()
    await socket.receive()
    assert await break_socket_thread_connection(tag) == 1
    await socket.send({"type": "regenerate"})
    # The consumer dies on the error; the communicator reports it once its wait runs out.
    with pytest.raises(DatabaseError):
        await socket.receive(timeout=1)


async def test_no_http_request_leaves_a_connection_behind_to_go_stale(session_cookie, site_connections):
    configure, tag = site_connections
    await configure(CONN_MAX_AGE=0)  # PostgreSQL's default
    opened = []

    def remember(sender, connection, **kwargs):
        opened.append(connection)

    connection_created.connect(remember)
    try:
        for _ in range(2):
            communicator = HttpCommunicator(
                get_asgi_application(), "GET", "/api/conversations/",
                headers=[(b"host", b"testserver"), (b"cookie", session_cookie.encode())],
            )
            response = await communicator.get_response(timeout=15)
            await communicator.wait(timeout=15)  # the handler has finished its clean-up
            assert response["status"] == 200 and b"still here" in response["body"]
    finally:
        connection_created.disconnect(remember)
    assert opened, "the requests used the database"
    assert all(wrapper.connection is None for wrapper in opened), "closed with the request that opened it"
    if ENGINE == "postgresql":
        assert await sync_to_async(_admin_query, thread_sensitive=False)(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [tag]
        ) == []


async def test_sqlite_keeps_its_connection_and_postgresql_closes_it_after_each_call(henry, conversation):
    # The defaults of glmweb/settings.py: SQLite has no server to lose a connection and is
    # costly to reconnect to; PostgreSQL's connections can go stale when its server restarts.
    opened = []

    def remember(sender, connection, **kwargs):
        opened.append(connection)

    await close_socket_thread_connection()
    connection_created.connect(remember)
    try:
        async with chat_socket(henry, conversation.pk) as socket:
            await socket.receive()
            for _ in range(3):
                assert (await ask_something_of_the_database(socket))["code"] == "nothing_to_regenerate"
    finally:
        connection_created.disconnect(remember)
    if ENGINE == "sqlite":
        assert len(opened) == 1, "one connection, opened once, served every call"
        assert opened[0].connection is not None, "and it is kept for the next one"
    else:
        assert len(opened) >= 4, "a connection per call"
        assert all(wrapper.connection is None for wrapper in opened), "each closed after its call"

"""A connection lost around a create's COMMIT: the client gets 201 for the user exactly once — never
409 for its own user, never a second user. Between wpscim and the database sits a TCP proxy that
cuts the connection once it has forwarded the round trip carrying the COMMIT (the server commits,
the answer is lost), or just before it forwards it (nothing is committed)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from conftest import Api

from wpscim.app import create_app
from wpscim.wordpress import tokens
from wpscim.wordpress.db import Database, DatabaseAddress
from wpscim.wordpress.storage import Storage
from wpscim.wordpress.tokens import TokenStore
from wpscim.wordpress.users import writing


class CuttingProxy:
    """Forwards one TCP port to the database; `cut` ("after" or "before") drops the next client→server
    packet that holds `needle`, after forwarding it or instead of forwarding it."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut: str | None = None
        self.needle = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            pair = {"silenced": False}  # set once the cut round trip is forwarded: its answer never reaches wpscim
            threading.Thread(target=self._pump, args=(client, server, pair, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, pair, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, pair: dict, upstream: bool) -> None:
        try:
            while data := source.recv(65536):
                if not upstream:
                    if pair["silenced"]:
                        continue
                    sink.sendall(data)
                    continue
                cut = None
                if self.needle and self.needle in data:
                    with self.lock:
                        cut, self.cut = self.cut, None
                if cut == "before":
                    break
                if cut == "after":
                    pair["silenced"] = True
                sink.sendall(data)
                if cut == "after":
                    time.sleep(0.3)  # the server runs the round trip, COMMIT included; its answer is dropped
                    break
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxied(wp, mysql_server, monkeypatch):
    monkeypatch.setattr(writing, "REPLAY_AFTER_SECONDS", 1)  # a create sent again after 1 s is a retry, not 5 s
    proxy = CuttingProxy(mysql_server["host"], mysql_server["port"])
    address = DatabaseAddress("127.0.0.1", proxy.port, mysql_server["user"], mysql_server["password"], wp.name)
    db = Database(address, max_connections=4)
    storage = Storage(db, wp.site)
    api = Api(create_app(storage), TokenStore(wp.db, wp.site).create("proxied"))
    yield proxy, api
    db.close()
    proxy.close()


@pytest.mark.parametrize("when", ["after", "before"])
def test_a_create_whose_commit_answer_is_lost_answers_201_once(proxied, wp, when, caplog):
    proxy, api = proxied
    assert api.post("/Users", json={"userName": f"warm.{when}"}).status_code == 201  # a write connection is open
    proxy.needle, proxy.cut = b"; COMMIT;", when  # the create's round trip (not a session's READ COMMITTED)
    body = {"userName": f"lost.{when}@example.com", "externalId": f"lost-{when}", "name": {"givenName": "Lost", "familyName": "Answer"}}
    result = api.post("/Users", json=body)
    assert proxy.cut is None, "the proxy never saw the COMMIT: the test proves nothing"
    assert result.status_code == 201, result.text
    assert result.json["userName"] == body["userName"] and result.json["name"]["givenName"] == "Lost"
    users = wp.sql("SELECT ID FROM wp_users WHERE user_email = %s OR user_login = %s", (body["userName"], body["userName"]))
    assert [str(users[0][0])] == [result.json["id"]] and len(users) == 1
    events = wp.sql("SELECT resource_id FROM wp_wpscim_events WHERE action = 'create' AND resource_id = %s", (result.json["id"],))
    assert len(events) == 1
    resolved = "the COMMIT's answer was lost, but the change was saved" in caplog.text
    assert resolved == (when == "after"), caplog.text  # committed: found by its event; not: simply run again
    # The same create sent again (its first answer lost on the way to the client) answers with the user
    # it made; a different create of the same userName is still refused.
    assert api.post("/Users", json=body).status_code == 409  # at once, it is a duplicate sent in parallel
    time.sleep(writing.REPLAY_AFTER_SECONDS + 0.2)
    again = api.post("/Users", json=body)
    assert again.status_code == 201 and again.json["id"] == result.json["id"], again.text
    # The answer sent again writes no event (an event of a create takes its user from @wpscim_user,
    # which would name whichever user this connection inserted last).
    assert not wp.sql("SELECT id FROM wp_wpscim_events WHERE request_id = %s", (again.headers["X-Request-Id"],))
    assert len(wp.sql("SELECT id FROM wp_wpscim_events WHERE action = 'create' AND resource_id = %s", (result.json["id"],))) == 1
    assert api.post("/Users", json={**body, "externalId": f"other-{when}"}).status_code == 409
    another_token = Api(api.client.app, TokenStore(wp.db, wp.site).create(f"another-{when}"))
    time.sleep(tokens.CACHE_SECONDS)  # until the app reads the tokens again
    assert another_token.post("/Users", json=body).status_code == 409
    assert len(wp.sql("SELECT ID FROM wp_users WHERE user_login = %s", (body["userName"],))) == 1

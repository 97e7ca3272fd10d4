# -*- coding: utf-8 -*-
"""The quarantine application (roles/quarantine_web/files/quarantine_app.py) without Apache or PostgreSQL:
sessions, CSRF, the login rate limit, escaping and the AM.PDP release request. The Molecule default scenario
runs it for real behind mod_wsgi."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import importlib.util
import io
import os
import socket
import sys
import threading
import types
from urllib.parse import urlencode

import pytest

from ansible_collections.securemail.gateway.plugins.filter.quarantine_web_inputs import quarantine_accounts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = 'unit-test-secret-key-0123456789abcdef'
USERS = [{'email': 'alice@example.org', 'password': 'alice-password-1'},
         {'email': 'admin@example.org', 'password': 'admin-password-1', 'admin': True}]


@pytest.fixture
def app(monkeypatch):
    # psycopg2 is the host's (python3-psycopg2); nothing here reaches a database.
    monkeypatch.setitem(sys.modules, 'psycopg2', types.ModuleType('psycopg2'))
    spec = importlib.util.spec_from_file_location(
        'quarantine_app', os.path.join(ROOT, 'roles', 'quarantine_web', 'files', 'quarantine_app.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._config.update({'secret_key': KEY, 'session_timeout': 900, 'login_attempts': 3, 'login_window': 300,
                           'users': quarantine_accounts(USERS, KEY), 'gateways': {}, 'database': {}})
    return module


def call(app, method, path, form=None, cookies=None, addr='10.0.0.9'):
    body = urlencode(form or {}).encode()
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': path, 'REMOTE_ADDR': addr, 'CONTENT_LENGTH': str(len(body)),
               'wsgi.input': io.BytesIO(body),
               'HTTP_COOKIE': '; '.join('%s=%s' % kv for kv in (cookies or {}).items())}
    seen = {}

    def start(status, headers):
        seen['status'], seen['headers'] = status, headers
    out = b''.join(app.application(environ, start))
    jar = dict(cookies or {})
    for name, value in seen['headers']:
        if name == 'Set-Cookie':
            key, val = value.split(';', 1)[0].split('=', 1)
            jar[key] = val
    return int(seen['status'].split()[0]), dict(seen['headers']), out.decode(), jar


def login(app, user, password, addr='10.0.0.9'):
    body, jar = call(app, 'GET', '/login', addr=addr)[2:]
    token = body.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return call(app, 'POST', '/login', {'csrf': token, 'user': user, 'password': password}, jar, addr=addr)


def test_the_role_hashes_are_what_the_application_checks(app):
    alice = app.config()['users'][0]
    assert app.password_ok(alice, 'alice-password-1')
    assert not app.password_ok(alice, 'alice-password-2')
    assert not app.password_ok({}, 'alice-password-1')


def test_a_login_gives_a_signed_strict_session_cookie(app):
    status, headers, jar = [login(app, 'alice@example.org', 'alice-password-1')[i] for i in (0, 1, 3)]
    assert status == 303 and headers['Location'] == '/'
    session = app.unsign(jar['securemail_quarantine'])
    assert session['user'] == 'alice@example.org' and not session['admin'] and len(session['csrf']) >= 24
    cookie = [v for k, v in headers.items() if k == 'Set-Cookie'][0]
    assert all(flag in cookie for flag in ('Secure', 'HttpOnly', 'SameSite=Strict'))


def test_a_tampered_cookie_is_no_session(app):
    value = app.sign({'user': 'alice@example.org', 'admin': False, 'csrf': 'x', 'seen': 0, 'since': 0})
    body, mac = value.rsplit('.', 1)
    forged = app.sign({'user': 'alice@example.org', 'admin': True})
    assert app.unsign(value) and app.unsign(forged.rsplit('.', 1)[0] + '.' + mac) is None
    assert app.unsign(body + '.' + '0' * 64) is None and app.unsign('garbage') is None


def test_an_idle_or_old_session_is_refused(app, monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(app.time, 'time', lambda: now)
    idle = app.sign({'user': 'alice@example.org', 'csrf': 'c', 'seen': now - 901, 'since': now - 901})
    old = app.sign({'user': 'alice@example.org', 'csrf': 'c', 'seen': now - 1, 'since': now - 13 * 3600})
    fresh = app.sign({'user': 'alice@example.org', 'csrf': 'c', 'seen': now - 1, 'since': now - 1})
    for value, expected in ((idle, None), (old, None)):
        assert app.session_of({'HTTP_COOKIE': 'securemail_quarantine=' + value}) is expected
    assert app.session_of({'HTTP_COOKIE': 'securemail_quarantine=' + fresh})['user'] == 'alice@example.org'
    status, headers = call(app, 'GET', '/', cookies={'securemail_quarantine': idle})[:2]
    assert status == 303 and headers['Location'] == '/login'


def test_a_post_without_the_sessions_token_is_refused(app):
    jar = login(app, 'alice@example.org', 'alice-password-1')[3]
    for form in ({'id': 'AAAAAAAAAAAA.0'}, {'id': 'AAAAAAAAAAAA.0', 'csrf': 'forged'}):
        assert call(app, 'POST', '/release', form, jar)[0] == 403
    # A login form without its own token, too (login CSRF).
    assert call(app, 'POST', '/login', {'user': 'alice@example.org', 'password': 'alice-password-1'})[0] == 403


def test_failed_logins_are_throttled_per_address_and_per_account(app):
    for attempt in range(3):
        assert login(app, 'alice@example.org', 'wrong')[0] == 401, attempt
    assert login(app, 'alice@example.org', 'alice-password-1')[0] == 429
    # The account is throttled from another address too; another account from a new address is not.
    assert login(app, 'alice@example.org', 'alice-password-1', addr='10.0.0.10')[0] == 429
    assert login(app, 'admin@example.org', 'admin-password-1', addr='10.0.0.11')[0] == 303


def test_the_throttle_forgets_after_the_window(app, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(app.time, 'time', lambda: now[0])
    for attempt in range(3):
        assert not app.throttled(['user:x']), attempt
        app.throttled(['user:x'], record=True)
    assert app.throttled(['user:x'])
    now[0] += 301
    assert not app.throttled(['user:x'])


@pytest.mark.parametrize('ident', ['', 'short.0', 'AAAAAAAAAAAA', 'AAAAAAAAAAAA.x', "AAAAAAAAAAA'.0",
                                   'AAAAAAAAAAAA.0;DROP', 'AAAAAAAAAAAA/0'])
def test_a_malformed_id_is_refused_before_any_query(app, ident):
    assert app.parse_ident(ident) is None
    assert app.parse_ident('Ab+_-9AAAAAA.3') == ('Ab+_-9AAAAAA', 3)


class FakeCursor:
    def __init__(self, rows):
        self.rows = rows
        self.queries = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, query, params=None):
        self.queries.append((query, params))

    def fetchall(self):
        return self.rows


class FakeConnection(FakeCursor):
    def cursor(self):
        return self.cursor_

    def close(self):
        pass


def test_the_list_escapes_what_senders_control_and_passes_the_user_as_a_parameter(app, monkeypatch):
    when = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc)
    row = ('AAAAAAAAAAAA', 0, when, '"><img src=x>@example.net', "<script>alert(1)</script>'; DROP TABLE msgs",
           'S', 9.5, 'alice@example.org', ' ', 'gw1')
    conn = FakeConnection([])
    conn.cursor_ = FakeCursor([row])
    monkeypatch.setattr(app, 'connect', lambda: conn)
    html_out = app.listing({'user': 'alice@example.org', 'admin': False, 'csrf': 'tok'})
    assert '<script>' not in html_out and '<img' not in html_out
    assert '&lt;script&gt;alert(1)&lt;/script&gt;&#x27;; DROP TABLE msgs' in html_out
    assert 'spam (score 9.5)' in html_out
    query, params = conn.cursor_.queries[0]
    assert params == {'admin': False, 'user': 'alice@example.org'} and 'alice' not in query


def test_the_release_request_is_amavisd_releases_and_needs_a_250(app):
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    got = {}

    def amavisd():
        conn = server.accept()[0]
        data = b''
        while not data.endswith(b'\r\n\r\n'):
            data += conn.recv(4096)
        got['request'] = data.decode()
        conn.sendall(b'setreply=250 2.0.0 Ok, id=rel-1, from MTA([127.0.0.1]:10025): 250 2.0.0 Ok\r\n\r\n')
        conn.close()
    thread = threading.Thread(target=amavisd)
    thread.start()
    ok, reply = app.am_pdp_release('127.0.0.1:%d' % server.getsockname()[1], 'AAAAAAAAAAAA', 'SECRETSECRET',
                                   'alice@example.org')
    thread.join()
    server.close()
    assert ok and reply.startswith('250 2.0.0')
    lines = got['request'].split('\r\n')
    assert lines == ['request=release', 'mail_id=AAAAAAAAAAAA', 'secret_id=SECRETSECRET',
                     'recipient=<alice@example.org>', 'requested_by=<alice@example.org>', '', '']

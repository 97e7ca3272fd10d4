# securemail.gateway: the end-user quarantine, a WSGI application run by
# Debian's mod_wsgi in its own daemon process (one process, so the login rate
# limit below is one table). Standard library and python3-psycopg2 only.
#
# Users log in with the accounts the role writes into the configuration file
# (PBKDF2-SHA256 hashes); each sees the messages quarantined for their own
# address (an admin sees all), releases one (amavisd's AM.PDP release request
# to the gateway that holds it, with the message's secret_id) or deletes it
# (release status D; the database's daily expiry removes it).
# Sessions are HMAC-signed cookies (Secure, HttpOnly, SameSite=Strict) with an
# idle timeout; every POST carries the session's CSRF token; every query is
# parameterized; every value is HTML-escaped; a message is shown as text/plain.

import base64
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import smtplib
import socket
import sys
import threading
import time
from email.message import EmailMessage
from urllib.parse import parse_qs, quote

import psycopg2

CONFIG = os.environ.get('SECUREMAIL_QUARANTINE_CONFIG', '/etc/securemail-quarantine/config.json')
COOKIE = 'securemail_quarantine'
MAIL_ID = re.compile(r'^[A-Za-z0-9+_-]{12,16}$')
REASONS = {'V': 'virus', 'B': 'banned file', 'S': 'spam', 'Y': 'spam', 'H': 'bad header', 'M': 'bad MIME',
           'U': 'unchecked', 'O': 'oversized'}
HEADERS = [('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                       "frame-ancestors 'none'; base-uri 'none'"),
           ('Cache-Control', 'no-store'), ('X-Content-Type-Options', 'nosniff')]

_failures = {}
_failures_lock = threading.Lock()
_config = {}


def config():
    if not _config:
        with open(CONFIG) as f:
            _config.update(json.load(f))
    return _config


def password_ok(user, password):
    """Constant time whether the user exists or not."""
    try:
        scheme, iterations, salt, expected = user['hash'].split('$')
    except (KeyError, TypeError, ValueError):
        scheme, iterations, salt, expected = 'pbkdf2_sha256', '600000', 'AAAA', 'AAAA'
    got = hashlib.pbkdf2_hmac('sha256', password.encode('utf-8'), base64.b64decode(salt), int(iterations))
    return scheme == 'pbkdf2_sha256' and hmac.compare_digest(base64.b64encode(got).decode(), expected) \
        and bool(user.get('email'))


def throttled(keys, record=False):
    """Whether one of keys (the client's address, the account) failed too often lately; record a failure."""
    cfg = config()
    now = time.time()
    with _failures_lock:
        for key in keys:
            recent = [t for t in _failures.get(key, []) if now - t < cfg['login_window']]
            if record:
                recent.append(now)
            _failures[key] = recent
        return any(len(_failures[k]) >= cfg['login_attempts'] + (1 if record else 0) for k in keys)


def sign(payload):
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(',', ':')).encode()).decode()
    mac = hmac.new(config()['secret_key'].encode(), body.encode(), hashlib.sha256).hexdigest()
    return body + '.' + mac


def unsign(value):
    try:
        body, mac = value.rsplit('.', 1)
        good = hmac.new(config()['secret_key'].encode(), body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, good):
            return None
        return json.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, TypeError):
        return None


def signed_cookie(environ, name):
    """The verified contents of the request's cookie ``name``, or None."""
    cookies = dict(part.strip().split('=', 1) for part in environ.get('HTTP_COOKIE', '').split(';') if '=' in part)
    return unsign(cookies.get(name, ''))


def session_of(environ):
    data = signed_cookie(environ, COOKIE)
    if not data:
        return None
    now = time.time()
    if now - data.get('seen', 0) > config()['session_timeout'] or now - data.get('since', 0) > 12 * 3600:
        return None
    return data


def cookie(data):
    value = sign(data) if data else ''
    return ('Set-Cookie', '%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict%s'
            % (COOKIE, value, '' if data else '; Max-Age=0'))


def page(title, body, session=None):
    user = ''
    if session:
        user = ('<form method="post" action="/logout" style="float:right">%s %s'
                '<input type="hidden" name="csrf" value="%s"><button>Log out</button></form>'
                % (html.escape(session['user']), '(admin)' if session.get('admin') else '',
                   html.escape(session['csrf'])))
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>%s</title></head>'
            '<body style="font-family:sans-serif">%s<h1>%s</h1>%s</body></html>'
            % (html.escape(title), user, html.escape(title), body)).encode('utf-8')


def respond(start, status, body, headers=(), ctype='text/html; charset=utf-8'):
    start(status, [('Content-Type', ctype), ('Content-Length', str(len(body)))] + HEADERS + list(headers))
    return [body]


def redirect(start, where, headers=()):
    return respond(start, '303 See Other', b'', [('Location', where)] + list(headers))


def connect():
    db = config()['database']
    return psycopg2.connect(host=db['host'], port=db['port'], dbname=db['name'], user=db['user'],
                            password=db['password'], sslmode=db['sslmode'], connect_timeout=10,
                            application_name='securemail-quarantine')


LIST = """
SELECT encode(m.mail_id, 'escape'), r.rseqnum, m.time_iso, convert_from(s.email, 'UTF8'), m.subject, m.content,
       m.spam_level, convert_from(a.email, 'UTF8'), r.rs, m.host
  FROM msgs m JOIN msgrcpt r ON r.mail_id = m.mail_id JOIN maddr a ON a.id = r.rid JOIN maddr s ON s.id = m.sid
 WHERE m.quar_type = 'Q' AND r.rs NOT IN ('D') AND (%(admin)s OR a.email = convert_to(%(user)s, 'UTF8'))
 ORDER BY m.time_num DESC LIMIT 500
"""
# One recipient's copy, only when it is the user's (or the user is an admin).
ONE = """
SELECT encode(m.secret_id, 'escape'), m.host, r.rs, convert_from(a.email, 'UTF8'), a.id
  FROM msgs m JOIN msgrcpt r ON r.mail_id = m.mail_id JOIN maddr a ON a.id = r.rid
 WHERE m.mail_id = convert_to(%(mail_id)s, 'UTF8') AND r.rseqnum = %(rseqnum)s AND m.quar_type = 'Q'
   AND (%(admin)s OR a.email = convert_to(%(user)s, 'UTF8'))
"""


def listing(session):
    with connect() as conn, conn.cursor() as cur:
        cur.execute(LIST, {'admin': bool(session.get('admin')), 'user': session['user']})
        rows = cur.fetchall()
    conn.close()
    if not rows:
        return '<p>No quarantined messages.</p>'
    out = ['<table border="1" cellpadding="4"><tr><th>Received</th><th>From</th><th>Subject</th><th>Reason</th>'
           '%s<th>Status</th><th></th></tr>' % ('<th>Recipient</th>' if session.get('admin') else '')]
    for mail_id, rseq, when, sender, subject, content, level, rcpt, rs, _host in rows:
        reason = REASONS.get(content, content or '?')
        if content in ('S', 'Y') and level is not None:
            reason += ' (score %.1f)' % level
        ident = '%s.%d' % (mail_id, rseq)
        actions = ''
        if rs not in ('R',):
            actions = ''.join(
                '<form method="post" action="/%s" style="display:inline"><input type="hidden" name="id" value="%s">'
                '<input type="hidden" name="csrf" value="%s"><button name="do" value="%s">%s</button></form>'
                % (verb, html.escape(ident), html.escape(session['csrf']), verb, label)
                for verb, label in (('release', 'Release'), ('delete', 'Delete')))
        out.append('<tr class="message"><td>%s</td><td>%s</td><td><a href="/message/%s">%s</a></td><td>%s</td>%s'
                   '<td>%s</td><td>%s</td></tr>'
                   % (html.escape(when.strftime('%Y-%m-%d %H:%M UTC')), html.escape(sender),
                      quote(ident, safe=''), html.escape(subject or '(no subject)'), html.escape(reason),
                      '<td>%s</td>' % html.escape(rcpt) if session.get('admin') else '',
                      'released' if rs == 'R' else 'held', actions))
    out.append('</table>')
    return ''.join(out)


def parse_ident(value):
    # mail_id.rseqnum: a dot is in no mail_id, and an encoded slash in a path
    # is refused by Apache.
    mail_id, dot, rseq = (value or '').partition('.')
    if not dot or not MAIL_ID.match(mail_id) or not rseq.isdigit():
        return None
    return mail_id, int(rseq)


def owned(cur, session, mail_id, rseqnum):
    cur.execute(ONE, {'mail_id': mail_id, 'rseqnum': rseqnum, 'admin': bool(session.get('admin')),
                      'user': session['user']})
    return cur.fetchone()


def am_pdp_release(endpoint, mail_id, secret_id, recipient):
    """The release request amavisd-release sends, to the gateway's AM.PDP port; True when amavisd says 250."""
    host, port = endpoint.rsplit(':', 1)
    # Only to this recipient (recipient= replaces the envelope's), and the
    # releaser lands in Resent-From.
    fields = (('request', 'release'), ('mail_id', mail_id), ('secret_id', secret_id),
              ('recipient', '<%s>' % recipient), ('requested_by', '<%s>' % recipient))
    request = ''.join('%s=%s\r\n' % kv for kv in fields) + '\r\n'
    with socket.create_connection((host.strip('[]'), int(port)), timeout=60) as sock:
        sock.sendall(request.encode('utf-8'))
        answer = b''
        while not answer.endswith(b'\r\n\r\n'):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    replies = [line.split('=', 1)[1] for line in answer.decode('utf-8', 'replace').split('\r\n')
               if line.startswith('setreply=')]
    return any(r.startswith('250') for r in replies), ' '.join(replies)


def act(session, verb, ident):
    """Release or delete one recipient's copy; (HTTP status, message)."""
    parsed = parse_ident(ident)
    if not parsed:
        return '400 Bad Request', 'No such message.'
    mail_id, rseqnum = parsed
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            row = owned(cur, session, mail_id, rseqnum)
            # Another user's id, or none: the same answer, so ids cannot be probed.
            if not row:
                return '404 Not Found', 'No such message.'
            secret_id, gateway, rs, recipient, rid = row
            if rs in ('R', 'D'):
                return '409 Conflict', 'This message was already %s.' % ('released' if rs == 'R' else 'deleted')
            # Claimed first, so a replayed or concurrent request finds it taken.
            mark = 'R' if verb == 'release' else 'D'
            cur.execute("UPDATE msgrcpt SET rs = %s WHERE mail_id = convert_to(%s, 'UTF8') AND rseqnum = %s"
                        " AND rid = %s AND rs NOT IN ('R', 'D')", (mark, mail_id, rseqnum, rid))
            if cur.rowcount != 1:
                return '409 Conflict', 'This message was already handled.'
            if verb == 'delete':
                return '200 OK', 'Deleted.'
            endpoint = config()['gateways'].get(gateway)
            if not endpoint:
                conn.rollback()
                return '502 Bad Gateway', 'No release address is known for gateway %s.' % gateway
            try:
                ok, reply = am_pdp_release(endpoint, mail_id, secret_id, recipient)
            except OSError as e:
                ok, reply = False, str(e)
            if not ok:
                conn.rollback()
                return '502 Bad Gateway', 'The gateway did not release it: %s' % reply
            return '200 OK', 'Released to %s.' % recipient
    finally:
        conn.close()


def show(session, ident):
    parsed = parse_ident(ident)
    if not parsed:
        return None
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            if not owned(cur, session, *parsed):
                return None
            cur.execute("SELECT mail_text FROM quarantine WHERE mail_id = convert_to(%s, 'UTF8') ORDER BY chunk_ind",
                        (parsed[0],))
            return b''.join(bytes(r[0]) for r in cur.fetchall())
    finally:
        conn.close()


def login_form(csrf, message=''):
    return ('%s<form method="post" action="/login"><input type="hidden" name="csrf" value="%s">'
            '<p><label>Address <input name="user" autocomplete="username"></label></p>'
            '<p><label>Password <input name="password" type="password" autocomplete="current-password"></label></p>'
            '<p><button>Log in</button></p></form>'
            % ('<p role="alert">%s</p>' % html.escape(message) if message else '', html.escape(csrf)))


def form_of(environ):
    try:
        size = int(environ.get('CONTENT_LENGTH') or 0)
    except ValueError:
        size = 0
    body = environ['wsgi.input'].read(min(size, 65536)).decode('utf-8', 'replace')
    return {k: v[0] for k, v in parse_qs(body).items()}


def application(environ, start):
    method, path = environ['REQUEST_METHOD'], environ.get('PATH_INFO', '/')
    session = session_of(environ)
    client = environ.get('REMOTE_ADDR', '')
    if method == 'POST':
        form = form_of(environ)
        # The login form's token lives in a pre-session cookie; every other
        # form's in the session.
        expected = (session or {}).get('csrf') if path != '/login' else (session_of_pre(environ) or {}).get('csrf')
        if not expected or not hmac.compare_digest(form.get('csrf', ''), expected):
            return respond(start, '403 Forbidden', page('Refused', '<p>The form expired; reload the page.</p>'))
    if path == '/login':
        if method == 'POST':
            user_name = form.get('user', '').strip().lower()
            keys = ['addr:' + client, 'user:' + user_name]
            if throttled(keys):
                return respond(start, '429 Too Many Requests',
                               page('Log in', '<p>Too many failed logins; wait a few minutes.</p>'))
            user = next((u for u in config()['users'] if u['email'] == user_name), None)
            if not password_ok(user or {}, form.get('password', '')):
                throttled(keys, record=True)
                pre = {'csrf': secrets.token_urlsafe(24), 'seen': time.time(), 'since': time.time(), 'pre': True}
                return respond(start, '401 Unauthorized', page('Log in', login_form(pre['csrf'], 'Wrong address or '
                                                                                    'password.')),
                               [pre_cookie(pre)])
            now = time.time()
            data = {'user': user['email'], 'admin': bool(user.get('admin')), 'csrf': secrets.token_urlsafe(24),
                    'seen': now, 'since': now}
            return redirect(start, '/', [cookie(data)])
        pre = {'csrf': secrets.token_urlsafe(24), 'seen': time.time(), 'since': time.time(), 'pre': True}
        return respond(start, '200 OK', page('Log in', login_form(pre['csrf'])), [pre_cookie(pre)])
    if not session or session.get('pre'):
        if method == 'POST':
            return respond(start, '401 Unauthorized', page('Log in', '<p>Your session expired.</p>'), [cookie(None)])
        return redirect(start, '/login', [cookie(None)])
    session['seen'] = time.time()
    refreshed = cookie(session)
    if path == '/logout' and method == 'POST':
        return redirect(start, '/login', [cookie(None)])
    if path in ('/release', '/delete') and method == 'POST':
        status, message = act(session, path[1:], form.get('id'))
        return respond(start, status, page('Quarantine', '<p role="status">%s</p><p><a href="/">Back</a></p>'
                                           % html.escape(message), session), [refreshed])
    if path.startswith('/message/') and method == 'GET':
        text = show(session, path[len('/message/'):])
        if text is None:
            return respond(start, '404 Not Found', page('Quarantine', '<p>No such message.</p>', session), [refreshed])
        return respond(start, '200 OK', text, [refreshed, ('Content-Disposition', 'inline')],
                       ctype='text/plain; charset=utf-8')
    if path == '/' and method == 'GET':
        return respond(start, '200 OK', page('Quarantine', listing(session), session), [refreshed])
    return respond(start, '404 Not Found', page('Not found', '<p>No such page.</p>', session), [refreshed])


PRE_COOKIE = COOKIE + '_login'


def session_of_pre(environ):
    data = signed_cookie(environ, PRE_COOKIE)
    if not data or time.time() - data.get('seen', 0) > config()['session_timeout']:
        return None
    return data


def pre_cookie(data):
    return ('Set-Cookie', '%s=%s; Path=/login; Secure; HttpOnly; SameSite=Strict' % (PRE_COOKIE, sign(data)))


# The daily digest, run by cron as the application's user:
#   python3 quarantine.wsgi --digest
# One plain-text mail per account with messages held in the last day, sent
# through the SMTP server of the configuration's digest section.
DIGEST = """
SELECT m.time_iso, convert_from(s.email, 'UTF8'), m.subject, m.content, m.spam_level
  FROM msgs m JOIN msgrcpt r ON r.mail_id = m.mail_id JOIN maddr a ON a.id = r.rid JOIN maddr s ON s.id = m.sid
 WHERE m.quar_type = 'Q' AND r.rs = ' ' AND a.email = convert_to(%(user)s, 'UTF8')
   AND m.time_iso > now() - interval '1 day'
 ORDER BY m.time_num
"""


def digest():
    cfg = config()
    sent = 0
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            for user in cfg['users']:
                cur.execute(DIGEST, {'user': user['email']})
                rows = cur.fetchall()
                if not rows:
                    continue
                lines = ['%d message(s) for %s were held in the quarantine during the last day.' % (
                    len(rows), user['email']), 'Release or delete them at %s' % cfg['digest']['url'], '']
                for when, sender, subject, content, level in rows:
                    reason = REASONS.get(content, content or '?')
                    if content in ('S', 'Y') and level is not None:
                        reason += ' (score %.1f)' % level
                    # Control characters from a sender's subject stay out of the text.
                    clean = re.sub(r'[\x00-\x1f\x7f]', ' ', subject or '(no subject)')
                    lines.append('%s  %s  %s  [%s]' % (when.strftime('%Y-%m-%d %H:%M UTC'), sender, clean, reason))
                mail = EmailMessage()
                mail['From'] = cfg['digest']['from']
                mail['To'] = user['email']
                mail['Subject'] = 'Quarantine digest: %d message(s) held' % len(rows)
                mail['Auto-Submitted'] = 'auto-generated'
                # 8bit: a subject line stays one line, whatever its length.
                mail.set_content('\n'.join(lines) + '\n', cte='8bit')
                host, port = cfg['digest']['smtp'].rsplit(':', 1)
                with smtplib.SMTP(host.strip('[]'), int(port), timeout=60) as smtp:
                    smtp.send_message(mail)
                sent += 1
    finally:
        conn.close()
    return sent


if __name__ == '__main__' and sys.argv[1:] == ['--digest']:
    print('%d digest(s) sent' % digest())

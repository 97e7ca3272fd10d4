# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A message's path through the gateway, rebuilt from Postfix and amavisd log lines.

Postfix logs one line per step under a queue id; the content filter hands the
message back under a new queue id, and amavisd writes its verdict in a log of
its own. This file reads those lines (syslog or RFC3339 time stamps, plain or
compressed rotations), ties the queue ids of one message together and says
what became of each message and of each of its recipients.

Pure Python on purpose: the module calls it on the host, and the unit tests
feed it the lines of a real gateway.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bz2
import datetime
import gzip
import heapq
import os
import re

try:
    import lzma
except ImportError:  # Python built without liblzma: .xz rotations are skipped, not fatal.
    lzma = None

OUTCOMES = ('delivered', 'quarantined', 'bounced', 'deferred', 'discarded', 'held', 'in_queue', 'mixed')
SUMMARY_KEYS = ('accepted',) + OUTCOMES + ('rejected',)

_MONTHS = dict((name, number) for number, name in enumerate(
    ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'), 1))
_PROGRAM = r'(?P<host>\S+) (?P<program>[^\s\[]+)(?:\[(?P<pid>\d+)\])?: (?P<text>.*)$'
_SYSLOG_RE = re.compile(r'^(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<clock>\d\d:\d\d:\d\d)(?P<frac>\.\d+)? ' + _PROGRAM)
_RFC3339_RE = re.compile(r'^(?P<stamp>(?P<date>\d{4}-\d\d-\d\d)[T ](?P<clock>\d\d:\d\d:\d\d)(?P<frac>\.\d+)?'
                         r'(?P<tz>Z|[+-]\d\d:?\d\d)?) ' + _PROGRAM)

# Short queue ids are upper-case hex; long ones (enable_long_queue_ids) use
# digits and consonants around a "z", so words such as "warning" never match.
_QID = r'[0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]{10,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]+'
_QID_LINE_RE = re.compile(r'^(?P<qid>%s): (?P<rest>.*)$' % _QID)
_CLIENT_RE = re.compile(r'^client=(?P<client>[^,\s]+)(?P<attrs>.*)$')
_ATTR_RE = re.compile(r', (orig_queue_id|orig_client)=([^,\s]+)')
_PICKUP_RE = re.compile(r'^uid=(?P<uid>\d+) from=<(?P<sender>[^>]*)>')
_MESSAGE_ID_RE = re.compile(r'^(?:resent-)?message-id=(?P<mid>.*)$')
_QMGR_RE = re.compile(r'^from=<(?P<sender>[^>]*)>, size=(?P<size>\d+), nrcpt=(?P<nrcpt>\d+)')
_EXPIRED_RE = re.compile(r'^from=<(?P<sender>[^>]*)>, status=expired')
_DELIVERY_RE = re.compile(r'^to=<(?P<to>[^>]*)>,(?: orig_to=<(?P<orig_to>[^>]*)>,)? relay=(?P<relay>[^,]+),'
                          r'.*? dsn=(?P<dsn>[\d.]+), status=(?P<status>\w+)(?: \((?P<reply>.*)\))?$')
# smtpd access decisions: "ACTION: STAGE from CLIENT: REASON; from=<s> to=<r> proto=... helo=<h>".
# The reason may hold "; " itself (DNSBL replies), so the split is at the last "; from=<".
_SMTPD_ACTION_RE = re.compile(r'^(?P<action>reject|milter-reject|discard|milter-discard|hold|milter-hold): '
                              r'(?P<stage>[A-Z][A-Z-]*) from (?P<client>\S+): (?P<reason>.*); '
                              r'from=<(?P<sender>[^>]*)>(?: to=<(?P<rcpt>[^>]*)>)?')
# cleanup content checks: "ACTION: header|body TEXT from CLIENT; from=<s> to=<r> ...: optional text".
_CLEANUP_ACTION_RE = re.compile(r'^(?P<action>reject|discard|hold): (?P<stage>header|body|mime-header|nested-header) '
                                r'(?P<what>.*) from (?P<client>\S+); from=<(?P<sender>[^>]*)>'
                                r'(?: to=<(?P<rcpt>[^>]*)>)?(?: proto=\S+)?(?: helo=<[^>]*>)?(?:: (?P<reason>.*))?$')
_NOTIFICATION_RE = re.compile(r'^(?P<who>sender|postmaster) (?P<kind>non-delivery|delay|delivery status) '
                              r'notification: (?P<child>%s)$' % _QID)
_QUEUED_AS_RE = re.compile(r'queued as (%s)' % _QID)
_FILTER_REPLY_MARKERS = ('from MTA(', 'Ok, discarded')
_REPLY_LINK_WINDOW = 3600

_AMAVIS_RE = re.compile(r'^(?:\([\w-]+\) )?(?P<verdict>Passed|Blocked) (?P<category>[A-Z][A-Z0-9-]*)(?: \([^)]*\))?'
                        r'(?: \{(?P<actions>[^}]*)\})?,')
_AMAVIS_FIELDS = dict(
    queue_id=re.compile(r', Queue-ID: (%s)' % _QID),
    message_id=re.compile(r', Message-ID: (<[^>]*>)'),
    mail_id=re.compile(r', mail_id: ([\w-]+)'),
    quarantine=re.compile(r', quarantine: ([^,\s]+)'),
    queued_as=re.compile(r', queued_as: ([0-9A-Za-z]+(?:/[0-9A-Za-z]+)*)'),
    hits=re.compile(r', Hits: ([-\d.]+)'),
    client=re.compile(r'\}?, (?:\w+ )?\[([^\]]+)\](?::\d+)?'),
)
_AMAVIS_ENVELOPE_RE = re.compile(r' <(?P<sender>[^>]*)> -> (?P<rcpts>(?:<[^>]*>,?)+)')

# Rotations of FILE: FILE.1, FILE.2.gz (logrotate), FILE.20261204-161233.gz
# (postfix logrotate), FILE-20261204.gz (logrotate dateext).
_ROTATION_RE = r'^%s(?:[.-](?P<date>\d{8}(?:-?\d{4,6})?)|\.(?P<number>\d+))(?:\.(?:gz|bz2|xz))?$'


# ---------------------------------------------------------------- lines and files

def parse_line(line, now=None):
    """One log line as a dict, or None when it is not a syslog or RFC3339 line.

    Keys: time (naive local datetime, for ordering only), stamp (the time stamp
    as logged, single-digit days padded), host, program, pid, text. Syslog
    stamps carry no year: a month after now's month is taken as last year's.
    """
    line = line.rstrip('\r\n')
    match = _SYSLOG_RE.match(line)
    if match:
        when = _syslog_time(match, now or datetime.datetime.now())
        stamp = '%s %02d %s%s' % (match.group('mon'), int(match.group('day')), match.group('clock'), match.group('frac') or '')
    else:
        match = _RFC3339_RE.match(line)
        if not match:
            return None
        when = _rfc3339_time(match)
        stamp = match.group('stamp')
    if when is None:
        return None
    return dict(time=when, stamp=stamp, host=match.group('host'), program=match.group('program'),
                pid=int(match.group('pid')) if match.group('pid') else None, text=match.group('text'))


def _fraction(text):
    return int((text or '.0')[1:7].ljust(6, '0'))


def _syslog_time(match, now):
    month = _MONTHS.get(match.group('mon'))
    if month is None:
        return None
    year = now.year if month <= now.month else now.year - 1
    hour, minute, second = (int(x) for x in match.group('clock').split(':'))
    try:
        return datetime.datetime(year, month, int(match.group('day')), hour, minute, second, _fraction(match.group('frac')))
    except ValueError:
        # 29 Feb in a year guessed wrong, or a day the month lacks.
        return None


def _rfc3339_time(match):
    try:
        when = datetime.datetime.strptime('%s %s' % (match.group('date'), match.group('clock')), '%Y-%m-%d %H:%M:%S')
    except ValueError:
        return None
    when = when.replace(microsecond=_fraction(match.group('frac')))
    zone = match.group('tz')
    if zone:
        offset = datetime.timedelta(0)
        if zone != 'Z':
            sign = -1 if zone[0] == '-' else 1
            digits = zone[1:].replace(':', '')
            offset = sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        # Syslog stamps are local time: bring zoned stamps to the same clock so both sort together.
        when = when.replace(tzinfo=datetime.timezone(offset)).astimezone().replace(tzinfo=None)
    return when


def rotated_files(path, names=None):
    """The rotations of path (oldest first) then path itself, those that exist.

    Numbered rotations (FILE.N[.gz], higher is older) come before dated ones
    (FILE.YYYYMMDD-HHMMSS[.gz], FILE-YYYYMMDD[.gz]), which sort by date: a
    host switched to dated names keeps its numbered files, which are older.
    names: the directory listing, for tests; read from disk when None.
    """
    directory, base = os.path.split(path)
    if names is None:
        try:
            names = os.listdir(directory or '.')
        except OSError:
            names = []
    pattern = re.compile(_ROTATION_RE % re.escape(base))
    numbered, dated = [], []
    for name in names:
        match = pattern.match(name)
        if not match:
            continue
        full = os.path.join(directory, name)
        if match.group('number') is not None:
            numbered.append((-int(match.group('number')), name, full))
        else:
            dated.append((match.group('date'), name, full))
    found = [full for dummy, dummy2, full in sorted(numbered) + sorted(dated)]
    if base in names or (not names and os.path.exists(path)):
        found.append(path)
    return found


def open_log(path):
    """A text file object for path, uncompressing gzip, bzip2 or xz by their magic bytes."""
    with open(path, 'rb') as handle:
        magic = handle.read(6)
    opener = open
    if magic[:2] == b'\x1f\x8b':
        opener = gzip.open
    elif magic[:3] == b'BZh':
        opener = bz2.open
    elif magic == b'\xfd7zXZ\x00':
        if lzma is None:
            raise IOError('%s is xz-compressed and this Python has no lzma module' % path)
        opener = lzma.open
    # Headers in logs are not always UTF-8; a bad byte must not stop the trace.
    return opener(path, 'rt', encoding='utf-8', errors='replace')


def read_lines(paths, read=None, errors=None):
    """Every line of paths, one file after the other (a rotation chain, oldest first).

    With lists for read and errors, a file that cannot be opened or ends early
    (a rotation being compressed) is noted in errors as (path, reason) and the
    next file is read; read gets every path read to its end.
    """
    for path in paths:
        try:
            with open_log(path) as handle:
                yield from handle
            if read is not None:
                read.append(path)
        except (IOError, OSError, EOFError) as exc:
            if errors is None:
                raise
            errors.append((path, str(exc)))


def merge_streams(streams, now=None):
    """Parsed lines of several streams (iterables of text lines), merged by time.

    Each stream (one log and its rotations) is in time order already; a merge
    keeps each stream's own order when stamps tie, and drops lines that are
    not log lines.
    """
    now = now or datetime.datetime.now()

    def parsed(index, lines):
        for number, line in enumerate(lines):
            record = parse_line(line, now)
            if record is not None:
                yield (record['time'], index, number), record

    merged = heapq.merge(*[parsed(i, s) for i, s in enumerate(streams)], key=lambda item: item[0])
    return (record for dummy, record in merged)


# ---------------------------------------------------------------- relays

def relay_key(value):
    """'host:port' (IPv6 hosts in brackets, lower case) for a next-hop such as
    '[127.0.0.1]:10024', 'smtp-amavis:[127.0.0.1]:10024', 'lmtp:inet:localhost:10024' or '127.0.0.1:10024';
    None for an empty value."""
    value = (value or '').strip()
    if not value:
        return None
    match = re.search(r'\[([^\]]*)\](?::(\d+))?$', value)
    if match:
        host, port = match.group(1), match.group(2)
    else:
        parts = value.split(':')
        if len(parts) >= 2 and parts[-1].isdigit():
            host, port = parts[-2], parts[-1]
        else:
            host, port = parts[-1], None
    return _join_host_port(host, port)


def _join_host_port(host, port):
    host = host.lower()
    if ':' in host:
        host = '[%s]' % host
    return '%s:%s' % (host, port) if port else host


def logged_relay_keys(relay):
    """Keys a logged relay ('name[addr]:port', 'local', 'none') answers to: by name and by address."""
    match = re.match(r'^([^\[]+)\[([^\]]*)\](?::(\d+))?$', relay)
    if not match:
        return set([relay.lower()])
    name, addr, port = match.groups()
    return set([_join_host_port(name, port), _join_host_port(addr, port)])


# ---------------------------------------------------------------- state per queue id

class _Record(object):
    """What the log says about one queue file (one instance of a queue id)."""

    def __init__(self, qid, line, seq):
        self.qid = qid
        self.host = line['host']
        self.time = line['time']
        self.seq = seq
        self.accepted = None  # (stamp, time, seq) of client= / uid= line
        self.via = None  # 'smtpd', 'pickup', or None (bounce daemon, amavisd-only)
        self.client = None
        self.uid = None
        self.orig_queue_id = None
        self.message_id = None
        self.sender = None
        self.size = None
        self.nrcpt = None
        self.queued = False
        self.deliveries = []
        self.actions = []
        self.verdicts = []
        self.notifications = []
        self.notes = []  # steps with event and text: hold/release by postsuper, expiry, removal
        self.expired = False
        self.removed = False
        self.held = False
        self.rejected = None
        self.parent = None
        self.link = None
        self.depth = 0
        self.children = []

    def evidence(self):
        """Whether the queue file was really accepted, not a transaction the client abandoned."""
        # A lone "removed" is the tail of a message whose lines are in a rotation not read.
        return bool(self.queued or self.deliveries or self.verdicts or self.expired or self.held
                    or (self.removed and self.accepted) or self.notifications or self.via == 'pickup'
                    or any(a['action'] in ('discard', 'hold') for a in self.actions))


def _step(line, seq, **fields):
    fields.update(stamp=line['stamp'], time=line['time'], seq=seq, host=line['host'])
    return fields


def _address_key(address):
    return (address or '').strip().strip('<>').lower()


class _Tracer(object):
    """Feeds parsed lines into records, then resolves each accepted message's path."""

    def __init__(self, filter_relays=None):
        self.filter_keys = set(k for k in (relay_key(r) for r in filter_relays or []) if k)
        self.records = []
        self.by_qid = {}
        self.current = {}
        self.refused = []
        self.seq = 0

    # ------------------------------------------------------------ reading

    def feed(self, line):
        self.seq += 1
        program = line['program']
        daemon = program.rsplit('/', 1)[-1]
        if daemon.startswith('amavis'):
            self._amavis(line)
        elif '/' in program or program.startswith('postfix'):
            self._postfix(line)

    def _record(self, qid, line, new_message=False):
        record = self.current.get(qid)
        # Postfix reuses short queue ids (they derive from the file's inode):
        # a second client= line for an id starts a new message.
        if record is None or (new_message and (record.accepted or record.removed)):
            record = _Record(qid, line, self.seq)
            self.current[qid] = record
            self.records.append(record)
            self.by_qid.setdefault(qid, []).append(record)
        return record

    def _postfix(self, line):
        text = line['text']
        if text.startswith('NOQUEUE: '):
            self._refusal(line, None, text[len('NOQUEUE: '):])
            return
        match = _QID_LINE_RE.match(text)
        if not match:
            return
        qid, rest = match.group('qid'), match.group('rest')
        for handler in (self._client, self._pickup, self._message_id, self._qmgr, self._expired, self._delivery,
                        self._action, self._notification, self._postsuper):
            if handler(line, qid, rest):
                return

    def _client(self, line, qid, rest):
        match = _CLIENT_RE.match(rest)
        if not match:
            return False
        record = self._record(qid, line, new_message=True)
        record.accepted = (line['stamp'], line['time'], self.seq)
        record.via, record.client = 'smtpd', match.group('client')
        attrs = dict(_ATTR_RE.findall(match.group('attrs')))
        record.orig_queue_id = attrs.get('orig_queue_id')
        # The original is still in the queue (the filter has not answered yet): this is its instance of the id.
        parent = self.current.get(record.orig_queue_id)
        if parent is not None:
            self._link(parent, record, 'reinjected')
        return True

    def _pickup(self, line, qid, rest):
        match = _PICKUP_RE.match(rest)
        if not match:
            return False
        record = self._record(qid, line, new_message=True)
        record.accepted = (line['stamp'], line['time'], self.seq)
        record.via, record.uid, record.client = 'pickup', int(match.group('uid')), 'local'
        record.sender = match.group('sender')
        return True

    def _message_id(self, line, qid, rest):
        match = _MESSAGE_ID_RE.match(rest)
        if not match:
            return False
        mid = match.group('mid').strip()
        if mid not in ('', '<>'):
            self._record(qid, line).message_id = mid
        return True

    def _qmgr(self, line, qid, rest):
        match = _QMGR_RE.match(rest)
        if not match:
            return False
        record = self._record(qid, line)
        record.queued = True
        record.sender, record.size, record.nrcpt = match.group('sender'), int(match.group('size')), int(match.group('nrcpt'))
        return True

    def _expired(self, line, qid, rest):
        if not _EXPIRED_RE.match(rest):
            return False
        record = self._record(qid, line)
        record.expired = True
        record.notes.append(_step(line, self.seq, event='expired', text='expired in the queue, returned to sender'))
        return True

    def _delivery(self, line, qid, rest):
        match = _DELIVERY_RE.match(rest)
        if not match:
            return False
        status = match.group('status')
        if status not in ('sent', 'deferred', 'bounced', 'expired'):
            # deliverable/undeliverable: address verification probes, not mail.
            return True
        record = self._record(qid, line)
        to, orig_to = match.group('to'), match.group('orig_to')
        reply = match.group('reply') or ''
        queued_as = _QUEUED_AS_RE.search(reply)
        record.deliveries.append(_step(
            line, self.seq, to=to, recipient=orig_to if orig_to is not None else to, relay=match.group('relay'),
            dsn=match.group('dsn'), status=status, reply=reply, child_qid=queued_as.group(1) if queued_as else None,
            program=line['program']))
        return True

    def _action(self, line, qid, rest):
        match = _CLEANUP_ACTION_RE.match(rest) or _SMTPD_ACTION_RE.match(rest)
        if not match:
            return False
        fields = match.groupdict()
        action = fields['action'].replace('milter-', '')
        record = self._record(qid, line)
        stage = fields['stage']
        reason = fields.get('reason') or ''
        if fields.get('what'):
            reason = ('%s %s: %s' % (stage, fields['what'], reason)).rstrip(': ')
        step = _step(line, self.seq, action=action, stage=stage, client=fields['client'], sender=fields['sender'],
                     recipient=fields['rcpt'], reason=reason)
        if action == 'reject':
            # A refused RCPT leaves the message to its other recipients; any later refusal loses it.
            if stage != 'RCPT':
                record.rejected = step
            self.refused.append((record, step))
        else:
            record.actions.append(step)
            if action == 'hold':
                record.held = True
        return True

    def _notification(self, line, qid, rest):
        match = _NOTIFICATION_RE.match(rest)
        if not match:
            return False
        record = self._record(qid, line)
        record.notifications.append(_step(line, self.seq, who=match.group('who'), kind=match.group('kind'),
                                          child_qid=match.group('child')))
        return True

    def _postsuper(self, line, qid, rest):
        if rest not in ('removed', 'placed on hold', 'released from hold'):
            return False
        record = self._record(qid, line)
        if rest == 'removed':
            record.removed = True
            record.notes.append(_step(line, self.seq, event='removed', text='removed from the queue'))
        elif rest == 'placed on hold':
            record.held = True
            record.notes.append(_step(line, self.seq, event='held', text='placed on hold'))
        elif rest == 'released from hold':
            record.held = False
            record.notes.append(_step(line, self.seq, event='released', text='released from hold'))
        return True

    def _refusal(self, line, record, rest):
        match = _SMTPD_ACTION_RE.match(rest)
        if match and match.group('action') in ('reject', 'milter-reject'):
            fields = match.groupdict()
            self.refused.append((record, _step(line, self.seq, action='reject', stage=fields['stage'],
                                               client=fields['client'], sender=fields['sender'],
                                               recipient=fields['rcpt'], reason=fields['reason'])))

    def _amavis(self, line):
        text = line['text']
        match = _AMAVIS_RE.match(text)
        queue_id = _AMAVIS_FIELDS['queue_id'].search(text)
        if not match or not queue_id:
            return
        values = dict((name, regex.search(text)) for name, regex in _AMAVIS_FIELDS.items())
        values = dict((name, m.group(1) if m else None) for name, m in values.items())
        envelope = _AMAVIS_ENVELOPE_RE.search(text)
        actions = [a.strip() for a in (match.group('actions') or '').split(',') if a.strip()]
        record = self._record(values['queue_id'], line)
        verdict = _step(line, self.seq, verdict=match.group('verdict'), category=match.group('category'),
                        actions=actions, mail_id=values['mail_id'], quarantine=values['quarantine'],
                        queued_as=values['queued_as'].split('/') if values['queued_as'] else [],
                        hits=values['hits'], message_id=values['message_id'],
                        recipients=re.findall(r'<([^>]*)>', envelope.group('rcpts')) if envelope else [],
                        summary=text[match.start('verdict'):match.end() - 1])
        verdict['outcome'] = _verdict_outcome(verdict)
        record.verdicts.append(verdict)
        if record.client is None and values['client']:
            record.client = '[%s]' % values['client']
        if record.sender is None and envelope:
            record.sender = envelope.group('sender')
        if record.message_id is None and values['message_id']:
            record.message_id = values['message_id']

    # ------------------------------------------------------------ linking

    def _link(self, parent, child, kind):
        if child is None or child.parent is not None or child is parent:
            return
        child.parent, child.link = parent, kind
        parent.children.append(child)

    def _instance(self, qid, near, window=None):
        """The record for qid nearest in time to near (queue ids are reused); None when none is within window seconds."""
        candidates = self.by_qid.get(qid)
        if not candidates:
            return None
        nearest = min(candidates, key=lambda r: abs((r.time - near).total_seconds()))
        if window is not None and abs((nearest.time - near).total_seconds()) > window:
            return None
        return nearest

    def _resolve_links(self):
        learned = set()
        for record in self.records:
            for step in record.deliveries:
                if any(marker in step['reply'] for marker in _FILTER_REPLY_MARKERS):
                    learned.update(logged_relay_keys(step['relay']))
        for record in self.records:
            for step in record.deliveries:
                # A reply's "queued as" may come from another host whose ids are not ours: only an id seen
                # about then is the same message.
                child = self._instance(step['child_qid'], step['time'], _REPLY_LINK_WINDOW)
                keys = logged_relay_keys(step['relay'])
                step['filter'] = bool(keys & self.filter_keys or keys & learned
                                      or (child is not None and child.orig_queue_id == record.qid))
                step['child'] = None
                if child is None or step['status'] != 'sent':
                    continue
                if step['filter']:
                    self._link(record, child, 'reinjected')
                elif child.via == 'smtpd' and child is not record:
                    # The next hop's own log (a hub, or a second instance) is part of this message's path.
                    self._link(record, child, 'next_hop')
                step['child'] = child if child.parent is record else None
            for verdict in record.verdicts:
                for qid in verdict['queued_as']:
                    self._link(record, self._instance(qid, verdict['time']), 'reinjected')
            for step in record.notifications:
                self._link(record, self._instance(step['child_qid'], step['time']), 'notification')
            if record.orig_queue_id and record.parent is None:
                self._link(self._instance(record.orig_queue_id, record.time), record, 'reinjected')
        for record in self.records:
            record.children.sort(key=lambda r: (r.time, r.seq))

    # ------------------------------------------------------------ results

    def result(self):
        self._resolve_links()
        messages = [self._message(r) for r in self.records
                    if r.parent is None and r.rejected is None and r.evidence()]
        refused = [self._refused(record, step) for record, step in self.refused]
        return messages, refused

    def _refused(self, record, step):
        return dict(time=step['stamp'], host=step['host'], queue_id=record.qid if record else None,
                    stage=step['stage'], client=step['client'], sender=step['sender'], recipient=step['recipient'],
                    message_id=record.message_id if record else None, reason=step['reason'])

    def _message(self, root):
        recipients = _recipients(root)
        fates = [dict(self._fate(root, key, len(recipients) == 1, set()), recipient=address)
                 for key, address in recipients]
        statuses = [f['status'] for f in fates]
        if root.nrcpt and root.nrcpt > len(recipients):
            # Recipients that have no line yet share the message's own state.
            statuses.append(_pending_status(root, None)[0])
        outcome = _combine(statuses) if statuses else _pending_status(root, None)[0]
        tree = _descendants(root)
        quarantine = _quarantine_verdict(root)
        delivered = [f['next_hop'] for f in fates if f['status'] == 'delivered' and f['next_hop']]
        return dict(
            queue_id=root.qid, host=root.host, message_id=root.message_id or _first(r.message_id for r in tree),
            sender=root.sender if root.sender is not None else _first(r.sender for r in tree),
            recipients=[address for dummy, address in recipients], client=root.client,
            accepted=root.accepted[0] if root.accepted else None, size=root.size,
            outcome=outcome, recipient_status=[_public_fate(f) for f in fates],
            filter_verdict=_first(v['summary'] for r in [root] + tree for v in r.verdicts),
            quarantine_id=quarantine['mail_id'] if quarantine and 'quarantined' in statuses else None,
            quarantine_file=quarantine['quarantine'] if quarantine and 'quarantined' in statuses else None,
            next_hop=delivered[0] if delivered else None,
            children=[r.qid for r in tree],
            hops=_hops(root, tree),
        )

    def _fate(self, record, key, only, seen):
        """Final state of one recipient (by address key) of record, following re-injection and next hops."""
        seen = seen | set([id(record)])
        attempts = [d for d in record.deliveries if _address_key(d['recipient']) == key]
        if not attempts and only:
            attempts = list(record.deliveries)
        if not attempts:
            status, text = _pending_status(record, key)
            return dict(status=status, text=text, dsn=None, relay=None, queue_id=record.qid, time=None, next_hop=None)
        last = {}
        for step in attempts:
            last[_address_key(step['to'])] = step
        fates = [self._attempt(record, step, key, only, seen) for step in last.values()]
        if len(fates) == 1:
            return fates[0]
        fate = dict(fates[-1], status=_combine([f['status'] for f in fates]))
        return fate

    def _attempt(self, record, step, key, only, seen):
        fate = dict(status=None, text=step['reply'], dsn=step['dsn'], relay=step['relay'], queue_id=record.qid,
                    time=step['stamp'], next_hop=None)
        child = step.get('child')
        if step['status'] in ('bounced', 'expired') or (step['status'] == 'deferred' and record.expired):
            fate['status'] = 'bounced'
        elif step['status'] == 'deferred':
            # Removed while waiting for a retry: postsuper -d, the message is gone.
            fate['status'] = 'discarded' if record.removed else 'deferred'
        elif step['filter'] and 'Ok, discarded' in step['reply']:
            verdict = _verdict_for(record, key)
            fate['status'] = verdict['outcome'] if verdict and verdict['outcome'] != 'passed' else 'quarantined'
        elif step['filter'] and 'BOUNCE' in step['reply']:
            fate['status'] = 'bounced'
        elif step['filter']:
            if child is None or id(child) in seen:
                fate.update(status='in_queue', text='handed back by the content filter, no later line: %s' % step['reply'])
            else:
                fate = self._fate(child, key, only, seen)
        else:
            fate.update(status='delivered', next_hop=step['relay'])
            if child is not None and id(child) not in seen and child.deliveries:
                downstream = self._fate(child, key, only, seen)
                fate = dict(downstream, next_hop=step['relay'])
        return fate


def _verdict_outcome(verdict):
    actions = ' '.join(verdict['actions'])
    if verdict['verdict'] == 'Passed':
        return 'passed'
    if 'Quarantined' in actions:
        return 'quarantined'
    if 'Bounced' in actions or 'Rejected' in actions:
        return 'bounced'
    # Blocked, not quarantined, not bounced: amavisd dropped it without a trace.
    return 'discarded'


def _verdict_for(record, key):
    for verdict in record.verdicts:
        if key in [_address_key(r) for r in verdict['recipients']]:
            return verdict
    return record.verdicts[-1] if record.verdicts else None


def _quarantine_verdict(root):
    for verdict in root.verdicts:
        if verdict['outcome'] == 'quarantined':
            return verdict
    return None


def _pending_status(record, key):
    """(status, text) of a recipient with no delivery line."""
    verdict = _verdict_for(record, key) if key else (record.verdicts[-1] if record.verdicts else None)
    if verdict and verdict['outcome'] != 'passed':
        return verdict['outcome'], verdict['summary']
    discard = [a for a in record.actions if a['action'] == 'discard']
    if discard:
        return 'discarded', discard[-1]['reason']
    if record.held:
        return 'held', _first(a['reason'] for a in record.actions if a['action'] == 'hold') or 'on hold'
    if record.expired:
        return 'bounced', 'expired in the queue'
    if record.removed:
        return 'discarded', 'removed from the queue without delivery'
    return 'in_queue', 'no final status logged yet'


def _combine(statuses):
    distinct = set(statuses)
    return statuses[0] if len(distinct) == 1 else 'mixed'


def _recipients(root):
    """(key, address) of every envelope recipient the log names, in the order first named."""
    seen, found = set(), []
    named = [d['recipient'] for d in root.deliveries]
    named += [r for v in root.verdicts for r in v['recipients']]
    named += [a['recipient'] for a in root.actions if a['recipient']]
    for address in named:
        key = _address_key(address)
        if key not in seen:
            seen.add(key)
            found.append((key, address))
    return found


def _descendants(root):
    """Every record below root, by time; sets each one's depth (root is 0) for the order of hops."""
    root.depth = 0
    found, queue, seen = [], [(c, 1) for c in root.children], set([id(root)])
    while queue:
        record, depth = queue.pop(0)
        if id(record) in seen:
            continue
        seen.add(id(record))
        record.depth = depth
        found.append(record)
        queue.extend((c, depth + 1) for c in record.children)
    return sorted(found, key=lambda r: (r.time, r.seq))


def _first(values):
    for value in values:
        if value:
            return value
    return None


def _public_fate(fate):
    return dict((k, fate[k]) for k in ('recipient', 'status', 'dsn', 'relay', 'text', 'queue_id', 'time'))


# ---------------------------------------------------------------- hops

# Logs stamp whole seconds and each program writes its own file: within one
# second, order hops by the message's flow rather than by which file came first.
_HOP_RANK = dict((event, rank) for rank, events in enumerate((
    ('received',), ('held', 'discarded', 'released'), ('filter_verdict',), ('quarantined', 'quarantine_copy'),
    ('reinjected',), ('filter',), ('delivered', 'deferred', 'bounced'), ('notification', 'expired', 'removed'),
)) for event in events)


def _hop(step, record, event, text):
    return ((step['time'], record.depth, _HOP_RANK.get(event, len(_HOP_RANK)), step['seq']),
            dict(time=step['stamp'], queue_id=record.qid, event=event, text=text))


def _hops(root, tree):
    hops = []
    for record in [root] + tree:
        hops.extend(_record_hops(record, record is root))
    return [hop for dummy, hop in sorted(hops, key=lambda h: h[0])]


def _record_hops(record, is_root):
    hops = []
    if record.accepted:
        step = dict(stamp=record.accepted[0], time=record.accepted[1], seq=record.accepted[2])
        hops.append(_hop(step, record, *_arrival(record, is_root)))
    for action in record.actions:
        event = 'discarded' if action['action'] == 'discard' else 'held'
        # Content checks name their class (header, body) in the reason already.
        where = '' if action['reason'].startswith(action['stage']) else ' at %s' % action['stage']
        hops.append(_hop(action, record, event, '%s%s: %s' % (event, where, action['reason'])))
    for step in record.deliveries:
        hops.append(_hop(step, record, *_delivery_hop(step)))
    for verdict in record.verdicts:
        hops.extend(_verdict_hops(verdict, record))
    for step in record.notifications:
        hops.append(_hop(step, record, 'notification',
                         '%s %s notification queued as %s' % (step['who'], step['kind'], step['child_qid'])))
    final = [d for d in record.deliveries if d['status'] != 'deferred'] or record.actions or record.verdicts
    for note in record.notes:
        # "removed" after a final status is routine; without one, someone deleted the message.
        if note['event'] != 'removed' or not final:
            hops.append(_hop(note, record, note['event'], note['text']))
    return hops


def _arrival(record, is_root):
    if record.via == 'pickup':
        return 'received', 'submitted locally by uid %d' % record.uid
    if is_root or record.link is None:
        return 'received', 'received from %s' % record.client
    if record.link == 'reinjected':
        return 'reinjected', 'reinjected by the content filter as %s' % record.qid
    if record.link == 'next_hop':
        return 'received', 'received by %s as %s from %s' % (record.host, record.qid, record.client)
    return 'received', 'queued as %s' % record.qid


def _delivery_hop(step):
    status = step['status']
    detail = '<%s> via %s (dsn=%s): %s' % (step['to'], step['relay'], step['dsn'], step['reply'])
    if step['filter'] and status == 'sent':
        if 'Ok, discarded' in step['reply'] or 'BOUNCE' in step['reply']:
            return 'filter', 'content filter kept it, for %s' % detail
        return 'filter', 'content filter passed it, for %s' % detail
    if status == 'sent':
        return 'delivered', 'delivered to %s' % detail
    return status, '%s for %s' % (status, detail)


def _verdict_hops(verdict, record):
    hops = [_hop(verdict, record, 'filter_verdict', 'amavisd: %s, mail_id %s, hits %s' % (
        verdict['summary'], verdict['mail_id'], verdict['hits']))]
    if 'Quarantined' in verdict['actions']:
        event = 'quarantined' if verdict['outcome'] == 'quarantined' else 'quarantine_copy'
        hops.append(_hop(verdict, record, event, '%s as %s (%s)' % (
            'quarantined' if event == 'quarantined' else 'passed; quarantine copy', verdict['mail_id'], verdict['quarantine'])))
    return hops


# ---------------------------------------------------------------- public entry points

def build_paths(lines, filter_relays=None):
    """(messages, refused) from parsed lines (parse_line/merge_streams output, in time order).

    messages: one dict per accepted message (the port-25 or pickup queue id; re-injected
    copies, next-hop copies found in the same logs and bounce notices are its children), keys:
    queue_id, host, message_id, sender, recipients, client, accepted, size, outcome,
    recipient_status (recipient, status, dsn, relay, text, queue_id, time), filter_verdict,
    quarantine_id, quarantine_file, next_hop, children, hops (time, queue_id, event, text).
    refused: one dict per refusal (NOQUEUE reject, a recipient refused with a queue id, a
    message rejected at DATA or by content checks), keys: time, host, queue_id, stage,
    client, sender, recipient, message_id, reason.
    filter_relays: the content filter's next-hops ('127.0.0.1:10024'); replies carrying
    'from MTA(' or 'Ok, discarded' and re-injections naming orig_queue_id count as well.
    """
    tracer = _Tracer(filter_relays)
    for line in lines:
        tracer.feed(line)
    return tracer.result()


def _normal_mid(value):
    value = value.strip()
    return value if value.startswith('<') else '<%s>' % value


def _matches(values, wanted):
    return _address_key(wanted) in [_address_key(v) for v in values if v is not None]


def select(messages, refused, message_id=None, queue_id=None, sender=None, recipient=None):
    """(messages, refused) matching every selector given; None selects everything.

    message_id with or without <>; queue_id matches a message's own id or any child's;
    sender '' or '<>' selects the null sender; addresses compare case-insensitively.
    """
    def wanted(queue_ids, message_ids, senders, recipients):
        if message_id is not None and _normal_mid(message_id) not in [m for m in message_ids if m]:
            return False
        if queue_id is not None and queue_id.strip() not in queue_ids:
            return False
        if sender is not None and not _matches(senders, sender):
            return False
        return recipient is None or _matches(recipients, recipient)

    chosen = [m for m in messages if wanted(
        [m['queue_id']] + m['children'], [m['message_id']], [m['sender']],
        m['recipients'] + [r['recipient'] for r in m['recipient_status']])]
    chosen_refused = [r for r in refused if wanted([r['queue_id']], [r['message_id']], [r['sender']], [r['recipient']])]
    return chosen, chosen_refused


def summarize(messages, refused):
    """Counts: accepted, one per outcome (delivered ... mixed), and rejected (refusals)."""
    counts = dict((key, 0) for key in SUMMARY_KEYS)
    counts['accepted'] = len(messages)
    for message in messages:
        counts[message['outcome']] += 1
    counts['rejected'] = len(refused)
    return counts


def trace(streams, filter_relays=None, now=None, message_id=None, queue_id=None, sender=None, recipient=None):
    """Everything at once: dict(messages, refused, summary) from streams of raw lines (see merge_streams)."""
    messages, refused = build_paths(merge_streams(streams, now), filter_relays)
    messages, refused = select(messages, refused, message_id, queue_id, sender, recipient)
    return dict(messages=messages, refused=refused, summary=summarize(messages, refused))

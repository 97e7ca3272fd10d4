#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: trace
short_description: Follow messages through the gateway from its Postfix and amavisd logs
version_added: 0.2.0
description:
  - Reads Postfix's mail log and amavisd's log (with their rotations, plain or compressed) and rebuilds each message's
    path, from the queue id Postfix gave it on port 25 (or on local submission) through the content filter, the queue id
    it was re-injected under, to its next hop; also through the next hop's own log when that is read too.
  - Says what became of each message (RV(messages[].outcome)) and of each recipient, with the quarantine id when the
    content filter held it, and counts the outcomes in RV(summary), with the refusals (NOQUEUE and content rejects)
    in RV(refused).
  - Also counts what is in Postfix's queue now, from C(postqueue -j).
  - Read-only. It never changes the host and never returns message contents.
author:
  - securemail.gateway developers (@securemail)
options:
  message_id:
    description: Only the message with this Message-ID, with or without the angle brackets.
    type: str
  queue_id:
    description: Only the message with this queue id, its own (port 25) or any id it had later (re-injected, next hop).
    type: str
  sender:
    description: Only messages from this envelope sender (case-insensitive); V(<>) selects the null sender.
    type: str
  recipient:
    description: Only messages to this envelope recipient (case-insensitive), as given or as finally delivered to.
    type: str
  log_files:
    description:
      - The logs to read, Postfix's and the content filter's, in any order (lines are merged by time stamp).
      - Defaults to Postfix's C(maillog_file) when it is set to a file (not C(/dev/stdout)), else C(/var/log/mail.log),
        plus C(/var/log/amavis/amavisd.log).
      - A missing file is no error but is listed in RV(log_files_missing); the task fails only when no file at all could
        be read.
    type: list
    elements: path
  rotated:
    description:
      - Also read each file's rotations, oldest first, C(FILE.N) and C(FILE.N.gz) (logrotate), C(FILE-YYYYMMDD[.gz])
        (logrotate C(dateext)) and C(FILE.YYYYMMDD-HHMMSS[.gz]) (C(postfix logrotate)); gzip, bzip2 and xz are read
        whatever their names.
    type: bool
    default: true
  filter_relays:
    description:
      - Next-hops of the content filter, such as V(127.0.0.1:10024) or V(smtp-amavis:[127.0.0.1]:10024); a delivery
        to one of them is a hand-over to the filter, not a delivery.
      - Defaults to C(content_filter) of C(main.cf) and of every C(master.cf) service that overrides it.
      - Whatever is given, replies of the filter (C(from MTA(), C(Ok, discarded)) and re-injections that name their
        C(orig_queue_id) are recognised too.
    type: list
    elements: str
  list_messages:
    description:
      - Return every selected message and refusal in RV(messages) and RV(refused); otherwise both are empty lists and
        only RV(summary) counts them.
      - Defaults to V(true) when a selector (O(message_id), O(queue_id), O(sender), O(recipient)) is given and
        V(false) otherwise, so that a summary of a whole fleet stays small.
    type: bool
  config_dir:
    description: Postfix configuration directory for C(postconf -c) and C(postqueue -c).
    type: path
    default: /etc/postfix
notes:
  - Syslog time stamps carry no year; a month later than the current one is taken as last year's. Lines are ordered
    by time stamp across files, so the host's clock and the logs' time zone should agree.
  - Short queue ids are reused by Postfix; a new C(client=) line for an id starts a new message.
  - Run as root, or as a user that may read the logs.
attributes:
  check_mode:
    description: It only reads, so check mode gives the same answer.
    support: full
  diff_mode:
    description: It changes nothing, so there is nothing to show.
    support: none
  platform:
    description: Postfix hosts.
    platforms: posix
    support: full
'''

EXAMPLES = r'''
- name: Where did this message go?
  securemail.gateway.trace:
    message_id: gtube-260380f6@example.net
  register: found

- name: Show its path
  ansible.builtin.debug:
    msg: "{{ found.messages | map(attribute='hops') | flatten | map(attribute='text') }}"

- name: Everything sent to one user, from logs kept elsewhere
  securemail.gateway.trace:
    recipient: alice@example.org
    log_files: [/var/log/postfix.log, /var/log/amavis/amavisd.log]
    rotated: false

- name: Counts only, for every gateway
  securemail.gateway.trace:
  register: counts

- name: Nothing may be stuck
  ansible.builtin.assert:
    that: counts.summary.deferred == 0 and counts.summary.in_queue == 0
'''

RETURN = r'''
messages:
  description:
    - One entry per accepted message that matches the selection, by the queue id it got when it was accepted; empty
      when O(list_messages) is off.
  returned: always
  type: list
  elements: dict
  sample:
    - queue_id: A764817038A
      host: gateway
      message_id: <gtube-260380f6@example.net>
      sender: sender@example.net
      recipients: [alice@example.org]
      client: unknown[10.88.0.83]
      accepted: Dec 04 16:12:33
      size: 420
      outcome: quarantined
      recipient_status:
        - {recipient: alice@example.org, status: quarantined, dsn: 2.7.0, relay: "127.0.0.1[127.0.0.1]:10024",
           text: "250 2.7.0 Ok, discarded, id=05399-02-2 - spam", queue_id: A764817038A, time: Dec 04 16:12:34}
      filter_verdict: Blocked SPAM {DiscardedInbound,Quarantined}
      quarantine_id: ykYJYXo0U_Ei
      quarantine_file: y/spam-ykYJYXo0U_Ei
      next_hop: null
      children: []
      hops:
        - {time: Dec 04 16:12:33, queue_id: A764817038A, event: received, text: "received from unknown[10.88.0.83]"}
        - {time: Dec 04 16:12:34, queue_id: A764817038A, event: filter_verdict,
           text: "amavisd: Blocked SPAM {DiscardedInbound,Quarantined}, mail_id ykYJYXo0U_Ei, hits 999.001"}
        - {time: Dec 04 16:12:34, queue_id: A764817038A, event: quarantined,
           text: quarantined as ykYJYXo0U_Ei (y/spam-ykYJYXo0U_Ei)}
  contains:
    queue_id:
      description: The queue id the message got when Postfix accepted it (smtpd or pickup).
      type: str
      returned: always
    host:
      description: The host name of the log line that accepted it.
      type: str
      returned: always
    message_id:
      description: Its Message-ID header, with angle brackets; null when it has none.
      type: str
      returned: always
    sender:
      description: The envelope sender; empty for the null sender.
      type: str
      returned: always
    recipients:
      description: The envelope recipients the logs name.
      type: list
      elements: str
      returned: always
    client:
      description: The SMTP client it came from (C(name[address])), or V(local) for local submission.
      type: str
      returned: always
    accepted:
      description: The time stamp of the line that accepted it, as logged.
      type: str
      returned: always
    size:
      description: Its size in bytes as the queue manager logged it; null when not logged.
      type: int
      returned: always
    outcome:
      description:
        - V(delivered) (to the next hop), V(quarantined) (held by the content filter), V(bounced) (also expired
          or refused by the filter), V(deferred) (waiting for a retry), V(discarded) (dropped without a trace, by
          C(header_checks), the filter or an administrator), V(held) (in the hold queue), V(in_queue) (accepted, no
          final status logged yet), or V(mixed) when its recipients fared differently.
      type: str
      returned: always
    recipient_status:
      description:
        - Per recipient, C(status) (one of the values of RV(messages[].outcome)), and the
          C(dsn), C(relay), reply C(text), C(queue_id) and C(time) of the line that decided it.
      type: list
      elements: dict
      returned: always
    filter_verdict:
      description: The content filter's verdict as amavisd logged it; null without an amavisd line.
      type: str
      returned: always
    quarantine_id:
      description: amavisd's C(mail_id) of the quarantined copy when the filter held the message, else null.
      type: str
      returned: always
    quarantine_file:
      description: The quarantine file amavisd wrote when it held the message, else null.
      type: str
      returned: always
    next_hop:
      description: The relay it was delivered to when it left the host (not the content filter), else null.
      type: str
      returned: always
    children:
      description: Every later queue id of the message (re-injected by the filter, next hops in the logs read, bounces).
      type: list
      elements: str
      returned: always
    hops:
      description:
        - Its path, in time order, each with C(time), C(queue_id), C(event) and a short C(text). Events are
          V(received), V(held), V(discarded), V(released), V(filter_verdict), V(quarantined), V(quarantine_copy),
          V(reinjected), V(filter) (the filter's reply), V(delivered), V(deferred), V(bounced), V(notification),
          V(expired) and V(removed).
      type: list
      elements: dict
      returned: always
refused:
  description:
    - Refusals that match the selection, one per NOQUEUE reject line, per recipient refused with a queue id and per
      message rejected at DATA or by a content check; each with C(time), C(host), C(queue_id) (null for NOQUEUE),
      C(stage) (V(RCPT), V(header), ...), C(client), C(sender), C(recipient), C(message_id) and C(reason). Empty
      when O(list_messages) is off.
  returned: always
  type: list
  elements: dict
  sample:
    - time: Dec 04 16:12:33
      host: gateway
      queue_id: null
      stage: RCPT
      client: unknown[10.88.0.83]
      sender: sender@example.net
      recipient: nobody@example.org
      message_id: null
      reason: "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown"
summary:
  description:
    - Counts over the selection, whether or not O(list_messages) is on; C(accepted) messages, one count per
      outcome, and C(rejected) (the length of RV(refused) before O(list_messages) empties it).
  returned: always
  type: dict
  sample: {accepted: 7, delivered: 5, quarantined: 2, bounced: 0, deferred: 0, discarded: 0, held: 0, in_queue: 0,
           mixed: 0, rejected: 1}
queue:
  description:
    - What C(postqueue -j) lists now, C(total) and per queue (C(active), C(deferred), C(hold), C(incoming),
      C(maildrop)), and C(error) (what postqueue said when it could not list, for example when Postfix is not
      running; the counts are then null). Null when C(postqueue) is not installed.
  returned: always
  type: dict
  sample: {total: 1, active: 0, deferred: 1, hold: 0, incoming: 0, maildrop: 0, error: null}
filter_relays:
  description: The content filter next-hops used, as C(host:port).
  returned: always
  type: list
  elements: str
  sample: [127.0.0.1:10024]
log_files_read:
  description: Every file read, rotations included, in the order read.
  returned: always
  type: list
  elements: str
  sample: [/var/log/mail.log.2.gz, /var/log/mail.log.1, /var/log/mail.log, /var/log/amavis/amavisd.log]
log_files_missing:
  description: Files of O(log_files) (or the defaults) that do not exist or could not be read.
  returned: always
  type: list
  elements: str
  sample: [/var/log/amavis/amavisd.log]
'''

import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.securemail.gateway.plugins.module_utils.maillog import (
    build_paths, merge_streams, read_lines, relay_key, rotated_files, select, summarize)
from ansible_collections.securemail.gateway.plugins.module_utils.postfix import (
    Postfix, PostfixError, parse_assignments)

DEFAULT_MAIL_LOG = '/var/log/mail.log'
DEFAULT_FILTER_LOG = '/var/log/amavis/amavisd.log'
QUEUE_NAMES = ('active', 'deferred', 'hold', 'incoming', 'maildrop')
SBIN = ['/usr/sbin', '/usr/local/sbin']
SELECTORS = ('message_id', 'queue_id', 'sender', 'recipient')


def postfix_settings(module, config_dir, want_filters):
    """(maillog_file, content_filter values) from postconf; ('', []) with a warning when it cannot tell."""
    if module.get_bin_path('postconf', opt_dirs=SBIN) is None:
        module.warn('postconf is not installed: using the default log files and recognising the filter by its replies')
        return '', []
    postfix = Postfix(module, config_dir)
    try:
        out, dummy = postfix.postconf(['-x', 'maillog_file', 'content_filter'])
        values = parse_assignments(out)
        filters = [values.get('content_filter', '')]
        if want_filters:
            # The port-25 service often sets its own content_filter with -o in master.cf.
            out, dummy = postfix.postconf(['-P'])
            filters.extend(v for k, v in parse_assignments(out).items() if k.endswith('/content_filter'))
    except PostfixError as exc:
        module.warn('postconf -c %s failed (%s): using the default log files' % (config_dir, exc))
        return '', []
    return values.get('maillog_file', ''), [f for f in filters if f]


def default_log_files(maillog_file):
    # maillog_file may be /dev/stdout (postlog to a container's output): nothing to read there.
    if maillog_file and not maillog_file.startswith('/dev/'):
        return [maillog_file, DEFAULT_FILTER_LOG]
    return [DEFAULT_MAIL_LOG, DEFAULT_FILTER_LOG]


def queue_counts(module, config_dir):
    """Counts of postqueue -j per queue, or None when postqueue is not installed."""
    postqueue = module.get_bin_path('postqueue', opt_dirs=SBIN)
    if postqueue is None:
        return None
    counts = dict((name, None) for name in QUEUE_NAMES)
    counts.update(total=None, error=None)
    rc, out, err = module.run_command([postqueue, '-c', config_dir, '-j'], environ_update={'LC_ALL': 'C'})
    if rc != 0:
        counts['error'] = err.strip() or 'postqueue exited with status %d' % rc
        return counts
    counts.update((name, 0) for name in QUEUE_NAMES)
    counts['total'] = 0
    for line in out.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        counts['total'] += 1
        name = entry.get('queue_name')
        counts[name] = counts.get(name, 0) + 1
    return counts


def chains(paths, rotated):
    """(chains, missing): one list of files per path, oldest first; the paths with no file at all."""
    found, missing = [], []
    for path in paths:
        chain = rotated_files(path) if rotated else ([path] if os.path.exists(path) else [])
        if not os.path.exists(path):
            missing.append(path)
        if chain:
            found.append(chain)
    return found, missing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            message_id=dict(type='str'),
            queue_id=dict(type='str'),
            sender=dict(type='str'),
            recipient=dict(type='str'),
            log_files=dict(type='list', elements='path'),
            rotated=dict(type='bool', default=True),
            filter_relays=dict(type='list', elements='str'),
            list_messages=dict(type='bool'),
            config_dir=dict(type='path', default='/etc/postfix'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    config_dir = params['config_dir']
    log_files, filters = params['log_files'], params['filter_relays']
    if log_files is None or filters is None:
        maillog_file, content_filters = postfix_settings(module, config_dir, filters is None)
        if log_files is None:
            log_files = default_log_files(maillog_file)
        if filters is None:
            filters = content_filters
    filter_keys = []
    for value in filters:
        key = relay_key(value)
        if key and key not in filter_keys:
            filter_keys.append(key)

    file_chains, missing = chains(log_files, params['rotated'])
    read, errors = [], []
    lines = merge_streams([read_lines(chain, read, errors) for chain in file_chains], datetime.datetime.now())
    messages, refused = build_paths(lines, filter_keys)
    for path, reason in errors:
        module.warn('could not read %s: %s' % (path, reason))
        if path in log_files and path not in missing:
            missing.append(path)
    if not read:
        module.fail_json(msg='no mail log could be read: %s' % ', '.join(log_files), log_files_missing=missing,
                         log_files_read=read)

    selection = dict((name, params[name]) for name in SELECTORS)
    messages, refused = select(messages, refused, **selection)
    summary = summarize(messages, refused)
    listed = params['list_messages']
    if listed is None:
        listed = any(value is not None for value in selection.values())
    module.exit_json(
        changed=False,
        messages=messages if listed else [],
        refused=refused if listed else [],
        summary=summary,
        queue=queue_counts(module, config_dir),
        filter_relays=filter_keys,
        log_files_read=read,
        log_files_missing=missing,
    )


if __name__ == '__main__':
    main()

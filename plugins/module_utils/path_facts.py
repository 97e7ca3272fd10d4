# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a role needs to know about paths on a managed host, read without changing anything.

path_facts: whether a path exists (a dangling symlink does), is a symlink,
where it really leads (every symlink resolved), and, after symlinks (what a
daemon opens), its type, mode, owner and group in ansible.builtin.stat's field
names, so securemail.gateway.private_key_problem takes it as it is.

package_facts: which of some Debian packages dpkg has installed, read from
dpkg's status file, so a role skips its apt task (the slowest no-change
task there is) when everything is there.

key_pair_facts: whether a private key belongs to a certificate, by comparing
the public key OpenSSL derives from each. Only public keys are read back; no
key material leaves this module.

private_tls_changes / private_tls_problem: what securemail.gateway.tls_selfsigned
must do to a TLS directory (and self-signed pair), decided from path_facts of
each; the same decision serves the module on the host and, through the
tls_in_place filter, the roles on the controller, which send the module only
when there is something to do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

from ansible_collections.securemail.gateway.plugins.module_utils.audit import _name


def path_facts(path):
    """Facts about one path; mode, pw_name and gr_name are None when it does not resolve to anything."""
    facts = dict(path=path, exists=False, islnk=False, isreg=False, isdir=False, issock=False, real='', mode=None,
                 pw_name=None, gr_name=None)
    try:
        facts.update(exists=os.path.lexists(path), islnk=os.path.islink(path),
                     real=os.path.realpath(path) if path else '')
        st = os.stat(path)
    except (OSError, ValueError):
        # ValueError: a NUL byte in the path, which names no file.
        return facts
    facts.update(isreg=stat.S_ISREG(st.st_mode), isdir=stat.S_ISDIR(st.st_mode), issock=stat.S_ISSOCK(st.st_mode),
                 mode='%04o' % stat.S_IMODE(st.st_mode),
                 pw_name=_name(pwd.getpwuid, st.st_uid), gr_name=_name(grp.getgrgid, st.st_gid))
    return facts


def user_groups(name):
    """The user's groups (primary and supplementary), sorted; None when there is no such user."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    names = set(group.gr_name for group in grp.getgrall() if name in group.gr_mem)
    names.add(_name(grp.getgrgid, entry.pw_gid))
    return sorted(str(n) for n in names)


def package_facts(names, status_file='/var/lib/dpkg/status'):
    """{name: installed version, or None}. ``name:arch`` asks for one architecture; a virtual name is never installed."""
    wanted = dict((name, tuple(name.split(':', 1)) if ':' in name else (name, None)) for name in names)
    found = dict((name, None) for name in names)
    if not wanted:
        return found
    try:
        with open(status_file, 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        # No dpkg database: nothing is installed as far as this can tell.
        return found
    for paragraph in text.split('\n\n'):
        fields = {}
        for line in paragraph.splitlines():
            if line[:1] not in (' ', '\t') and ':' in line:
                key, value = line.split(':', 1)
                fields[key] = value.strip()
        # "install ok installed": unpacked and configured; half-installed or
        # config-files (removed, not purged) are not installed.
        if fields.get('Status', '').split()[-1:] != ['installed']:
            continue
        for name, (package, arch) in wanted.items():
            if fields.get('Package') == package and arch in (None, fields.get('Architecture')):
                found[name] = fields.get('Version')
    return found


def _public_key(run, args):
    """The PEM public key ``openssl ARGS`` prints, and '' or the first line of its complaint."""
    rc, out, err = run(args)
    if rc != 0:
        lines = (err or '').strip().splitlines()
        return None, '%s: %s' % (args[0], lines[0] if lines else 'exit status %d' % rc)
    return out, ''


def key_pair_facts(cert, key, run):
    """Whether ``key`` is the private key of ``cert``: dict(match=True/False, or None when a file is missing, error=str).

    ``run(args)`` runs ``openssl ARGS`` and returns (rc, stdout, stderr). Only
    regular files (after symlinks) are handed to OpenSSL, so a FIFO or a device
    cannot block it; an encrypted key is not prompted for, it does not match.
    """
    missing = ['%s %s is not a regular file' % (what, path)
               for what, path in (('certificate', cert), ('key', key)) if not os.path.isfile(path)]
    if missing:
        return dict(match=None, error='; '.join(missing))
    cert_public, cert_error = _public_key(run, ['x509', '-noout', '-pubkey', '-in', cert])
    key_public, key_error = _public_key(run, ['pkey', '-pubout', '-passin', 'pass:', '-in', key])
    return dict(match=cert_public is not None and cert_public == key_public,
                error='; '.join(e for e in (cert_error, key_error) if e))


def public_key_facts(key, run):
    """The public half of the private key file ``key`` as one base64 line (the DER form DNS records carry).

    None when ``key`` is not a regular file or OpenSSL cannot read it. The
    PEM body, joined, is the base64 of the DER key, so nothing binary passes
    through the command's text output.
    """
    if not os.path.isfile(key):
        return None
    public, error = _public_key(run, ['pkey', '-pubout', '-passin', 'pass:', '-in', key])
    if public is None:
        return None
    return ''.join(line.strip() for line in public.splitlines() if line.strip() and not line.startswith('-----'))


PRIVATE_DIR = ('0700', 'root', 'root')
PRIVATE_KEY = ('0600', 'root', 'root')


def _resolves(facts):
    # A dangling symlink exists but opens nothing: a new file replaces it.
    return isinstance(facts, dict) and facts.get('mode') is not None


def _mode_owner(facts):
    return (facts.get('mode'), facts.get('pw_name'), facts.get('gr_name'))


def private_tls_problem(directory, cert=None, key=None):
    """Why the paths cannot be made a private TLS directory and pair ('' when they can): a non-directory or non-file in the way."""
    if _resolves(directory) and not directory.get('isdir'):
        return 'path: %s exists and is not a directory' % directory.get('path')
    for name, facts in (('cert', cert), ('key', key)):
        if _resolves(facts) and not facts.get('isreg'):
            return '%s: %s is not a regular file' % (name, facts.get('path'))
    return ''


def private_tls_changes(directory, cert=None, key=None):
    """What must change for a root:root 0700 directory and, with cert and key, a pair whose key is root:root 0600.

    Each argument is a path_facts() dict (or the same from a probe); cert
    and key are both None when only the directory is wanted. A missing cert or
    key means a new pair. Returns [] when everything is in place.
    """
    changes = []
    if not _resolves(directory):
        changes.append('directory created')
    elif _mode_owner(directory) != PRIVATE_DIR:
        changes.append('directory mode or owner fixed')
    if cert is None and key is None:
        return changes
    if not (_resolves(cert) and _resolves(key)):
        changes.append('pair created')
    elif _mode_owner(key) != PRIVATE_KEY:
        changes.append('key mode or owner fixed')
    return changes

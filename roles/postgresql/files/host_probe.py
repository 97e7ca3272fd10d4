# Runs on the managed host; one round trip for every fact the role needs
# about files: argv[1] is {"binary", "conf", "cert", "key", "tls"} (paths and
# whether ssl is wanted). Prints {"binary": bool, "conf": bool, "cert": bool,
# "key": bool, "key_stat": {...} or null, "tls_match": bool or null,
# "tls_error": str}: whether the server binary and the cluster's
# postgresql.conf exist, whether each TLS file is a regular file (after
# symlinks, as PostgreSQL opens it), the key file's mode, owner and group (in
# ansible.builtin.stat's field names, for securemail.gateway.private_key_problem)
# and, when ssl is wanted and both are there, whether the key's public half is
# the certificate's. No key material is printed.
import grp
import json
import os
import pwd
import stat
import subprocess
import sys


def public_key(argv):
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    except OSError as e:
        return None, str(e)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return None, "%s: %s" % (argv[1], lines[0] if lines else "exit status %d" % proc.returncode)
    return proc.stdout, ""


def name_of(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def key_stat(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"exists": True, "isreg": stat.S_ISREG(st.st_mode), "mode": "%04o" % stat.S_IMODE(st.st_mode),
            "pw_name": name_of(pwd.getpwuid, st.st_uid), "gr_name": name_of(grp.getgrgid, st.st_gid)}


def main():
    want = json.loads(sys.argv[1])
    out = {name: os.path.isfile(want[name]) for name in ("binary", "conf", "cert", "key")}
    out["key_stat"] = key_stat(want["key"])
    out["tls_match"], out["tls_error"] = None, ""
    if want["tls"] and out["cert"] and out["key"]:
        cert, cert_error = public_key(["openssl", "x509", "-noout", "-pubkey", "-in", want["cert"]])
        key, key_error = public_key(["openssl", "pkey", "-pubout", "-in", want["key"]])
        out["tls_match"] = cert is not None and cert == key
        out["tls_error"] = "; ".join(e for e in (cert_error, key_error) if e)
    print(json.dumps(out))


main()

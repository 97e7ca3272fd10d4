# Runs on the managed host; one round trip for every fact the role needs
# about files: argv[1] is {"binary", "conf", "cert", "key", "tls"} (paths and
# whether ssl is wanted). Prints {"binary": bool, "conf": bool, "cert": bool,
# "key": bool, "tls_match": bool or null, "tls_error": str}: whether the server
# binary and the cluster's postgresql.conf exist, whether each TLS file is a
# regular file (after symlinks, as PostgreSQL opens it), and, when ssl is
# wanted and both are there, whether the key's public half is the
# certificate's. No key material is printed.
import json
import os
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


def main():
    want = json.loads(sys.argv[1])
    out = {name: os.path.isfile(want[name]) for name in ("binary", "conf", "cert", "key")}
    out["tls_match"], out["tls_error"] = None, ""
    if want["tls"] and out["cert"] and out["key"]:
        cert, cert_error = public_key(["openssl", "x509", "-noout", "-pubkey", "-in", want["cert"]])
        key, key_error = public_key(["openssl", "pkey", "-pubout", "-in", want["key"]])
        out["tls_match"] = cert is not None and cert == key
        out["tls_error"] = "; ".join(e for e in (cert_error, key_error) if e)
    print(json.dumps(out))


main()

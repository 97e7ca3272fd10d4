# Runs on the managed host with the password on stdin (never in argv): one
# round trip reads the quarantine role and database and decides whether the
# stored SCRAM-SHA-256 verifier belongs to the password. Reads
# {"password", "psql": argv, "data_dir", "query"}; asks the running server
# (on the port in postmaster.pid, line 4) with psql and prints
# {"running": bool, "error": str, "state": {"role": {"login"} or null,
# "owner", "public_connect"}, "match": bool, "verifier": str}: the verifier to
# store when it does not match. The server only ever sees a verifier, so the
# password is in no SQL text, log line or process list.
import base64
import hashlib
import hmac
import json
import os
import re
import stringprep
import subprocess
import sys
import unicodedata

ITERATIONS = 4096  # PostgreSQL's scram_iterations default


def saslprep(text):
    # What libpq does to the password before hashing at login (RFC 4013 via
    # pg_saslprep): ASCII is used as is; a string SASLprep rejects is used raw.
    if all(ord(c) < 128 for c in text):
        return text
    mapped = "".join(" " if stringprep.in_table_c12(c) else c
                     for c in text if not stringprep.in_table_b1(c))
    norm = unicodedata.normalize("NFKC", mapped)
    prohibited = (stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3,
                  stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6,
                  stringprep.in_table_c7, stringprep.in_table_c8, stringprep.in_table_c9,
                  stringprep.in_table_a1)
    if not norm or any(check(c) for c in norm for check in prohibited):
        return text
    if any(stringprep.in_table_d1(c) for c in norm):
        if any(stringprep.in_table_d2(c) for c in norm):
            return text
        if not (stringprep.in_table_d1(norm[0]) and stringprep.in_table_d1(norm[-1])):
            return text
    return norm


def keys(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password).encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return stored_key, server_key


def b64(data):
    return base64.b64encode(data).decode("ascii")


def running_port(data_dir):
    """Port of the running server, or None when it does not run."""
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as f:
            lines = f.read().splitlines()
        os.kill(int(lines[0]), 0)
        return lines[3].strip()
    except (OSError, IndexError, ValueError):
        return None


def verifier_for(password, current):
    """(match, verifier to store)."""
    if not password:
        return current == "", ""
    found = re.match(r"^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$", current)
    if found:
        iterations, salt = int(found.group(1)), base64.b64decode(found.group(2))
        stored, server = keys(password, salt, iterations)
        if hmac.compare_digest(b64(stored), found.group(3)) and hmac.compare_digest(b64(server), found.group(4)):
            return True, current
    salt = os.urandom(16)
    stored, server = keys(password, salt, ITERATIONS)
    return False, "SCRAM-SHA-256$%d:%s$%s:%s" % (ITERATIONS, b64(salt), b64(stored), b64(server))


def main():
    data = json.load(sys.stdin)
    # A server that does not run (check mode on a fresh host) has neither
    # role nor database: every statement would run.
    out = {"running": False, "error": "", "state": {"role": None, "owner": None, "public_connect": False}}
    port = running_port(data["data_dir"])
    if port is not None:
        out["running"] = True
        proc = subprocess.run(data["psql"] + ["-p", port], input=data["query"].encode("utf-8"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            out["error"] = proc.stderr.decode("utf-8", "replace").strip()
        else:
            out["state"] = json.loads(proc.stdout.decode("utf-8") or "{}")
    role = out["state"].get("role") or {}
    out["match"], out["verifier"] = verifier_for(data["password"], role.pop("verifier", "") or "")
    print(json.dumps(out))


main()

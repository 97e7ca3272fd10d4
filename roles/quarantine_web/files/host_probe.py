# Runs on the managed host; one round trip for what tasks/validate.yml needs
# to know about paths. argv[1] is {"document_root": path, "parents": [paths],
# "files": {variable: path}}. Prints {"document_root": {"exists", "isdir",
# "islnk", "real"}, "parents": {path: real path}, "files": {variable:
# {"exists", "isreg", "mode", "pw_name", "gr_name"}}}: whether the document
# root exists, is a directory (after symlinks) or a symlink, and the path
# Apache really serves (every symlink resolved); where the allowed parents
# really are; and each file's type, mode, owner and group after symlinks (as
# Apache opens it), in ansible.builtin.stat's field names. Only reads.
import grp
import json
import os
import pwd
import stat
import sys


def name_of(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def file_stat(path):
    try:
        st = os.stat(path)
    except OSError:
        return {"exists": False}
    return {"exists": True, "isreg": stat.S_ISREG(st.st_mode), "mode": "%04o" % stat.S_IMODE(st.st_mode),
            "pw_name": name_of(pwd.getpwuid, st.st_uid), "gr_name": name_of(grp.getgrgid, st.st_gid)}


def main():
    want = json.loads(sys.argv[1])
    root = want["document_root"]
    print(json.dumps({
        "document_root": {"exists": os.path.lexists(root), "isdir": os.path.isdir(root),
                          "islnk": os.path.islink(root), "real": os.path.realpath(root)},
        "parents": {p: os.path.realpath(p) for p in want["parents"]},
        "files": {name: file_stat(path) for name, path in want["files"].items()},
    }))


main()

"""Probe TCP ports every 100 ms and log every failed connect (runs on the gateway).

usage: prober.py STOP_FILE LOG ADDR:PORT [ADDR:PORT ...]
"""
import json
import os
import socket
import sys
import time

stop_file, log_path, targets = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(log_path, "w", buffering=1) as log:
    probes = 0
    while not os.path.exists(stop_file):
        for target in targets:
            addr, port = target.rsplit(":", 1)
            probes += 1
            try:
                socket.create_connection((addr, int(port)), timeout=2).close()
            except OSError as exc:
                log.write(json.dumps({"t": round(time.time(), 3), "target": target,
                                      "error": type(exc).__name__}) + "\n")
        time.sleep(0.1)
    log.write(json.dumps({"t": round(time.time(), 3), "done": probes}) + "\n")

#!/usr/bin/env python3
"""A real IMAP client for the e2e tests (tests/dovecot.rs): Python's imaplib, nothing of ours.

Usage: imap_client.py PORT USER PASSWORD COMMAND ARGS...

  append FOLDER FILE...         APPEND each file's bytes, in order, in one session; prints
                                "UIDVALIDITY UID" (APPENDUID) per file
  list FOLDER                   prints one JSON object per message: {"uid", "size", "flags"}
  fetch FOLDER UID              writes BODY.PEEK[] of the message to stdout
  uidvalidity FOLDER            prints the folder's UIDVALIDITY
  create FOLDER                 CREATE (an existing folder is fine)
  delete FOLDER                 DELETE
  folders                       prints one JSON object per folder: {"name", "delimiter"}

Exit status 0 on success; any IMAP error is printed to stderr with status 1.
"""

import imaplib
import json
import re
import sys
import time


def fail(what, typ, data):
    sys.stderr.write(f"imap_client: {what} failed: {typ} {data!r}\n")
    sys.exit(1)


def check(what, result):
    typ, data = result
    if typ != "OK":
        fail(what, typ, data)
    return data


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(argv):
    port, user, password, command, args = int(argv[1]), argv[2], argv[3], argv[4], argv[5:]
    imap = imaplib.IMAP4("127.0.0.1", port)
    check("login", imap.login(user, password))
    out = sys.stdout
    if command == "append":
        folder = args[0]
        for path in args[1:]:
            with open(path, "rb") as f:
                eml = f.read()
            data = check(
                "append",
                imap.append(quote(folder), None, imaplib.Time2Internaldate(time.time()), eml),
            )
            text = data[0].decode() if data and data[0] else ""
            found = re.search(r"APPENDUID (\d+) (\d+)", text)
            if not found:
                fail("append (no APPENDUID)", "OK", data)
            out.write(f"{found.group(1)} {found.group(2)}\n")
    elif command == "list":
        folder = args[0]
        check("select", imap.select(quote(folder), readonly=True))
        data = check("uid fetch", imap.uid("FETCH", "1:*", "(UID RFC822.SIZE FLAGS)"))
        for item in data:
            if item is None:
                continue
            line = item.decode() if isinstance(item, bytes) else item[0].decode()
            uid = re.search(r"UID (\d+)", line)
            size = re.search(r"RFC822\.SIZE (\d+)", line)
            flags = re.search(r"FLAGS \(([^)]*)\)", line)
            if not uid:
                continue
            out.write(
                json.dumps(
                    {
                        "uid": int(uid.group(1)),
                        "size": int(size.group(1)) if size else None,
                        "flags": flags.group(1).split() if flags else [],
                    }
                )
                + "\n"
            )
    elif command == "fetch":
        folder, uid = args[0], args[1]
        check("select", imap.select(quote(folder), readonly=True))
        data = check("uid fetch", imap.uid("FETCH", uid, "(BODY.PEEK[])"))
        for item in data:
            if isinstance(item, tuple):
                sys.stdout.buffer.write(item[1])
                break
        else:
            fail("fetch (no such message)", "OK", data)
    elif command == "uidvalidity":
        data = check("status", imap.status(quote(args[0]), "(UIDVALIDITY)"))
        found = re.search(rb"UIDVALIDITY (\d+)", data[0])
        if not found:
            fail("status (no UIDVALIDITY)", "OK", data)
        out.write(found.group(1).decode() + "\n")
    elif command == "create":
        typ, data = imap.create(quote(args[0]))
        if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(d for d in data if d):
            fail("create", typ, data)
    elif command == "delete":
        check("delete", imap.delete(quote(args[0])))
    elif command == "folders":
        data = check("list", imap.list())
        for item in data:
            line = item.decode() if isinstance(item, bytes) else str(item)
            found = re.match(r'\(([^)]*)\) (NIL|"((?:[^"\\]|\\.)*)") (.*)$', line)
            if not found:
                continue
            name = found.group(4)
            if name.startswith('"') and name.endswith('"'):
                name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            out.write(json.dumps({"name": name, "delimiter": found.group(3)}) + "\n")
    else:
        sys.stderr.write(f"imap_client: unknown command {command}\n")
        sys.exit(2)
    imap.logout()


if __name__ == "__main__":
    main(sys.argv)

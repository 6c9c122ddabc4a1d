# A renter's paramiko script (Debian's python3-paramiko), driven by the SSH tests; prints one JSON line.
# usage: paramiko_client.py PORT PASSWORD exec N | winadj N | sftp DIR
import json
import sys
import threading

import paramiko
from paramiko.common import MSG_CHANNEL_FAILURE, MSG_CHANNEL_SUCCESS, cMSG_CHANNEL_REQUEST
from paramiko.message import Message


def connect(port, password):
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect('127.0.0.1', port=port, username='root', password=password, look_for_keys=False, allow_agent=False, timeout=15)
    return c


def exec_many(c, n):
    """n exec channels on one transport, 16 at a time, every other one with a PTY; each exits with its own code."""
    t = c.get_transport()
    bad = []
    lock = threading.Lock()

    def one(i):
        ch = t.open_session(timeout=30)
        if i % 2:
            ch.get_pty()
        ch.exec_command('printf x%d; exit %d' % (i, i % 100))
        out = b''
        while True:
            d = ch.recv(65536)
            if not d:
                break
            out += d
        code = ch.recv_exit_status()
        ch.close()
        # With a PTY stderr shares the stream: a login shell's own warnings may precede the output.
        if code != i % 100 or not out.endswith(b'x%d' % i):
            with lock:
                bad.append({'i': i, 'code': code, 'out': out.decode(errors='replace')})

    for start in range(0, n, 16):
        ts = [threading.Thread(target=one, args=(i,)) for i in range(start, min(n, start + 16))]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
    return {'channels': n, 'bad': bad}


def winadj(c, n):
    """Sends PuTTY's winadj request with want-reply n times on a running exec channel; counts the answers."""
    answers = {'success': 0, 'failure': 0}
    t = c.get_transport()
    ch = t.open_session(timeout=30)
    ch.exec_command('sleep 1; echo done; exit 3')
    table = paramiko.Transport._channel_handler_table
    orig_ok, orig_fail = table[MSG_CHANNEL_SUCCESS], table[MSG_CHANNEL_FAILURE]
    # paramiko closes a channel on CHANNEL_FAILURE: count the answers instead, as PuTTY does.
    table[MSG_CHANNEL_SUCCESS] = lambda self, m: answers.__setitem__('success', answers['success'] + 1)
    table[MSG_CHANNEL_FAILURE] = lambda self, m: answers.__setitem__('failure', answers['failure'] + 1)
    try:
        for _ in range(n):
            m = Message()
            m.add_byte(cMSG_CHANNEL_REQUEST)
            m.add_int(ch.remote_chanid)
            m.add_string('winadj@putty.projects.tartarus.org')
            m.add_boolean(True)
            t._send_user_message(m)
        out = b''
        while True:
            d = ch.recv(65536)
            if not d:
                break
            out += d
        code = ch.recv_exit_status()
    finally:
        table[MSG_CHANNEL_SUCCESS], table[MSG_CHANNEL_FAILURE] = orig_ok, orig_fail
    return {'sent': n, 'answers': answers, 'out': out.decode(), 'code': code}


def sftp(c, d):
    s = c.open_sftp()
    with s.open(d + '/paramiko.txt', 'w') as f:
        f.write('hello from paramiko\n')
    names = s.listdir(d)
    with s.open(d + '/paramiko.txt') as f:
        back = f.read().decode()
    return {'names': names, 'back': back}


def main():
    port, password, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    c = connect(port, password)
    try:
        if cmd == 'exec':
            r = exec_many(c, int(sys.argv[4]))
        elif cmd == 'winadj':
            r = winadj(c, int(sys.argv[4]))
        else:
            r = sftp(c, sys.argv[4])
    finally:
        c.close()
    print(json.dumps(r))


main()

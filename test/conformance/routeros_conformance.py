#!/usr/bin/python3
"""RouterOS API conformance of `rds-csi simulator`, checked by a client that is not node-routeros.

The client is Debian's python3-librouteros (a RouterOS API library written against real routers) plus a raw socket
for what a library hides (length prefixes, reply order, tags, connection closes). Every case names its source: a
MikroTik documentation page, or a capture quoted in docs/ARCHITECTURE.md#routeros-facts (section given). The table of facts is
src/simulator/ROUTEROS-FACTS.md; a case name there points here.

Run:  /usr/bin/python3 test/conformance/routeros_conformance.py --port PORT [--host 127.0.0.1 --user admin --password '']
or    /usr/bin/python3 test/conformance/routeros_conformance.py --spawn   (starts dist/src/cli/main.js simulator itself)
Exit 0 when every case passed, 1 on any mismatch (each printed as FAIL with expected/actual), 2 on a setup error.
--skip-huge leaves out the 256 MiB word of the 5-byte length case (about 20-60 s and ~1.5 GB of memory on a busy
2-core machine; `npm test` skips it, `npm run test:conformance` runs it).
"""
import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

try:
    import librouteros
    from librouteros.exceptions import MultiTrapError, TrapError
except ImportError:  # pragma: no cover
    print('librouteros missing: apt-get install python3-librouteros (and run with /usr/bin/python3)', file=sys.stderr)
    sys.exit(3)

API = 'https://help.mikrotik.com/docs/spaces/ROS/pages/47579160/API'
FILES = 'https://help.mikrotik.com/docs/spaces/ROS/pages/2555971/Files'
DISKS = 'https://help.mikrotik.com/docs/spaces/ROS/pages/91193346/Disks'
ROSE = 'https://help.mikrotik.com/docs/spaces/ROS/pages/259031065/ROSE-storage'
SIMREADME = 'src/simulator/README.md (simulator fault, not a RouterOS fact)'


def ref(section):
    return 'docs/ARCHITECTURE.md RouterOS ' + section


class Mismatch(Exception):
    pass


def expect(actual, expected, what):
    if actual != expected:
        raise Mismatch('%s: expected %r, got %r' % (what, expected, actual))


def check(cond, what):
    if not cond:
        raise Mismatch(what)


# ---------------------------------------------------------------------------------------------------------------
# Raw framing (API manual, "API words": length table). Written here, independently of the simulator's codec.

def encode_length(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return struct.pack('!H', n | 0x8000)
    if n < 0x200000:
        return struct.pack('!I', n | 0xC00000)[1:]
    if n < 0x10000000:
        return struct.pack('!I', n | 0xE0000000)
    return b'\xf0' + struct.pack('!I', n)


def expected_prefix_size(n):
    return 1 if n < 0x80 else 2 if n < 0x4000 else 3 if n < 0x200000 else 4 if n < 0x10000000 else 5


def encode_sentence(words):
    out = bytearray()
    for w in words:
        b = w if isinstance(w, (bytes, bytearray)) else w.encode('latin1')
        out += encode_length(len(b)) + b
    out += b'\x00'
    return bytes(out)


class Raw:
    """A raw API connection that keeps each reply word's length prefix for inspection."""

    def __init__(self, host, port, timeout=60.0):
        self.sock = socket.create_connection((host, port), timeout)
        self.buf = bytearray()

    def send(self, words):
        self.sock.sendall(encode_sentence(words))

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, min(n - len(self.buf), 1 << 24)))
            if not chunk:
                raise EOFError('connection closed by the server')
            self.buf += chunk

    def _take(self, n):
        if n > (1 << 20) and len(self.buf) < n:  # a long word: read straight into its own buffer
            out = bytearray(n)
            have = len(self.buf)
            out[:have] = self.buf
            self.buf = bytearray()
            view = memoryview(out)
            while have < n:
                k = self.sock.recv_into(view[have:], n - have)
                if not k:
                    raise EOFError('connection closed by the server')
                have += k
            return bytes(out)
        self._fill(n)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_word(self):
        first = self._take(1)[0]
        if first < 0x80:
            size, length = 1, first
        elif first < 0xC0:
            size, length = 2, ((first & 0x3F) << 8) | self._take(1)[0]
        elif first < 0xE0:
            rest = self._take(2)
            size, length = 3, ((first & 0x1F) << 16) | (rest[0] << 8) | rest[1]
        elif first < 0xF0:
            rest = self._take(3)
            size, length = 4, ((first & 0x0F) << 24) | (rest[0] << 16) | (rest[1] << 8) | rest[2]
        elif first == 0xF0:
            size, length = 5, struct.unpack('!I', self._take(4))[0]
        else:
            raise Mismatch('reply word starts with reserved control byte 0x%02x' % first)
        return size, self._take(length)

    def read_sentence(self, with_prefix=False):
        words = []
        while True:
            size, w = self.read_word()
            if not w:
                return words
            words.append((size, w.decode('latin1')) if with_prefix else w.decode('latin1'))

    def call(self, words):
        """Sends one sentence, returns its reply sentences up to and including !done (or a !fatal)."""
        self.send(words)
        out = []
        while True:
            s = self.read_sentence()
            out.append(s)
            if s[0] in ('!done', '!fatal'):
                return out

    def login(self, user, password):
        expect(self.call(['/login', '=name=' + user, '=password=' + password]), [['!done']], 'login reply')

    def closed(self, wait=3.0):
        """True when the server closed the connection (EOF) with nothing more to read."""
        self.sock.settimeout(wait)
        try:
            return not self.buf and self.sock.recv(1) == b''
        except ConnectionResetError:
            return not self.buf
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(10.0)

    def close(self):
        self.sock.close()


def attrs(sentence):
    """`=k=v` words of one reply sentence as a dict (split at the second `=`, API manual "Attribute word")."""
    d = {}
    for w in sentence[1:]:
        if w.startswith('='):
            k, _, v = w[1:].partition('=')
            d[k] = v
    return d


# ---------------------------------------------------------------------------------------------------------------

CASES = []


def case(name, *sources):
    def deco(fn):
        CASES.append((name, sources, fn))
        return fn
    return deco


class Ctx:
    def __init__(self, host, port, user, password, skip_huge):
        self.host, self.port, self.user, self.password, self.skip_huge = host, port, user, password, skip_huge

    def raw(self, login=True):
        r = Raw(self.host, self.port)
        if login:
            r.login(self.user, self.password)
        return r

    def lib(self):
        return librouteros.connect(self.host, self.user, self.password, port=self.port, timeout=10)

    def admin(self, *words):
        r = self.raw()
        try:
            reply = r.call(list(words))
            expect([x[0] for x in reply if x[0] != '!re'], ['!done'], 'admin %s (reply %r)' % (words[0], reply))
            return reply
        finally:
            r.close()

    def fault(self, **kv):
        self.admin('/simulator/fault/set', *['=%s=%s' % (k.replace('_', '-'), v) for k, v in kv.items()])

    def clear(self):
        self.admin('/simulator/fault/clear')


POOL = {}


@case('login-plain', API, ref('§1.8'))
def login_plain(c):
    # API manual, "Initial login": `/login =name=admin =password=` answered by `!done` (RouterOS >= 6.43).
    r = c.raw(login=False)
    expect(r.call(['/login', '=name=' + c.user, '=password=' + c.password, '.tag=l']), [['!done', '.tag=l']], 'login')
    r.close()
    api = c.lib()  # librouteros' own plain login
    expect(len(tuple(api.rawCmd('/system/identity/print'))), 1, 'identity rows after librouteros login')
    api.close()


@case('login-bad-password', ref('§1.8 (message text captured), §1.4'))
def login_bad(c):
    r = c.raw(login=False)
    reply = r.call(['/login', '=name=' + c.user, '=password=wrong' + c.password])
    expect(reply, [['!trap', '=message=invalid user name or password (6)'], ['!done']], 'bad login reply')
    r.close()
    try:
        librouteros.connect(c.host, c.user, 'wrong' + c.password, port=c.port, timeout=10).close()
        raise Mismatch('librouteros logged in with a wrong password')
    except TrapError as e:
        expect(e.message, 'invalid user name or password (6)', 'librouteros trap message')


@case('not-logged-in-fatal', API, ref('§1.1, §1.4'))
def not_logged_in(c):
    r = c.raw(login=False)
    r.send(['/disk/print', '.tag=x'])
    expect(r.read_sentence(), ['!fatal', 'not logged in'], '!fatal before login (bare reason word, untagged)')
    check(r.closed(), 'connection closed after !fatal')


@case('tags', API + ' ("Tags")', ref('§1.5'))
def tags(c):
    r = c.raw()
    # Pipelined: both sentences written before any reply is read; every reply carries its own tag.
    r.sock.sendall(encode_sentence(['/system/identity/print', '.tag=one']) +
                   encode_sentence(['/nosuch/print', '.tag=two']) +
                   encode_sentence(['/system/identity/print']))
    got = [r.read_sentence() for _ in range(5)]
    one = [s for s in got if '.tag=one' in s]
    two = [s for s in got if '.tag=two' in s]
    untagged = [s for s in got if not any(w.startswith('.tag=') for w in s)]
    expect([s[0] for s in one], ['!re', '!done'], 'replies tagged one')
    expect([s[0] for s in two], ['!trap', '!done'], 'replies tagged two')
    expect([s[0] for s in untagged], ['!re'], 'untagged replies so far')
    expect(r.read_sentence(), ['!done'], 'untagged !done')
    r.close()


@case('empty-then-done', API + ' ("!empty", RouterOS 7.18)', ref('§1.4 [CL718][PEAR80]'))
def empty(c):
    r = c.raw()
    expect(r.call(['/disk/print', '?slot=no-such-slot', '.tag=e']), [['!empty', '.tag=e'], ['!done', '.tag=e']],
           'zero-row print (7.18+)')
    c.fault(empty_mode='legacy')
    try:
        expect(r.call(['/disk/print', '?slot=no-such-slot']), [['!done']], 'zero-row print (before 7.18)')
    finally:
        c.clear()
    r.close()
    api = c.lib()  # librouteros reads up to !done and ignores a word-less !empty: no rows
    expect(tuple(api.rawCmd('/disk/print', '?slot=no-such-slot')), (), 'librouteros rows for an empty print')
    api.close()


@case('trap-and-category', API + ' ("!trap": categories 0..7)', ref('§1.10, §1.11'))
def trap(c):
    r = c.raw()
    reply = r.call(['/nosuch/print', '.tag=t'])
    expect(reply, [['!trap', '=category=0', '=message=no such command or directory (nosuch)', '.tag=t'], ['!done', '.tag=t']],
           'unknown menu')
    reply = r.call(['/disk/set', '=.id=*FFFF', '=comment=x'])
    expect([s[0] for s in reply], ['!trap', '!done'], 'set of an unknown .id')
    expect(attrs(reply[0]).get('message'), 'no such item', 'unknown .id message')
    r.close()
    api = c.lib()
    try:
        tuple(api.rawCmd('/disk/remove', '=.id=*FFFF'))
        raise Mismatch('librouteros saw no trap for remove of an unknown .id')
    except TrapError as e:
        expect(e.message, 'no such item', 'librouteros trap message')
    api.close()


@case('multi-trap-reply', API + ' ("!trap"; a sentence may get several replies before !done)', ref('§1.4 (two traps captured)'))
def multi_trap(c):
    c.fault(trap_command='/system/identity/print', trap_message='no such command or directory (x)',
            trap_more_message='no such command prefix', trap_category=0)
    api = c.lib()
    try:
        tuple(api.rawCmd('/system/identity/print'))
        raise Mismatch('no trap')
    except MultiTrapError as e:
        expect([t.message for t in e.traps], ['no such command or directory (x)', 'no such command prefix'],
               'librouteros MultiTrapError messages')
    except TrapError as e:
        raise Mismatch('one trap only (%s), expected two before !done' % e.message)
    finally:
        c.clear()
    # The connection stays usable after the multi-trap reply.
    expect(len(tuple(api.rawCmd('/system/identity/print'))), 1, 'identity after multi-trap')
    api.close()


def add_disk(api, slot, size, **extra):
    pool = POOL['name']
    words = ['=type=file', '=slot=' + slot, '=file-path=%s/conf/%s.img' % (pool, slot), '=file-size=%d' % size]
    words += ['=%s=%s' % (k.replace('_', '-'), v) for k, v in extra.items()]
    done = tuple(api.rawCmd('/disk/add', *words))
    expect(len(done), 1, '/disk/add !done attributes')
    ret = done[0]['ret']
    check(isinstance(ret, str) and ret.startswith('*') and all(ch in '0123456789ABCDEF' for ch in ret[1:]),
          '`add` answers !done =ret=*HEX, got %r' % (ret,))
    return ret


@case('disk-pool-row', DISKS, ref('§2.1, §2.4 (RDS2216 capture)'))
def disk_pool(c):
    api = c.lib()
    rows = tuple(api.rawCmd('/disk/print', '?mount-point'))
    check(len(rows) >= 1, 'a pool row with mount-point')
    pool = rows[0]
    for k in ('.id', 'slot', 'type', 'mount-point', 'size', 'free'):
        check(k in pool, 'pool row has %s: %r' % (k, pool))
    check(isinstance(pool['size'], int) and isinstance(pool['free'], int), 'size/free are bare byte counts')
    POOL['name'] = pool['mount-point']
    api.close()


@case('disk-add-file-row', DISKS, ROSE, ref('§2.2 (RDS2216 capture), §1.4 (`add` → =ret=), §4.8'))
def disk_rows(c):
    api = c.lib()
    ids = {s: add_disk(api, s, n) for s, n in (('conf-a', 1 << 20), ('conf-b', 2 << 20), ('conf-c', 3 << 20))}
    tuple(api.rawCmd('/disk/set', '=.id=' + ids['conf-b'], '=comment=has-comment'))
    POOL['ids'] = ids
    r = c.raw()
    reply = r.call(['/disk/print', '?slot=conf-a'])
    r.close()
    expect([s[0] for s in reply], ['!re', '!done'], 'print one disk')
    row = attrs(reply[0])
    expect(row['type'], 'file', 'type')
    expect(row['file-path'], '/%s/conf/conf-a.img' % POOL['name'], 'file-path is printed with a leading /')
    expect(row['file-size'], str(1 << 20), 'file-size in bare bytes over the API')
    expect(row['size'], str(1 << 20), 'size in bare bytes')
    expect(row['nvme-tcp-export'], 'false', 'booleans are true/false over the API')
    expect(row['nvme-tcp-server-nqn'], 'conf-a', 'default NQN = slot')
    for k in ('.id', 'slot', 'model', 'nvme-tcp-server-port', 'nvme-tcp-server-allow-host-name', 'iscsi-export',
              'file-offset', 'mount-filesystem', 'sector-size'):
        check(k in row, 'file disk row has %s' % k)
    check('status' not in row and 'source-volume' not in row, 'no mock-only fields (status, source-volume)')
    api.close()


@case('proplist', API + ' (".proplist")', ref('§1.3, §1.6'))
def proplist(c):
    api = c.lib()
    rows = tuple(api.rawCmd('/disk/print', '=.proplist=.id,slot'))
    check(len(rows) >= 4, 'pool + 3 disks')
    for row in rows:
        expect(sorted(row), ['.id', 'slot'], 'keys of a row printed with .proplist=.id,slot')
    # A property left out of .proplist counts as absent for queries (API manual, "Queries").
    expect(tuple(api.rawCmd('/disk/print', '=.proplist=.id', '?slot=conf-a')), (), 'query on a property not in .proplist')
    api.close()


@case('queries', API + ' ("Queries": ?name, ?-name, ?name=x, ?<, ?>, ?#!&|)', ref('§1.6'))
def queries(c):
    api = c.lib()

    def slots(*q):
        return sorted(r['slot'] for r in api.rawCmd('/disk/print', '=.proplist=slot,type,file-size,comment', *q)
                      if str(r['slot']).startswith('conf-'))

    expect(slots('?slot=conf-a'), ['conf-a'], '?slot=')
    expect(slots('?=slot=conf-a'), ['conf-a'], '?=slot= (same as ?slot=)')
    expect(slots('?type=file', '?>file-size=%d' % (1 << 20)), ['conf-b', 'conf-c'], '?> (implicit AND)')
    expect(slots('?type=file', '?<file-size=%d' % (3 << 20)), ['conf-a', 'conf-b'], '?<')
    expect(slots('?slot=conf-a', '?slot=conf-c', '?#|'), ['conf-a', 'conf-c'], '?#| (OR)')
    expect(slots('?type=file', '?slot=conf-a', '?#!'), ['conf-b', 'conf-c'], '?#! (NOT)')
    expect(slots('?comment'), ['conf-b'], '?name (has the property)')
    expect(slots('?type=file', '?-comment'), ['conf-a', 'conf-c'], '?-name (lacks the property)')
    expect(slots('?type=file', '?>comment='), ['conf-b'], '?>comment= (non-empty comment)')
    api.close()


@case('count-only', ref('§1.4 (count-only → !done =ret=n, captured); !empty after count-only: assumed'))
def count_only(c):
    r = c.raw()
    expect(r.call(['/disk/print', '=count-only=', '?type=file', '.tag=n']), [['!done', '=ret=3', '.tag=n']], 'count-only 3')
    expect(r.call(['/disk/print', '=count-only=', '?slot=nothing']), [['!done', '=ret=0']], 'count-only 0 (no !empty)')
    r.close()


@case('length-prefixes-1-to-4', API + ' ("API words": length encoding)', ref('§1.2'))
def lengths(c):
    """Words of 0x7F/0x80, 0x3FFF/0x4000, 0x1FFFFF/0x200000 bytes both ways: librouteros sends them (its own encoder,
    1–4 bytes), the raw reader checks each reply prefix is the size the table gives and decodes to the same text."""
    api = c.lib()
    disk = POOL['ids']['conf-c']
    for total in (0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000):
        value = ('%x-' % total) * (total // 8)
        value = (value + 'z' * total)[:total - len('=comment=')]
        tuple(api.rawCmd('/disk/set', '=.id=' + disk, '=comment=' + value))
        r = c.raw()
        r.send(['/disk/print', '=.proplist=comment,slot', '?slot=conf-c'])
        re = r.read_sentence(with_prefix=True)
        r.read_sentence()
        r.close()
        expect(re[0][1], '!re', 'reply word')
        size, word = next(w for w in re if w[1].startswith('=comment='))
        expect(len(word), total, 'length of the =comment= word')
        expect(word == '=comment=' + value, True, 'word %#x round-trips' % total)
        expect(size, expected_prefix_size(total), 'prefix bytes for a %#x-byte word' % total)
    tuple(api.rawCmd('/disk/set', '=.id=' + disk, '=comment='))
    api.close()


@case('length-prefix-5-bytes', API + ' ("API words": len >= 0x10000000 → 0xF0 + 4 bytes)', ref('§1.2'))
def five_bytes(c):
    if c.skip_huge:
        print('  (skipped: --skip-huge)')
        return
    # librouteros 3.1 encodes at most 4 prefix bytes, so this goes raw: a 0x10000000-byte command word; the trap
    # for an unknown menu quotes the word, so the reply carries a word longer than 0x10000000 too.
    name = b'/' + b'q' * (0x10000000 - 1)
    r = c.raw()
    sent = encode_sentence([name, '.tag=big'])
    expect(sent[:5], b'\xf0\x10\x00\x00\x00', 'our 5-byte prefix')
    r.sock.sendall(sent)
    trap = r.read_sentence(with_prefix=True)
    done = r.read_sentence()
    expect(trap[0][1], '!trap', 'reply to the huge command word')
    size, msg = trap[2]
    expect(size, 5, 'prefix bytes of a reply word over 0x10000000 bytes')
    expect(msg, '=message=no such command or directory (%s)' % name[1:].decode(), 'huge trap message')
    expect(done, ['!done', '.tag=big'], '!done after the trap')
    r.close()


@case('control-byte-closes', API + ' (first byte >= 0xF8 is a reserved control byte)', ref('§1.2, §4.1'))
def control_byte(c):
    r = c.raw()
    r.sock.sendall(b'\xf8\x00')
    check(r.closed(), 'connection closed after a reserved control byte')


@case('sentence-any-chunking', API + ' (a sentence is evaluated after its zero-length word)', ref('§1.1'))
def chunking(c):
    r = c.raw()
    for b in encode_sentence(['/system/identity/print', '.tag=slow']):
        r.sock.sendall(bytes([b]))
        time.sleep(0.001)
    expect([s[0] for s in [r.read_sentence(), r.read_sentence()]], ['!re', '!done'], 'byte-by-byte sentence')
    r.close()


@case('file-rows-and-disk-root', FILES + ' (7.16.1 capture: `name=flash type=disk` without size)', ref('§2.3'))
def file_rows(c):
    api = c.lib()
    rows = tuple(api.rawCmd('/file/print'))
    pool = POOL['name']
    expect({k: rows[0].get(k) for k in ('name', 'type')}, {'name': pool, 'type': 'disk'}, 'first /file row = disk root')
    check('size' not in rows[0], 'disk root row has no size: %r' % (rows[0],))
    by_name = {r['name']: r for r in rows}
    d = by_name.get(pool + '/conf')
    check(d is not None and d['type'] == 'directory' and 'size' not in d, 'directory row without size: %r' % (d,))
    f = by_name.get(pool + '/conf/conf-a.img')
    check(f is not None, '/file lists the backing file without a leading /')
    expect(f['type'], '.img file', 'file type `.<ext> file`')
    expect(f['size'], 1 << 20, 'file size in bytes')
    check(all(not str(r['name']).startswith('/') for r in rows), 'no /file name starts with /')
    api.close()


@case('disk-remove-keeps-file', DISKS + ' ("Removing the disk item does not delete the file")', ref('§2.3'))
def disk_remove(c):
    api = c.lib()
    tuple(api.rawCmd('/disk/remove', '=.id=' + POOL['ids']['conf-a']))
    expect(tuple(api.rawCmd('/disk/print', '?slot=conf-a')), (), 'disk gone')
    name = POOL['name'] + '/conf/conf-a.img'
    files = tuple(api.rawCmd('/file/print', '?name=' + name))
    expect(len(files), 1, 'backing file still listed')
    tuple(api.rawCmd('/file/remove', '=.id=' + files[0]['.id']))
    expect(tuple(api.rawCmd('/file/print', '?name=' + name)), (), 'file removed by /file remove')
    api.close()


@case('cancel-interrupts', API + ' ("/cancel": interrupted, category 2)', ref('§1.9'))
def cancel(c):
    r = c.raw()
    c.fault(latency_ms=3000)
    try:
        r.send(['/system/identity/print', '.tag=slow'])  # waits 3 s in the injected latency
        time.sleep(0.2)
        # The /cancel itself must not wait behind the same latency (admin commands skip faults; a new connection's
        # /login would not).
        expect(r.call(['/simulator/fault/set', '=latency-ms=0']), [['!done']], 'latency off')
        r.send(['/cancel', '=tag=slow', '.tag=c'])
        got = [r.read_sentence() for _ in range(3)]
    finally:
        c.clear()
    expect(sorted(got), sorted([['!trap', '=category=2', '=message=interrupted', '.tag=slow'], ['!done', '.tag=slow'],
                                ['!done', '.tag=c']]), 'cancel replies')
    r.close()


@case('quit-fatal', API + ' ("/quit" → !fatal, then close)', ref('§1.9'))
def quit_(c):
    r = c.raw()
    r.send(['/quit', '.tag=q'])
    expect(r.read_sentence(), ['!fatal', 'session terminated on request'], '/quit reply (untagged bare reason)')
    check(r.closed(), 'closed after /quit')


@case('fault-trap', SIMREADME, API + ' (trap wire form)')
def fault_trap(c):
    c.fault(trap_command='/disk/print', trap_message='simulated', trap_category=4)
    r = c.raw()
    expect(r.call(['/disk/print']), [['!trap', '=category=4', '=message=simulated'], ['!done']], 'injected trap')
    expect(r.call(['/disk/print', '=count-only='])[-1][0], '!done', 'trap-count=1 consumed')
    r.close()
    c.clear()


@case('fault-fatal-next', SIMREADME, API + ' (!fatal: bare reason, then close)')
def fault_fatal(c):
    r = c.raw()
    c.fault(fatal_next='yes', fatal_reason='simulated fatal')
    r.send(['/system/identity/print', '.tag=f'])
    expect(r.read_sentence(), ['!fatal', 'simulated fatal'], 'untagged !fatal')
    check(r.closed(), 'closed after !fatal')
    c.clear()


@case('fault-drop-before-and-after', SIMREADME)
def fault_drop(c):
    api = c.lib()
    for mode, applied in (('before', False), ('after', True)):
        slot = 'drop-' + mode
        r = c.raw()
        c.fault(drop_next=1, drop_mode=mode)
        pool = POOL['name']
        r.send(['/disk/add', '=type=file', '=slot=' + slot, '=file-path=%s/conf/%s.img' % (pool, slot), '=file-size=1M'])
        check(r.closed(), 'drop-%s: closed without a reply' % mode)
        c.clear()
        expect(len(tuple(api.rawCmd('/disk/print', '?slot=' + slot))), 1 if applied else 0, 'drop-%s: command ran' % mode)
    api.close()


@case('fault-fragment-bytes', SIMREADME, API + ' (a stream of words; any TCP chunking)')
def fault_fragment(c):
    api = c.lib()
    plain = tuple(api.rawCmd('/disk/print'))
    c.fault(fragment_bytes=3)
    try:
        expect(tuple(api.rawCmd('/disk/print')), plain, 'rows with replies written 3 bytes at a time')
    finally:
        c.clear()
    api.close()


@case('fault-latency', SIMREADME)
def fault_latency(c):
    c.fault(latency_ms=300)
    try:
        api = c.lib()  # the login is delayed too
        t0 = time.monotonic()
        tuple(api.rawCmd('/system/identity/print'))
        check(time.monotonic() - t0 >= 0.29, 'latency-ms=300 delays the reply')
        api.close()
    finally:
        c.clear()


@case('fault-down-for-ms', SIMREADME)
def fault_down(c):
    c.fault(down_for_ms=1500)
    time.sleep(0.4)
    try:
        socket.create_connection((c.host, c.port), 2).close()
        raise Mismatch('connection accepted while down')
    except ConnectionRefusedError:
        pass
    deadline = time.monotonic() + 10
    while True:
        try:
            c.lib().close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise Mismatch('not back within 10 s after down-for-ms=1500')
            time.sleep(0.2)


@case('cleanup')
def cleanup(c):
    api = c.lib()
    for row in tuple(api.rawCmd('/disk/print', '=.proplist=.id,slot')):
        if str(row['slot']).startswith(('conf-', 'drop-')):
            tuple(api.rawCmd('/disk/remove', '=.id=' + row['.id']))
    for row in tuple(api.rawCmd('/file/print', '=.proplist=.id,name,type')):
        if str(row['name']).startswith(POOL['name'] + '/conf/'):
            tuple(api.rawCmd('/file/remove', '=.id=' + row['.id']))
    api.close()


def spawn():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    data = tempfile.mkdtemp(prefix='rds-conform-')
    proc = subprocess.Popen(['node', os.path.join(root, 'dist/src/cli/main.js'), 'simulator', '--data-dir', data,
                             '--port', '0', '--quiet', '--pool-size', '1G'], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    port = json.loads(line)['listening']['port']
    return proc, data, port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int)
    ap.add_argument('--user', default='admin')
    ap.add_argument('--password', default='')
    ap.add_argument('--spawn', action='store_true', help='start dist/src/cli/main.js simulator on a free port')
    ap.add_argument('--skip-huge', action='store_true', help='leave out the 256 MiB word')
    ap.add_argument('--only', help='comma-separated case names (setup cases run too)')
    a = ap.parse_args()
    proc = data = None
    if a.spawn:
        proc, data, a.port = spawn()
    if a.port is None:
        ap.error('--port or --spawn')
    ctx = Ctx(a.host, a.port, a.user, a.password, a.skip_huge)
    only = set(a.only.split(',')) if a.only else None
    setup = {'disk-pool-row', 'disk-add-file-row', 'cleanup'}
    failed = 0
    try:
        for name, sources, fn in CASES:
            if only and name not in only and name not in setup:
                continue
            t0 = time.monotonic()
            try:
                fn(ctx)
                print('ok   %-28s %5.2fs  %s' % (name, time.monotonic() - t0, ' | '.join(sources)))
            except Exception as e:  # a mismatch, or a client error that is one
                failed += 1
                print('FAIL %-28s %s: %s\n     source: %s' % (name, type(e).__name__, e, ' | '.join(sources)))
                try:
                    ctx.clear()
                except Exception:
                    pass
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
            shutil.rmtree(data, ignore_errors=True)
    print('%d cases, %d failed' % (len(CASES), failed))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()

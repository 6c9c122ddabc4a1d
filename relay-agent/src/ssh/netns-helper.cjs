// Runs inside a container's network namespace (nsenter --net): opens and accepts TCP (and abstract unix sockets) there, hands each socket to the relay over IPC.
'use strict';
const net = require('node:net');

const listeners = new Map();
let nextId = 1;

function reply(id, body, handle) {
  if (process.connected) process.send({ id, ...body }, handle);
}

process.on('message', (m) => {
  if (!m || typeof m !== 'object') return;
  if (m.op === 'connect') {
    const s = net.connect({ host: m.host, port: m.port });
    // No reads here: bytes the server sends first (an SSH banner) must reach the relay's copy of the socket.
    s.pause();
    s.once('connect', () => reply(m.id, { ok: true }, s));
    s.once('error', (err) => reply(m.id, { ok: false, error: err.code || err.message }));
  } else if (m.op === 'listen') {
    const lid = nextId++;
    const srv = net.createServer({ pauseOnConnect: true }, (s) => {
      if (process.connected)
        process.send({ op: 'conn', lid, srcIP: s.remoteAddress || '', srcPort: s.remotePort || 0 }, s);
    });
    srv.once('error', (err) => reply(m.id, { ok: false, error: err.code || err.message }));
    // `path` is an abstract unix socket name ("\0..."): it lives in this network namespace, not in any file system.
    const at = m.path ? { path: m.path, exclusive: true } : { host: m.host, port: m.port, exclusive: true };
    srv.listen(at, () => {
      listeners.set(lid, srv);
      const a = srv.address();
      reply(m.id, { ok: true, lid, port: typeof a === 'object' && a ? a.port : 0 });
    });
  } else if (m.op === 'unlisten') {
    listeners.get(m.lid)?.close();
    listeners.delete(m.lid);
  }
});
// The relay went away: nothing here may outlive it.
process.on('disconnect', () => process.exit(0));

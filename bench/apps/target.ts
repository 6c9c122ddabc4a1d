// The benchmark's app server (run as its own process): `/1k` answers 1 KiB, `/bytes/<n>` streams n bytes. Prints its port.
import { createServer } from 'node:http';
import { sendBytes } from '../../test/support/app-targets.ts';

const host = process.argv[2] ?? '127.0.0.3';
const ONE_K = Buffer.alloc(1024, 'x');
const BLOCK = Buffer.alloc(1024 * 1024, 'y');

const server = createServer((req, res) => {
  if (req.url === '/1k') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1024' });
    res.end(ONE_K);
    return;
  }
  const m = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
  if (!m) {
    res.writeHead(404).end();
    return;
  }
  sendBytes(res, Number(m[1]), BLOCK);
});
server.keepAliveTimeout = 60_000;
server.listen(0, host, () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

// Splits Docker's multiplexed exec stream (8-byte frame headers) into stdout and stderr, honouring backpressure.
// docker.modem.demuxStream ignores write() results, so a fast download would pile up in memory: this pauses instead.
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';

export function demux(source: Readable): { stdout: PassThrough; stderr: PassThrough } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let pending: Buffer = Buffer.alloc(0);
  let frameLeft = 0;
  let frameOut: PassThrough = stdout;
  let waiting = 0;

  const resume = () => {
    if (--waiting === 0) source.resume();
  };
  const write = (dest: PassThrough, chunk: Buffer) => {
    if (!dest.write(chunk)) {
      if (waiting++ === 0) source.pause();
      dest.once('drain', resume);
    }
  };

  source.on('data', (chunk: Buffer) => {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (frameLeft > 0) {
        const n = Math.min(frameLeft, buf.length);
        write(frameOut, buf.subarray(0, n));
        frameLeft -= n;
        buf = buf.subarray(n);
        continue;
      }
      if (buf.length < 8) {
        pending = Buffer.from(buf);
        break;
      }
      frameOut = buf[0] === 2 ? stderr : stdout;
      frameLeft = buf.readUInt32BE(4);
      buf = buf.subarray(8);
    }
  });
  const end = () => {
    stdout.end();
    stderr.end();
  };
  source.once('end', end);
  source.once('close', end);
  return { stdout, stderr };
}

// Runs a short command in a container and returns its stdout (the sshd host key for pinning).
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';

export async function execCapture(
  docker: Dockerode,
  container: Dockerode.Container,
  cmd: string[],
  timeoutMs = 5000,
): Promise<{ code: number | null; stdout: string }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  docker.modem.demuxStream(stream, out, new PassThrough());
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      stream.destroy();
      resolve();
    }, timeoutMs);
    stream.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on('error', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const info = await exec.inspect();
  return { code: info.ExitCode ?? null, stdout: Buffer.concat(chunks).toString('utf8') };
}

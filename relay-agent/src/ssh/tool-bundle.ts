// Brings sftp-server, scp and rsync into containers whose image lacks them: the relay host's binaries with their own loader and libraries.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import tar from 'tar-stream';
import type { Logger } from '../contracts.ts';
import { execCapture } from '../docker/exec.ts';

/** Where the bundle lives inside a container: a path of its own, never a directory of the image. */
const BUNDLE_DIR = '/.remotegpu';
/** Appended at the END of PATH for tool commands, so the image's own tools always win. */
export const BUNDLE_BIN = `${BUNDLE_DIR}/bin`;

/** socat is not for renters: it makes the `ssh -A` socket inside the container (docker-agent.ts). */
export type Tool = 'sftp-server' | 'scp' | 'rsync' | 'socat';

/** Where images keep sftp-server (tried in this order before the bundle's). */
export const IMAGE_SFTP_SERVERS = [
  '/usr/lib/openssh/sftp-server',
  '/usr/lib/sftp-server',
  '/usr/libexec/openssh/sftp-server',
  '/usr/libexec/sftp-server',
];

const HOST_TOOLS: Record<Tool, string[]> = {
  'sftp-server': IMAGE_SFTP_SERVERS,
  scp: ['/usr/bin/scp'],
  rsync: ['/usr/bin/rsync'],
  socat: ['/usr/bin/socat'],
};

/** Which tool an SSH request runs on the server side, if it is one the bundle can bring. */
export function toolFor(kind: 'shell' | 'exec' | 'subsystem', arg: string): Tool | null {
  if (kind === 'subsystem') return arg === 'sftp' ? 'sftp-server' : null;
  if (kind !== 'exec') return null;
  // `scp -t`/`scp -f` (scp -O, both directions) and `rsync --server` are what the clients send.
  if (/^\s*scp\s/.test(arg) && /(^|\s)-[a-zA-Z]*[tf][a-zA-Z]*(\s|$)/.test(arg)) return 'scp';
  if (/^\s*rsync\s+--server(\s|$)/.test(arg)) return 'rsync';
  return null;
}

/** The shell test that succeeds when the image has its own `tool` or the bundle is already there. */
function presenceScript(tool: Tool): string {
  const own =
    tool === 'sftp-server'
      ? IMAGE_SFTP_SERVERS.map((p) => `[ -x ${p} ] && exit 0`).join('; ') + '; '
      : tool === 'socat'
        ? '' // always the bundle's: its options are known
        : `command -v ${tool} >/dev/null 2>&1 && exit 0; `;
  return `${own}[ -x ${BUNDLE_BIN}/${tool} ] && exit 0; exit 3`;
}

export interface HostFile {
  /** Path inside the bundle, relative to BUNDLE_DIR. */
  path: string;
  data: Buffer;
  mode: number;
}

/** Parses `ldd` output: the libraries (`=> /path`) and the ELF loader (a bare absolute path). */
export function parseLdd(out: string): { libs: string[]; loader: string | null } {
  const libs = new Set<string>();
  let loader: string | null = null;
  for (const line of out.split('\n')) {
    const lib = /=>\s*(\/\S+)/.exec(line);
    if (lib) libs.add(lib[1]!);
    else {
      const ld = /^\s*(\/\S+)\s+\(0x/.exec(line);
      if (ld) loader = ld[1]!;
    }
  }
  return { libs: [...libs], loader };
}

function wrapper(loader: string, tool: Tool): string {
  // Our own loader and libraries: works the same on glibc, musl and busybox images.
  return `#!/bin/sh\nexec ${BUNDLE_DIR}/lib/${basename(loader)} --library-path ${BUNDLE_DIR}/lib ${BUNDLE_DIR}/libexec/${tool} "$@"\n`;
}

export type Ldd = (files: string[]) => Promise<string>;
const defaultLdd: Ldd = async (files) => (await promisify(execFile)('ldd', files)).stdout;

/** Reads the host's tools, their libraries and loader once; `tools` says which were found. */
export async function collectBundle(
  ldd: Ldd = defaultLdd,
  exists: (p: string) => Promise<Buffer | null> = readOrNull,
): Promise<{ files: HostFile[]; tools: Tool[] }> {
  const bins: { tool: Tool; path: string; data: Buffer }[] = [];
  for (const tool of Object.keys(HOST_TOOLS) as Tool[]) {
    for (const path of HOST_TOOLS[tool]) {
      const data = await exists(path);
      if (data) {
        bins.push({ tool, path, data });
        break;
      }
    }
  }
  if (!bins.length) return { files: [], tools: [] };
  const { libs, loader } = parseLdd(await ldd(bins.map((b) => b.path)));
  if (!loader) throw new Error('ldd names no ELF loader for the host tools');
  const files: HostFile[] = [];
  for (const lib of [...libs, loader]) {
    const data = await exists(lib);
    if (!data) throw new Error(`cannot read ${lib}`);
    files.push({ path: `lib/${basename(lib)}`, data, mode: 0o755 });
  }
  for (const b of bins) files.push({ path: `libexec/${b.tool}`, data: b.data, mode: 0o755 });
  // Wrappers last: a half-written archive never leaves a wrapper without its program.
  for (const b of bins) files.push({ path: `bin/${b.tool}`, data: Buffer.from(wrapper(loader, b.tool)), mode: 0o755 });
  return { files, tools: bins.map((b) => b.tool) };
}

async function readOrNull(path: string): Promise<Buffer | null> {
  return readFile(path).catch(() => null);
}

/** A tar to extract at `/`: `.remotegpu/{bin,lib,libexec}/…`, owned by root. */
export function tarBundle(files: HostFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const dirs = new Set(files.map((f) => f.path.split('/')[0]!));
  const mtime = new Date(0);
  pack.entry({ name: `${BUNDLE_DIR.slice(1)}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime });
  for (const d of dirs)
    pack.entry({ name: `${BUNDLE_DIR.slice(1)}/${d}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime });
  for (const f of files)
    pack.entry(
      { name: `${BUNDLE_DIR.slice(1)}/${f.path}`, mode: f.mode, uid: 0, gid: 0, mtime, size: f.data.length },
      f.data,
    );
  pack.finalize();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    pack.on('data', (c: Buffer) => chunks.push(c));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
}

const MAX_CACHED = 10_000;

/**
 * Makes a tool reachable in a container, once per container: checks with an exec (`test -x`, `command -v`),
 * and if neither the image nor an earlier upload has it, uploads the bundle through the Engine's archive
 * endpoint. Container paths are never resolved on the host (symlinks in a container would lead out of it).
 */
export class ToolInstaller {
  private bundle: Promise<{ tar: Buffer; tools: Tool[] }> | null = null;
  private readonly ready = new Map<string, Promise<void>>();
  private readonly uploads = new Map<string, Promise<void>>();

  constructor(private readonly o: { docker: Dockerode; ldd?: Ldd }) {}

  ensure(containerId: string, tool: Tool, log: Logger): Promise<void> {
    const key = `${containerId}:${tool}`;
    let p = this.ready.get(key);
    if (!p) {
      if (this.ready.size > MAX_CACHED) this.ready.clear();
      p = this.check(containerId, tool, log);
      this.ready.set(key, p);
      p.catch(() => this.ready.delete(key)); // try again on the next request
    }
    return p;
  }

  private async check(containerId: string, tool: Tool, log: Logger): Promise<void> {
    const container = this.o.docker.getContainer(containerId);
    const probe = await execCapture(this.o.docker, container, ['/bin/sh', '-c', presenceScript(tool)]);
    if (probe.code === 0) return;
    if (probe.code !== 3) throw new Error(`cannot check for ${tool} in the container (exit ${probe.code})`);
    let up = this.uploads.get(containerId);
    if (!up) {
      if (this.uploads.size > MAX_CACHED) this.uploads.clear();
      up = this.upload(container, log);
      this.uploads.set(containerId, up);
      up.catch(() => this.uploads.delete(containerId));
    }
    await up;
    if (!(await this.bundle)?.tools.includes(tool)) throw new Error(`the relay host has no ${tool} to bring`);
  }

  private async upload(container: Dockerode.Container, log: Logger): Promise<void> {
    const t0 = Date.now();
    this.bundle ??= collectBundle(this.o.ldd).then(async (b) => ({ tar: await tarBundle(b.files), tools: b.tools }));
    const b = await this.bundle.catch((err: unknown) => {
      this.bundle = null;
      throw err;
    });
    if (!b.tools.length) throw new Error('the relay host has none of sftp-server, scp, rsync, socat to bring');
    await container.putArchive(b.tar, { path: '/' });
    log.info('ssh tools installed into the environment (its image has none)', {
      container: container.id,
      path: BUNDLE_DIR,
      tools: b.tools,
      bytes: b.tar.length,
      ms: Date.now() - t0,
    });
  }
}

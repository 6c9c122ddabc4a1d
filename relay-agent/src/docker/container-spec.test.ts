import { describe, expect, it } from 'vitest';
import type { ContainerCreateArgs } from '@remotegpu/schema';
import { KEEPALIVE_CMD, buildCreateOptions, needsKeepalive } from './container-spec.ts';
import { stateFromEvent } from './events.ts';
import { containerName, ownerNetworkName } from './labels.ts';

const args = (over: Partial<ContainerCreateArgs> = {}): ContainerCreateArgs => ({
  environment_id: '6hiflzwte2xnkroq',
  request_id: 'req-1',
  owner_id: 'u1',
  image: 'remotegpu/busybox:latest',
  has_sshd: false,
  gpu_devices: [],
  cpu_cores: 2,
  memory_gb: 1,
  ...over,
});
const bare = { Cmd: ['/bin/sh'], Entrypoint: null };

describe('container spec', () => {
  it('sets limits, labels, the owner network and restricted rights, and no host paths', () => {
    const o = buildCreateOptions({
      args: args(),
      network: 'remotegpu-u-u1',
      platformPublicKey: 'ssh-ed25519 AAAA relay',
      image: bare,
    });
    expect(o.name).toBe('remotegpu-6hiflzwte2xnkroq');
    expect(o.Labels).toEqual({
      'remotegpu.env': '6hiflzwte2xnkroq',
      'remotegpu.owner': 'u1',
      'remotegpu.request': 'req-1',
      'remotegpu.managed': '1',
    });
    const h = o.HostConfig!;
    expect(h).toMatchObject({
      NetworkMode: 'remotegpu-u-u1',
      NanoCpus: 2e9,
      Memory: 1024 ** 3,
      PidsLimit: 4096,
      Init: true,
      Privileged: false,
      SecurityOpt: ['no-new-privileges'],
    });
    expect(h.CapDrop).toEqual(expect.arrayContaining(['NET_RAW', 'MKNOD', 'SYS_CHROOT']));
    expect(h.Binds).toBeUndefined();
    expect(h.Mounts).toBeUndefined();
    expect(h.DeviceRequests).toBeUndefined();
    expect(o.Cmd).toEqual(KEEPALIVE_CMD);
    expect(o.Env).toEqual([]);
  });

  it('requests GPUs by device index', () => {
    const o = buildCreateOptions({
      args: args({ gpu_devices: [0, 3] }),
      network: 'n',
      platformPublicKey: 'k',
      image: bare,
    });
    expect(o.HostConfig!.DeviceRequests).toEqual([
      { Driver: 'nvidia', DeviceIDs: ['0', '3'], Capabilities: [['gpu']] },
    ]);
  });

  it('mounts the data volume, and nothing else, at the data path', () => {
    const o = buildCreateOptions({
      args: args(),
      network: 'n',
      platformPublicKey: 'k',
      image: bare,
      data: { volume: 'remotegpu-data-6hiflzwte2xnkroq', path: '/workspace' },
    });
    expect(o.HostConfig!.Mounts).toEqual([
      { Type: 'volume', Source: 'remotegpu-data-6hiflzwte2xnkroq', Target: '/workspace' },
    ]);
    expect(o.HostConfig!.Binds).toBeUndefined();
  });

  it('gives sshd images the relay key and keeps the rights sshd needs', () => {
    const o = buildCreateOptions({
      args: args({ has_sshd: true }),
      network: 'n',
      platformPublicKey: 'ssh-ed25519 AAAA relay',
      image: { Cmd: ['/usr/local/bin/start-sshd'], Entrypoint: null },
    });
    expect(o.Env).toEqual(['SSH_AUTHORIZED_KEYS=ssh-ed25519 AAAA relay']);
    expect(o.HostConfig!.CapDrop).not.toContain('SYS_CHROOT');
    expect(o.Cmd).toBeUndefined();
  });

  it('keeps the image command unless it is a bare shell', () => {
    expect(needsKeepalive({ Cmd: ['bash'], Entrypoint: null })).toBe(true);
    expect(needsKeepalive({ Cmd: null, Entrypoint: null })).toBe(true);
    expect(needsKeepalive({ Cmd: ['jupyter', 'lab'], Entrypoint: null })).toBe(false);
    expect(needsKeepalive({ Cmd: ['/bin/sh', '-c', 'python train.py'], Entrypoint: null })).toBe(false);
    expect(needsKeepalive({ Cmd: ['bash'], Entrypoint: ['/opt/nvidia/nvidia_entrypoint.sh'] })).toBe(false);
  });

  it('names: one container per environment, a valid network per owner', () => {
    expect(containerName('6hiflzwte2xnkroq')).toBe('remotegpu-6hiflzwte2xnkroq');
    expect(ownerNetworkName('u1')).toBe('remotegpu-u-u1');
    expect(ownerNetworkName('User@Example.com')).toMatch(/^remotegpu-u-user-example.com-[0-9a-f]{12}$/);
    expect(ownerNetworkName('a')).not.toBe(ownerNetworkName('A'));
  });
});

describe('docker events', () => {
  const ev = (Action: string, attrs: Record<string, string> = {}) => ({
    Type: 'container',
    Action,
    Actor: { ID: 'c1', Attributes: { 'remotegpu.env': 'e1', ...attrs } },
  });
  it('maps engine events to environment states', () => {
    expect(stateFromEvent(ev('start'))).toEqual({
      environment_id: 'e1',
      container_id: 'c1',
      state: 'running',
      reason: null,
    });
    expect(stateFromEvent(ev('die', { exitCode: '137' }))).toMatchObject({ state: 'exited', reason: 'exit code 137' });
    expect(stateFromEvent(ev('oom'))).toMatchObject({ state: 'oom' });
    expect(stateFromEvent(ev('exec_start'))).toBeNull();
    expect(stateFromEvent({ Type: 'container', Action: 'start', Actor: { ID: 'c2', Attributes: {} } })).toBeNull();
  });
});

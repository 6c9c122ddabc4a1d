import { describe, expect, it } from 'vitest';
import { CMD, MSG, PROTOCOL_VERSION, decodeControl, encodeControl } from './control.ts';

describe('control messages: golden', () => {
  it('hello', () => {
    const golden =
      '{"type":"hello","protocol":1,"agent_version":"0.1.0","role":"control","inventory":{"cpu_cores":8,"memory_bytes":1024,"gpus":[{"index":0,"uuid":"GPU-1","name":"RTX 4090","memory_mib":24564}],"docker_version":"26.1.5","nvidia_runtime":true},"containers":[]}';
    const d = decodeControl(golden);
    expect(d.ok).toBe(true);
    if (d.ok) {
      expect(d.value.type).toBe(MSG.hello);
      expect(encodeControl(d.value)).toBe(golden);
    }
  });

  it('a command and both kinds of result', () => {
    const cmd = { type: MSG.cmd, id: 'c1', name: CMD.containerCreate, deadline: 1_800_000_000_000, args: { a: 1 } };
    expect(decodeControl(JSON.stringify(cmd))).toEqual({ ok: true, value: cmd });
    const ok = { type: 'result', id: 'c1', ok: true, data: { container_id: 'abc' } };
    expect(decodeControl(JSON.stringify(ok))).toEqual({ ok: true, value: ok });
    const err = {
      type: 'result',
      id: 'c1',
      ok: false,
      error: { code: 'create_failed', message: 'no such image', retryable: false },
    };
    expect(decodeControl(JSON.stringify(err))).toEqual({ ok: true, value: err });
  });

  it('the welcome with routes', () => {
    const w = {
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      host_id: 'h1',
      heartbeat_ms: 20000,
      routes: [
        {
          environment_id: '6hiflzwte2xnkroq',
          type: 'container',
          user_id: 'u1',
          ssh_port: 50000,
          ssh_username: 'root',
          target_ip: '172.31.1.2',
          target: { kind: 'docker', container_id: 'abc' },
          password_hash: 'scrypt$...',
          owner_keys: [],
          recording: false,
          running: true,
        },
      ],
    };
    expect(decodeControl(JSON.stringify(w))).toEqual({ ok: true, value: w });
  });
});

describe('control messages: garbage never throws', () => {
  it.each([
    ['not a string', 42, 'not_text'],
    ['bad json', '{"type":', 'bad_json'],
    ['array', '[1,2]', 'not_object'],
    ['null', 'null', 'not_object'],
    ['no type', '{"a":1}', 'no_type'],
    ['numeric type', '{"type":5}', 'no_type'],
  ])('%s', (_n, input, error) => {
    expect(decodeControl(input)).toEqual({ ok: false, error });
  });

  it('unknown types are reported by name so the receiver can log and ignore them', () => {
    expect(decodeControl('{"type":"future.thing","x":1}')).toEqual({
      ok: false,
      error: 'unknown_type',
      type: 'future.thing',
    });
  });

  it('known types with wrong fields are invalid', () => {
    expect(decodeControl('{"type":"cmd","id":"1"}')).toEqual({ ok: false, error: 'invalid', type: 'cmd' });
    expect(decodeControl('{"type":"result","id":"1","ok":false}')).toEqual({
      ok: false,
      error: 'invalid',
      type: 'result',
    });
    expect(decodeControl('{"type":"route.upsert","route":{"environment_id":"BAD"}}')).toEqual({
      ok: false,
      error: 'invalid',
      type: 'route.upsert',
    });
  });

  it('oversized frames are refused before parsing', () => {
    expect(decodeControl('x'.repeat(5 * 1024 * 1024))).toEqual({ ok: false, error: 'too_large' });
  });

  it('survives random text', () => {
    for (let i = 0; i < 5000; i++) {
      const s = Array.from({ length: Math.floor(Math.random() * 30) }, () =>
        String.fromCharCode(Math.floor(Math.random() * 128)),
      ).join('');
      expect(typeof decodeControl(s).ok).toBe('boolean');
    }
  });
});

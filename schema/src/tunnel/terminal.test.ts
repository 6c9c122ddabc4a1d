import { describe, expect, it } from 'vitest';
import { OpenHead, decodeHead, encodeJsonPayload } from './frames.ts';
import { TERMINAL_PORT, parseTerminalClientMessage, parseTerminalServerMessage } from './terminal.ts';

const base = {
  environment_id: 'abcdefgh01234567',
  port: TERMINAL_PORT,
  method: 'GET',
  path: '/',
  headers: [],
  websocket: true,
  has_body: false,
};
const terminal = { session: 'AbCdEfGh_-012345', cols: 120, rows: 40, user_id: 'u1', source_ip: '127.0.0.1' };

describe('the terminal variant of OpenHead', () => {
  it('is an optional field: app opens without it decode as before', () => {
    const d = decodeHead(OpenHead, encodeJsonPayload({ ...base, port: 8888 }));
    expect(d.ok && d.value.terminal).toBe(undefined);
    const t = decodeHead(OpenHead, encodeJsonPayload({ ...base, terminal }));
    expect(t.ok && t.value.terminal).toEqual(terminal);
  });

  it.each([
    ['a short session id', { ...terminal, session: 'short' }],
    ['a session id with other characters', { ...terminal, session: '../../../etc/passwd01' }],
    ['zero columns', { ...terminal, cols: 0 }],
    ['rows beyond the limit', { ...terminal, rows: 100_000 }],
    ['no user', { ...terminal, user_id: '' }],
  ])('refuses %s', (_name, bad) => {
    expect(decodeHead(OpenHead, encodeJsonPayload({ ...base, terminal: bad } as never))).toEqual({
      ok: false,
      error: 'invalid_head',
    });
  });
});

describe('control messages on the terminal socket', () => {
  it('reads resize and exit, and ignores anything else', () => {
    expect(parseTerminalClientMessage('{"type":"resize","cols":90,"rows":30}')).toEqual({
      type: 'resize',
      cols: 90,
      rows: 30,
    });
    expect(parseTerminalServerMessage('{"type":"exit","code":null}')).toEqual({ type: 'exit', code: null });
    for (const junk of ['', 'not json', '[]', 'null', '{"type":"resize","cols":-1,"rows":2}', '{"type":"paste"}'])
      expect(parseTerminalClientMessage(junk)).toBe(null);
    expect(parseTerminalServerMessage('{"type":"exit","code":"3"}')).toBe(null);
  });
});

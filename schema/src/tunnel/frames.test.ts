import { describe, expect, it } from 'vitest';
import {
  FLAG_TEXT,
  FRAME,
  MAX_FRAME_PAYLOAD,
  OpenHead,
  closePayload,
  creditPayload,
  decodeFrame,
  decodeHead,
  encodeFrame,
  encodeJsonPayload,
  readClose,
  readCredit,
} from './frames.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

describe('binary frames: golden', () => {
  it.each([
    ['data', encodeFrame(FRAME.data, 0x01020304, new TextEncoder().encode('hi')), '03000102030468 69'.replace(' ', '')],
    ['end', encodeFrame(FRAME.end, 7), '040000000007'],
    ['credit', encodeFrame(FRAME.credit, 1, creditPayload(65536)), '06000000000100010000'],
    ['reset', encodeFrame(FRAME.reset, 2, closePayload(3, 'x')), '0500000000020003' + '78'],
    ['ws text', encodeFrame(FRAME.wsMessage, 9, new TextEncoder().encode('a'), FLAG_TEXT), '07010000000961'],
    ['ws close', encodeFrame(FRAME.wsClose, 9, closePayload(1000, '')), '08000000000903e8'],
  ])('%s', (_name, frame, golden) => {
    expect(hex(frame)).toBe(golden);
    const d = decodeFrame(fromHex(golden));
    expect(d.ok).toBe(true);
    if (d.ok) expect(hex(encodeFrame(d.frame.kind, d.frame.stream, d.frame.payload, d.frame.flags))).toBe(golden);
  });

  it('reads credit and close payloads back', () => {
    const c = decodeFrame(encodeFrame(FRAME.credit, 1, creditPayload(0xfffffffe)));
    expect(c.ok && readCredit(c.frame.payload)).toBe(0xfffffffe);
    const r = decodeFrame(encodeFrame(FRAME.wsClose, 1, closePayload(4001, 'bye')));
    expect(r.ok && readClose(r.frame.payload)).toEqual({ code: 4001, reason: 'bye' });
  });

  it('carries a request head as JSON and validates it', () => {
    const head = {
      environment_id: '6hiflzwte2xnkroq',
      port: 8888,
      method: 'GET',
      path: '/lab?x=1',
      headers: [['accept', '*/*']] as [string, string][],
      websocket: false,
      has_body: false,
    };
    const f = decodeFrame(encodeFrame(FRAME.open, 5, encodeJsonPayload(head)));
    expect(f.ok).toBe(true);
    if (!f.ok) return;
    const h = decodeHead(OpenHead, f.frame.payload);
    expect(h).toEqual({ ok: true, value: head });
  });

  it('decodes a frame sitting at an offset inside a bigger buffer', () => {
    const big = new Uint8Array(100);
    big.set(fromHex('030000000001abcd'), 50);
    const d = decodeFrame(big.subarray(50, 58));
    expect(d.ok && d.frame.stream).toBe(1);
    expect(d.ok && hex(d.frame.payload)).toBe('abcd');
  });
});

describe('binary frames: garbage never throws', () => {
  it.each([
    ['empty', new Uint8Array(0), 'short_frame'],
    ['short', fromHex('0300000001'), 'short_frame'],
    ['unknown kind', fromHex('ff0000000001'), 'unknown_kind'],
    ['kind 0', fromHex('000000000001'), 'unknown_kind'],
    ['credit of 3 bytes', fromHex('060000000001000001'), 'bad_credit'],
    ['reset without code', fromHex('050000000001'), 'bad_close'],
    ['end with payload', fromHex('04000000000100'), 'bad_end'],
    ['too large', new Uint8Array(MAX_FRAME_PAYLOAD + 7).fill(3), 'frame_too_large'],
  ])('%s', (_name, bytes, error) => {
    expect(decodeFrame(bytes)).toEqual({ ok: false, error });
  });

  it('survives 20,000 random buffers', () => {
    for (let i = 0; i < 20_000; i++) {
      const b = new Uint8Array(Math.floor(Math.random() * 40));
      crypto.getRandomValues(b);
      const r = decodeFrame(b);
      expect(typeof r.ok).toBe('boolean');
    }
  });

  it('rejects bad heads without throwing', () => {
    expect(decodeHead(OpenHead, new TextEncoder().encode('{'))).toEqual({ ok: false, error: 'bad_json' });
    expect(decodeHead(OpenHead, new TextEncoder().encode('{"environment_id":"../../etc","port":1}'))).toEqual({
      ok: false,
      error: 'invalid_head',
    });
    expect(decodeHead(OpenHead, new Uint8Array([0xff, 0xfe]))).toEqual({ ok: false, error: 'bad_json' });
  });

  it('refuses to encode oversize payloads or bad stream ids', () => {
    expect(() => encodeFrame(FRAME.data, 1, new Uint8Array(MAX_FRAME_PAYLOAD + 1))).toThrow(RangeError);
    expect(() => encodeFrame(FRAME.data, -1)).toThrow(RangeError);
  });
});

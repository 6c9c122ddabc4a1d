// The CSRF verdict as a pure function: which browser writes go on, which get 415 or 403.
import { describe, expect, it } from 'vitest';
import { csrfVerdict, isJsonMediaType } from './csrf.ts';

const url = 'https://gpu.example.com/api/v1/tokens';
const verdict = (method: string, headers: Record<string, string>, publicUrl: string | null = null) =>
  csrfVerdict({ method, url, headers: new Headers(headers), publicUrl });

describe('csrfVerdict', () => {
  it('never refuses reads or bearer-token clients', () => {
    expect(verdict('GET', { cookie: 'rg_session=x', origin: 'https://evil.example' })).toBeNull();
    expect(
      verdict('POST', { authorization: 'Bearer rgt_x', 'content-type': 'text/plain', origin: 'https://evil.example' }),
    ).toBeNull();
  });

  it('takes JSON from the console origin, the public URL, or Sec-Fetch-Site: same-origin', () => {
    const json = { 'content-type': 'application/json', cookie: 'rg_session=x' };
    expect(verdict('POST', { ...json, origin: 'https://gpu.example.com' })).toBeNull();
    expect(
      verdict('POST', { ...json, origin: 'https://console.example.com' }, 'https://console.example.com/'),
    ).toBeNull();
    expect(verdict('DELETE', { cookie: 'rg_session=x', 'sec-fetch-site': 'same-origin' })).toBeNull();
    expect(verdict('POST', { 'content-type': 'application/json' })).toBeNull(); // curl without a cookie
  });

  it('answers 415 for simple bodies and 403 for other origins', () => {
    expect(verdict('POST', { 'content-type': 'text/plain', origin: 'https://gpu.example.com' })?.status).toBe(415);
    expect(verdict('PUT', { 'content-type': 'multipart/form-data; boundary=x' })?.code).toBe('unsupported_media_type');
    expect(
      verdict('POST', { 'content-type': 'application/json', origin: 'https://x-8888.container.example.com' })?.code,
    ).toBe('cross_origin_request');
    expect(verdict('POST', { 'content-type': 'application/json', 'sec-fetch-site': 'same-site' })?.status).toBe(403);
    expect(verdict('PATCH', { cookie: 'rg_session=x' })?.status).toBe(403);
  });

  it('takes a raw upload body only with the console upload header, and still only from the console origin', () => {
    const upload = { 'content-type': 'application/octet-stream', cookie: 'rg_session=x', 'x-remotegpu-upload': '1' };
    expect(verdict('PUT', { ...upload, origin: 'https://gpu.example.com' })).toBeNull();
    expect(verdict('PUT', { ...upload, origin: 'https://x-8888.container.example.com' })?.code).toBe(
      'cross_origin_request',
    );
    expect(verdict('PUT', { ...upload, 'sec-fetch-site': 'same-site' })?.status).toBe(403);
    expect(verdict('PUT', { ...upload })?.status).toBe(403); // a cookie and no Origin
    // Only PUT, only the exact value: a form cannot set the header, and POST keeps the JSON rule.
    expect(verdict('POST', { ...upload, origin: 'https://gpu.example.com' })?.status).toBe(415);
    expect(verdict('PUT', { ...upload, 'x-remotegpu-upload': 'yes', origin: 'https://gpu.example.com' })?.status).toBe(
      415,
    );
  });

  it('recognises JSON media types with parameters and +json suffixes only', () => {
    expect(isJsonMediaType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonMediaType('application/merge-patch+json')).toBe(true);
    expect(isJsonMediaType('text/json')).toBe(false);
    expect(isJsonMediaType('application/jsonp')).toBe(false);
    expect(isJsonMediaType(null)).toBe(false);
  });
});

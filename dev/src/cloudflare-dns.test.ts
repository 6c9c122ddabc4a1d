// The Cloudflare DNS stand-in driven by the official `cloudflare` client, and its records read back by a real resolver.
import { Resolver } from 'node:dns/promises';
import Cloudflare from 'cloudflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudflareDns, type CloudflareDns } from './cloudflare-dns.ts';

describe('Cloudflare DNS stand-in', () => {
  let cf: CloudflareDns;
  let client: Cloudflare;
  let resolver: Resolver;
  const zone = () => ({ zone_id: cf.zoneId });

  beforeAll(async () => {
    cf = await startCloudflareDns({ zoneName: 'example.test' });
    client = new Cloudflare({ apiToken: cf.token, baseURL: cf.apiBase, maxRetries: 0 });
    resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`${cf.dnsHost}:${cf.dnsPort}`]);
  });
  afterAll(() => cf?.close());

  it('creates, lists by name, overwrites, patches and deletes records as the client expects', async () => {
    const a = await client.dns.records.create({
      ...zone(),
      name: 'abc.ssh.example.test',
      type: 'A',
      content: '127.0.0.1',
      ttl: 60,
      proxied: false,
      comment: 'remotegpu-ssh env=abc',
    });
    expect(a).toMatchObject({ name: 'abc.ssh.example.test', type: 'A', content: '127.0.0.1', ttl: 60 });
    const listed = [];
    for await (const r of client.dns.records.list({ ...zone(), name: { exact: 'abc.ssh.example.test' } }))
      listed.push(r);
    expect(listed.map((r) => r.id)).toEqual([a.id]);
    const put = await client.dns.records.update(a.id, {
      ...zone(),
      name: 'abc.ssh.example.test',
      type: 'CNAME',
      content: 'relay-2.example.test',
      ttl: 60,
    });
    expect(put).toMatchObject({ id: a.id, type: 'CNAME', content: 'relay-2.example.test', comment: null });
    const patched = await client.dns.records.edit(a.id, {
      ...zone(),
      type: 'CNAME',
      name: 'abc.ssh',
      comment: 'x',
      ttl: 60,
    });
    expect(patched).toMatchObject({ name: 'abc.ssh.example.test', content: 'relay-2.example.test', comment: 'x' });
    expect((await client.dns.records.get(a.id, zone())).comment).toBe('x');
    await client.dns.records.delete(a.id, zone());
    await expect(client.dns.records.get(a.id, zone())).rejects.toMatchObject({ status: 404 });
  });

  it('pages through a filtered list and filters by comment prefix and name suffix', async () => {
    for (let i = 0; i < 12; i++)
      await client.dns.records.create({
        ...zone(),
        name: `p${String(i).padStart(2, '0')}.ssh.example.test`,
        type: 'A',
        content: `10.0.0.${i + 1}`,
        ttl: 60,
        comment: i % 2 ? 'remotegpu-ssh env=x' : 'hand-made',
      });
    await client.dns.records.create({
      ...zone(),
      name: 'www',
      type: 'A',
      content: '10.1.0.1',
      ttl: 1,
      comment: 'remotegpu-ssh',
    });
    const ours = [];
    for await (const r of client.dns.records.list({
      ...zone(),
      name: { endswith: '.ssh.example.test' },
      comment: { startswith: 'remotegpu-ssh' },
      per_page: 5,
    }))
      ours.push(r.name);
    expect(ours).toEqual(['p01', 'p03', 'p05', 'p07', 'p09', 'p11'].map((p) => `${p}.ssh.example.test`));
    const page = await client.dns.records.list({ ...zone(), per_page: 5, page: 3 });
    expect(page.result_info).toMatchObject({ page: 3, per_page: 5, count: 3, total_count: 13, total_pages: 3 });
  });

  it('refuses a wrong token, another zone, bad content, a CNAME beside an A, and answers 503 in an outage', async () => {
    const wrong = new Cloudflare({ apiToken: 'nope', baseURL: cf.apiBase, maxRetries: 0 });
    await expect(wrong.dns.records.list(zone())).rejects.toMatchObject({ status: 403 });
    await expect(client.dns.records.list({ zone_id: 'f'.repeat(32) })).rejects.toMatchObject({ status: 404 });
    await expect(
      client.dns.records.create({ ...zone(), name: 'bad', type: 'A', content: 'relay.example.test', ttl: 60 }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      client.dns.records.create({ ...zone(), name: 'p00.ssh', type: 'CNAME', content: 'x.example.test', ttl: 60 }),
    ).rejects.toMatchObject({ status: 400, errors: [{ code: 81053 }] });
    cf.setOutage(true);
    await expect(client.dns.records.list(zone())).rejects.toMatchObject({ status: 503 });
    cf.setOutage(false);
    await expect(client.dns.records.list(zone())).resolves.toBeDefined();
  });

  it('answers resolvers from the same records: A, CNAME chains inside the zone, NXDOMAIN, REFUSED outside', async () => {
    expect(await resolver.resolve4('p00.ssh.example.test')).toEqual(['10.0.0.1']);
    await client.dns.records.create({
      ...zone(),
      name: 'alias.ssh',
      type: 'CNAME',
      content: 'p02.ssh.example.test',
      ttl: 60,
    });
    expect(await resolver.resolve4('alias.ssh.example.test')).toEqual(['10.0.0.3']);
    await client.dns.records.create({ ...zone(), name: 'six.ssh', type: 'AAAA', content: '::1', ttl: 60 });
    expect(await resolver.resolve6('six.ssh.example.test')).toEqual(['::1']);
    await expect(resolver.resolve4('nothing.ssh.example.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve4('example.org')).rejects.toMatchObject({ code: 'EREFUSED' });
  });
});

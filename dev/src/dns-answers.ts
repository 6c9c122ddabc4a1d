// Answers DNS queries (UDP and TCP, one loopback port) from the Cloudflare DNS stand-in's records, with dns2.
import dns2 from 'dns2';
import type { CfRecord } from './cloudflare-dns.ts';

const { Packet } = dns2;
/** RFC 1035 §4.1.1 response codes (dns2 3.0's types do not declare its Packet.RCODE). */
const RCODE = { FORMERR: 1, NXDOMAIN: 3, REFUSED: 5 } as const;

export interface DnsAnswersOptions {
  host: string;
  /** 0 = any port free for both UDP and TCP. */
  port: number;
  /** The zone this server is authoritative for; other names are REFUSED. */
  zoneName: string;
  /** The records at a name (any type). */
  lookup(name: string): CfRecord[];
}

export interface DnsAnswers {
  port: number;
  close(): Promise<void>;
}

/** Cloudflare's "automatic" TTL (1) is 300 s on the wire. */
const wireTtl = (ttl: number) => (ttl === 1 ? 300 : ttl);

const TYPE_CODES: Record<string, number> = { A: Packet.TYPE.A, AAAA: Packet.TYPE.AAAA, CNAME: Packet.TYPE.CNAME };

function resource(r: CfRecord): dns2.Packet.Resource | null {
  const base = { name: r.name, class: Packet.CLASS.IN, ttl: wireTtl(r.ttl) };
  if (r.type === 'A') return { ...base, type: Packet.TYPE.A, address: r.content } as dns2.Packet.Resource;
  if (r.type === 'AAAA') return { ...base, type: Packet.TYPE.AAAA, address: r.content } as dns2.Packet.Resource;
  if (r.type === 'CNAME') return { ...base, type: Packet.TYPE.CNAME, domain: r.content } as dns2.Packet.Resource;
  if (r.type === 'TXT') return { ...base, type: Packet.TYPE.TXT, data: r.content } as dns2.Packet.Resource;
  return null;
}

const inZone = (name: string, zone: string) => name === zone || name.endsWith(`.${zone}`);

/**
 * The answer to one question, as an authoritative server gives it: records of the asked type, or the CNAME at the name
 * followed (inside the zone, at most 8 links) to records of the asked type. Null = NXDOMAIN.
 */
function answer(o: DnsAnswersOptions, qname: string, qtype: number): dns2.Packet.Resource[] | null {
  const out: dns2.Packet.Resource[] = [];
  let name = qname.toLowerCase().replace(/\.$/, '');
  for (let hops = 0; hops < 8; hops++) {
    const here = o.lookup(name);
    if (here.length === 0) return hops === 0 ? null : out;
    const cname = here.find((r) => r.type === 'CNAME');
    if (cname && qtype !== Packet.TYPE.CNAME) {
      const rr = resource(cname);
      if (rr) out.push(rr);
      name = cname.content;
      if (!inZone(name, o.zoneName)) return out;
      continue;
    }
    for (const r of here) {
      if (qtype !== Packet.TYPE.ANY && TYPE_CODES[r.type] !== qtype && !(r.type === 'TXT' && qtype === Packet.TYPE.TXT))
        continue;
      const rr = resource(r);
      if (rr) out.push(rr);
    }
    return out;
  }
  return out;
}

type Servers = { port: number; udp: dns2.UDPServer; tcp: dns2.TCPServer };

const closeUdp = (udp: dns2.UDPServer) => new Promise<void>((done) => udp.close(() => done()));

/** UDP and TCP on one port: the given one, or the kernel's UDP pick and then TCP on it (retried when TCP has it taken). */
async function listenBoth(o: DnsAnswersOptions, handle: dns2.DnsHandler): Promise<Servers> {
  for (let attempt = 0; ; attempt++) {
    const udp = dns2.createUDPServer(handle);
    const tcp = dns2.createTCPServer(handle);
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(o.port, o.host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const port = udp.address().port;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, o.host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { port, udp, tcp };
    } catch (err) {
      await closeUdp(udp);
      if (o.port || attempt >= 10) throw err;
    }
  }
}

export async function startDnsAnswers(o: DnsAnswersOptions): Promise<DnsAnswers> {
  const handle: dns2.DnsHandler = (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const [q] = request.questions;
    if (!q) response.header.rcode = RCODE.FORMERR;
    else if (!inZone(q.name.toLowerCase().replace(/\.$/, ''), o.zoneName)) response.header.rcode = RCODE.REFUSED;
    else {
      const answers = answer(o, q.name, q.type);
      if (answers === null) response.header.rcode = RCODE.NXDOMAIN;
      else response.answers.push(...answers);
    }
    void send(response).catch(() => undefined);
  };
  const { port, udp, tcp } = await listenBoth(o, handle);
  return {
    port,
    close: async () => {
      await closeUdp(udp);
      await new Promise<void>((done) => tcp.close(() => done()));
    },
  };
}

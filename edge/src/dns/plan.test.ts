// The SSH names' record planning: what each environment's record is, and the changes that fix a name or a zone.
import { describe, expect, it } from 'vitest';
import { planName, planZone, recordTypeFor, wantedRecord, type ExistingRecord } from './plan.ts';

const existing = (id: string, name: string, type: string, content: string, comment: string | null = null) =>
  ({ id, name, type, content, comment }) satisfies ExistingRecord;
const want = (env: string, relay: string) => wantedRecord(env, 'gpu.example.com', relay);

describe('SSH name records', () => {
  it('points <envid>.ssh.<domain> at the relay: A for IPv4, AAAA for IPv6, CNAME for a host name', () => {
    expect(recordTypeFor('203.0.113.7')).toBe('A');
    expect(recordTypeFor('2001:db8::7')).toBe('AAAA');
    expect(recordTypeFor('relay-3.dc1.example.com')).toBe('CNAME');
    expect(recordTypeFor('999.1.1.1')).toBe('CNAME');
    expect(want('6hiflzwte2xnkroq', '[2001:DB8::7]')).toEqual({
      envId: '6hiflzwte2xnkroq',
      name: '6hiflzwte2xnkroq.ssh.gpu.example.com',
      type: 'AAAA',
      content: '2001:db8::7',
      comment: 'remotegpu-ssh env=6hiflzwte2xnkroq',
    });
  });

  it('one name: creates when missing, keeps a match, overwrites a wrong one, deletes extras and deletes when unwanted', () => {
    const w = want('aaaaaaaaaaaaaaaa', '10.0.0.1');
    expect(planName(w, [])).toEqual([{ op: 'create', record: w }]);
    const good = existing('g', w.name, 'A', '10.0.0.1', w.comment);
    expect(planName(w, [good])).toEqual([]);
    const moved = existing('m', w.name, 'A', '10.0.0.9', w.comment);
    expect(planName(w, [moved])).toEqual([{ op: 'update', id: 'm', record: w }]);
    expect(planName(w, [moved, good])).toEqual([{ op: 'delete', id: 'm', name: w.name }]);
    expect(planName(null, [good, moved])).toEqual([
      { op: 'delete', id: 'g', name: w.name },
      { op: 'delete', id: 'm', name: w.name },
    ]);
  });

  it('a zone: repairs missing and drifted records, deletes orphans, leaves correct ones alone', () => {
    const a = want('aaaaaaaaaaaaaaaa', '10.0.0.1');
    const b = want('bbbbbbbbbbbbbbbb', 'relay-2.example.com');
    const c = want('cccccccccccccccc', '10.0.0.3');
    const changes = planZone(
      [a, b, c],
      [
        existing('a1', a.name.toUpperCase(), 'A', '10.0.0.1', a.comment),
        existing('b1', b.name, 'A', '10.0.0.2', b.comment),
        existing('x1', 'zzzzzzzzzzzzzzzz.ssh.gpu.example.com', 'A', '10.0.0.1', 'remotegpu-ssh env=zzzzzzzzzzzzzzzz'),
      ],
    );
    expect(changes).toEqual([
      { op: 'update', id: 'b1', record: b },
      { op: 'create', record: c },
      { op: 'delete', id: 'x1', name: 'zzzzzzzzzzzzzzzz.ssh.gpu.example.com' },
    ]);
  });
});

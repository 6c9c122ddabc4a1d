// Charge arithmetic: started hours for containers, started 30-day months for machines, cents rounded once.
import { describe, expect, it } from 'vitest';
import { charge } from './service.ts';

const HOUR = 3_600_000;
const record = (kind: 'hourly' | 'monthly', start: number, end: number | null, unit_price: number) =>
  ({ id: 1, environment_id: 'e', user_id: 'u', kind, period_start: start, period_end: end, unit_price }) as Parameters<
    typeof charge
  >[0];

describe('charge', () => {
  it('bills every started hour, at least one', () => {
    expect(charge(record('hourly', 0, 1, 1.5))).toMatchObject({ units: 1, amount: 1.5 });
    expect(charge(record('hourly', 0, HOUR, 1.5))).toMatchObject({ units: 1, amount: 1.5 });
    expect(charge(record('hourly', 0, HOUR + 1, 1.5))).toMatchObject({ units: 2, amount: 3 });
  });

  it('bills an open record up to now, and months of 30 days', () => {
    expect(charge(record('hourly', 0, null, 2), 5 * HOUR - 1)).toMatchObject({
      units: 5,
      amount: 10,
      period_end: null,
    });
    expect(charge(record('monthly', 0, 30 * 24 * HOUR + 1, 999.99))).toMatchObject({ units: 2, amount: 1999.98 });
  });

  it('rounds to cents without float noise and never charges a negative span', () => {
    expect(charge(record('hourly', 0, 3 * HOUR, 0.1)).amount).toBe(0.3);
    expect(charge(record('hourly', 10, 5, 1)).units).toBe(1);
  });
});

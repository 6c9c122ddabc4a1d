import { describe, expect, it } from 'vitest';
import { unitPrice } from './pricing.ts';

describe('unit price', () => {
  it('is the image price with GPUs and the no-GPU price without', () => {
    expect(unitPrice({ hourly_price: 2.5, no_gpu_hourly_price: 0.1 }, 'gpu')).toBe(2.5);
    expect(unitPrice({ hourly_price: 2.5, no_gpu_hourly_price: 0.1 }, 'none')).toBe(0.1);
  });
  it('without a no-GPU price costs 10 % of the GPU price', () => {
    expect(unitPrice({ hourly_price: 2.5, no_gpu_hourly_price: null }, 'none')).toBe(0.25);
    expect(unitPrice(undefined, 'none')).toBe(0);
  });
});

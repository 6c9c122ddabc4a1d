// What an environment costs per hour: the image's price, or its no-GPU price when started without GPUs (无卡模式).
import type { tables } from '@remotegpu/schema';

type ImagePrices = Pick<typeof tables.images.$inferSelect, 'hourly_price' | 'no_gpu_hourly_price'>;

/** Without an explicit no-GPU price an image costs 10 % of its GPU price without GPUs (rounded to 0.0001). */
export function unitPrice(image: ImagePrices | undefined, mode: 'gpu' | 'none'): number {
  if (!image) return 0;
  if (mode === 'gpu') return image.hourly_price;
  return image.no_gpu_hourly_price ?? Math.round(image.hourly_price * 1000) / 10_000;
}

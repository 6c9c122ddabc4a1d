// Row ids: a short type prefix and 20 random characters.
import { randomString } from '@remotegpu/schema';

export function newId(prefix: string): string {
  return `${prefix}_${randomString(20, 'abcdefghijklmnopqrstuvwxyz0123456789')}`;
}

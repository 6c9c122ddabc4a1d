// Vitest globalSetup for the e2e project: builds the console into web/dist when it is missing or older than its sources.
import { ensureWebBuilt } from '../../dev/src/build-web.ts';

export default function setup(): void {
  ensureWebBuilt();
}

// Debian's Chromium driven by playwright-core (never a downloaded browser), and a screenshot helper.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../dev/src/edge-server.ts';

const CHROMIUM = process.env.REMOTEGPU_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = join(REPO_ROOT, 'test-results/screenshots');

/** `extraArgs`: more Chromium switches, e.g. `--host-resolver-rules=MAP *.remotegpu.test 127.0.0.1` (loopback only). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** Writes test-results/screenshots/<name>.png of the whole page. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Let Element Plus transitions settle so dialogs are not half-faded in the picture.
  await page.waitForTimeout(350);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

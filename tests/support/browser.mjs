// Debian's headless Chromium through playwright-core (it cannot download a browser of its own).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './server.mjs';

export const screenshots = join(root, 'test-results', 'screenshots');

export async function launchBrowser() {
  mkdirSync(screenshots, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Runs axe-core in a frame and returns its serious and critical violations. */
export async function axe(frame) {
  await frame.addScriptTag({ path: join(root, 'node_modules', 'axe-core', 'axe.min.js') });
  const results = await frame.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`);
}

/**
 * Saves a screenshot of the whole page as `name`.png. The page is first made as tall as its
 * content and every frame has painted at that size: a `fullPage` capture resizes the page in the
 * middle of the shot, and Chromium does not always repaint a cross-origin iframe (the checkout
 * on a shop's page, in a process of its own) in time, so the checkout came out blank or narrow.
 */
export async function screenshot(page, name) {
  const viewport = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  const taller = height > viewport.height;
  if (taller) await page.setViewportSize({ width: viewport.width, height });
  for (const frame of page.frames()) {
    await frame.evaluate(() => new Promise((painted) => requestAnimationFrame(() => requestAnimationFrame(painted)))).catch(() => {});
  }
  await page.screenshot({ path: join(screenshots, `${name}.png`) });
  if (taller) await page.setViewportSize(viewport);
}

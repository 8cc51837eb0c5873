// `npx tsx scripts/readme-images.ts`: the README's picture of a training run,
// docs/images/training.png, taken from the page `npm run demo` writes
// (demo-output/alif-train.html: `eligo train … --html`), opened from file://
// in Debian's Chromium (playwright-core), its Training tab shown: the learning
// curves, the spike rasters, the traces and the prediction of one test
// sequence. Run the demo first; the picture is of that run.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(__dirname, '..');
const page = join(root, 'demo-output', 'alif-train.html');
const image = join(root, 'docs', 'images', 'training.png');
const CHROMIUM = '/usr/bin/chromium';

async function main(): Promise<void> {
  if (!existsSync(page)) throw new Error(`${page} is missing: run npm run demo first`);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (Debian: sudo apt-get install chromium)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const tab = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const problems: string[] = [];
    tab.on('pageerror', (e) => problems.push(e.message));
    tab.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' });
    await tab.waitForSelector('.node', { timeout: 30_000 });
    await tab.locator('vscode-tab-header[data-tab="training"]').click();
    await tab.waitForSelector('#activity [data-raster]', { timeout: 10_000 });
    // The panel is 250 px under the graph in the editor; tall enough here to hold the curves, rasters and traces.
    await tab.evaluate(() => { (document.querySelector('.panel') as HTMLElement).style.height = '600px'; });
    await tab.waitForTimeout(500);
    await tab.locator('.panel').screenshot({ path: image });
    if (problems.length) throw new Error(`the page reported: ${problems.join('; ')}`);
    console.log(`wrote ${image}`);
  } finally {
    await browser.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});

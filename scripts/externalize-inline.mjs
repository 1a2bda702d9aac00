// Moves the inline module script Trunk writes into index.html into its own file, so the checkout
// and the console run under a CSP without 'unsafe-inline'.
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

const dist = process.argv[2];
const page = join(dist, 'index.html');
let html = readFileSync(page, 'utf8');
const inline = /<script type="module">([\s\S]*?)<\/script>/;
const found = html.match(inline);
if (found) {
  const code = found[1].trim() + '\n';
  const name = `init-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.js`;
  writeFileSync(join(dist, name), code);
  // Beside the files Trunk wrote, at the same public address: an app with deep links
  // (/console/payments/…) must not load it relative to the page.
  const base = html.match(/href="([^"]*\/)[^"/]+\.js"/)?.[1] ?? './';
  html = html.replace(inline, `<script type="module" src="${base}${name}"></script>`);
  writeFileSync(page, html);
}
if (/<script(?![^>]*\bsrc=)[^>]*>/.test(html) || /\son[a-z]+=/.test(html)) {
  console.error('index.html still holds inline script');
  process.exit(1);
}

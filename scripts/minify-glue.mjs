// Minifies the wasm-bindgen glue Trunk wrote into a dist folder, and updates the Subresource
// Integrity hash index.html holds for it. The glue is machine-written and read only by browsers.
// `node scripts/minify-glue.mjs checkout-app/dist`
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { transformSync } from 'esbuild';

const dist = process.argv[2];
const page = join(dist, 'index.html');
let html = readFileSync(page, 'utf8');
const sri = (data) => `sha384-${createHash('sha384').update(data).digest('base64')}`;
for (const name of readdirSync(dist).filter((n) => /^kassa-checkout-[0-9a-f]+\.js$/.test(n))) {
  const file = join(dist, name);
  const source = readFileSync(file);
  const { code } = transformSync(source.toString(), { minify: true, format: 'esm', target: 'es2020', logLevel: 'warning' });
  writeFileSync(file, code);
  const before = sri(source);
  if (!html.includes(before)) {
    console.error(`index.html holds no integrity hash for ${name}`);
    process.exit(1);
  }
  html = html.replaceAll(before, sri(code));
}
writeFileSync(page, html);
